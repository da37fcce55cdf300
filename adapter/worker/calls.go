package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
)

// call makes the command's one Praxis call and fills the result.
func (w *Worker) call(ctx context.Context, j *job) error {
	cr := j.app.Credentials
	c := w.deps.Client
	switch cmd := j.cmd.(type) {
	case *command.Session:
		req := sessionRequest(cmd)
		var resp *praxis.SessionResponse
		err := w.request(ctx, j, endpointFor(j.name), true, func(ctx context.Context) (err error) {
			if j.name == command.VirtualTerminal {
				resp, err = c.VirtualTerminal(ctx, cr, req)
			} else {
				resp, err = c.CashierSession(ctx, cr, req)
			}
			return err
		})
		if err == nil {
			j.res.FillSession(resp)
		}
		return err
	case *command.TransactionAction:
		intent := praxis.IntentCaptureAuthorization
		if j.name == command.AuthorizationCancel {
			intent = praxis.IntentCancelAuthorization
		}
		return w.transactionCall(ctx, j, false, func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.ManageTransaction(ctx, cr, intent, cmd.TID)
		})
	case *command.WithdrawalAction:
		req := praxis.ManageWithdrawalRequest{Intent: praxis.IntentCompleteWithdrawalRequest, WithdrawalRequestID: cmd.WithdrawalRequestID, Gateway: cmd.Gateway}
		if j.name == command.WithdrawalCancel {
			req.Intent = praxis.IntentCancelWithdrawalRequest
		}
		return w.transactionCall(ctx, j, false, func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.ManageWithdrawal(ctx, cr, req)
		})
	case *command.Refund:
		if w.cfg.Refunds != nil {
			if err := w.cfg.Refunds.Link(ctx, j.app.Name, cmd.OrderID, cmd.ReferenceID); err != nil {
				// Not sent: the retry is safe.
				return &praxis.Error{Outcome: praxis.OutcomeTransient, Op: praxis.PathRefund, Description: "record the refund's deposit", Err: err}
			}
		}
		req := praxis.RefundRequest{Currency: cmd.Currency, Amount: cmd.Amount, CID: cmd.CID, Locale: cmd.Locale, OrderID: cmd.OrderID,
			ReferenceID: cmd.ReferenceID, WithdrawalRequestID: cmd.WithdrawalRequestID,
			Variable1: cmd.Variable1, Variable2: cmd.Variable2, Variable3: cmd.Variable3}
		return w.transactionCall(ctx, j, false, func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.Refund(ctx, cr, req)
		})
	case *command.FindTransaction:
		return w.transactionCall(ctx, j, true, func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.FindTransaction(ctx, cr, cmd.TID)
		})
	case *command.FindOrder:
		return w.transactionCall(ctx, j, true, func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.FindOrder(ctx, cr, cmd.OrderID)
		})
	}
	return fmt.Errorf("worker: no Praxis call for %T", j.cmd)
}

func (w *Worker) transactionCall(ctx context.Context, j *job, full bool, f func(context.Context) (*praxis.TransactionResponse, error)) error {
	var resp *praxis.TransactionResponse
	err := w.request(ctx, j, endpointFor(j.name), true, func(ctx context.Context) (err error) {
		resp, err = f(ctx)
		return err
	})
	if err == nil && full && w.deps.Client.LightResponses() {
		// Lookups return the whole objects: decode them fully when the
		// client read only the summary.
		if fullResp, derr := praxis.Decode[praxis.TransactionResponse](resp.Raw); derr == nil {
			resp = fullResp
		}
	}
	if err == nil {
		j.res.FillTransaction(resp, full)
	}
	return err
}

