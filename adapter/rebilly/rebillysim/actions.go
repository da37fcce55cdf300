package rebillysim

import (
	"context"
	"net/http"

	"github.com/praxis-adapter/praxis-adapter/adapter/money"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
)

// problem is an error answer: status, title and (never customer data)
// detail, plus invalid fields for a 422.
type problem struct {
	status  int
	title   string
	detail  string
	invalid []rebilly.InvalidField
}

func notFound(what string) *problem {
	return &problem{status: http.StatusNotFound, title: "Not found", detail: what + " not found"}
}

func invalid(field, msg string) *problem {
	return &problem{status: http.StatusUnprocessableEntity, title: "Validation error", detail: "The request is invalid",
		invalid: []rebilly.InvalidField{{Field: field, Message: msg}}}
}

func conflict(detail string) *problem {
	return &problem{status: http.StatusConflict, title: "Conflict", detail: detail}
}

// amountOf converts a request amount, answering 422 naming the field.
func (s *Simulator) amountOf(d rebilly.Decimal, currency, field string) (int64, *problem) {
	n, err := d.Minor(s.cur, currency, field, false)
	if err != nil {
		return 0, invalid(field, err.Error())
	}
	if n == 0 {
		return 0, invalid(field, "must be greater than 0")
	}
	return n, nil
}

func checkIDs(customerID, websiteID, currency string) *problem {
	switch {
	case customerID == "" || len(customerID) > 50:
		return invalid("customerId", "is required (at most 50 characters)")
	case websiteID == "" || len(websiteID) > 50:
		return invalid("websiteId", "is required (at most 50 characters)")
	case !money.KnownCurrency(currency):
		return invalid("currency", "must be an ISO 4217 code")
	}
	return nil
}

