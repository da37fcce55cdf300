package sim_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
)

func TestDepositApprovedIsNotifiedAndSigned(t *testing.T) {
	e := newEnv(t, nil)
	resp := e.session(t, e.request(praxis.IntentPayment, 1500))
	assert.Equal(t, "created", resp.Session.SessionStatus)
	assert.True(t, strings.HasPrefix(resp.RedirectURL, e.srv.URL+"/cashier/session/"), resp.RedirectURL)
	assert.Len(t, resp.Customer.CustomerToken, 32)

	tx, err := e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
	require.NoError(t, err)
	assert.Equal(t, praxis.StatusApproved, tx.Status)
	assert.Equal(t, []string{praxis.StatusPending, praxis.StatusApproved}, tx.History)

	waitStatuses(t, e.hook, tx.TID, praxis.StatusPending, praxis.StatusApproved)
	calls := e.hook.got()
	n := notification(t, calls[len(calls)-1])
	assert.Equal(t, merchantID, n.MerchantID)
	assert.Equal(t, resp.Session.OrderID, n.Session.OrderID)
	assert.Equal(t, "successful", n.Session.SessionStatus)
	assert.Equal(t, int64(1500), *n.Transaction.Amount)
	assert.Equal(t, praxis.TypeSale, n.Transaction.TransactionType)
	assert.Equal(t, "SimCardProcessor", n.Transaction.PaymentProcessor)
	assert.Equal(t, "411111******1111", n.Transaction.Card.CardNumber)
	assert.Equal(t, praxis.FlexString("0"), n.Transaction.Fee)
	assert.Equal(t, resp.Customer.CustomerToken, n.Customer.CustomerToken)

	// The agent API reads the same state back.
	found, err := e.client.FindTransaction(t.Context(), e.creds, tx.TID)
	require.NoError(t, err)
	assert.Equal(t, praxis.StatusApproved, found.Transaction.TransactionStatus)
	byOrder, err := e.client.FindOrder(t.Context(), e.creds, resp.Session.OrderID)
	require.NoError(t, err)
	assert.Equal(t, tx.TID, byOrder.Transaction.TID)

	eff := e.sim.Effects()
	assert.Equal(t, 1, eff.Calls[praxis.PathCashier])
	assert.Equal(t, 1, eff.Calls[praxis.PathFindTransaction])
	assert.Equal(t, int64(1500), e.sim.Balances()[key("cust-1", "EUR")])
	for _, d := range waitDeliveries(t, e.sim, sim.KindNotification, tx.TID, 2) {
		assert.Equal(t, 1, d.Attempt)
		require.NotNil(t, d.ReplyStatus)
		assert.Equal(t, 0, *d.ReplyStatus)
		require.NotNil(t, d.ReplySignatureOK)
		assert.True(t, *d.ReplySignatureOK)
	}
}

func TestPayWithDifferentAmountBooksWhatWasPaid(t *testing.T) {
	e := newEnv(t, nil)
	resp := e.session(t, e.request(praxis.IntentPayment, 0))
	_, err := e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
	require.ErrorIs(t, err, sim.ErrInvalidInput, "a session without amount needs the customer's amount")
	tx, err := e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{Amount: 777, PaymentMethod: "WireOnline"})
	require.NoError(t, err)
	assert.Equal(t, int64(777), tx.Amount)
	waitStatuses(t, e.hook, tx.TID, praxis.StatusPending, praxis.StatusApproved)
	calls := e.hook.got()
	n := notification(t, calls[len(calls)-1])
	assert.Nil(t, n.Transaction.Card, "no card for an APM")
	assert.Equal(t, int64(777), *n.Session.ProcessedAmount)
	assert.Equal(t, int64(777), e.sim.Balances()[key("cust-1", "EUR")])
}

