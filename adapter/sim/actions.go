package sim

import (
	"context"
	"strconv"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

// PayOptions describe a customer's payment in a payment or authorization
// session.
type PayOptions struct {
	// Amount is what the customer pays; 0 means the session's amount (a bank
	// wire or crypto customer may send a different one).
	Amount int64 `json:"amount"`
	// PaymentMethod defaults to the session's, else "Credit Card" (which
	// gets a masked card in notifications).
	PaymentMethod string `json:"payment_method"`
	// Fee is reported in the transaction's fee field.
	Fee int64 `json:"fee"`
	// ThreeDS stops the transaction at initialized, with a redirect_url,
	// until FinishThreeDS.
	ThreeDS bool `json:"three_ds"`
}

// DeclineOptions describe a payment the PSP declines.
type DeclineOptions struct {
	// Amount is what the customer tried to pay; 0 means the session's.
	Amount int64 `json:"amount"`
	// Reason goes to status_details; default "Do not honor".
	Reason string `json:"reason"`
}

// EditOptions are a back-office operator's edits of a withdrawal request
// before it is authorized; nil leaves a field as it is.
type EditOptions struct {
	Amount *int64 `json:"amount"`
	Fee    *int64 `json:"fee"`
}

type attemptKind int

const (
	attemptPay attemptKind = iota
	attemptDecline
	attemptWithdraw
)

type attemptSpec struct {
	kind    attemptKind
	amount  int64
	method  string
	fee     int64
	threeDS bool
	reason  string
}

// Pay acts as the customer paying in the session: after the validation
// callback (if the session has a validation_url) a sale goes pending →
// approved, or an authorization pending → authorized; with ThreeDS it stops
// at initialized. ctx bounds the validation callback.
func (s *Simulator) Pay(ctx context.Context, authToken string, opt PayOptions) (Transaction, error) {
	return s.attempt(ctx, authToken, attemptSpec{kind: attemptPay, amount: opt.Amount, method: opt.PaymentMethod, fee: opt.Fee, threeDS: opt.ThreeDS})
}

// Decline acts as the customer paying and the PSP declining: pending →
// rejected, after the validation callback.
func (s *Simulator) Decline(ctx context.Context, authToken string, opt DeclineOptions) (Transaction, error) {
	reason := opt.Reason
	if reason == "" {
		reason = "Do not honor"
	}
	return s.attempt(ctx, authToken, attemptSpec{kind: attemptDecline, amount: opt.Amount, reason: reason})
}

// RequestWithdrawal acts as the customer of a withdrawal session asking for
// amount: above the session's balance it is declined at once; otherwise,
// after the validation callback, a withdrawal request is created in
// requested.
func (s *Simulator) RequestWithdrawal(ctx context.Context, authToken string, amount int64) (Transaction, error) {
	return s.attempt(ctx, authToken, attemptSpec{kind: attemptWithdraw, amount: amount})
}

func (s *Simulator) attempt(ctx context.Context, token string, sp attemptSpec) (Transaction, error) {
	if sp.amount < 0 || sp.fee < 0 {
		return Transaction{}, errorf(ErrInvalidInput, "amount and fee must not be negative")
	}
	s.mu.Lock()
	se := s.findSession(token)
	if se == nil {
		s.mu.Unlock()
		return Transaction{}, errorf(ErrNotFound, "no session %q", token)
	}
	amount, err := s.checkAttemptLocked(se, sp)
	if err != nil {
		s.mu.Unlock()
		return Transaction{}, err
	}
	if sp.kind == attemptWithdraw && se.balance != nil && amount > *se.balance {
		reason := "Amount exceeds the available balance of " + strconv.FormatInt(*se.balance, 10)
		se.declines = append(se.declines, reason)
		s.mu.Unlock()
		return Transaction{}, errorf(ErrDeclined, "%s", reason)
	}
	if se.status == sessionCreated {
		se.status = sessionOpen
	}
	url, app := se.validationURL, se.app.app
	var v wireValidation
	if url != "" {
		v = s.validationLocked(se, sp, amount)
	}
	s.mu.Unlock()

	if url != "" {
		if verdict := s.validate(ctx, app, url, v); !verdict.ok {
			s.mu.Lock()
			se.declines = append(se.declines, verdict.reason)
			s.mu.Unlock()
			return Transaction{}, errorf(ErrDeclined, "%s", verdict.reason)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if se.app.sessions[se.token] != se {
		return Transaction{}, errorf(ErrNotFound, "session %q was reset", token)
	}
	if _, err := s.checkAttemptLocked(se, sp); err != nil {
		return Transaction{}, err
	}
	typ := praxis.TypeSale
	switch {
	case sp.kind == attemptWithdraw:
		typ = praxis.TypePayout
	case se.intent == praxis.IntentAuthorization:
		typ = praxis.TypeAuthorization
	}
	t := s.newTx(se, typ, amount)
	t.fee = sp.fee
	if sp.method != "" {
		t.paymentMethod = sp.method
	}
	t.transactionID = "sim-" + s.rng.Hex(20)
	if t.paymentMethod == creditCard && typ != praxis.TypePayout {
		t.cardToken = s.rng.Hex(32)
	}
	switch {
	case sp.kind == attemptWithdraw:
		se.status = sessionActionRequired
		s.setStatus(t, praxis.StatusRequested)
	case sp.kind == attemptDecline:
		s.setStatus(t, praxis.StatusPending)
		t.statusDetails = sp.reason
		s.setStatus(t, praxis.StatusRejected)
	case sp.threeDS:
		t.redirectURL = se.page + "?3ds=" + strconv.FormatInt(t.tid, 10)
		s.setStatus(t, praxis.StatusInitialized)
	default:
		s.setStatus(t, praxis.StatusPending)
		s.succeedLocked(t)
	}
	return t.snapshot(), nil
}

// succeedLocked ends a deposit's processing successfully.
func (s *Simulator) succeedLocked(t *tx) {
	t.redirectURL = ""
	t.sess.status = sessionSuccessful // before the notification that carries it
	if t.typ == praxis.TypeAuthorization {
		s.setStatus(t, praxis.StatusAuthorized)
	} else {
		s.setStatus(t, praxis.StatusApproved)
	}
}

// checkAttemptLocked returns the attempt's amount, or why the session does
// not take it.
func (s *Simulator) checkAttemptLocked(se *session, sp attemptSpec) (int64, error) {
	switch {
	case se.kind == kindRefund:
		return 0, errorf(ErrInvalidState, "session %q belongs to a refund", se.token)
	case sp.kind == attemptWithdraw && se.intent != praxis.IntentWithdrawal:
		return 0, errorf(ErrInvalidState, "session intent is %s, not withdrawal", se.intent)
	case sp.kind != attemptWithdraw && se.intent == praxis.IntentWithdrawal:
		return 0, errorf(ErrInvalidState, "session intent is withdrawal; request a withdrawal instead")
	case se.status == sessionExpired || !s.now().Before(se.expires):
		return 0, errorf(ErrInvalidState, "session %q has expired", se.token)
	}
	for _, tid := range se.tids {
		if t := se.app.txs[tid]; t != nil && t.live() {
			return 0, errorf(ErrInvalidState, "session already has transaction %d (%s)", t.tid, t.status)
		}
	}
	amount := sp.amount
	if amount == 0 && se.amount != nil {
		amount = *se.amount
	}
	if amount <= 0 {
		return 0, errorf(ErrInvalidInput, "amount is required: the session has none")
	}
	return amount, nil
}

func (s *Simulator) validationLocked(se *session, sp attemptSpec, amount int64) wireValidation {
	method := sp.method
	if method == "" {
		method = se.paymentMethod
	}
	if method == "" {
		method = creditCard
	}
	att := wireAttempt{
		Intent: se.intent, Currency: se.currency, Amount: amount, ConversionRate: conversionRate,
		AttemptedCurrency: se.currency, AttemptedAmount: amount, PaymentMethod: method,
		WalletData: []byte("null"),
	}
	if method == creditCard {
		att.CardData = &wireCardData{CardNumber: maskedCardNumber, CardExp: "12/2030", CVV: "***"}
	}
	return wireValidation{
		MerchantID: se.app.app.MerchantID, ApplicationKey: se.app.app.ApplicationKey,
		Customer: se.wireCustomer(), Session: se.wireSession(), TransactionAttempt: att, Version: praxis.Version,
	}
}

// FinishThreeDS ends a deposit waiting at initialized: approve moves it to
// approved (authorized for an authorization), otherwise to rejected.
func (s *Simulator) FinishThreeDS(_ context.Context, tid int64, approve bool) (Transaction, error) {
	return s.onTx(tid, func(t *tx) error {
		if !t.isDeposit() || t.status != praxis.StatusInitialized {
			return errorf(ErrInvalidState, "transaction %d is a %s in %s, not a deposit awaiting 3-D Secure", tid, t.typ, t.status)
		}
		if approve {
			s.succeedLocked(t)
			return nil
		}
		t.redirectURL = ""
		t.statusDetails = "3-D Secure authentication failed"
		s.setStatus(t, praxis.StatusRejected)
		return nil
	})
}

// Cancel acts as the customer cancelling at the PSP page: the session's
// unfinished deposit (initialized or pending) becomes cancelled; with none,
// a new attempt is created already cancelled.
func (s *Simulator) Cancel(_ context.Context, authToken string) (Transaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.findSession(authToken)
	if se == nil {
		return Transaction{}, errorf(ErrNotFound, "no session %q", authToken)
	}
	if se.intent == praxis.IntentWithdrawal || se.kind == kindRefund {
		return Transaction{}, errorf(ErrInvalidState, "only a payment or authorization session can be cancelled by the customer")
	}
	for _, tid := range se.tids {
		t := se.app.txs[tid]
		if t == nil || !t.live() {
			continue
		}
		if t.status != praxis.StatusInitialized && t.status != praxis.StatusPending {
			return Transaction{}, errorf(ErrInvalidState, "transaction %d is already %s", t.tid, t.status)
		}
		t.redirectURL = ""
		s.setStatus(t, praxis.StatusCancelled)
		return t.snapshot(), nil
	}
	if se.status == sessionExpired || !s.now().Before(se.expires) {
		return Transaction{}, errorf(ErrInvalidState, "session %q has expired", se.token)
	}
	amount := int64(0)
	if se.amount != nil {
		amount = *se.amount
	}
	typ := praxis.TypeSale
	if se.intent == praxis.IntentAuthorization {
		typ = praxis.TypeAuthorization
	}
	t := s.newTx(se, typ, amount)
	t.transactionID = "sim-" + s.rng.Hex(20)
	s.setStatus(t, praxis.StatusCancelled)
	return t.snapshot(), nil
}

// ExpireSession ends a session that did not succeed and sends the
// transaction-less expiry notification (session_status "expired").
func (s *Simulator) ExpireSession(_ context.Context, authToken string) (Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.findSession(authToken)
	if se == nil {
		return Session{}, errorf(ErrNotFound, "no session %q", authToken)
	}
	if se.status == sessionExpired || se.status == sessionSuccessful || se.kind == kindRefund {
		return Session{}, errorf(ErrInvalidState, "session %q is %s", authToken, se.status)
	}
	se.status = sessionExpired
	s.notifySessionLocked(se)
	return se.snapshot(), nil
}

// AuthorizeWithdrawal is the back office approving a withdrawal request:
// requested → authorized.
func (s *Simulator) AuthorizeWithdrawal(_ context.Context, tid int64) (Transaction, error) {
	return s.onTx(tid, func(t *tx) error {
		if !t.isRequest() || t.status != praxis.StatusRequested {
			return errorf(ErrInvalidState, "transaction %d is a %s in %s, not a requested withdrawal", tid, t.typ, t.status)
		}
		s.setStatus(t, praxis.StatusAuthorized)
		return nil
	})
}

// EditWithdrawal is a back-office operator changing a withdrawal request's
// amount or fee before authorization. No notification is sent: the status
// does not change, and the next notification carries the new amount.
func (s *Simulator) EditWithdrawal(_ context.Context, tid int64, opt EditOptions) (Transaction, error) {
	return s.onTx(tid, func(t *tx) error {
		if !t.isRequest() || t.status != praxis.StatusRequested {
			return errorf(ErrInvalidState, "transaction %d is a %s in %s; only a requested withdrawal can be edited", tid, t.typ, t.status)
		}
		if (opt.Amount != nil && *opt.Amount <= 0) || (opt.Fee != nil && *opt.Fee < 0) {
			return errorf(ErrInvalidInput, "amount must be positive and fee not negative")
		}
		if opt.Amount != nil {
			t.amount = *opt.Amount
		}
		if opt.Fee != nil {
			t.fee = *opt.Fee
		}
		return nil
	})
}

// RejectWithdrawal rejects a withdrawal request that has not been paid
// (back office), or a payout still processing (PSP decline).
func (s *Simulator) RejectWithdrawal(_ context.Context, tid int64) (Transaction, error) {
	return s.onTx(tid, func(t *tx) error {
		if t.typ != praxis.TypePayout || !(payoutOpen(t) || (t.isRequest() && notStarted(t))) {
			return errorf(ErrInvalidState, "transaction %d is a %s in %s; nothing to reject", tid, t.typ, t.status)
		}
		s.setStatus(t, praxis.StatusRejected)
		return nil
	})
}

// ErrorWithdrawal ends an unfinished withdrawal or payout in error (a
// processing error: the money may or may not have moved).
func (s *Simulator) ErrorWithdrawal(_ context.Context, tid int64) (Transaction, error) {
	return s.onTx(tid, func(t *tx) error {
		if t.typ != praxis.TypePayout || !(payoutOpen(t) || (t.isRequest() && notStarted(t))) {
			return errorf(ErrInvalidState, "transaction %d is a %s in %s; nothing to fail", tid, t.typ, t.status)
		}
		s.setStatus(t, praxis.StatusError)
		return nil
	})
}

// ApprovePayout settles a payout held by Application.HoldPayouts:
// in_progress or pending → approved.
func (s *Simulator) ApprovePayout(_ context.Context, tid int64) (Transaction, error) {
	return s.onTx(tid, func(t *tx) error {
		if t.typ != praxis.TypePayout || !payoutOpen(t) {
			return errorf(ErrInvalidState, "transaction %d is a %s in %s, not a payout in progress", tid, t.typ, t.status)
		}
		s.payoutApprovedLocked(t)
		return nil
	})
}

// ReversePayout reverses an approved payout at the PSP: approved → reversed.
func (s *Simulator) ReversePayout(_ context.Context, tid int64) (Transaction, error) {
	return s.onTx(tid, func(t *tx) error {
		if t.typ != praxis.TypePayout || t.status != praxis.StatusApproved {
			return errorf(ErrInvalidState, "transaction %d is a %s in %s, not an approved payout", tid, t.typ, t.status)
		}
		s.setStatus(t, praxis.StatusReversed)
		return nil
	})
}

// Chargeback charges back an approved (or partly refunded) deposit; it
// takes back whatever was not refunded yet.
func (s *Simulator) Chargeback(_ context.Context, tid int64) (Transaction, error) {
	return s.onTx(tid, func(t *tx) error {
		if !t.isDeposit() || (t.status != praxis.StatusApproved && t.status != praxis.StatusPartialRefund) {
			return errorf(ErrInvalidState, "transaction %d is a %s in %s, not an approved deposit", tid, t.typ, t.status)
		}
		t.chargedBack = t.amount - t.refunded
		s.effects.Chargebacks[t.tid]++
		s.setStatus(t, praxis.StatusChargeback)
		return nil
	})
}

// payoutOpen: a payout the PSP is still processing.
func payoutOpen(t *tx) bool {
	return t.status == praxis.StatusInProgress || t.status == praxis.StatusPending
}

// notStarted: a withdrawal request whose processing never started, the only
// kind cancel-withdrawal-request accepts.
func notStarted(t *tx) bool {
	return t.status == praxis.StatusRequested || t.status == praxis.StatusAuthorized
}

func (s *Simulator) payoutApprovedLocked(t *tx) {
	t.sess.status = sessionSuccessful
	s.setStatus(t, praxis.StatusApproved)
	w := t.tid
	if t.withdrawalRequestID != 0 {
		w = t.withdrawalRequestID
	}
	s.effects.Payouts[w]++
}

// onTx runs fn on tid's transaction under the state lock and returns its
// snapshot.
func (s *Simulator) onTx(tid int64, fn func(*tx) error) (Transaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.findTx(tid)
	if t == nil {
		return Transaction{}, errorf(ErrNotFound, "no transaction %d", tid)
	}
	if err := fn(t); err != nil {
		return Transaction{}, err
	}
	return t.snapshot(), nil
}