// request waits for the application's rate limit (covered by the claim's
// renewals), proves the claim still held and records the request in it
// (gate; call marks "may have been sent"), then makes one Praxis request
// cut off before the lease ends, and counts it. A *gateError means nothing
// was sent.
func (w *Worker) request(ctx context.Context, j *job, endpoint string, call bool, f func(context.Context) error) error {
	if err := j.app.limiter.Wait(ctx); err != nil {
		return &praxis.Error{Outcome: praxis.OutcomeTransient, Op: endpoint, Description: "rate limit wait", Err: err}
	}
	lctx := ctx
	ctx, cancel, err := w.gate(ctx, j, call)
	if err != nil {
		return err
	}
	defer cancel()
	defer func() {
		var pe *praxis.Error
		if call && errors.As(err, &pe) && !pe.Sent {
			w.retract(lctx, j) // provably never sent: take the call back
		}
	}()
	var span trace.Span
	if w.tracing {
		ctx, span = w.tracer.Start(ctx, "praxis "+endpoint, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("praxis.endpoint", endpoint), attribute.String("praxis.application", j.app.Name)))
	}
	start := time.Now()
	err = f(ctx)
	took := time.Since(start)
	j.res.PraxisMS += float64(took.Microseconds()) / 1000
	if span != nil {
		span.SetAttributes(attribute.String("praxis.outcome", praxis.Classify(err).String()))
		span.End()
	}
	w.metrics.PraxisCalls.WithLabelValues(j.app.Name, endpoint, praxis.Classify(err).String()).Inc()
	w.metrics.PraxisDuration.WithLabelValues(endpoint).Observe(took.Seconds())
	return err
}

func endpointFor(name string) string {
	switch name {
	case command.CashierSession:
		return praxis.PathCashier
	case command.VirtualTerminal:
		return praxis.PathVirtualTerminal
	case command.AuthorizationCapture, command.AuthorizationCancel:
		return praxis.PathManageTransaction
	case command.WithdrawalComplete, command.WithdrawalCancel:
		return praxis.PathManageWithdrawal
	case command.RefundCreate:
		return praxis.PathRefund
	case command.TransactionFind:
		return praxis.PathFindTransaction
	case command.OrderFind:
		return praxis.PathFindOrder
	}
	return "unknown"
}

func sessionRequest(c *command.Session) praxis.SessionRequest {
	return praxis.SessionRequest{
		Intent: c.Intent, Currency: c.Currency, Amount: c.Amount, Balance: c.Balance, CID: c.CID, Locale: c.Locale,
		CustomerToken: c.CustomerToken, CustomerData: c.CustomerData, PaymentMethod: c.PaymentMethod, Gateway: c.Gateway,
		ValidationURL: c.ValidationURL, NotificationURL: c.NotificationURL, ReturnURL: c.ReturnURL, OrderID: c.OrderID,
		Variable1: c.Variable1, Variable2: c.Variable2, Variable3: c.Variable3, MIT: c.MIT,
		SessionConfiguration: c.SessionConfiguration, SessionType: c.SessionType, Expires: c.Expires,
		CashierUIPreset: c.CashierUIPreset, AgentName: c.AgentName,
	}
}

// reconcileResult says what a lookup showed about an earlier call.
type reconcileResult int

const (
	// reconciledDone: the effect happened; the result is filled as ok.
	reconciledDone reconcileResult = iota + 1
	// reconciledFinal: the command cannot succeed any more (or its answer
	// is lost); the result is filled as failed or rejected.
	reconciledFinal
	// reconcileNotDone: Praxis shows the object in a state that means the
	// effect did not happen (yet): trusted only after the settle window.
	reconcileNotDone
	// reconcileNotFound: Praxis said explicitly "not found": trusted only
	// after the settle window.
	reconcileNotFound
	// reconcileUnknown: the lookup proved nothing (any error other than an
	// explicit "not found"); try again later, never call on it.
	reconcileUnknown
	// reconcileGate: the claim could not be proven held; nothing was asked.
	reconcileGate
)