func TestAuthorizationCaptureOrCancel(t *testing.T) {
	tests := []struct {
		name    string
		intent  string
		want    string
		counter func(sim.Effects) map[int64]int
		balance int64
	}{
		{"capture", praxis.IntentCaptureAuthorization, praxis.StatusApproved, func(e sim.Effects) map[int64]int { return e.Captures }, 2000},
		{"cancel", praxis.IntentCancelAuthorization, praxis.StatusCancelled, func(e sim.Effects) map[int64]int { return e.Cancels }, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			resp := e.session(t, e.request(praxis.IntentAuthorization, 2000))
			tx, err := e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
			require.NoError(t, err)
			require.Equal(t, praxis.TypeAuthorization, tx.Type)
			require.Equal(t, praxis.StatusAuthorized, tx.Status)

			out, err := e.client.ManageTransaction(t.Context(), e.creds, tc.intent, tx.TID)
			require.NoError(t, err)
			assert.Equal(t, tc.want, out.Transaction.TransactionStatus)
			waitStatuses(t, e.hook, tx.TID, praxis.StatusPending, praxis.StatusAuthorized, tc.want)

			// A second call finds nothing authorized: a business error, no effect.
			_, err = e.client.ManageTransaction(t.Context(), e.creds, tc.intent, tx.TID)
			assert.Equal(t, praxis.OutcomeRejected, outcome(err))
			assert.Equal(t, 1, tc.counter(e.sim.Effects())[tx.TID])
			assert.Equal(t, 2, e.sim.Effects().Calls[praxis.PathManageTransaction])
			got, ok := e.sim.Transaction(tx.TID)
			require.True(t, ok)
			assert.Equal(t, tc.want, got.Status)
			assert.Equal(t, tc.balance, e.sim.Balances()[key("cust-1", "EUR")])
		})
	}
}

func TestCaptureOfSaleOrUnknownTidIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	resp := e.session(t, e.request(praxis.IntentPayment, 100))
	tx, err := e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
	require.NoError(t, err)
	_, err = e.client.ManageTransaction(t.Context(), e.creds, praxis.IntentCaptureAuthorization, tx.TID)
	var pe *praxis.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, praxis.OutcomeRejected, pe.Outcome)
	assert.Contains(t, pe.Description, "not an authorization")
	_, err = e.client.ManageTransaction(t.Context(), e.creds, praxis.IntentCaptureAuthorization, 42)
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, sim.DescNotFound, pe.Description)
	assert.Empty(t, e.sim.Effects().Captures)
}

func TestWithdrawalComplete(t *testing.T) {
	tests := []struct {
		mode sim.WithdrawalMode
	}{{sim.WithdrawalSameID}, {sim.WithdrawalSplit}}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			e := newEnv(t, func(c *sim.Config) { c.Applications[0].WithdrawalMode = tc.mode })
			req := e.request(praxis.IntentWithdrawal, 0)
			balance := int64(1000)
			req.Balance = &balance
			resp := e.session(t, req)
			w, err := e.sim.RequestWithdrawal(t.Context(), resp.Session.AuthToken, 600)
			require.NoError(t, err)
			assert.Equal(t, praxis.TypePayout, w.Type)
			assert.Equal(t, praxis.StatusRequested, w.Status)
			assert.Zero(t, w.WithdrawalRequestID)
			waitStatuses(t, e.hook, w.TID, praxis.StatusRequested)
			first := notification(t, e.hook.got()[0])
			assert.Equal(t, praxis.IntentWithdrawal, first.Session.Intent)
			assert.Nil(t, first.Transaction.WithdrawalRequestID)

			out, err := e.client.ManageWithdrawal(t.Context(), e.creds, praxis.ManageWithdrawalRequest{
				Intent: praxis.IntentCompleteWithdrawalRequest, WithdrawalRequestID: w.TID})
			require.NoError(t, err)
			got := out.Transaction
			assert.Equal(t, praxis.StatusApproved, got.TransactionStatus)
			switch tc.mode {
			case sim.WithdrawalSameID:
				assert.Equal(t, w.TID, got.TID)
				waitStatuses(t, e.hook, w.TID, praxis.StatusRequested, praxis.StatusInProgress, praxis.StatusApproved)
			case sim.WithdrawalSplit:
				assert.NotEqual(t, w.TID, got.TID)
				require.NotNil(t, got.WithdrawalRequestID)
				assert.Equal(t, w.TID, *got.WithdrawalRequestID)
				waitStatuses(t, e.hook, got.TID, praxis.StatusPending, praxis.StatusApproved)
				req, ok := e.sim.Transaction(w.TID)
				require.True(t, ok)
				assert.Equal(t, praxis.StatusSplit, req.Status)
				assert.Equal(t, []int64{got.TID}, req.PayoutTIDs)
			}
			// The request cannot be completed or cancelled twice.
			_, err = e.client.ManageWithdrawal(t.Context(), e.creds, praxis.ManageWithdrawalRequest{
				Intent: praxis.IntentCompleteWithdrawalRequest, WithdrawalRequestID: w.TID})
			assert.Equal(t, praxis.OutcomeRejected, outcome(err))
			_, err = e.client.ManageWithdrawal(t.Context(), e.creds, praxis.ManageWithdrawalRequest{
				Intent: praxis.IntentCancelWithdrawalRequest, WithdrawalRequestID: w.TID})
			assert.Equal(t, praxis.OutcomeRejected, outcome(err))

			eff := e.sim.Effects()
			assert.Equal(t, 1, eff.WithdrawalCompletes[w.TID])
			assert.Equal(t, 1, eff.Payouts[w.TID])
			assert.Empty(t, eff.WithdrawalCancels)
			assert.Equal(t, int64(-600), e.sim.Balances()[key("cust-1", "EUR")])
		})
	}
}

