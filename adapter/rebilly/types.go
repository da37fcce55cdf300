package rebilly

import (
	"fmt"
	"reflect"

	"github.com/praxis-adapter/praxis-adapter/adapter/money"
)

// Transaction results (API.md §3.1). Only Unknown is non-final: the manual
// update operation accepts the other four as final results.
const (
	ResultApproved  = "approved"
	ResultDeclined  = "declined"
	ResultAbandoned = "abandoned"
	ResultCanceled  = "canceled"
	ResultUnknown   = "unknown"
)

// FinalResult reports whether a transaction result is final (API.md §3.1:
// unknown is not; an unlisted result is treated as not final, so nothing
// is booked from it).
func FinalResult(r string) bool {
	switch r {
	case ResultApproved, ResultDeclined, ResultAbandoned, ResultCanceled:
		return true
	}
	return false
}

// Transaction types this adapter handles (the enum has more, API.md §3.1).
const (
	TypeSale      = "sale"
	TypeAuthorize = "authorize"
	TypeCapture   = "capture"
	TypeCredit    = "credit"
	TypeRefund    = "refund"
	TypeVoid      = "void"
)

// Transaction statuses the adapter and the simulator name (API.md §3.1;
// which are terminal is UNCONFIRMED, so nothing here depends on it).
const (
	StatusCompleted         = "completed"
	StatusPending           = "pending"
	StatusWaitingApproval   = "waiting-approval"
	StatusWaitingGateway    = "waiting-gateway"
	StatusTimeout           = "timeout"
	StatusOffsite           = "offsite"
	StatusRefunded          = "refunded"
	StatusPartiallyRefunded = "partially-refunded"
	StatusVoided            = "voided"
)

// Payout request statuses (API.md §4).
const (
	PayoutPending    = "pending"
	PayoutReady      = "ready"
	PayoutApproved   = "approved"
	PayoutInProgress = "in-progress"
	PayoutFulfilled  = "fulfilled"
	PayoutCanceled   = "canceled"
	PayoutSplit      = "split"
	PayoutMerged     = "merged"
)

// Link is one entry of a resource's _links.
type Link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// DepositLimits bound what the customer may deposit through a cashier.
// Write-only: Rebilly never echoes them.
type DepositLimits struct {
	Minimum Decimal `json:"minimum,omitempty"`
	Maximum Decimal `json:"maximum,omitempty"`
}

// CashierRequest is the body of POST /cashiers (API.md §2.1). The legacy
// balance fields are deliberately absent: they are response-only since
// 2026-07-20 and whether Rebilly rejects them is UNCONFIRMED.
type CashierRequest struct {
	CustomerID      string         `json:"customerId"`
	WebsiteID       string         `json:"websiteId"`
	Currency        string         `json:"currency"`
	RedirectURL     string         `json:"redirectUrl,omitempty"`
	DepositLimits   *DepositLimits `json:"depositLimits,omitempty"`
	NotificationURL string         `json:"notificationUrl,omitempty"`
}

// Cashier is Rebilly's answer to POST /cashiers and GET /cashiers/{id}
// (API.md §2.2). The *Minor fields are the amounts in minor units of
// Currency, filled by Decode.
type Cashier struct {
	ID                   string  `json:"id"`
	CustomerID           string  `json:"customerId"`
	WebsiteID            string  `json:"websiteId"`
	Currency             string  `json:"currency"`
	RedirectURL          string  `json:"redirectUrl"`
	NotificationURL      string  `json:"notificationUrl"`
	ExpirationTime       string  `json:"expirationTime"`
	Balance              Decimal `json:"balance"`
	BonusBalance         Decimal `json:"bonusBalance"`
	PendingPayoutTotal   Decimal `json:"pendingPayoutTotal"`
	CanWithdraw          bool    `json:"canWithdraw"`
	LastDepositRequestID string  `json:"lastDepositRequestId,omitempty"`
	CashierToken         string  `json:"cashierToken"`
	CreatedTime          string  `json:"createdTime,omitempty"`
	UpdatedTime          string  `json:"updatedTime,omitempty"`
	Links                []Link  `json:"_links,omitempty"`

	BalanceMinor            int64 `json:"-"`
	BonusBalanceMinor       int64 `json:"-"`
	PendingPayoutTotalMinor int64 `json:"-"`
}

