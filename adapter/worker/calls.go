package worker

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

// call makes the command's one Praxis call and fills the result.
func (w *Worker) call(ctx context.Context, j *job) error {
	cr := j.app.Credentials
	c := w.deps.Client
	switch cmd := j.cmd.(type) {
	case *command.Session:
		req := sessionRequest(cmd)
		var resp *praxis.SessionResponse
		err := w.timed(ctx, j, endpointFor(j.name), func(ctx context.Context) (err error) {
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
	err := w.timed(ctx, j, endpointFor(j.name), func(ctx context.Context) (err error) {
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

// timed waits for the application's rate limit, then makes one Praxis call
// and counts it.
func (w *Worker) timed(ctx context.Context, j *job, endpoint string, f func(context.Context) error) error {
	if err := j.app.limiter.Wait(ctx); err != nil {
		return &praxis.Error{Outcome: praxis.OutcomeTransient, Op: endpoint, Description: "rate limit wait", Err: err}
	}
	j.res.Attempts++
	var span trace.Span
	if w.tracing {
		ctx, span = w.tracer.Start(ctx, "praxis "+endpoint, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("praxis.endpoint", endpoint), attribute.String("praxis.application", j.app.Name)))
	}
	start := time.Now()
	err := f(ctx)
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

// reconcileResult says what a lookup showed about an earlier attempt.
type reconcileResult int

const (
	// reconciledDone: the effect happened; the result is filled as ok.
	reconciledDone reconcileResult = iota + 1
	// reconciledFinal: the command cannot succeed any more (or its answer
	// is lost); the result is filled as failed or rejected.
	reconciledFinal
	// reconcileNotDone: Praxis shows no effect; calling is safe.
	reconcileNotDone
	// reconcileUnknown: the lookup itself failed; try again later.
	reconcileUnknown
)

// reconcile looks Praxis up before repeating a state-changing call whose
// earlier attempt may have reached it (API.md §8).
func (w *Worker) reconcile(ctx context.Context, j *job) (out reconcileResult) {
	defer func() {
		w.metrics.Reconciliations.WithLabelValues(j.name, reconcileLabel(out)).Inc()
		j.l().Info().Str("result", reconcileLabel(out)).Msg("reconciled an earlier attempt by lookup")
	}()
	cr := j.app.Credentials
	c := w.deps.Client
	var lookup func(context.Context) (*praxis.TransactionResponse, error)
	var endpoint string
	var done func(t *praxis.Transaction) bool
	switch cmd := j.cmd.(type) {
	case *command.TransactionAction:
		endpoint = praxis.PathFindTransaction
		lookup = func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.FindTransaction(ctx, cr, cmd.TID)
		}
		want := praxis.StatusApproved
		if j.name == command.AuthorizationCancel {
			want = praxis.StatusCancelled
		}
		done = func(t *praxis.Transaction) bool { return praxis.NormalizeStatus(t.TransactionStatus) == want }
	case *command.WithdrawalAction:
		endpoint = praxis.PathFindTransaction
		lookup = func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.FindTransaction(ctx, cr, cmd.WithdrawalRequestID)
		}
		if j.name == command.WithdrawalCancel {
			done = func(t *praxis.Transaction) bool {
				return praxis.NormalizeStatus(t.TransactionStatus) == praxis.StatusCancelled
			}
		} else {
			done = func(t *praxis.Transaction) bool {
				switch praxis.NormalizeStatus(t.TransactionStatus) {
				case praxis.StatusInProgress, praxis.StatusApproved, praxis.StatusPending, praxis.StatusPayment, praxis.StatusSplit:
					return true
				}
				return false
			}
		}
	case *command.Refund:
		endpoint = praxis.PathFindOrder
		lookup = func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.FindOrder(ctx, cr, cmd.OrderID)
		}
		done = func(t *praxis.Transaction) bool { return praxis.NormalizeType(t.TransactionType) == praxis.TypeRefund }
	case *command.Session:
		endpoint = praxis.PathFindOrder
		lookup = func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.FindOrder(ctx, cr, cmd.OrderID)
		}
	default:
		return reconcileNotDone
	}

	var resp *praxis.TransactionResponse
	err := w.timed(ctx, j, endpoint, func(ctx context.Context) (err error) {
		resp, err = lookup(ctx)
		return err
	})
	switch praxis.Classify(err) {
	case praxis.OutcomeRejected:
		// "Transaction not found!" and its kin: nothing happened.
		return reconcileNotDone
	case praxis.OutcomeSuccess:
	default:
		return reconcileUnknown
	}
	j.res.Reconciled = true
	if _, isSession := j.cmd.(*command.Session); isSession {
		if resp.Session == nil && resp.Transaction == nil {
			return reconcileNotDone
		}
		// The session exists, but its redirect_url was in the lost
		// answer and find-order does not return it.
		j.res.FillTransaction(resp, false)
		j.res.Outcome = command.OutcomeFailed
		j.res.Reason = "the session was created but Praxis' answer was lost, so its redirect_url is unknown; open a new session with a new order_id"
		return reconciledFinal
	}
	if resp.Transaction == nil || !done(resp.Transaction) {
		return reconcileNotDone
	}
	j.res.FillTransaction(resp, false)
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
	case reconcileUnknown:
		return "unknown"
	}
	return "none"
}
