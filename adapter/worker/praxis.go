package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// praxisProtocol is the Praxis side of the worker: its commands
// (adapter/command), session defaults and callback allowlists, one Praxis
// call per command and the find-transaction / find-order lookups.
type praxisProtocol struct{}

func (praxisProtocol) provider() subjects.Provider             { return subjects.Praxis }
func (praxisProtocol) lookup(name string) (command.Spec, bool) { return command.Lookup(name) }
func (praxisProtocol) names() []string                         { return command.Names() }
func (praxisProtocol) parse(name string, data []byte, now time.Time) (command.Command, error) {
	return command.Parse(name, data, now)
}

// defaults fills a session's locale, return, notification and validation
// URLs from its application and checks them against the allowlists, and a
// refund's locale.
func (praxisProtocol) defaults(w *Worker, j *job) (code, reason string) {
	if s, ok := j.cmd.(*command.Session); ok {
		if s.Locale == "" {
			s.Locale = j.app.Locale
		}
		if s.ReturnURL == "" {
			s.ReturnURL = j.app.ReturnURL
		}
		if s.ReturnURL == "" {
			return command.ReasonInvalidApplication, "return_url is required: set it in the command or as applications[].return_url"
		}
		if s.NotificationURL == "" {
			if w.cfg.PublicURL == "" {
				return command.ReasonInvalidApplication, "notification_url is required: set it in the command or configure ingress.public_url"
			}
			s.NotificationURL = w.cfg.PublicURL + w.cfg.NotificationPath
		}
		if s.ValidationURL == "" && w.cfg.PublicURL != "" {
			s.ValidationURL = w.cfg.PublicURL + w.cfg.ValidationPath
		}
		if reason := w.checkCallbackURLs(j.app, s); reason != "" {
			return command.ReasonCallbackNotAllowed, reason
		}
	}
	if r, ok := j.cmd.(*command.Refund); ok && r.Locale == "" {
		r.Locale = j.app.Locale
	}
	return "", ""
}

// succeeded records what a session fixed, for the ingress's validation.
func (praxisProtocol) succeeded(ctx context.Context, w *Worker, j *job) {
	if s, ok := j.cmd.(*command.Session); ok && w.cfg.Sessions != nil {
		if rerr := w.cfg.Sessions.RecordSession(ctx, j.app.Name, s); rerr != nil {
			j.l().Warn().Err(rerr).Msg("session opened, but its fixed amount was not recorded for validation")
		}
	}
}

// rejected reports Praxis' business error: its status and description.
func (praxisProtocol) rejected(j *job, err error) {
	j.res.ReasonCode = command.ReasonPraxisRejected
	var pe *praxis.Error
	if errors.As(err, &pe) {
		j.res.Praxis = &command.Status{Status: pe.Status, Description: pe.Description}
		j.res.Reason = pe.Error()
	}
}

// call makes the command's one Praxis call and fills the result.
func (praxisProtocol) call(ctx context.Context, w *Worker, j *job) error {
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
		return transactionCall(ctx, w, j, false, func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.ManageTransaction(ctx, cr, intent, cmd.TID)
		})
	case *command.WithdrawalAction:
		req := praxis.ManageWithdrawalRequest{Intent: praxis.IntentCompleteWithdrawalRequest, WithdrawalRequestID: cmd.WithdrawalRequestID, Gateway: cmd.Gateway}
		if j.name == command.WithdrawalCancel {
			req.Intent = praxis.IntentCancelWithdrawalRequest
		}
		return transactionCall(ctx, w, j, false, func(ctx context.Context) (*praxis.TransactionResponse, error) {
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
		return transactionCall(ctx, w, j, false, func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.Refund(ctx, cr, req)
		})
	case *command.FindTransaction:
		return transactionCall(ctx, w, j, true, func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.FindTransaction(ctx, cr, cmd.TID)
		})
	case *command.FindOrder:
		return transactionCall(ctx, w, j, true, func(ctx context.Context) (*praxis.TransactionResponse, error) {
			return c.FindOrder(ctx, cr, cmd.OrderID)
		})
	}
	return fmt.Errorf("worker: no Praxis call for %T", j.cmd)
}

func transactionCall(ctx context.Context, w *Worker, j *job, full bool, f func(context.Context) (*praxis.TransactionResponse, error)) error {
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
func (praxisProtocol) reconcile(ctx context.Context, w *Worker, j *job) reconcileResult {
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
