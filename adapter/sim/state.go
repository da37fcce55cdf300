package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

// Errors the Go action methods return; the test API maps them to HTTP
// statuses (404, 409, 400, 422).
var (
	// ErrNotFound means no session or transaction has that token or tid.
	ErrNotFound = errors.New("not found")
	// ErrInvalidState means the session or transaction is not in a state
	// that allows the action (capturing an approved payment, paying an
	// expired session, ...).
	ErrInvalidState = errors.New("not allowed in the current state")
	// ErrInvalidInput means an action's argument is unusable.
	ErrInvalidInput = errors.New("invalid input")
	// ErrDeclined means the attempt was blocked before processing: by the
	// merchant's validation reply, or by the session's balance. No
	// transaction was created; the reason is recorded on the session.
	ErrDeclined = errors.New("attempt declined")
)

// Session statuses (API.md §4.3).
const (
	sessionCreated        = "created"
	sessionOpen           = "open"
	sessionActionRequired = "action required"
	sessionSuccessful     = "successful"
	sessionExpired        = "expired"
)

// Session kinds, so State tells how a session was opened.
const (
	kindCashier         = "cashier"
	kindPaymentLink     = "payment_link"
	kindVirtualTerminal = "virtual_terminal"
	kindRefund          = "refund"
)

const (
	conversionRate   = "1.000000"
	simGateway       = "s-SimulatorGateway00000000000000"
	cardProcessor    = "SimCardProcessor"
	apmProcessor     = "SimAPMProcessor"
	creditCard       = "Credit Card"
	maskedCardNumber = "411111******1111"
)

// appState is one application's mutable state; the Application itself never
// changes after New. Guarded by Simulator.mu.
type appState struct {
	app      Application
	sessions map[string]*session // by auth_token
	order    []*session          // creation order, for State
	orders   map[string]*session // by order_id (cashier sessions and refunds)
	txs      map[int64]*tx
}

func newAppState(a Application) *appState {
	st := &appState{app: a}
	st.reset()
	return st
}

func (a *appState) reset() {
	a.sessions = make(map[string]*session)
	a.order = nil
	a.orders = make(map[string]*session)
	a.txs = make(map[int64]*tx)
}

type session struct {
	app             *appState
	token           string
	kind            string
	intent          string
	status          string
	orderID         string
	currency        string
	amount          *int64
	balance         *int64
	cid             string
	customerToken   string
	country         string
	firstName       string
	lastName        string
	paymentMethod   string
	gateway         string
	validationURL   string
	notificationURL string
	returnURL       string
	page            string // the cashier page this session's redirect_url names
	variables       [3]string
	created         time.Time
	expires         time.Time
	tids            []int64
	declines        []string
}

type tx struct {
	tid                 int64
	typ                 string
	status              string
	history             []string
	sess                *session
	currency            string
	amount              int64
	fee                 int64
	refunded            int64   // deposits: total of approved refunds
	chargedBack         int64   // deposits: what a chargeback took back
	withdrawalRequestID int64   // split payouts: the request W
	referenceID         int64   // refunds: the deposit
	payouts             []int64 // split requests: their payout tids
	transactionID       string
	paymentMethod       string
	gateway             string
	redirectURL         string
	statusDetails       string
	cardToken           string
}

// isRequest reports whether t is a customer's withdrawal request (as opposed
// to a payout split off one).
func (t *tx) isRequest() bool { return t.typ == praxis.TypePayout && t.withdrawalRequestID == 0 }

// isDeposit reports whether t moved money in: a sale or an authorization.
func (t *tx) isDeposit() bool {
	return t.typ == praxis.TypeSale || t.typ == praxis.TypeAuthorization
}

// live reports whether t still occupies its session: anything but a failed
// attempt.
func (t *tx) live() bool {
	switch t.status {
	case praxis.StatusRejected, praxis.StatusCancelled, praxis.StatusError:
		return false
	}
	return true
}