func (c *Cashier) settle(cur money.Currencies) error {
	if c.ID == "" {
		return fmt.Errorf("id is missing")
	}
	if !money.IsCurrencyCode(c.Currency) {
		return fmt.Errorf("currency is not an ISO 4217 code")
	}
	var err error
	for _, f := range []struct {
		d    Decimal
		name string
		out  *int64
	}{{c.Balance, "balance", &c.BalanceMinor}, {c.BonusBalance, "bonusBalance", &c.BonusBalanceMinor},
		{c.PendingPayoutTotal, "pendingPayoutTotal", &c.PendingPayoutTotalMinor}} {
		if f.d == "" {
			continue // required by the schema, tolerated when absent
		}
		if *f.out, err = f.d.Minor(cur, c.Currency, f.name, false); err != nil {
			return err
		}
	}
	return nil
}

// TransactionRequest is the body of POST /transactions (API.md §3.2).
// RequestID is Rebilly's only idempotency field: a duplicate within 24 h
// "is ignored to prevent double-billing".
type TransactionRequest struct {
	Type            string  `json:"type"`
	WebsiteID       string  `json:"websiteId"`
	CustomerID      string  `json:"customerId"`
	Currency        string  `json:"currency"`
	Amount          Decimal `json:"amount"`
	RequestID       string  `json:"requestId,omitempty"`
	Description     string  `json:"description,omitempty"`
	NotificationURL string  `json:"notificationUrl,omitempty"`
	RedirectURL     string  `json:"redirectUrl,omitempty"`
}

// PayoutRequestBody is the body of POST /payouts, which creates a credit
// transaction (API.md §3.2); RequestID dedupes it as for POST /transactions.
type PayoutRequestBody struct {
	WebsiteID           string  `json:"websiteId"`
	CustomerID          string  `json:"customerId"`
	Currency            string  `json:"currency"`
	Amount              Decimal `json:"amount"`
	RequestID           string  `json:"requestId,omitempty"`
	PaymentInstrumentID string  `json:"paymentInstrumentId,omitempty"`
	Description         string  `json:"description,omitempty"`
}

// RefundRequest is the body of POST /transactions/{id}/refund (API.md §3.2):
// in the original's currency. It has no dedupe field: after an unknown
// outcome, read the parent's childTransactions instead of repeating it.
type RefundRequest struct {
	Amount             Decimal `json:"amount"`
	Description        string  `json:"description,omitempty"`
	IsProcessedOutside bool    `json:"isProcessedOutside,omitempty"`
}

// GatewayResponse is the processor's answer recorded on a transaction.
type GatewayResponse struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Type    string `json:"type"`
}

// Gateway holds processor detail of a transaction.
type Gateway struct {
	Response *GatewayResponse `json:"response,omitempty"`
}

