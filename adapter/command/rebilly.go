package command

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
)

// Rebilly command names: the last two tokens of a subject
// rebilly.commands.<app>.<command>. They live in their own registry
// (RebillyLookup, RebillyNames), so Praxis' Names() and Lookup() are
// unchanged and a Praxis subject never accepts a Rebilly command. The plan
// each follows is adapter/rebilly's package documentation.
const (
	RebillyCashierCreate         = "cashier.create"
	RebillyTransactionFind       = "transaction.find"
	RebillyRefundCreate          = "refund.create"
	RebillyPayoutRequestCreate   = "payout_request.create"
	RebillyPayoutRequestCancel   = "payout_request.cancel"
	RebillyPayoutRequestReverse  = "payout_request.reverse"
	rebillyDescriptionMaxLength  = 255
	rebillyRedirectURLMaxLength  = 2048
	rebillyCancelReasonMaxLength = 255
)

// RebillyCashier opens a Rebilly cashier (POST /cashiers) for a customer in
// one currency. Deposit limits are minor units, converted to Rebilly's
// decimals exactly; website_id and redirect_url default to the
// application's settings, and the notificationUrl always points at the
// ingress (it is not a command field: Rebilly's calls to it are triggers
// the ingress verifies by GET).
type RebillyCashier struct {
	Envelope
	CustomerID     string `json:"customer_id"`
	WebsiteID      string `json:"website_id,omitempty"`
	Currency       string `json:"currency"`
	DepositMinimum *int64 `json:"deposit_minimum,omitempty"`
	DepositMaximum *int64 `json:"deposit_maximum,omitempty"`
	RedirectURL    string `json:"redirect_url,omitempty"`
}

// RebillyFindTransaction reads a transaction (GET /transactions/{id}).
type RebillyFindTransaction struct {
	Envelope
	TransactionID string `json:"transaction_id"`
}