// finalStatus reports whether no further status is expected in the normal
// flow; the out-of-order fault holds back only non-final notifications.
func finalStatus(s string) bool {
	switch s {
	case praxis.StatusInitialized, praxis.StatusPending, praxis.StatusPendingAsync, praxis.StatusAuthorized,
		praxis.StatusRequested, praxis.StatusInProgress:
		return false
	}
	return true
}

// customerToken is a stable hash of the customer's identity, as Praxis'
// customer_token is.
func customerToken(appKey, cid string) string {
	sum := sha256.Sum256([]byte(appKey + "\x00" + cid))
	return hex.EncodeToString(sum[:16])
}

// Wire shapes of the objects Praxis sends (API.md §4). Unlike the praxis
// package's structs they write absent values as null, as Praxis does, and
// numbers as numbers.

type wireCustomer struct {
	CustomerToken     string  `json:"customer_token"`
	Country           *string `json:"country"`
	FirstName         *string `json:"first_name"`
	LastName          *string `json:"last_name"`
	AVSAlert          *int    `json:"avs_alert"`
	VerificationAlert *int    `json:"verification_alert"`
}

type wireSession struct {
	AuthToken         string          `json:"auth_token"`
	Intent            string          `json:"intent"`
	SessionStatus     string          `json:"session_status"`
	OrderID           string          `json:"order_id"`
	Currency          string          `json:"currency"`
	Amount            *int64          `json:"amount"`
	ConversionRate    json.RawMessage `json:"conversion_rate"`
	ProcessedCurrency *string         `json:"processed_currency"`
	ProcessedAmount   *int64          `json:"processed_amount"`
	PaymentMethod     *string         `json:"payment_method"`
	Gateway           *string         `json:"gateway"`
	CID               string          `json:"cid"`
	Variable1         *string         `json:"variable1"`
	Variable2         *string         `json:"variable2"`
	Variable3         *string         `json:"variable3"`
}

type wireCard struct {
	CardToken         string `json:"card_token"`
	CardType          string `json:"card_type"`
	CardNumber        string `json:"card_number"`
	CardExp           string `json:"card_exp"`
	CardIssuerName    string `json:"card_issuer_name"`
	CardIssuerCountry string `json:"card_issuer_country"`
	CardFundingSource string `json:"card_funding_source"`
}

type wireTransaction struct {
	TransactionType     string    `json:"transaction_type"`
	TransactionStatus   string    `json:"transaction_status"`
	TID                 int64     `json:"tid"`
	TransactionID       *string   `json:"transaction_id"`
	Currency            string    `json:"currency"`
	Amount              int64     `json:"amount"`
	ConversionRate      string    `json:"conversion_rate"`
	ProcessedCurrency   string    `json:"processed_currency"`
	ProcessedAmount     int64     `json:"processed_amount"`
	Fee                 int64     `json:"fee"`
	PaymentMethod       string    `json:"payment_method"`
	PaymentProcessor    string    `json:"payment_processor"`
	Gateway             string    `json:"gateway"`
	Card                *wireCard `json:"card"`
	Wallet              *struct{} `json:"wallet"`
	StatusCode          *string   `json:"status_code"`
	StatusDetails       *string   `json:"status_details"`
	RedirectURL         *string   `json:"redirect_url"`
	WithdrawalRequestID *int64    `json:"withdrawal_request_id"`
}

type wireAttempt struct {
	Intent              string          `json:"intent"`
	Currency            string          `json:"currency"`
	Amount              int64           `json:"amount"`
	ConversionRate      string          `json:"conversion_rate"`
	AttemptedCurrency   string          `json:"attempted_currency"`
	AttemptedAmount     int64           `json:"attempted_amount"`
	PaymentMethod       string          `json:"payment_method"`
	CardData            *wireCardData   `json:"card_data"`
	WalletData          json.RawMessage `json:"wallet_data"`
	WithdrawalRequestID *int64          `json:"withdrawal_request_id"`
}