func TestWithdrawalCancelAndBackOffice(t *testing.T) {
	e := newEnv(t, func(c *sim.Config) { c.Applications[0].HoldPayouts = true })
	open := func() sim.Transaction {
		resp := e.session(t, e.request(praxis.IntentWithdrawal, 0))
		w, err := e.sim.RequestWithdrawal(t.Context(), resp.Session.AuthToken, 300)
		require.NoError(t, err)
		return w
	}
	ctx := t.Context()

	// Edited and authorized by the back office, then cancelled.
	w := open()
	amount := int64(250)
	edited, err := e.sim.EditWithdrawal(ctx, w.TID, sim.EditOptions{Amount: &amount})
	require.NoError(t, err)
	assert.Equal(t, int64(250), edited.Amount)
	_, err = e.sim.AuthorizeWithdrawal(ctx, w.TID)
	require.NoError(t, err)
	_, err = e.sim.EditWithdrawal(ctx, w.TID, sim.EditOptions{Amount: &amount})
	assert.ErrorIs(t, err, sim.ErrInvalidState, "no edit after authorization")
	out, err := e.client.ManageWithdrawal(ctx, e.creds, praxis.ManageWithdrawalRequest{Intent: praxis.IntentCancelWithdrawalRequest, WithdrawalRequestID: w.TID})
	require.NoError(t, err)
	assert.Equal(t, praxis.StatusCancelled, out.Transaction.TransactionStatus)
	assert.Equal(t, 1, e.sim.Effects().WithdrawalCancels[w.TID])
	waitStatuses(t, e.hook, w.TID, praxis.StatusRequested, praxis.StatusAuthorized, praxis.StatusCancelled)

	// Held payout: completion stops at in_progress; the PSP then errs.
	w2 := open()
	out, err = e.client.ManageWithdrawal(ctx, e.creds, praxis.ManageWithdrawalRequest{Intent: praxis.IntentCompleteWithdrawalRequest, WithdrawalRequestID: w2.TID})
	require.NoError(t, err)
	assert.Equal(t, praxis.StatusInProgress, out.Transaction.TransactionStatus)
	_, err = e.client.ManageWithdrawal(ctx, e.creds, praxis.ManageWithdrawalRequest{Intent: praxis.IntentCancelWithdrawalRequest, WithdrawalRequestID: w2.TID})
	assert.Equal(t, praxis.OutcomeRejected, outcome(err), "processing has started")
	errored, err := e.sim.ErrorWithdrawal(ctx, w2.TID)
	require.NoError(t, err)
	assert.Equal(t, praxis.StatusError, errored.Status)

	// Held payout approved, then reversed: the balance nets to zero.
	w3 := open()
	_, err = e.client.ManageWithdrawal(ctx, e.creds, praxis.ManageWithdrawalRequest{Intent: praxis.IntentCompleteWithdrawalRequest, WithdrawalRequestID: w3.TID})
	require.NoError(t, err)
	_, err = e.sim.ApprovePayout(ctx, w3.TID)
	require.NoError(t, err)
	assert.Equal(t, int64(-300), e.sim.Balances()[key("cust-1", "EUR")])
	_, err = e.sim.ReversePayout(ctx, w3.TID)
	require.NoError(t, err)
	assert.Equal(t, int64(0), e.sim.Balances()[key("cust-1", "EUR")])
	waitStatuses(t, e.hook, w3.TID, praxis.StatusRequested, praxis.StatusInProgress, praxis.StatusApproved, praxis.StatusReversed)

	// A rejected request never pays.
	w4 := open()
	rejected, err := e.sim.RejectWithdrawal(ctx, w4.TID)
	require.NoError(t, err)
	assert.Equal(t, praxis.StatusRejected, rejected.Status)
	eff := e.sim.Effects()
	assert.Equal(t, 1, eff.Payouts[w3.TID])
	assert.Zero(t, eff.Payouts[w2.TID])
	assert.Zero(t, eff.Payouts[w4.TID])
}