// Transaction is Rebilly's transaction (API.md §3.1), the one source of
// truth for money: a notification or webhook only says "look again".
// AmountMinor is Amount in minor units of Currency, filled by Decode.
type Transaction struct {
	ID                   string   `json:"id"`
	Type                 string   `json:"type"`
	Status               string   `json:"status"`
	Result               string   `json:"result"`
	Amount               Decimal  `json:"amount"`
	Currency             string   `json:"currency"`
	RequestAmount        Decimal  `json:"requestAmount,omitempty"`
	RequestCurrency      string   `json:"requestCurrency,omitempty"`
	PurchaseAmount       Decimal  `json:"purchaseAmount,omitempty"`
	PurchaseCurrency     string   `json:"purchaseCurrency,omitempty"`
	CustomerID           string   `json:"customerId"`
	WebsiteID            string   `json:"websiteId"`
	OrganizationID       string   `json:"organizationId,omitempty"`
	RequestID            string   `json:"requestId,omitempty"`
	ParentTransactionID  string   `json:"parentTransactionId,omitempty"`
	ChildTransactions    []string `json:"childTransactions,omitempty"`
	DepositRequestID     string   `json:"depositRequestId,omitempty"`
	PayoutRequestID      string   `json:"payoutRequestId,omitempty"`
	GatewayName          string   `json:"gatewayName,omitempty"`
	GatewayTransactionID string   `json:"gatewayTransactionId,omitempty"`
	Gateway              *Gateway `json:"gateway,omitempty"`
	Description          string   `json:"description,omitempty"`
	ProcessedTime        string   `json:"processedTime,omitempty"`
	CreatedTime          string   `json:"createdTime,omitempty"`
	UpdatedTime          string   `json:"updatedTime,omitempty"`
	Revision             int64    `json:"revision"`
	NotificationURL      string   `json:"notificationUrl,omitempty"`
	RedirectURL          string   `json:"redirectUrl,omitempty"`
	Links                []Link   `json:"_links,omitempty"`

	AmountMinor int64 `json:"-"`
}

func (t *Transaction) settle(cur money.Currencies) error {
	if t.ID == "" {
		return fmt.Errorf("id is missing")
	}
	if !money.IsCurrencyCode(t.Currency) {
		return fmt.Errorf("currency is not an ISO 4217 code")
	}
	if t.Revision < 0 {
		return fmt.Errorf("revision must not be negative")
	}
	var err error
	t.AmountMinor, err = t.Amount.Minor(cur, t.Currency, "amount", false)
	return err
}

// Link returns the href of the first link with rel, or "".
func (t *Transaction) Link(rel string) string { return findLink(t.Links, rel) }