// createCashier is POST /cashiers: a cashier plus its deposit request.
func (s *Simulator) createCashier(req rebilly.CashierRequest) (rebilly.Cashier, int, *problem) {
	if p := checkIDs(req.CustomerID, req.WebsiteID, req.Currency); p != nil {
		return rebilly.Cashier{}, 0, p
	}
	c := &cashier{customerID: req.CustomerID, websiteID: req.WebsiteID, currency: req.Currency,
		redirectURL: req.RedirectURL, notificationURL: req.NotificationURL}
	if l := req.DepositLimits; l != nil {
		var err error
		if l.Minimum != "" {
			if c.minDeposit, err = l.Minimum.Minor(s.cur, req.Currency, "depositLimits.minimum", false); err != nil || c.minDeposit == 0 {
				return rebilly.Cashier{}, 0, invalid("depositLimits.minimum", "must be a positive amount in the currency")
			}
		}
		if l.Maximum != "" {
			if c.maxDeposit, err = l.Maximum.Minor(s.cur, req.Currency, "depositLimits.maximum", false); err != nil || c.maxDeposit < c.minDeposit {
				return rebilly.Cashier{}, 0, invalid("depositLimits.maximum", "must be an amount not below the minimum")
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.cfg.ReturnExistingCashier {
		for _, old := range s.cashiers {
			if old.customerID == c.customerID && old.websiteID == c.websiteID && old.currency == c.currency && now.Before(old.expires) {
				return s.wireCashier(old), http.StatusOK, nil
			}
		}
	}
	c.id = s.newID("cashier_")
	c.token = s.newID("cashier_token_")
	c.created, c.updated, c.expires = now, now, now.Add(s.cfg.CashierLifetime)
	d := &depositRequest{id: s.newID("dep_req_"), cashierID: c.id, status: depCreated}
	c.depositRequestID = d.id
	s.cashiers[c.id] = c
	s.deposits[d.id] = d
	s.effects.Applied["cashier.create:"+c.id]++
	return s.wireCashier(c), http.StatusCreated, nil
}

// byRequestID returns the transaction a live requestId names.
func (s *Simulator) byRequestID(requestID string) *txn {
	if requestID == "" {
		return nil
	}
	t := s.txns[s.requestIDs[requestID]]
	if t == nil || s.now().Sub(t.created) >= requestIDWindow {
		return nil
	}
	return t
}

// createTransaction is POST /transactions (sale, authorize) and POST
// /payouts (credit): immediately approved, deduped by requestId.
func (s *Simulator) createTransaction(req rebilly.TransactionRequest, effect string) (rebilly.Transaction, int, *problem) {
	if req.Type != rebilly.TypeSale && req.Type != rebilly.TypeAuthorize && req.Type != rebilly.TypeCredit {
		return rebilly.Transaction{}, 0, invalid("type", "must be sale, authorize or setup")
	}
	if p := checkIDs(req.CustomerID, req.WebsiteID, req.Currency); p != nil {
		return rebilly.Transaction{}, 0, p
	}
	if req.RequestID != "" && !rebilly.ValidRequestID(req.RequestID) {
		return rebilly.Transaction{}, 0, invalid("requestId", "must be at most 50 letters, digits, - or _")
	}
	amount, p := s.amountOf(req.Amount, req.Currency, "amount")
	if p != nil {
		return rebilly.Transaction{}, 0, p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.byRequestID(req.RequestID); old != nil {
		if s.cfg.Duplicate == DuplicateReturn {
			return s.wireTxn(old), http.StatusOK, nil
		}
		return rebilly.Transaction{}, 0, conflict("A transaction with this requestId already exists")
	}
	t := s.newTxn(&txn{typ: req.Type, status: rebilly.StatusCompleted, result: rebilly.ResultApproved, amount: amount,
		currency: req.Currency, customerID: req.CustomerID, websiteID: req.WebsiteID, requestID: req.RequestID,
		notificationURL: req.NotificationURL, redirectURL: req.RedirectURL, description: req.Description})
	if req.RequestID != "" {
		s.requestIDs[req.RequestID] = t.id
	}
	s.effects.Applied[effect+":"+t.id]++
	s.webhookLocked("transaction-processed", t, nil)
	return s.wireTxn(t), http.StatusCreated, nil
}

// refund is POST /transactions/{id}/refund: a refund child, approved at
// once, for at most what remains, in the parent's currency.
func (s *Simulator) refund(parentID string, req rebilly.RefundRequest) (rebilly.Transaction, int, *problem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.txns[parentID]
	if p == nil {
		return rebilly.Transaction{}, 0, notFound("Transaction")
	}
	amount, prob := s.amountOf(req.Amount, p.currency, "amount")
	if prob != nil {
		return rebilly.Transaction{}, 0, prob
	}
	switch {
	case p.typ != rebilly.TypeSale && p.typ != rebilly.TypeCapture:
		return rebilly.Transaction{}, 0, invalid("transaction", "only a sale or capture can be refunded")
	case p.result != rebilly.ResultApproved || (p.status != rebilly.StatusCompleted && p.status != rebilly.StatusPartiallyRefunded):
		return rebilly.Transaction{}, 0, invalid("transaction", "the transaction is not in a refundable state")
	case amount > p.amount-p.refunded:
		return rebilly.Transaction{}, 0, invalid("amount", "exceeds the amount that remains to refund")
	}
	r := s.newTxn(&txn{typ: rebilly.TypeRefund, status: rebilly.StatusCompleted, result: rebilly.ResultApproved, amount: amount,
		currency: p.currency, customerID: p.customerID, websiteID: p.websiteID, parentID: p.id, description: req.Description,
		depositRequestID: p.depositRequestID})
	p.children = append(p.children, r.id)
	p.refunded += amount
	status, event := rebilly.StatusPartiallyRefunded, "transaction-partially-refunded"
	if p.refunded == p.amount {
		status, event = rebilly.StatusRefunded, "transaction-refunded"
	}
	p.status = status
	p.revision++
	p.updated = s.now()
	p.history = append(p.history, status+"/"+p.result)
	s.effects.Applied["refund:"+p.id]++
	s.webhookLocked(event, p, r)
	return s.wireTxn(r), http.StatusCreated, nil
}

// putPayoutRequest creates (POST, or PUT of a new id) or upserts (PUT of a
// known id) a payout request. An upsert of an existing request changes
// only its description: amount, currency and customer are fixed once
// created, so a repeated PUT is never a second effect.
func (s *Simulator) putPayoutRequest(id string, req rebilly.PayoutRequestInput) (rebilly.PayoutRequest, int, *problem) {
	if p := checkIDs(req.CustomerID, req.WebsiteID, req.Currency); p != nil {
		return rebilly.PayoutRequest{}, 0, p
	}
	amount, prob := s.amountOf(req.Amount, req.Currency, "amount")
	if prob != nil {
		return rebilly.PayoutRequest{}, 0, prob
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if old := s.payouts[id]; id != "" && old != nil {
		if old.customerID != req.CustomerID || old.currency != req.Currency || old.amount != amount {
			return rebilly.PayoutRequest{}, 0, conflict("The payout request exists with other customer, currency or amount")
		}
		old.description, old.updated = req.Description, now
		return s.wirePayout(old), http.StatusOK, nil
	}
	if id == "" {
		id = s.newID("pout_req_")
	}
	p := &payoutRequest{id: id, customerID: req.CustomerID, websiteID: req.WebsiteID, currency: req.Currency, amount: amount,
		status: rebilly.PayoutPending, description: req.Description, paymentInstrumentID: req.PaymentInstrumentID, created: now, updated: now}
	s.payouts[id] = p
	s.balances[balanceKey{p.customerID, p.currency}] -= amount
	s.effects.Applied["payout_request.create:"+id]++
	s.payoutWebhookLocked("payout-request-created", p)
	return s.wirePayout(p), http.StatusCreated, nil
}

// cancelPayoutRequest cancels a payout request that is still pending or
// ready; a second cancel is a conflict (settle an unknown cancel by GET).
func (s *Simulator) cancelPayoutRequestLocked(id, by, reason string) (*payoutRequest, *problem) {
	p := s.payouts[id]
	if p == nil {
		return nil, notFound("Payout request")
	}
	if p.status != rebilly.PayoutPending && p.status != rebilly.PayoutReady {
		return nil, conflict("The payout request cannot be canceled in its current status")
	}
	p.status, p.canceledBy, p.cancelReason, p.updated = rebilly.PayoutCanceled, by, reason, s.now()
	s.balances[balanceKey{p.customerID, p.currency}] += p.amount
	s.effects.Applied["payout_request.cancel:"+id]++
	s.payoutWebhookLocked("payout-request-canceled", p)
	return p, nil
}

func (s *Simulator) cancelPayoutRequest(id, reason string) (rebilly.PayoutRequest, int, *problem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, prob := s.cancelPayoutRequestLocked(id, "merchant", reason)
	if prob != nil {
		return rebilly.PayoutRequest{}, 0, prob
	}
	return s.wirePayout(p), http.StatusOK, nil
}

// reverseWithdrawal is POST /storefront/cashiers/{id}/cancel-payout-requests:
// cancel the cashier customer's pending payout requests, oldest first, up to
// amount (all when 0), with the same selection the adapter uses.
func (s *Simulator) reverseWithdrawal(cashierID string, amount rebilly.Decimal) (rebilly.Cashier, int, *problem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cashiers[cashierID]
	if c == nil {
		return rebilly.Cashier{}, 0, notFound("Cashier")
	}
	var limit int64
	if amount != "" {
		n, err := amount.Minor(s.cur, c.currency, "amount", false)
		if err != nil {
			return rebilly.Cashier{}, 0, invalid("amount", err.Error())
		}
		limit = n
	}
	var list []rebilly.PayoutRequest
	for _, p := range s.sortedPayouts() {
		if p.customerID == c.customerID {
			w := s.wirePayout(p)
			w.AmountMinor = p.amount
			list = append(list, w)
		}
	}
	for _, p := range rebilly.SelectReverse(list, c.currency, limit).Cancel {
		if _, prob := s.cancelPayoutRequestLocked(p.ID, "customer", "reverse withdrawal"); prob != nil {
			return rebilly.Cashier{}, 0, prob
		}
	}
	return s.wireCashier(c), http.StatusOK, nil
}

// PayOptions is what the customer does on the hosted cashier.
type PayOptions struct {
	// Amount in minor units of the cashier's currency.
	Amount int64 `json:"amount"`
	// Result is the gateway's answer: approved (default), declined, or
	// unknown (offsite: waiting-approval until Finish; timeout: status
	// timeout until Finish).
	Result string `json:"result"`
	// Timeout makes an unknown result a gateway timeout rather than an
	// offsite step.
	Timeout bool `json:"timeout"`
}

// PayDeposit plays the customer paying on a cashier: a sale tied to the
// cashier's deposit request, notified to its notificationUrl once final.
func (s *Simulator) PayDeposit(_ context.Context, cashierID string, opt PayOptions) (rebilly.Transaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cashiers[cashierID]
	if c == nil {
		return rebilly.Transaction{}, errorf(ErrNotFound, "no cashier %q", cashierID)
	}
	d := s.deposits[c.depositRequestID]
	switch {
	case !s.now().Before(c.expires) || d.status == depExpired:
		return rebilly.Transaction{}, errorf(ErrInvalidState, "the cashier has expired")
	case d.status == depCompleted:
		return rebilly.Transaction{}, errorf(ErrInvalidState, "the deposit request is completed")
	case opt.Amount <= 0:
		return rebilly.Transaction{}, errorf(ErrInvalidInput, "amount must be positive")
	case c.minDeposit > 0 && opt.Amount < c.minDeposit, c.maxDeposit > 0 && opt.Amount > c.maxDeposit:
		return rebilly.Transaction{}, errorf(ErrInvalidInput, "amount is outside the deposit limits")
	}
	result, status := opt.Result, rebilly.StatusCompleted
	switch result {
	case "", rebilly.ResultApproved:
		result = rebilly.ResultApproved
	case rebilly.ResultDeclined:
	case rebilly.ResultUnknown:
		status = rebilly.StatusWaitingApproval
		if opt.Timeout {
			status = rebilly.StatusTimeout
		}
	default:
		return rebilly.Transaction{}, errorf(ErrInvalidInput, "result must be approved, declined or unknown")
	}
	t := s.newTxn(&txn{typ: rebilly.TypeSale, status: status, result: result, amount: opt.Amount, currency: c.currency,
		customerID: c.customerID, websiteID: c.websiteID, depositRequestID: d.id,
		notificationURL: c.notificationURL, redirectURL: c.redirectURL})
	d.transactionIDs = append(d.transactionIDs, t.id)
	s.depositSettled(d, t)
	if rebilly.FinalResult(result) {
		s.notifyLocked(t)
		s.webhookLocked("transaction-processed", t, nil)
	}
	return s.wireTxn(t), nil
}

// depositSettled moves the deposit request after an attempt.
func (s *Simulator) depositSettled(d *depositRequest, t *txn) {
	switch t.result {
	case rebilly.ResultApproved:
		d.status = depCompleted
	default:
		if d.status != depCompleted {
			d.status = depAttempted
		}
	}
}

// Finish resolves a transaction whose result is unknown (offsite step or
// gateway timeout) to a final result, as the gateway would; the
// notificationUrl is called then.
func (s *Simulator) Finish(_ context.Context, txnID, result string) (rebilly.Transaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.txns[txnID]
	switch {
	case t == nil:
		return rebilly.Transaction{}, errorf(ErrNotFound, "no transaction %q", txnID)
	case t.result != rebilly.ResultUnknown:
		return rebilly.Transaction{}, errorf(ErrInvalidState, "the transaction's result is already final")
	case !rebilly.FinalResult(result):
		return rebilly.Transaction{}, errorf(ErrInvalidInput, "result must be approved, declined, abandoned or canceled")
	}
	event := "offsite-payment-completed"
	if t.status == rebilly.StatusTimeout {
		event = "transaction-timeout-resolved"
	}
	s.change(t, rebilly.StatusCompleted, result, event)
	if d := s.deposits[t.depositRequestID]; d != nil {
		s.depositSettled(d, t)
	}
	return s.wireTxn(t), nil
}

// FulfillPayoutRequest plays the back office paying a pending payout
// request: a credit transaction, approved, and the request fulfilled.
func (s *Simulator) FulfillPayoutRequest(_ context.Context, id string) (rebilly.PayoutRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payouts[id]
	switch {
	case p == nil:
		return rebilly.PayoutRequest{}, errorf(ErrNotFound, "no payout request %q", id)
	case p.status != rebilly.PayoutPending && p.status != rebilly.PayoutReady && p.status != rebilly.PayoutApproved:
		return rebilly.PayoutRequest{}, errorf(ErrInvalidState, "the payout request is %s", p.status)
	}
	t := s.newTxn(&txn{typ: rebilly.TypeCredit, status: rebilly.StatusCompleted, result: rebilly.ResultApproved, amount: p.amount,
		currency: p.currency, customerID: p.customerID, websiteID: p.websiteID, payoutRequestID: p.id})
	p.status, p.transactionID, p.updated = rebilly.PayoutFulfilled, t.id, s.now()
	s.webhookLocked("transaction-processed", t, nil)
	s.payoutWebhookLocked("payout-request-fulfilled", p)
	return s.wirePayout(p), nil
}

// ExpireCashier ends a cashier's deposit request, as its expirationTime
// would.
func (s *Simulator) ExpireCashier(_ context.Context, id string) (rebilly.Cashier, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cashiers[id]
	if c == nil {
		return rebilly.Cashier{}, errorf(ErrNotFound, "no cashier %q", id)
	}
	if d := s.deposits[c.depositRequestID]; d.status != depCompleted {
		d.status = depExpired
	}
	c.expires, c.updated = s.now(), s.now()
	return s.wireCashier(c), nil
}