// Statuses that prove an effect happened, per command (API.md §6). A
// capture's authorization moves on from approved when the deposit is later
// refunded or charged back; a completed withdrawal request becomes
// payment (partial_payout in older docs) or split once payouts cover it.
// Entries marked UNCONFIRMED in the README: cancel → rejected, withdrawal
// cancel → rejected, withdrawal complete → error.
func effectDone(name string, t *praxis.Transaction) bool {
	st := praxis.NormalizeStatus(t.TransactionStatus)
	switch name {
	case command.AuthorizationCapture:
		switch st {
		case praxis.StatusApproved, praxis.StatusRefund, praxis.StatusPartialRefund, praxis.StatusChargeback,
			praxis.StatusReversed, praxis.StatusDuplicated:
			return true
		}
	case command.AuthorizationCancel, command.WithdrawalCancel:
		return st == praxis.StatusCancelled || st == praxis.StatusRejected
	case command.WithdrawalComplete:
		switch st {
		case praxis.StatusInProgress, praxis.StatusApproved, praxis.StatusPending, praxis.StatusPayment,
			praxis.StatusPartialPayout, praxis.StatusSplit, praxis.StatusError:
			return true
		}
	case command.RefundCreate:
		return praxis.NormalizeType(t.TransactionType) == praxis.TypeRefund
	}
	return false
}

// reconcile looks Praxis up before repeating a state-changing call that may
// have reached it (API.md §8). Only a signed answer counts: it says done,
// not done, or (explicitly) not found; anything else is unknown.
func (w *Worker) reconcile(ctx context.Context, j *job) (out reconcileResult) {
	defer func() {
		w.metrics.Reconciliations.WithLabelValues(j.name, reconcileLabel(out)).Inc()
		j.l().Info().Str("result", reconcileLabel(out)).Msg("reconciled an earlier call by lookup")
	}()
	cr := j.app.Credentials
	c := w.deps.Client
	var lookup func(context.Context) (*praxis.TransactionResponse, error)
	var endpoint string
	switch cmd := j.cmd.(type) {
	case *command.TransactionAction:
		endpoint = praxis.PathFindTransaction
		lookup = func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.FindTransaction(ctx, cr, cmd.TID)
		}
	case *command.WithdrawalAction:
		endpoint = praxis.PathFindTransaction
		lookup = func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.FindTransaction(ctx, cr, cmd.WithdrawalRequestID)
		}
	case *command.Refund:
		endpoint = praxis.PathFindOrder
		lookup = func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.FindOrder(ctx, cr, cmd.OrderID)
		}
	case *command.Session:
		endpoint = praxis.PathFindOrder
		lookup = func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.FindOrder(ctx, cr, cmd.OrderID)
		}
	default:
		return reconcileUnknown
	}

	var resp *praxis.TransactionResponse
	err := w.request(ctx, j, endpoint, false, func(ctx context.Context) (err error) {
		resp, err = lookup(ctx)
		return err
	})
	var ge *gateError
	if errors.As(err, &ge) {
		if errors.Is(err, idempotency.ErrNotHolder) {
			return reconcileGate
		}
		return reconcileUnknown
	}
	switch praxis.ClassifyLookup(err) {
	case praxis.LookupNotFound:
		return reconcileNotFound
	case praxis.LookupFound:
	default:
		return reconcileUnknown
	}
	if _, isSession := j.cmd.(*command.Session); isSession {
		if resp.Session == nil && resp.Transaction == nil {
			return reconcileNotFound
		}
		// The session exists, but its redirect_url was in the lost
		// answer and find-order does not return it.
		j.res.FillTransaction(resp, false)
		j.res.Reconciled = true
		j.res.Outcome = command.OutcomeFailed
		j.res.ReasonCode = command.ReasonSessionAnswerLost
		j.res.Reason = "the session was created but Praxis' answer was lost, so its redirect_url is unknown; open a new session with a new order_id"
		return reconciledFinal
	}
	if resp.Transaction == nil {
		if _, isRefund := j.cmd.(*command.Refund); isRefund && resp.Session == nil {
			return reconcileNotFound
		}
		return reconcileUnknown
	}
	if !effectDone(j.name, resp.Transaction) {
		return reconcileNotDone
	}
	j.res.FillTransaction(resp, false)
	j.res.Reconciled = true
	j.res.Outcome = command.OutcomeOK
	return reconciledDone
}

func reconcileLabel(r reconcileResult) string {
	switch r {
	case reconciledDone:
		return "done"
	case reconciledFinal:
		return "final"
	case reconcileNotDone:
		return "not_done"
	case reconcileNotFound:
		return "not_found"
	case reconcileUnknown:
		return "unknown"
	case reconcileGate:
		return "claim_lost"
	}
	return "none"
}