func findLink(links []Link, rel string) string {
	for _, l := range links {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

// Transactions is a page of GET /transactions.
type Transactions []Transaction

func (ts *Transactions) settle(cur money.Currencies) error { return settleEach(*ts, cur) }

// settleEach settles every element of a list, naming the failing index.
func settleEach[T any, P interface {
	*T
	settler
}](items []T, cur money.Currencies) error {
	for i := range items {
		if err := P(&items[i]).settle(cur); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return nil
}

// PayoutRequestInput is the body of POST /payout-requests and PUT
// /payout-requests/{id} (the id is in the path).
type PayoutRequestInput struct {
	WebsiteID           string  `json:"websiteId"`
	CustomerID          string  `json:"customerId"`
	Currency            string  `json:"currency"`
	Amount              Decimal `json:"amount"`
	PaymentInstrumentID string  `json:"paymentInstrumentId,omitempty"`
	Description         string  `json:"description,omitempty"`
}

// CancellationReason says who cancelled a payout request and why.
type CancellationReason struct {
	CanceledBy  string `json:"canceledBy,omitempty"`
	Description string `json:"description,omitempty"`
}

// PayoutRequest is a customer's request to be paid (API.md §4). The id is
// client-chosen when created with PUT (upsert), which is how a create is
// made idempotent; AmountMinor is filled by Decode.
type PayoutRequest struct {
	ID                         string              `json:"id,omitempty"`
	WebsiteID                  string              `json:"websiteId"`
	CustomerID                 string              `json:"customerId"`
	Currency                   string              `json:"currency"`
	Amount                     Decimal             `json:"amount"`
	AvailableAmount            Decimal             `json:"availableAmount,omitempty"`
	PaymentInstrumentID        string              `json:"paymentInstrumentId,omitempty"`
	Description                string              `json:"description,omitempty"`
	Status                     string              `json:"status,omitempty"`
	Blocked                    bool                `json:"blocked,omitempty"`
	SelectPaymentInstrumentURL string              `json:"selectPaymentInstrumentUrl,omitempty"`
	CancellationReason         *CancellationReason `json:"cancellationReason,omitempty"`
	CreatedTime                string              `json:"createdTime,omitempty"`
	UpdatedTime                string              `json:"updatedTime,omitempty"`
	Links                      []Link              `json:"_links,omitempty"`

	AmountMinor int64 `json:"-"`
}

func (p *PayoutRequest) settle(cur money.Currencies) error {
	if p.ID == "" {
		return fmt.Errorf("id is missing")
	}
	if !money.IsCurrencyCode(p.Currency) {
		return fmt.Errorf("currency is not an ISO 4217 code")
	}
	var err error
	p.AmountMinor, err = p.Amount.Minor(cur, p.Currency, "amount", false)
	return err
}

// PayoutRequests is a page of GET /payout-requests.
type PayoutRequests []PayoutRequest

func (ps *PayoutRequests) settle(cur money.Currencies) error { return settleEach(*ps, cur) }

// CancelPayoutRequest is the optional body of POST
// /payout-requests/{id}/cancel.
type CancelPayoutRequest struct {
	Reason string `json:"reason,omitempty"`
}

// TransactionWebhook is the default payload of a transaction webhook
// (API.md §7). Its embedded transaction is a trigger only: money is read
// from GET /transactions/{id}.
type TransactionWebhook struct {
	TransactionID string `json:"transactionId"`
	EventType     string `json:"eventType"`
	Embedded      *struct {
		Transaction      *Transaction `json:"transaction,omitempty"`
		ChildTransaction *Transaction `json:"childTransaction,omitempty"`
	} `json:"_embedded,omitempty"`
	Links []Link `json:"_links,omitempty"`
}

func (w *TransactionWebhook) settle(cur money.Currencies) error {
	if w.TransactionID == "" || w.EventType == "" {
		return fmt.Errorf("transactionId and eventType are required")
	}
	if w.Embedded != nil {
		for _, t := range []*Transaction{w.Embedded.Transaction, w.Embedded.ChildTransaction} {
			if t != nil {
				if err := t.settle(cur); err != nil {
					return fmt.Errorf("_embedded: %w", err)
				}
			}
		}
	}
	return nil
}

// InvalidField is one entry of a 422 problem's invalidFields.
type InvalidField struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem details body (API.md §8).
type Problem struct {
	Type          string         `json:"type"`
	Title         string         `json:"title"`
	Status        int            `json:"status"`
	Detail        string         `json:"detail"`
	Instance      string         `json:"instance,omitempty"`
	InvalidFields []InvalidField `json:"invalidFields,omitempty"`
}

// knownSchemas are the strict reader's schemas of this package's body
// types, built once at initialisation and read-only afterwards.
var knownSchemas = schemasFor(
	reflect.TypeFor[Cashier](), reflect.TypeFor[Transaction](), reflect.TypeFor[Transactions](),
	reflect.TypeFor[PayoutRequest](), reflect.TypeFor[PayoutRequests](), reflect.TypeFor[TransactionWebhook](),
	reflect.TypeFor[Problem](), reflect.TypeFor[DepositRequest](),
)

// DepositRequest is what a cashier deposit rides on (API.md §5); its
// _links rel "deposit" is the hosted deposit form (a candidate for the
// customer-facing URL of a cashier, UNCONFIRMED).
type DepositRequest struct {
	ID             string   `json:"id"`
	WebsiteID      string   `json:"websiteId,omitempty"`
	CustomerID     string   `json:"customerId,omitempty"`
	Currency       string   `json:"currency,omitempty"`
	Status         string   `json:"status"`
	TransactionIDs []string `json:"transactionIds,omitempty"`
	RedirectURL    string   `json:"redirectUrl,omitempty"`
	ExpirationTime string   `json:"expirationTime,omitempty"`
	Links          []Link   `json:"_links,omitempty"`
}

// DepositURL is the hosted deposit form's link, or "".
func (d *DepositRequest) DepositURL() string { return findLink(d.Links, "deposit") }
