package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/provider"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Rebilly operations as the metrics' endpoint label names them (the
// client's Error.Op spelling).
const (
	opCreateCashier      = "POST " + rebilly.PathCashiers
	opGetDepositRequest  = "GET " + rebilly.PathDepositRequest
	opGetTransaction     = "GET " + rebilly.PathTransaction
	opRefund             = "POST " + rebilly.PathTransactionRefund
	opRefundsOf          = "GET " + rebilly.PathTransaction + " (refunds)"
	opUpsertPayout       = "PUT " + rebilly.PathPayoutRequest
	opGetPayout          = "GET " + rebilly.PathPayoutRequest
	opCancelPayout       = "POST " + rebilly.PathPayoutRequestCancel
	opPendingPayouts     = "GET " + rebilly.PathPayoutRequests
	rebillyNotifyQuery   = "?id={id}&result={result}"
	reverseSelectionSize = 1000
)

// RebillyNotificationPath is the ingress path (below ingress.public_url)
// that a cashier's notificationUrl points at; Rebilly fills in {id} and
// {result}, and the ingress reads only the id and GETs the transaction.
func RebillyNotificationPath(app string) string { return "/rebilly/" + app + "/notification" }

// rebillyProtocol is the Rebilly side of the worker, following the plan in
// adapter/rebilly's package documentation: one Rebilly effect per command
// id, settled by Rebilly's own lookups when an answer is lost.
type rebillyProtocol struct{}

func (rebillyProtocol) provider() subjects.Provider             { return subjects.Rebilly }
func (rebillyProtocol) lookup(name string) (command.Spec, bool) { return command.RebillyLookup(name) }
func (rebillyProtocol) names() []string                         { return command.RebillyNames() }
func (rebillyProtocol) parse(name string, data []byte, now time.Time) (command.Command, error) {
	return command.ParseRebilly(name, data, now)
}

// defaults fills website and redirect from the application and refuses a
// cashier whose notificationUrl cannot be built.
func (rebillyProtocol) defaults(w *Worker, j *job) (code, reason string) {
	website := func(v *string) string {
		if *v == "" {
			*v = j.app.WebsiteID
		}
		if *v == "" {
			return "website_id is required: set it in the command or as the application's Rebilly website_id"
		}
		return ""
	}
	switch c := j.cmd.(type) {
	case *command.RebillyCashier:
		if r := website(&c.WebsiteID); r != "" {
			return command.ReasonInvalidApplication, r
		}
		if c.RedirectURL == "" {
			c.RedirectURL = j.app.ReturnURL
		}
		if r := checkReturnURL(j.app, "redirect_url", c.RedirectURL); r != "" {
			return command.ReasonCallbackNotAllowed, r
		}
		if w.cfg.PublicURL == "" {
			return command.ReasonInvalidApplication, "a cashier's notificationUrl is built from ingress.public_url, which is not configured"
		}
	case *command.RebillyPayout:
		if r := website(&c.WebsiteID); r != "" {
			return command.ReasonInvalidApplication, r
		}
	}
	return "", ""
}

// rejected reports Rebilly's refusal: the problem's status, title and type.
func (rebillyProtocol) rejected(j *job, err error) {
	j.res.ReasonCode = command.ReasonRebillyRejected
	j.res.Reason = err.Error()
	var re *rebilly.Error
	if errors.As(err, &re) {
		j.res.FillRebillyError(re)
	}
}

func (rebillyProtocol) succeeded(context.Context, *Worker, *job) {}

// refusal is a command Rebilly would do wrongly, found by a lookup before
// any call (a refund in another currency than its transaction's): rejected,
// nothing sent.
type refusal struct{ reason string }

func (e *refusal) Error() string                     { return "rebilly: rejected before the call: " + e.reason }
func (e *refusal) ProviderOutcome() provider.Outcome { return provider.Rejected }
func (e *refusal) NotSent() bool                     { return true }