// RebillyRefund refunds (part of) an approved sale or capture
// (POST /transactions/{id}/refund); amount is in minor units of currency,
// which must be the transaction's.
type RebillyRefund struct {
	Envelope
	TransactionID string `json:"transaction_id"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	Description   string `json:"description,omitempty"`
}

// RebillyPayout creates a customer's payout (withdrawal)
// request under an id derived from the command id, so a repeat is safe.
type RebillyPayout struct {
	Envelope
	CustomerID          string `json:"customer_id"`
	WebsiteID           string `json:"website_id,omitempty"`
	Currency            string `json:"currency"`
	Amount              int64  `json:"amount"`
	PaymentInstrumentID string `json:"payment_instrument_id,omitempty"`
	Description         string `json:"description,omitempty"`
}

// RebillyPayoutCancel cancels one payout request.
type RebillyPayoutCancel struct {
	Envelope
	PayoutRequestID string `json:"payout_request_id"`
	Reason          string `json:"reason,omitempty"`
}

// RebillyReverse is the reverse withdrawal: cancel the
// customer's pending payout requests in currency, oldest first, for at most
// amount (minor units) in total.
type RebillyReverse struct {
	Envelope
	CustomerID string `json:"customer_id"`
	Currency   string `json:"currency"`
	Amount     int64  `json:"amount"`
	Reason     string `json:"reason,omitempty"`
}

// RebillyLookup finds a Rebilly command's spec by name.
func RebillyLookup(name string) (Spec, bool) {
	switch name {
	case RebillyCashierCreate:
		return Spec{RebillyCashierCreate, "open a Rebilly cashier for a customer and currency", true, func() Command { return &RebillyCashier{} }}, true
	case RebillyTransactionFind:
		return Spec{RebillyTransactionFind, "read a Rebilly transaction by id", false, func() Command { return &RebillyFindTransaction{} }}, true
	case RebillyRefundCreate:
		return Spec{RebillyRefundCreate, "refund (part of) an approved Rebilly sale or capture", true, func() Command { return &RebillyRefund{} }}, true
	case RebillyPayoutRequestCreate:
		return Spec{RebillyPayoutRequestCreate, "create a payout (withdrawal) request", true, func() Command { return &RebillyPayout{} }}, true
	case RebillyPayoutRequestCancel:
		return Spec{RebillyPayoutRequestCancel, "cancel a payout request", true, func() Command { return &RebillyPayoutCancel{} }}, true
	case RebillyPayoutRequestReverse:
		return Spec{RebillyPayoutRequestReverse, "reverse withdrawal: cancel pending payout requests up to an amount", true, func() Command { return &RebillyReverse{} }}, true
	}
	return Spec{}, false
}

// RebillyNames lists the Rebilly command names, in documentation order.
func RebillyNames() []string {
	return []string{RebillyCashierCreate, RebillyTransactionFind, RebillyRefundCreate, RebillyPayoutRequestCreate,
		RebillyPayoutRequestCancel, RebillyPayoutRequestReverse}
}

// RebillySpecs lists every Rebilly command, in documentation order.
func RebillySpecs() []Spec { return specsOf(RebillyNames(), RebillyLookup) }

// ParseRebilly decodes and validates the Rebilly command called name, with
// the same strict reader as Parse.
func ParseRebilly(name string, data []byte, now time.Time) (Command, error) {
	spec, ok := RebillyLookup(name)
	if !ok {
		return nil, invalid("unknown command %q; known commands: %s", name, strings.Join(RebillyNames(), ", "))
	}
	return parseSpec(spec, data, now)
}

// rebillyTypes are the Rebilly command types, for the strict schemas.
func rebillyTypes() []reflect.Type {
	out := []reflect.Type{}
	for _, s := range RebillySpecs() {
		out = append(out, reflect.TypeOf(s.New()))
	}
	return out
}

// Validate checks a cashier command.
func (c *RebillyCashier) Validate(time.Time) error {
	if err := checkRebillyID("customer_id", c.CustomerID, true); err != nil {
		return err
	}
	if err := checkRebillyID("website_id", c.WebsiteID, false); err != nil {
		return err
	}
	if err := checkCurrency(c.Currency); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    *int64
	}{{"deposit_minimum", c.DepositMinimum}, {"deposit_maximum", c.DepositMaximum}} {
		if f.v != nil && *f.v <= 0 {
			return invalid("%s must be positive (minor units) when given", f.name)
		}
	}
	if c.DepositMinimum != nil && c.DepositMaximum != nil && *c.DepositMinimum > *c.DepositMaximum {
		return invalid("deposit_minimum must not exceed deposit_maximum")
	}
	if err := checkURL("redirect_url", c.RedirectURL); err != nil {
		return err
	}
	return nil
}

// Validate checks a transaction lookup.
func (c *RebillyFindTransaction) Validate(time.Time) error {
	return checkRebillyID("transaction_id", c.TransactionID, true)
}

// Validate checks a refund.
func (c *RebillyRefund) Validate(time.Time) error {
	if err := checkRebillyID("transaction_id", c.TransactionID, true); err != nil {
		return err
	}
	if c.Amount <= 0 {
		return invalid("amount is required and must be positive (minor units)")
	}
	if err := checkCurrency(c.Currency); err != nil {
		return err
	}
	return checkLen("description", c.Description, rebillyDescriptionMaxLength, false)
}

// Validate checks a payout request.
func (c *RebillyPayout) Validate(time.Time) error {
	if err := checkRebillyID("customer_id", c.CustomerID, true); err != nil {
		return err
	}
	if err := checkRebillyID("website_id", c.WebsiteID, false); err != nil {
		return err
	}
	if err := checkRebillyID("payment_instrument_id", c.PaymentInstrumentID, false); err != nil {
		return err
	}
	if err := checkCurrency(c.Currency); err != nil {
		return err
	}
	if c.Amount <= 0 {
		return invalid("amount is required and must be positive (minor units)")
	}
	return checkLen("description", c.Description, rebillyDescriptionMaxLength, false)
}

// Validate checks a payout request cancellation.
func (c *RebillyPayoutCancel) Validate(time.Time) error {
	if err := checkRebillyID("payout_request_id", c.PayoutRequestID, true); err != nil {
		return err
	}
	return checkLen("reason", c.Reason, rebillyCancelReasonMaxLength, false)
}

// Validate checks a reverse withdrawal.
func (c *RebillyReverse) Validate(time.Time) error {
	if err := checkRebillyID("customer_id", c.CustomerID, true); err != nil {
		return err
	}
	if err := checkCurrency(c.Currency); err != nil {
		return err
	}
	if c.Amount <= 0 {
		return invalid("amount is required and must be positive (minor units): the most to give back")
	}
	return checkLen("reason", c.Reason, rebillyCancelReasonMaxLength, false)
}

// checkRebillyID refuses what cannot be a Rebilly id in a path (at most 50
// letters, digits or -_.@~); the reason never repeats the value.
func checkRebillyID(name, v string, required bool) error {
	if v == "" {
		if required {
			return invalid("%s is required", name)
		}
		return nil
	}
	if !rebilly.ValidID(v) {
		return invalid("%s must be at most 50 letters, digits or -_.@~", name)
	}
	return nil
}

// RebillyResult is the Rebilly part of a Result: ids, statuses and amounts
// in minor units (converted from Rebilly's decimals exactly), and, for a
// refusal, the problem's status, title and type (never its detail or
// field messages, which may repeat customer values).
type RebillyResult struct {
	HTTPStatus int             `json:"http_status,omitempty"`
	Problem    *RebillyProblem `json:"problem,omitempty"`

	// cashier.create
	CashierID            string `json:"cashier_id,omitempty"`
	CashierToken         string `json:"cashier_token,omitempty"`
	ExpirationTime       string `json:"expiration_time,omitempty"`
	LastDepositRequestID string `json:"last_deposit_request_id,omitempty"`
	DepositURL           string `json:"deposit_url,omitempty"`

	// transaction.find and refund.create
	TransactionID       string `json:"transaction_id,omitempty"`
	TransactionType     string `json:"transaction_type,omitempty"`
	TransactionStatus   string `json:"transaction_status,omitempty"`
	TransactionResult   string `json:"transaction_result,omitempty"`
	ParentTransactionID string `json:"parent_transaction_id,omitempty"`

	// payout_request.*
	PayoutRequestID     string `json:"payout_request_id,omitempty"`
	PayoutRequestStatus string `json:"payout_request_status,omitempty"`

	Amount   *int64 `json:"amount,omitempty"`
	Currency string `json:"currency,omitempty"`

	// payout_request.reverse: the requests canceled (all of the stored
	// selection), their total, and what stays pending.
	CanceledPayoutRequests []string `json:"canceled_payout_requests,omitempty"`
	CanceledAmount         *int64   `json:"canceled_amount,omitempty"`
	PendingAmount          *int64   `json:"pending_amount,omitempty"`

	// Transaction is the GET's body as Rebilly sent it (transaction.find).
	Transaction json.RawMessage `json:"transaction,omitempty"`
}

// RebillyProblem is a refusal's problem+json status, title and type.
type RebillyProblem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Type   string `json:"type,omitempty"`
}

// rebilly returns the result's Rebilly part, creating it.
func (r *Result) rebilly() *RebillyResult {
	r.Provider = "rebilly"
	if r.Rebilly == nil {
		r.Rebilly = &RebillyResult{}
	}
	return r.Rebilly
}

// FillRebillyTransaction copies a transaction's ids, status and amount.
func (r *Result) FillRebillyTransaction(t *rebilly.Transaction) {
	rb := r.rebilly()
	rb.TransactionID, rb.TransactionType, rb.TransactionStatus = t.ID, t.Type, t.Status
	rb.TransactionResult, rb.ParentTransactionID = t.Result, t.ParentTransactionID
	amount := t.AmountMinor
	rb.Amount, rb.Currency = &amount, t.Currency
	if t.PayoutRequestID != "" {
		rb.PayoutRequestID = t.PayoutRequestID
	}
}

// FillRebillyPayoutRequest copies a payout request's id, status and amount.
func (r *Result) FillRebillyPayoutRequest(p *rebilly.PayoutRequest) {
	rb := r.rebilly()
	rb.PayoutRequestID, rb.PayoutRequestStatus = p.ID, p.Status
	amount := p.AmountMinor
	rb.Amount, rb.Currency = &amount, p.Currency
}

// FillRebillyCashier copies a cashier's id, token and expiry.
func (r *Result) FillRebillyCashier(c *rebilly.Cashier) {
	rb := r.rebilly()
	rb.CashierID, rb.CashierToken, rb.ExpirationTime = c.ID, c.CashierToken, c.ExpirationTime
	rb.LastDepositRequestID, rb.Currency = c.LastDepositRequestID, c.Currency
}

// FillRebillyError copies a Rebilly error's HTTP status and problem title,
// status and type.
func (r *Result) FillRebillyError(e *rebilly.Error) {
	rb := r.rebilly()
	rb.HTTPStatus = e.HTTPStatus
	if p := e.Problem; p != nil {
		rb.Problem = &RebillyProblem{Status: p.Status, Title: p.Title, Type: p.Type}
	}
}

// RebillyExamples returns one valid body per Rebilly command; a test
// parses each and the JSON Schemas carry the same.
func RebillyExamples() map[string]string {
	return map[string]string{
		RebillyCashierCreate:        `{"id":"cmd-2001","customer_id":"cus_42","currency":"EUR","deposit_minimum":1000,"deposit_maximum":50000}`,
		RebillyTransactionFind:      `{"id":"cmd-2002","transaction_id":"txn_01HXYZ"}`,
		RebillyRefundCreate:         `{"id":"cmd-2003","transaction_id":"txn_01HXYZ","amount":500,"currency":"EUR"}`,
		RebillyPayoutRequestCreate:  `{"id":"cmd-2004","customer_id":"cus_42","currency":"EUR","amount":2500}`,
		RebillyPayoutRequestCancel:  `{"id":"cmd-2005","payout_request_id":"pout_req_01HXYZ"}`,
		RebillyPayoutRequestReverse: `{"id":"cmd-2006","customer_id":"cus_42","currency":"EUR","amount":2500}`,
	}
}