type wireCardData struct {
	CardNumber string `json:"card_number"`
	CardExp    string `json:"card_exp"`
	CVV        string `json:"cvv"`
}

// wireNotification is the payment notification (V3, V7 shapes).
type wireNotification struct {
	MerchantID     string           `json:"merchant_id"`
	ApplicationKey string           `json:"application_key"`
	ConversionRate *string          `json:"conversion_rate"`
	Customer       wireCustomer     `json:"customer"`
	Session        wireSession      `json:"session"`
	Transaction    *wireTransaction `json:"transaction"`
	Version        string           `json:"version"`
	Timestamp      int64            `json:"timestamp"`
}

// wireValidation is the validation callback (V8 shape).
type wireValidation struct {
	MerchantID         string       `json:"merchant_id"`
	ApplicationKey     string       `json:"application_key"`
	Customer           wireCustomer `json:"customer"`
	Session            wireSession  `json:"session"`
	TransactionAttempt wireAttempt  `json:"transaction_attempt"`
	Version            string       `json:"version"`
	Timestamp          int64        `json:"timestamp"`
}

// wireResponse is every successful API answer; absent parts are omitted.
type wireResponse struct {
	Status      int              `json:"status"`
	Description string           `json:"description"`
	RedirectURL *string          `json:"redirect_url,omitempty"`
	Customer    *wireCustomer    `json:"customer,omitempty"`
	Session     *wireSession     `json:"session,omitempty"`
	Transaction *wireTransaction `json:"transaction,omitempty"`
	Version     string           `json:"version"`
	Timestamp   int64            `json:"timestamp"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func int64Ptr(v int64) *int64 { return &v }

func (se *session) wireCustomer() wireCustomer {
	zero := 0
	return wireCustomer{
		CustomerToken: se.customerToken, Country: strPtr(se.country), FirstName: strPtr(se.firstName),
		LastName: strPtr(se.lastName), AVSAlert: &zero, VerificationAlert: &zero,
	}
}

// processed totals the session's approved money movements.
func (se *session) processed() int64 {
	var total int64
	for _, tid := range se.tids {
		t := se.app.txs[tid]
		if t == nil {
			continue
		}
		switch t.status {
		case praxis.StatusApproved, praxis.StatusPartialRefund, praxis.StatusRefund, praxis.StatusChargeback:
			total += t.amount
		}
	}
	return total
}

func (se *session) wireSession() wireSession {
	ws := wireSession{
		AuthToken: se.token, Intent: se.intent, SessionStatus: se.status, OrderID: se.orderID,
		Currency: se.currency, Amount: se.amount, CID: se.cid,
		PaymentMethod: strPtr(se.paymentMethod), Gateway: strPtr(se.gateway),
		Variable1: strPtr(se.variables[0]), Variable2: strPtr(se.variables[1]), Variable3: strPtr(se.variables[2]),
		ConversionRate: json.RawMessage("null"),
	}
	if p := se.processed(); p > 0 {
		// Praxis' own example prints the session's rate as a bare number.
		ws.ConversionRate = json.RawMessage(conversionRate)
		ws.ProcessedCurrency = &ws.Currency
		ws.ProcessedAmount = &p
	}
	return ws
}

func (t *tx) wireTransaction() *wireTransaction {
	wt := &wireTransaction{
		TransactionType: t.typ, TransactionStatus: t.status, TID: t.tid, TransactionID: strPtr(t.transactionID),
		Currency: t.currency, Amount: t.amount, ConversionRate: conversionRate,
		ProcessedCurrency: t.currency, ProcessedAmount: t.amount, Fee: t.fee,
		PaymentMethod: t.paymentMethod, PaymentProcessor: apmProcessor, Gateway: t.gateway,
		RedirectURL: strPtr(t.redirectURL), StatusDetails: strPtr(t.statusDetails),
	}
	if t.paymentMethod == creditCard {
		wt.PaymentProcessor = cardProcessor
		wt.Card = &wireCard{
			CardToken: t.cardToken, CardType: "VISA", CardNumber: maskedCardNumber, CardExp: "12/2030",
			CardIssuerName: "Simulator Bank", CardIssuerCountry: "GB", CardFundingSource: "credit",
		}
	}
	if t.statusDetails != "" {
		wt.StatusCode = strPtr("05")
	}
	if t.withdrawalRequestID != 0 {
		wt.WithdrawalRequestID = int64Ptr(t.withdrawalRequestID)
	}
	return wt
}

// Transaction is a snapshot of one simulated transaction, as tests and GET
// /sim/state see it.
type Transaction struct {
	TID                 int64    `json:"tid"`
	ApplicationKey      string   `json:"application_key"`
	Type                string   `json:"transaction_type"`
	Status              string   `json:"transaction_status"`
	History             []string `json:"history"`
	AuthToken           string   `json:"auth_token"`
	OrderID             string   `json:"order_id"`
	CID                 string   `json:"cid"`
	Currency            string   `json:"currency"`
	Amount              int64    `json:"amount"`
	Fee                 int64    `json:"fee"`
	Refunded            int64    `json:"refunded,omitempty"`
	WithdrawalRequestID int64    `json:"withdrawal_request_id,omitempty"`
	ReferenceID         int64    `json:"reference_id,omitempty"`
	PayoutTIDs          []int64  `json:"payout_tids,omitempty"`
	RedirectURL         string   `json:"redirect_url,omitempty"`
}

// Session is a snapshot of one simulated session. Customer names are left
// out on purpose: the test API is no place for PII.
type Session struct {
	AuthToken      string    `json:"auth_token"`
	ApplicationKey string    `json:"application_key"`
	Kind           string    `json:"kind"`
	Intent         string    `json:"intent"`
	Status         string    `json:"session_status"`
	OrderID        string    `json:"order_id"`
	CID            string    `json:"cid"`
	Currency       string    `json:"currency"`
	Amount         *int64    `json:"amount"`
	Balance        *int64    `json:"balance"`
	TIDs           []int64   `json:"tids"`
	Declines       []string  `json:"declines,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// AppState is one application's sessions and transactions.
type AppState struct {
	MerchantID     string         `json:"merchant_id"`
	ApplicationKey string         `json:"application_key"`
	WithdrawalMode WithdrawalMode `json:"withdrawal_mode"`
	Sessions       []Session      `json:"sessions"`
	Transactions   []Transaction  `json:"transactions"`
}

// State is everything the simulator holds, for GET /sim/state and tests.
type State struct {
	Applications []AppState `json:"applications"`
}

func (t *tx) snapshot() Transaction {
	return Transaction{
		TID: t.tid, ApplicationKey: t.sess.app.app.ApplicationKey, Type: t.typ, Status: t.status,
		History: append([]string(nil), t.history...), AuthToken: t.sess.token, OrderID: t.sess.orderID,
		CID: t.sess.cid, Currency: t.currency, Amount: t.amount, Fee: t.fee, Refunded: t.refunded,
		WithdrawalRequestID: t.withdrawalRequestID, ReferenceID: t.referenceID,
		PayoutTIDs: append([]int64(nil), t.payouts...), RedirectURL: t.redirectURL,
	}
}

func (se *session) snapshot() Session {
	return Session{
		AuthToken: se.token, ApplicationKey: se.app.app.ApplicationKey, Kind: se.kind, Intent: se.intent,
		Status: se.status, OrderID: se.orderID, CID: se.cid, Currency: se.currency,
		Amount: copyPtr(se.amount), Balance: copyPtr(se.balance), TIDs: append([]int64(nil), se.tids...),
		Declines: append([]string(nil), se.declines...), CreatedAt: se.created, ExpiresAt: se.expires,
	}
}

func copyPtr(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func (a *appState) snapshot() AppState {
	out := AppState{
		MerchantID: a.app.MerchantID, ApplicationKey: a.app.ApplicationKey, WithdrawalMode: a.app.WithdrawalMode,
		Sessions: make([]Session, 0, len(a.order)), Transactions: make([]Transaction, 0, len(a.txs)),
	}
	for _, se := range a.order {
		out.Sessions = append(out.Sessions, se.snapshot())
	}
	for _, t := range a.txs {
		out.Transactions = append(out.Transactions, t.snapshot())
	}
	sort.Slice(out.Transactions, func(i, j int) bool { return out.Transactions[i].TID < out.Transactions[j].TID })
	return out
}

// Effects counts the state-changing effects actually applied, per tid, and
// the calls received per endpoint path, so tests can assert "exactly once".
type Effects struct {
	// Captures and Cancels are keyed by the authorization's tid.
	Captures map[int64]int `json:"captures"`
	Cancels  map[int64]int `json:"cancels"`
	// WithdrawalCompletes, WithdrawalCancels and Payouts (payouts that
	// reached approved) are keyed by the withdrawal request's tid.
	WithdrawalCompletes map[int64]int `json:"withdrawal_completes"`
	WithdrawalCancels   map[int64]int `json:"withdrawal_cancels"`
	Payouts             map[int64]int `json:"payouts"`
	// Refunds and Chargebacks are keyed by the deposit's tid.
	Refunds     map[int64]int `json:"refunds"`
	Chargebacks map[int64]int `json:"chargebacks"`
	// Calls counts every request per endpoint path, failed ones included.
	Calls map[string]int `json:"calls"`
}

func newEffects() Effects {
	return Effects{
		Captures: map[int64]int{}, Cancels: map[int64]int{}, WithdrawalCompletes: map[int64]int{},
		WithdrawalCancels: map[int64]int{}, Payouts: map[int64]int{}, Refunds: map[int64]int{},
		Chargebacks: map[int64]int{}, Calls: map[string]int{},
	}
}

func (e Effects) clone() Effects {
	c := newEffects()
	for _, p := range []struct{ dst, src map[int64]int }{
		{c.Captures, e.Captures}, {c.Cancels, e.Cancels}, {c.WithdrawalCompletes, e.WithdrawalCompletes},
		{c.WithdrawalCancels, e.WithdrawalCancels}, {c.Payouts, e.Payouts}, {c.Refunds, e.Refunds},
		{c.Chargebacks, e.Chargebacks},
	} {
		for k, v := range p.src {
			p.dst[k] = v
		}
	}
	for k, v := range e.Calls {
		c.Calls[k] = v
	}
	return c
}

// BalanceKey names one customer wallet: application, cid and currency.
type BalanceKey struct {
	ApplicationKey string
	CID            string
	Currency       string
}

// Balance is one wallet's net movement in minor units (see the package doc
// for the sign convention), as GET /sim/balances lists it.
type Balance struct {
	ApplicationKey string `json:"application_key"`
	CID            string `json:"cid"`
	Currency       string `json:"currency"`
	Amount         int64  `json:"amount"`
}

// movement is t's contribution to its customer's balance; ok is false when
// t never moved money (a pending, rejected or requested transaction).
func (t *tx) movement() (amount int64, ok bool) {
	switch {
	case t.isDeposit():
		switch t.status {
		case praxis.StatusApproved, praxis.StatusPartialRefund, praxis.StatusRefund:
			return t.amount, true
		case praxis.StatusChargeback:
			return t.amount - t.chargedBack, true
		}
	case t.typ == praxis.TypeRefund && t.status == praxis.StatusApproved:
		return -t.amount, true
	case t.typ == praxis.TypePayout && t.status == praxis.StatusApproved:
		return -t.amount, true
	case t.typ == praxis.TypePayout && t.status == praxis.StatusReversed:
		return 0, true
	}
	return 0, false
}