// rebillyRequest makes one Rebilly request through w.request (rate limit,
// claim check, counting) and returns its response.
func rebillyRequest[T any](ctx context.Context, w *Worker, j *job, op string, call bool, f func(context.Context) (*rebilly.Response[T], error)) (*rebilly.Response[T], error) {
	var resp *rebilly.Response[T]
	err := w.request(ctx, j, op, call, func(ctx context.Context) (err error) {
		resp, err = f(ctx)
		return err
	})
	return resp, err
}

// call makes the command's Rebilly effect (or read).
func (rebillyProtocol) call(ctx context.Context, w *Worker, j *job) error {
	c := j.app.Rebilly
	cur := c.Currencies()
	switch cmd := j.cmd.(type) {
	case *command.RebillyCashier:
		return createCashier(ctx, w, j, cmd)
	case *command.RebillyFindTransaction:
		resp, err := rebillyRequest(ctx, w, j, opGetTransaction, true, func(ctx context.Context) (*rebilly.Response[rebilly.Transaction], error) {
			return c.GetTransaction(ctx, cmd.TransactionID)
		})
		if err == nil {
			j.res.FillRebillyTransaction(&resp.Value)
			j.res.Rebilly.Transaction = resp.Raw
		}
		return err
	case *command.RebillyRefund:
		if _, err := w.note(ctx, j, func(ctx context.Context) ([]byte, error) { return refundBaseline(ctx, w, j, cmd) }); err != nil {
			return err
		}
		req := rebilly.RefundRequest{Amount: rebilly.FromMinor(cur, cmd.Amount, cmd.Currency), Description: cmd.Description}
		resp, err := rebillyRequest(ctx, w, j, opRefund, true, func(ctx context.Context) (*rebilly.Response[rebilly.Transaction], error) {
			return c.Refund(ctx, cmd.TransactionID, req)
		})
		if err == nil {
			j.res.FillRebillyTransaction(&resp.Value)
		}
		return err
	case *command.RebillyPayout:
		req := rebilly.PayoutRequestInput{WebsiteID: cmd.WebsiteID, CustomerID: cmd.CustomerID, Currency: cmd.Currency,
			Amount: rebilly.FromMinor(cur, cmd.Amount, cmd.Currency), PaymentInstrumentID: cmd.PaymentInstrumentID, Description: cmd.Description}
		resp, err := rebillyRequest(ctx, w, j, opUpsertPayout, true, func(ctx context.Context) (*rebilly.Response[rebilly.PayoutRequest], error) {
			return c.UpsertPayoutRequest(ctx, rebilly.RequestIDFor(j.res.ID), req)
		})
		retractRefused(ctx, w, j, err)
		if err == nil {
			j.res.FillRebillyPayoutRequest(&resp.Value)
		}
		return err
	case *command.RebillyPayoutCancel:
		resp, err := rebillyRequest(ctx, w, j, opCancelPayout, true, func(ctx context.Context) (*rebilly.Response[rebilly.PayoutRequest], error) {
			return c.CancelPayoutRequest(ctx, cmd.PayoutRequestID, cmd.Reason)
		})
		if err == nil {
			j.res.FillRebillyPayoutRequest(&resp.Value)
		}
		return err
	case *command.RebillyReverse:
		return reverseWithdrawal(ctx, w, j, cmd)
	}
	return fmt.Errorf("worker: no Rebilly call for %T", j.cmd)
}

// retractRefused takes back a call Rebilly answered with "not done, retry"
// (429, 503, 408: transient, yet sent), so the retry calls at once instead
// of looking up and waiting out the settle window. Only for the creates
// where a wrong "not done" costs nothing: a repeated PUT of the same payout
// request id is no second effect, and a cashier has no lookup at all (a
// call left counted would make the retry report its answer lost). Refunds
// and cancels keep the marker: their retry is settled by lookup first.
func retractRefused(ctx context.Context, w *Worker, j *job, err error) {
	if provider.Classify(err) == provider.Transient && !provider.NotSent(err) {
		w.retract(ctx, j)
	}
}