func TestRefunds(t *testing.T) {
	e := newEnv(t, nil)
	resp := e.session(t, e.request(praxis.IntentPayment, 1000))
	dep, err := e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
	require.NoError(t, err)
	refund := func(order string, amount int64, currency string) (*praxis.TransactionResponse, error) {
		return e.client.Refund(t.Context(), e.creds, praxis.RefundRequest{
			Currency: currency, Amount: amount, CID: "cust-1", Locale: "en-GB", OrderID: order, ReferenceID: dep.TID})
	}

	out, err := refund("refund-1", 400, "EUR")
	require.NoError(t, err)
	assert.Equal(t, praxis.TypeRefund, out.Transaction.TransactionType)
	assert.Equal(t, praxis.StatusApproved, out.Transaction.TransactionStatus)
	assert.NotEqual(t, dep.TID, out.Transaction.TID)
	got, _ := e.sim.Transaction(dep.TID)
	assert.Equal(t, praxis.StatusPartialRefund, got.Status)
	assert.Equal(t, int64(400), got.Refunded)

	var pe *praxis.Error
	_, err = refund("refund-2", 601, "EUR")
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, praxis.OutcomeRejected, pe.Outcome)
	assert.Contains(t, pe.Description, "remainder 600")
	_, err = refund("refund-2", 100, "USD")
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, pe.Description, "currency must be EUR")
	_, err = refund("refund-1", 100, "EUR")
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, sim.DescOrderNotUnique, pe.Description)
	assert.Equal(t, 1, e.sim.Effects().Refunds[dep.TID], "refused refunds have no effect")

	_, err = refund("refund-3", 600, "EUR")
	require.NoError(t, err)
	got, _ = e.sim.Transaction(dep.TID)
	assert.Equal(t, praxis.StatusRefund, got.Status)
	assert.Equal(t, 2, e.sim.Effects().Refunds[dep.TID])
	assert.Equal(t, int64(0), e.sim.Balances()[key("cust-1", "EUR")])
	waitStatuses(t, e.hook, dep.TID, praxis.StatusPending, praxis.StatusApproved, praxis.StatusPartialRefund, praxis.StatusRefund)
	_, err = refund("refund-4", 1, "EUR")
	assert.Equal(t, praxis.OutcomeRejected, outcome(err), "nothing left to refund")
}

func TestChargebackTakesBackTheUnrefundedPart(t *testing.T) {
	e := newEnv(t, nil)
	resp := e.session(t, e.request(praxis.IntentPayment, 1000))
	dep, err := e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
	require.NoError(t, err)
	_, err = e.client.Refund(t.Context(), e.creds, praxis.RefundRequest{Currency: "EUR", Amount: 300, CID: "cust-1", Locale: "en-GB", OrderID: "r-1", ReferenceID: dep.TID})
	require.NoError(t, err)
	cb, err := e.sim.Chargeback(t.Context(), dep.TID)
	require.NoError(t, err)
	assert.Equal(t, praxis.StatusChargeback, cb.Status)
	assert.Equal(t, int64(0), e.sim.Balances()[key("cust-1", "EUR")])
	assert.Equal(t, 1, e.sim.Effects().Chargebacks[dep.TID])
	_, err = e.sim.Chargeback(t.Context(), dep.TID)
	assert.ErrorIs(t, err, sim.ErrInvalidState)
}

func TestCustomerOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		act     func(t *testing.T, e *env, token string) sim.Transaction
		history []string
	}{
		{"decline", func(t *testing.T, e *env, token string) sim.Transaction {
			tx, err := e.sim.Decline(t.Context(), token, sim.DeclineOptions{Reason: "Insufficient funds"})
			require.NoError(t, err)
			return tx
		}, []string{praxis.StatusPending, praxis.StatusRejected}},
		{"3ds passed", func(t *testing.T, e *env, token string) sim.Transaction {
			tx, err := e.sim.Pay(t.Context(), token, sim.PayOptions{ThreeDS: true})
			require.NoError(t, err)
			require.Equal(t, praxis.StatusInitialized, tx.Status)
			require.NotEmpty(t, tx.RedirectURL)
			tx, err = e.sim.FinishThreeDS(t.Context(), tx.TID, true)
			require.NoError(t, err)
			return tx
		}, []string{praxis.StatusInitialized, praxis.StatusApproved}},
		{"3ds failed", func(t *testing.T, e *env, token string) sim.Transaction {
			tx, err := e.sim.Pay(t.Context(), token, sim.PayOptions{ThreeDS: true})
			require.NoError(t, err)
			tx, err = e.sim.FinishThreeDS(t.Context(), tx.TID, false)
			require.NoError(t, err)
			return tx
		}, []string{praxis.StatusInitialized, praxis.StatusRejected}},
		{"cancelled at 3ds", func(t *testing.T, e *env, token string) sim.Transaction {
			_, err := e.sim.Pay(t.Context(), token, sim.PayOptions{ThreeDS: true})
			require.NoError(t, err)
			tx, err := e.sim.Cancel(t.Context(), token)
			require.NoError(t, err)
			return tx
		}, []string{praxis.StatusInitialized, praxis.StatusCancelled}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			resp := e.session(t, e.request(praxis.IntentPayment, 500))
			tx := tc.act(t, e, resp.Session.AuthToken)
			assert.Equal(t, tc.history, tx.History)
			waitStatuses(t, e.hook, tx.TID, tc.history...)
		})
	}
}

func TestSessionRules(t *testing.T) {
	e := newEnv(t, nil)
	req := e.request(praxis.IntentPayment, 100)
	resp := e.session(t, req)

	_, err := e.client.CashierSession(t.Context(), e.creds, req)
	var pe *praxis.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, sim.DescOrderNotUnique, pe.Description)

	_, err = e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
	require.NoError(t, err)
	_, err = e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
	assert.ErrorIs(t, err, sim.ErrInvalidState, "a paid session takes no second payment")
	_, err = e.sim.ExpireSession(t.Context(), resp.Session.AuthToken)
	assert.ErrorIs(t, err, sim.ErrInvalidState, "a successful session does not expire")
	_, err = e.sim.Pay(t.Context(), "nope", sim.PayOptions{})
	assert.ErrorIs(t, err, sim.ErrNotFound)
}

func TestExpiredSessionNotifiesWithoutTransaction(t *testing.T) {
	e := newEnv(t, nil)
	resp := e.session(t, e.request(praxis.IntentPayment, 100))
	se, err := e.sim.ExpireSession(t.Context(), resp.Session.AuthToken)
	require.NoError(t, err)
	assert.Equal(t, "expired", se.Status)
	calls := e.hook.waitCalls(t, 1)
	n := notification(t, calls[0])
	assert.Nil(t, n.Transaction)
	assert.Contains(t, string(calls[0].body), `"transaction":null`)
	assert.Equal(t, "expired", n.Session.SessionStatus)
	assert.Equal(t, resp.Session.OrderID, n.Session.OrderID)
	_, err = e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
	assert.ErrorIs(t, err, sim.ErrInvalidState)
}
