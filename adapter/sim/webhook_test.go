package sim_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

// requestWithdrawal creates one withdrawal request: exactly one
// notification (requested) for its tid.
func requestWithdrawal(t *testing.T, e *env) sim.Transaction {
	t.Helper()
	resp := e.session(t, e.request(praxis.IntentWithdrawal, 0))
	w, err := e.sim.RequestWithdrawal(t.Context(), resp.Session.AuthToken, 100)
	require.NoError(t, err)
	return w
}

func TestNotificationResend(t *testing.T) {
	type want struct {
		calls      int
		replies    []*int // reply status per attempt; nil = none
		sigOK      *bool  // of the last attempt
		firstError bool
	}
	i := func(v int) *int { return &v }
	yes, no := true, false
	tests := []struct {
		name   string
		script func(n int) hookReply
		want   want
	}{
		{"-1 then 0 is resent once", func(n int) hookReply { return hookReply{status: map[bool]int{true: -1, false: 0}[n == 0]} },
			want{2, []*int{i(-1), i(0)}, &yes, false}},
		{"positive status is not resent", func(int) hookReply { return hookReply{status: 7, desc: "unknown order"} },
			want{1, []*int{i(7)}, &yes, false}},
		{"timeout is resent", func(n int) hookReply { return hookReply{hang: n == 0} },
			want{2, []*int{nil, i(0)}, &yes, true}},
		{"unparseable reply is resent", func(n int) hookReply {
			if n == 0 {
				return hookReply{body: "<html>oops</html>"}
			}
			return hookReply{}
		}, want{2, []*int{nil, i(0)}, &yes, true}},
		{"HTTP 500 is resent", func(n int) hookReply {
			if n == 0 {
				return hookReply{httpCode: 500}
			}
			return hookReply{}
		}, want{2, []*int{nil, i(0)}, &yes, true}},
		{"bad reply signature is recorded, not resent", func(int) hookReply { return hookReply{badSig: true} },
			want{1, []*int{i(0)}, &no, false}},
		{"unsigned reply is accepted", func(int) hookReply { return hookReply{body: `{"status":0,"description":"Ok"}`} },
			want{1, []*int{i(0)}, nil, false}},
		{"always -1 gives up after MaxDeliveries", func(int) hookReply { return hookReply{status: -1} },
			want{5, []*int{i(-1), i(-1), i(-1), i(-1), i(-1)}, &yes, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.hook.setScript(tc.script)
			w := requestWithdrawal(t, e)
			ds := waitDeliveries(t, e.sim, sim.KindNotification, w.TID, tc.want.calls)
			calls := e.hook.got()
			require.Len(t, calls, tc.want.calls)
			require.Len(t, ds, tc.want.calls)
			for k, d := range ds {
				assert.Equal(t, k+1, d.Attempt)
				assert.Equal(t, praxis.StatusRequested, d.Status)
				assert.Equal(t, e.hook.srv.URL+"/notify", d.URL)
				assert.Equal(t, tc.want.replies[k], d.ReplyStatus, "attempt %d", k+1)
				assert.Equal(t, k < tc.want.calls-1, d.WillResend, "attempt %d", k+1)
				// By default a resend repeats the body and signature.
				assert.Equal(t, calls[0].body, calls[k].body)
				assert.Equal(t, calls[0].sig, calls[k].sig)
				assert.Equal(t, calls[k].sig, d.Signature)
			}
			assert.Equal(t, tc.want.sigOK, ds[len(ds)-1].ReplySignatureOK)
			assert.Equal(t, tc.want.firstError, ds[0].Error != "", "first attempt error %q", ds[0].Error)
		})
	}
}

func TestFreshResendTimestamp(t *testing.T) {
	var tick atomic.Int64
	e := newEnv(t, func(c *sim.Config) {
		c.FreshResendTimestamp = true
		c.Now = func() time.Time { return time.Now().Add(time.Duration(tick.Add(2)) * time.Second) }
	})
	e.hook.setScript(func(n int) hookReply { return hookReply{status: map[bool]int{true: -1, false: 0}[n == 0]} })
	w := requestWithdrawal(t, e)
	waitDeliveries(t, e.sim, sim.KindNotification, w.TID, 2)
	calls := e.hook.got()
	require.Len(t, calls, 2)
	first, second := notification(t, calls[0]), notification(t, calls[1])
	assert.Greater(t, second.Timestamp, first.Timestamp)
	assert.NotEqual(t, calls[0].sig, calls[1].sig)
}

func TestNotificationsOfOneTidStayInOrderAcrossResends(t *testing.T) {
	e := newEnv(t, nil)
	e.hook.setScript(func(n int) hookReply { return hookReply{status: map[bool]int{true: -1, false: 0}[n == 0]} })
	resp := e.session(t, e.request(praxis.IntentPayment, 100))
	tx, err := e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
	require.NoError(t, err)
	waitStatuses(t, e.hook, tx.TID, praxis.StatusPending, praxis.StatusPending, praxis.StatusApproved)
}