// createCashier opens the cashier; see retractRefused.
func createCashier(ctx context.Context, w *Worker, j *job, cmd *command.RebillyCashier) error {
	c := j.app.Rebilly
	cur := c.Currencies()
	req := rebilly.CashierRequest{CustomerID: cmd.CustomerID, WebsiteID: cmd.WebsiteID, Currency: cmd.Currency, RedirectURL: cmd.RedirectURL,
		NotificationURL: w.cfg.PublicURL + RebillyNotificationPath(j.app.Name) + rebillyNotifyQuery}
	if cmd.DepositMinimum != nil || cmd.DepositMaximum != nil {
		req.DepositLimits = &rebilly.DepositLimits{}
		if cmd.DepositMinimum != nil {
			req.DepositLimits.Minimum = rebilly.FromMinor(cur, *cmd.DepositMinimum, cmd.Currency)
		}
		if cmd.DepositMaximum != nil {
			req.DepositLimits.Maximum = rebilly.FromMinor(cur, *cmd.DepositMaximum, cmd.Currency)
		}
	}
	resp, err := rebillyRequest(ctx, w, j, opCreateCashier, true, func(ctx context.Context) (*rebilly.Response[rebilly.Cashier], error) {
		return c.CreateCashier(ctx, req)
	})
	retractRefused(ctx, w, j, err)
	if err != nil {
		return err
	}
	j.res.FillRebillyCashier(&resp.Value)
	if id := resp.Value.LastDepositRequestID; id != "" {
		// The hosted deposit form, when Rebilly says; best effort (the
		// cashier exists either way).
		dr, derr := rebillyRequest(ctx, w, j, opGetDepositRequest, false, func(ctx context.Context) (*rebilly.Response[rebilly.DepositRequest], error) {
			return c.GetDepositRequest(ctx, id)
		})
		if derr == nil {
			j.res.Rebilly.DepositURL = dr.Value.DepositURL()
		}
	}
	return nil
}

// refundNote is a refund's baseline: the refund children its transaction
// had before the refund was first sent.
type refundNote struct {
	Refunds []string `json:"refunds"`
}

// refundBaseline checks the transaction's currency and lists its refunds,
// before the first refund call.
func refundBaseline(ctx context.Context, w *Worker, j *job, cmd *command.RebillyRefund) ([]byte, error) {
	refunds, err := refundsOf(ctx, w, j, cmd.TransactionID)
	if err != nil {
		return nil, err
	}
	parent, err := rebillyRequest(ctx, w, j, opGetTransaction, false, func(ctx context.Context) (*rebilly.Response[rebilly.Transaction], error) {
		return j.app.Rebilly.GetTransaction(ctx, cmd.TransactionID)
	})
	if err != nil {
		return nil, err
	}
	if parent.Value.Currency != cmd.Currency {
		return nil, &refusal{fmt.Sprintf("currency %s is not the transaction's (%s); a refund is in the transaction's currency", cmd.Currency, parent.Value.Currency)}
	}
	n := refundNote{Refunds: []string{}}
	for _, r := range refunds {
		n.Refunds = append(n.Refunds, r.Value.ID)
	}
	return json.Marshal(n)
}

// refundsOf lists a transaction's refund children (one lookup).
func refundsOf(ctx context.Context, w *Worker, j *job, id string) ([]*rebilly.Response[rebilly.Transaction], error) {
	var out []*rebilly.Response[rebilly.Transaction]
	err := w.request(ctx, j, opRefundsOf, false, func(ctx context.Context) (err error) {
		out, err = j.app.Rebilly.RefundsOf(ctx, id)
		return err
	})
	return out, err
}

// reverseNote is a reverse withdrawal's selection, fixed before the first
// cancel: selecting again after some cancels would pick younger requests
// and cancel more than asked.
type reverseNote struct {
	Cancel  []string `json:"cancel"`
	Amounts []int64  `json:"amounts"`
	Pending int64    `json:"pending"`
}

