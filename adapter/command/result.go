package command

import (
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

// Outcomes of a command: every command ends in exactly one of them.
const (
	// OutcomeOK: Praxis did it (or, for a lookup, answered).
	OutcomeOK = "ok"
	// OutcomeRejected: Praxis refused it with a business error (positive
	// status); it is not retried.
	OutcomeRejected = "rejected"
	// OutcomeInvalid: refused by our validation before reaching Praxis.
	OutcomeInvalid = "invalid"
	// OutcomeFailed: gave up after retries, or could not be reconciled.
	OutcomeFailed = "failed"
)

// Reason codes: the machine-readable form of Result.Reason, so a CRM can
// branch without parsing text. The set is closed (the result schema lists
// it); a new code is a contract change.
const (
	// ReasonInvalidSubject: the command's subject does not name an
	// application and a command.
	ReasonInvalidSubject = "invalid_subject"
	// ReasonUnknownCommand: no such command.
	ReasonUnknownCommand = "unknown_command"
	// ReasonInvalidCommand: the body breaks the command's contract (not
	// JSON, unknown or ambiguous field, missing or out-of-range value).
	ReasonInvalidCommand = "invalid_command"
	// ReasonInvalidApplication: the application is not configured, does
	// not match the subject, or no front end serves the website/currency;
	// or a setting the command needs (return_url, notification_url) is
	// missing.
	ReasonInvalidApplication = "invalid_application"
	// ReasonCallbackNotAllowed: a callback or return URL outside the
	// application's allowlist.
	ReasonCallbackNotAllowed = "callback_not_allowed"
	// ReasonCurrencyLocked: the customer's currency is fixed to another one.
	ReasonCurrencyLocked = "currency_locked"
	// ReasonIDReused: the command id was used before for another command.
	ReasonIDReused = "id_reused"
	// ReasonPraxisRejected: Praxis refused it (see Result.Praxis).
	ReasonPraxisRejected = "praxis_rejected"
	// ReasonRetriesExhausted: gave up after retries; no Praxis effect is
	// known to have happened (nothing sent, or a lookup after the settle
	// window shows none).
	ReasonRetriesExhausted = "retries_exhausted"
	// ReasonOutcomeUnknown: gave up while a call may have reached Praxis and
	// no lookup could tell; replay it from the dead-letter stream (it
	// reconciles first).
	ReasonOutcomeUnknown = "outcome_unknown"
	// ReasonSessionAnswerLost: the session exists at Praxis but the answer
	// carrying its redirect_url was lost; open a new session.
	ReasonSessionAnswerLost = "session_answer_lost"
	// ReasonRebillyRejected: Rebilly refused it (see Result.Rebilly.Problem).
	ReasonRebillyRejected = "rebilly_rejected"
	// ReasonCashierAnswerLost: a Rebilly cashier may have been created but
	// the answer carrying its token was lost, and Rebilly has no lookup to
	// find it; open a new cashier with a new command id.
	ReasonCashierAnswerLost = "cashier_answer_lost"
)

// ReasonCodes lists every reason code, for the schema drift test.
func ReasonCodes() []string {
	return []string{ReasonInvalidSubject, ReasonUnknownCommand, ReasonInvalidCommand, ReasonInvalidApplication,
		ReasonCallbackNotAllowed, ReasonCurrencyLocked, ReasonIDReused, ReasonPraxisRejected, ReasonRetriesExhausted,
		ReasonOutcomeUnknown, ReasonSessionAnswerLost, ReasonRebillyRejected, ReasonCashierAnswerLost}
}

// Result is published on praxis.results.<app>.<command> (and to the
// command's reply subject, when it named one) when a command ends.
type Result struct {
	ID          string `json:"id"`
	Command     string `json:"command"`
	Application string `json:"application"`
	Outcome     string `json:"outcome"`
	// Reason explains invalid and failed outcomes exactly, for people.
	Reason string `json:"reason,omitempty"`
	// ReasonCode is Reason for programs: one of ReasonCodes(), set for
	// every outcome but ok.
	ReasonCode string `json:"reason_code,omitempty"`
	// Praxis is the API status Praxis answered, when it answered.
	Praxis *Status `json:"praxis,omitempty"`
	// Provider names the provider of a non-Praxis result ("rebilly");
	// Praxis results leave it out, so their shape is unchanged.
	Provider string `json:"provider,omitempty"`
	// Rebilly is what Rebilly answered, on Rebilly results.
	Rebilly *RebillyResult `json:"rebilly,omitempty"`

	// Session results.
	RedirectURL   string `json:"redirect_url,omitempty"`
	AuthToken     string `json:"auth_token,omitempty"`
	SessionStatus string `json:"session_status,omitempty"`
	OrderID       string `json:"order_id,omitempty"`
	CustomerToken string `json:"customer_token,omitempty"`

	// Transaction results.
	TID               *int64 `json:"tid,omitempty"`
	TransactionType   string `json:"transaction_type,omitempty"`
	TransactionStatus string `json:"transaction_status,omitempty"`
	Amount            *int64 `json:"amount,omitempty"`
	Currency          string `json:"currency,omitempty"`
	ProcessedAmount   *int64 `json:"processed_amount,omitempty"`
	ProcessedCurrency string `json:"processed_currency,omitempty"`

	// Lookups return the objects as Praxis reported them.
	Transaction *praxis.Transaction `json:"transaction,omitempty"`
	Session     *praxis.Session     `json:"session,omitempty"`

	// Calls counts the command's own Praxis requests (for a state-changing
	// command: the capture, refund, ... requests) and Lookups the
	// find-transaction / find-order requests made to reconcile them, both
	// across every delivery of this command id; a request is counted when
	// it is about to be sent, so a call whose answer was lost counts.
	// Attempts is their sum (every Praxis request for this command id);
	// Deliveries counts how often this message was delivered.
	Attempts   int `json:"attempts"`
	Calls      int `json:"calls"`
	Lookups    int `json:"lookups"`
	Deliveries int `json:"deliveries"`
	// Reconciled: the outcome was established by a lookup, not by the
	// answer to a call.
	Reconciled bool `json:"reconciled,omitempty"`
	// Replayed marks a result answered from the idempotency record: a
	// redelivered or re-published command made no new Praxis call.
	Replayed bool `json:"replayed,omitempty"`
	// LatencyMS runs from the command's arrival in the stream to its
	// result; PraxisMS is the part spent waiting on Praxis, so their
	// difference is what the adapter itself added.
	LatencyMS   float64   `json:"latency_ms"`
	PraxisMS    float64   `json:"praxis_ms"`
	CompletedAt time.Time `json:"completed_at"`
	// StreamSeq identifies a refused command that had no usable id.
	StreamSeq uint64 `json:"stream_seq,omitempty"`
}

// Status is the Praxis API status and description.
type Status struct {
	Status      int    `json:"status"`
	Description string `json:"description"`
}

// FillSession copies the useful fields of a session response.
func (r *Result) FillSession(resp *praxis.SessionResponse) {
	r.Praxis = &Status{Status: resp.Status, Description: resp.Description}
	r.RedirectURL = resp.RedirectURL
	if resp.Customer != nil {
		r.CustomerToken = resp.Customer.CustomerToken
	}
	if resp.Session != nil {
		r.AuthToken = resp.Session.AuthToken
		r.SessionStatus = resp.Session.SessionStatus
		r.OrderID = resp.Session.OrderID
	}
}

// FillTransaction copies the useful fields of a transaction response;
// full objects are kept for lookups.
func (r *Result) FillTransaction(resp *praxis.TransactionResponse, full bool) {
	r.Praxis = &Status{Status: resp.Status, Description: resp.Description}
	if t := resp.Transaction; t != nil {
		tid := t.TID
		r.TID = &tid
		r.TransactionType = t.TransactionType
		r.TransactionStatus = t.TransactionStatus
		r.Amount = t.Amount
		r.Currency = t.Currency
		r.ProcessedAmount = t.ProcessedAmount
		r.ProcessedCurrency = t.ProcessedCurrency
	}
	if s := resp.Session; s != nil {
		r.SessionStatus = s.SessionStatus
		r.OrderID = s.OrderID
		r.AuthToken = s.AuthToken
	}
	if full {
		r.Transaction = resp.Transaction
		r.Session = resp.Session
	}
}