func TestPerformThenTimeOut(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		setup func(t *testing.T, e *env) int64
		call  func(t *testing.T, e *env, tid int64) error
		count func(sim.Effects) map[int64]int
		want  string
	}{
		{"capture", praxis.PathManageTransaction, func(t *testing.T, e *env) int64 {
			resp := e.session(t, e.request(praxis.IntentAuthorization, 100))
			tx, err := e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
			require.NoError(t, err)
			return tx.TID
		}, func(t *testing.T, e *env, tid int64) error {
			_, err := e.client.ManageTransaction(t.Context(), e.creds, praxis.IntentCaptureAuthorization, tid)
			return err
		}, func(e sim.Effects) map[int64]int { return e.Captures }, praxis.StatusApproved},
		{"refund", praxis.PathRefund, func(t *testing.T, e *env) int64 {
			resp := e.session(t, e.request(praxis.IntentPayment, 100))
			tx, err := e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
			require.NoError(t, err)
			return tx.TID
		}, func(t *testing.T, e *env, tid int64) error {
			_, err := e.client.Refund(t.Context(), e.creds, praxis.RefundRequest{Currency: "EUR", Amount: 100, CID: "cust-1", Locale: "en-GB", OrderID: "r1", ReferenceID: tid})
			return err
		}, func(e sim.Effects) map[int64]int { return e.Refunds }, praxis.StatusRefund},
		{"complete withdrawal", praxis.PathManageWithdrawal, func(t *testing.T, e *env) int64 {
			return requestWithdrawal(t, e).TID
		}, func(t *testing.T, e *env, tid int64) error {
			_, err := e.client.ManageWithdrawal(t.Context(), e.creds, praxis.ManageWithdrawalRequest{Intent: praxis.IntentCompleteWithdrawalRequest, WithdrawalRequestID: tid})
			return err
		}, func(e sim.Effects) map[int64]int { return e.WithdrawalCompletes }, praxis.StatusApproved},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			tid := tc.setup(t, e)
			require.NoError(t, e.sim.SetFaults(sim.Faults{Endpoints: map[string]sim.EndpointFaults{tc.path: {TimeoutRate: 1}}}))
			err := tc.call(t, e, tid)
			require.Error(t, err)
			assert.Equal(t, praxis.OutcomeUnknown, outcome(err), "%v", err)
			assert.Equal(t, 1, tc.count(e.sim.Effects())[tid], "the effect happened exactly once")

			// The caller reconciles with a lookup, which is not faulted.
			found, err := e.client.FindTransaction(t.Context(), e.creds, tid)
			require.NoError(t, err)
			assert.Equal(t, tc.want, found.Transaction.TransactionStatus)
		})
	}
}

func TestTransientFaultsApplyNothing(t *testing.T) {
	tests := []struct {
		name   string
		faults sim.EndpointFaults
		status int
		http   int
	}{
		{"negative status", sim.EndpointFaults{NegativeRate: 1}, -1, 200},
		{"HTTP 503", sim.EndpointFaults{ServerErrorRate: 1}, 0, 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			resp := e.session(t, e.request(praxis.IntentAuthorization, 100))
			tx, err := e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
			require.NoError(t, err)
			require.NoError(t, e.sim.SetFaults(sim.Faults{Endpoints: map[string]sim.EndpointFaults{sim.AllEndpoints: tc.faults}}))
			_, err = e.client.ManageTransaction(t.Context(), e.creds, praxis.IntentCaptureAuthorization, tx.TID)
			var pe *praxis.Error
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, praxis.OutcomeTransient, pe.Outcome)
			assert.Equal(t, tc.status, pe.Status)
			assert.Equal(t, tc.http, pe.HTTPStatus)
			eff := e.sim.Effects()
			assert.Empty(t, eff.Captures)
			assert.Equal(t, 1, eff.Calls[praxis.PathManageTransaction])
			got, _ := e.sim.Transaction(tx.TID)
			assert.Equal(t, praxis.StatusAuthorized, got.Status)
		})
	}
}

func TestLatencyFault(t *testing.T) {
	e := newEnv(t, func(c *sim.Config) {
		c.Faults.Endpoints = map[string]sim.EndpointFaults{praxis.PathFindOrder: {Latency: 40 * time.Millisecond, Jitter: 10 * time.Millisecond}}
	})
	start := time.Now()
	_, err := e.client.FindOrder(t.Context(), e.creds, "none")
	assert.Equal(t, praxis.OutcomeRejected, outcome(err))
	assert.GreaterOrEqual(t, time.Since(start), 40*time.Millisecond)
}