// reverseSelection returns the stored selection, or selects and stores it.
func reverseSelection(ctx context.Context, w *Worker, j *job, cmd *command.RebillyReverse) (reverseNote, error) {
	var n reverseNote
	raw, err := w.note(ctx, j, func(ctx context.Context) ([]byte, error) {
		resp, err := rebillyRequest(ctx, w, j, opPendingPayouts, false, func(ctx context.Context) (*rebilly.Response[rebilly.PayoutRequests], error) {
			return j.app.Rebilly.PendingPayoutRequests(ctx, cmd.CustomerID, cmd.Currency, reverseSelectionSize)
		})
		if err != nil {
			return nil, err
		}
		sel := rebilly.SelectReverse(resp.Value, cmd.Currency, cmd.Amount)
		s := reverseNote{Cancel: []string{}, Amounts: []int64{}, Pending: sel.Pending}
		for _, p := range sel.Cancel {
			s.Cancel = append(s.Cancel, p.ID)
			s.Amounts = append(s.Amounts, p.AmountMinor)
		}
		return json.Marshal(s)
	})
	if err == nil {
		err = json.Unmarshal(raw, &n)
	}
	return n, err
}

// reverseWithdrawal cancels the stored selection one request at a time.
// A request found canceled (an earlier delivery's cancel) is counted, not
// canceled again; one that can no longer be canceled is left out.
func reverseWithdrawal(ctx context.Context, w *Worker, j *job, cmd *command.RebillyReverse) error {
	sel, err := reverseSelection(ctx, w, j, cmd)
	if err != nil {
		return err
	}
	c := j.app.Rebilly
	retry := j.res.Calls > 0
	var canceled []string
	var total int64
	for i, id := range sel.Cancel {
		state := ""
		if retry {
			p, err := rebillyRequest(ctx, w, j, opGetPayout, false, func(ctx context.Context) (*rebilly.Response[rebilly.PayoutRequest], error) {
				return c.GetPayoutRequest(ctx, id)
			})
			if err != nil {
				return err
			}
			state = p.Value.Status
		}
		if state == "" || state == rebilly.PayoutPending || state == rebilly.PayoutReady {
			_, err := rebillyRequest(ctx, w, j, opCancelPayout, true, func(ctx context.Context) (*rebilly.Response[rebilly.PayoutRequest], error) {
				return c.CancelPayoutRequest(ctx, id, cmd.Reason)
			})
			var re *rebilly.Error
			switch {
			case err == nil:
				state = rebilly.PayoutCanceled
			case errors.As(err, &re) && re.Outcome == provider.Rejected && (re.HTTPStatus == http.StatusConflict || re.HTTPStatus == http.StatusNotFound):
				// Moved on since the selection (fulfilled, canceled by
				// someone else, gone): left out, the rest still canceled.
				state = ""
			default:
				// Any other answer ends the command; the result says what
				// was canceled so far.
				fillReverse(j, cmd, canceled, total, sel.Pending)
				return err
			}
		}
		if state == rebilly.PayoutCanceled {
			canceled = append(canceled, id)
			total += sel.Amounts[i]
		}
	}
	fillReverse(j, cmd, canceled, total, sel.Pending)
	return nil
}

func fillReverse(j *job, cmd *command.RebillyReverse, canceled []string, total, pending int64) {
	j.res.Provider = subjects.Rebilly.String()
	j.res.Rebilly = &command.RebillyResult{CanceledPayoutRequests: canceled, CanceledAmount: &total, PendingAmount: &pending, Currency: cmd.Currency}
}

// lookupVerdict reads a lookup's error: nil is found; a 404 is Rebilly's
// definite "not found"; a failed claim check is reconcileGate; anything
// else proves nothing.
func lookupVerdict(err error) (reconcileResult, bool) {
	var ge *gateError
	switch {
	case err == nil:
		return 0, true
	case errors.As(err, &ge) && errors.Is(err, idempotency.ErrNotHolder):
		return reconcileGate, false
	case errors.As(err, &ge):
		return reconcileUnknown, false
	case errors.Is(err, rebilly.ErrNotFound):
		return reconcileNotFound, false
	}
	return reconcileUnknown, false
}

// reconcile settles an earlier call whose answer was lost, by Rebilly's
// own lookups (adapter/rebilly's plan); a cashier has none.
func (rebillyProtocol) reconcile(ctx context.Context, w *Worker, j *job) reconcileResult {
	c := j.app.Rebilly
	done := func() reconcileResult {
		j.res.Reconciled = true
		j.res.Outcome = command.OutcomeOK
		return reconciledDone
	}
	switch cmd := j.cmd.(type) {
	case *command.RebillyCashier:
		if j.res.Calls == 0 {
			// A replay whose record shows no call: the marker outlives the
			// dead-letter stream, so nothing was ever sent.
			return reconcileNotFound
		}
		j.res.Provider = subjects.Rebilly.String()
		j.res.Reconciled = true
		j.res.Outcome = command.OutcomeFailed
		j.res.ReasonCode = command.ReasonCashierAnswerLost
		j.res.Reason = "a cashier may have been created but Rebilly's answer was lost, and Rebilly has no lookup for it; open a new cashier with a new command id"
		return reconciledFinal
	case *command.RebillyRefund:
		if j.res.Calls == 0 {
			// Nothing sent (a replay, or every call taken back): another
			// refund of the same amount is not this command's.
			return reconcileNotFound
		}
		raw, ok, err := w.storedNote(ctx, j)
		if err != nil {
			return reconcileUnknown
		}
		if !ok {
			return reconcileNotFound // the baseline is stored before the first refund is sent
		}
		var n refundNote
		if json.Unmarshal(raw, &n) != nil {
			return reconcileUnknown
		}
		refunds, err := refundsOf(ctx, w, j, cmd.TransactionID)
		if v, found := lookupVerdict(err); !found {
			return v
		}
		for _, r := range refunds {
			t := r.Value
			if !slices.Contains(n.Refunds, t.ID) && t.AmountMinor == cmd.Amount && t.Currency == cmd.Currency {
				j.res.FillRebillyTransaction(&t)
				return done()
			}
		}
		return reconcileNotFound
	case *command.RebillyPayout:
		p, err := rebillyRequest(ctx, w, j, opGetPayout, false, func(ctx context.Context) (*rebilly.Response[rebilly.PayoutRequest], error) {
			return c.GetPayoutRequest(ctx, rebilly.RequestIDFor(j.res.ID))
		})
		if v, found := lookupVerdict(err); !found {
			return v
		}
		j.res.FillRebillyPayoutRequest(&p.Value)
		return done()
	case *command.RebillyPayoutCancel:
		p, err := rebillyRequest(ctx, w, j, opGetPayout, false, func(ctx context.Context) (*rebilly.Response[rebilly.PayoutRequest], error) {
			return c.GetPayoutRequest(ctx, cmd.PayoutRequestID)
		})
		if v, found := lookupVerdict(err); !found {
			return v
		}
		if p.Value.Status != rebilly.PayoutCanceled {
			return reconcileNotDone
		}
		j.res.FillRebillyPayoutRequest(&p.Value)
		return done()
	case *command.RebillyReverse:
		return reconcileReverse(ctx, w, j, cmd, done)
	}
	return reconcileUnknown
}

// reconcileReverse reads every selected request: done when none is still
// cancelable, not done while one is (the retry cancels only those).
func reconcileReverse(ctx context.Context, w *Worker, j *job, cmd *command.RebillyReverse, done func() reconcileResult) reconcileResult {
	raw, ok, err := w.storedNote(ctx, j)
	if err != nil {
		return reconcileUnknown
	}
	if !ok {
		return reconcileNotFound // the selection is stored before the first cancel
	}
	var n reverseNote
	if json.Unmarshal(raw, &n) != nil {
		return reconcileUnknown
	}
	var canceled []string
	var total int64
	for i, id := range n.Cancel {
		p, err := rebillyRequest(ctx, w, j, opGetPayout, false, func(ctx context.Context) (*rebilly.Response[rebilly.PayoutRequest], error) {
			return j.app.Rebilly.GetPayoutRequest(ctx, id)
		})
		if v, found := lookupVerdict(err); !found {
			if v == reconcileNotFound {
				continue // gone: nothing to cancel
			}
			return v
		}
		switch p.Value.Status {
		case rebilly.PayoutCanceled:
			canceled = append(canceled, id)
			total += n.Amounts[i]
		case rebilly.PayoutPending, rebilly.PayoutReady:
			return reconcileNotDone
		}
	}
	fillReverse(j, cmd, canceled, total, n.Pending)
	return done()
}