func TestDuplicateDeliveries(t *testing.T) {
	e := newEnv(t, func(c *sim.Config) { c.Faults.DuplicateRate = 1 })
	w := requestWithdrawal(t, e)
	ds := waitDeliveries(t, e.sim, sim.KindNotification, w.TID, 2)
	calls := e.hook.got()
	require.Len(t, calls, 2)
	assert.Equal(t, calls[0].body, calls[1].body)
	assert.False(t, ds[0].Duplicate)
	assert.True(t, ds[1].Duplicate)
}

func TestOutOfOrderDeliveries(t *testing.T) {
	e := newEnv(t, func(c *sim.Config) { c.Faults.OutOfOrderRate = 1 })
	resp := e.session(t, e.request(praxis.IntentPayment, 100))
	tx, err := e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
	require.NoError(t, err)
	waitStatuses(t, e.hook, tx.TID, praxis.StatusApproved, praxis.StatusPending)
	ds := waitDeliveries(t, e.sim, sim.KindNotification, tx.TID, 2)
	assert.Equal(t, praxis.StatusPending, ds[1].Status)
	assert.True(t, ds[1].OutOfOrder)
}

func TestValidationCallback(t *testing.T) {
	tests := []struct {
		name   string
		reply  hookReply
		reason string // "" = the attempt proceeds
	}{
		{"accepted", hookReply{status: 0}, ""},
		{"declined with the merchant's reason", hookReply{status: 1, desc: "Deposit limit exceeded"}, "Deposit limit exceeded"},
		{"garbage reply", hookReply{body: "nope"}, sim.GenericValidationError},
		{"timeout", hookReply{hang: true}, sim.GenericValidationError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			validator := newReceiver(t, func(int) hookReply { return tc.reply })
			req := e.request(praxis.IntentPayment, 2500)
			req.ValidationURL = validator.srv.URL + "/validate"
			resp := e.session(t, req)

			tx, err := e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
			calls := validator.got()
			require.Len(t, calls, 1)
			require.NoError(t, praxis.DefaultLists().Get(praxis.ListValidationRequest).Verify(calls[0].body, calls[0].sig, secret))
			v, err2 := praxis.Decode[praxis.ValidationRequest](calls[0].body)
			require.NoError(t, err2)
			assert.Equal(t, int64(2500), *v.TransactionAttempt.AttemptedAmount)
			assert.Equal(t, "***", v.TransactionAttempt.CardData.CVV)
			ds := waitDeliveries(t, e.sim, sim.KindValidation, 0, 1)
			assert.Equal(t, req.ValidationURL, ds[0].URL)

			se, _ := e.sim.Session(resp.Session.AuthToken)
			if tc.reason == "" {
				require.NoError(t, err)
				assert.Equal(t, praxis.StatusApproved, tx.Status)
				assert.Empty(t, se.Declines)
				return
			}
			require.ErrorIs(t, err, sim.ErrDeclined)
			assert.Contains(t, err.Error(), tc.reason)
			assert.Equal(t, []string{tc.reason}, se.Declines)
			assert.Empty(t, se.TIDs, "a blocked attempt creates no transaction")
			assert.Empty(t, e.hook.got(), "and notifies nothing")
		})
	}
}

func TestWithdrawalAboveBalanceIsDeclinedBeforeValidation(t *testing.T) {
	e := newEnv(t, nil)
	validator := newReceiver(t, nil)
	req := e.request(praxis.IntentWithdrawal, 0)
	balance := int64(500)
	req.Balance, req.ValidationURL = &balance, validator.srv.URL
	resp := e.session(t, req)
	_, err := e.sim.RequestWithdrawal(t.Context(), resp.Session.AuthToken, 501)
	require.ErrorIs(t, err, sim.ErrDeclined)
	se, _ := e.sim.Session(resp.Session.AuthToken)
	assert.Empty(t, se.TIDs)
	assert.Len(t, se.Declines, 1)
	assert.Empty(t, validator.got())

	w, err := e.sim.RequestWithdrawal(t.Context(), resp.Session.AuthToken, 500)
	require.NoError(t, err)
	assert.Equal(t, praxis.StatusRequested, w.Status)
	assert.Len(t, validator.got(), 1)
}

func TestCloseStopsPendingResends(t *testing.T) {
	e := newEnv(t, func(c *sim.Config) { c.ResendDelay = time.Hour })
	e.hook.setScript(func(int) hookReply { return hookReply{status: -1} })
	w := requestWithdrawal(t, e)
	waitDeliveries(t, e.sim, sim.KindNotification, w.TID, 1)
	done := make(chan struct{})
	go func() {
		_ = e.sim.Close()
		close(done)
	}()
	testutil.Eventually(t, wait, poll, func() error {
		select {
		case <-done:
			return nil
		default:
			return assert.AnError
		}
	})
	assert.Len(t, e.hook.got(), 1)
}
