package rebillysim_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly/rebillysim"
)

// TestDepositNotifyConfirm: a cashier deposit is notified with {id} and
// {result} substituted, and the GET that confirms it carries the amount in
// minor units, the revision and the cashier's deposit request.
func TestDepositNotifyConfirm(t *testing.T) {
	e := newEnv(t, nil)
	c := e.cashier(t, &rebilly.DepositLimits{Minimum: "10.00", Maximum: "1000.00"})
	assert.True(t, strings.HasPrefix(c.ID, "cashier_"))
	assert.NotEmpty(t, c.CashierToken)
	assert.NotEmpty(t, c.LastDepositRequestID)

	_, err := e.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 999})
	require.ErrorIs(t, err, rebillysim.ErrInvalidInput, "below the deposit limit")

	paid, err := e.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 5050})
	require.NoError(t, err)
	calls := e.hook.waitCalls(t, 1)
	assert.Equal(t, http.MethodPost, calls[0].method)
	u, err := url.ParseRequestURI(calls[0].uri)
	require.NoError(t, err)
	assert.Equal(t, "/rebilly/notify/k3y", u.Path)
	assert.Equal(t, paid.ID, u.Query().Get("id"))
	assert.Equal(t, rebilly.ResultApproved, u.Query().Get("result"))
	assert.Empty(t, calls[0].body, "the default notification body is empty")

	got, err := e.client.GetTransaction(t.Context(), u.Query().Get("id"))
	require.NoError(t, err)
	tx := got.Value
	assert.Equal(t, int64(5050), tx.AmountMinor)
	assert.Equal(t, rebilly.Decimal("50.50"), tx.Amount)
	assert.Equal(t, rebilly.StatusCompleted, tx.Status)
	assert.Equal(t, int64(1), tx.Revision)
	assert.Equal(t, c.LastDepositRequestID, tx.DepositRequestID)
	assert.Equal(t, "cus_1", tx.CustomerID)

	after, err := e.client.GetCashier(t.Context(), c.ID)
	require.NoError(t, err)
	assert.Empty(t, after.Value.CashierToken, "null once the deposit request is completed")
	assert.Equal(t, int64(5050), after.Value.BalanceMinor)
	dep, err := e.client.GetDepositRequest(t.Context(), c.LastDepositRequestID)
	require.NoError(t, err)
	assert.Equal(t, "completed", dep.Value.Status)
	assert.Equal(t, []string{tx.ID}, dep.Value.TransactionIDs)
	assert.NotEmpty(t, dep.Value.DepositURL())

	_, err = e.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 5050})
	assert.ErrorIs(t, err, rebillysim.ErrInvalidState, "a completed deposit request takes no second payment")
}

// TestOffsiteAndTimeout: an unknown result notifies nothing until the
// gateway finishes it; then the revision has moved on.
func TestOffsiteAndTimeout(t *testing.T) {
	for _, timeout := range []bool{false, true} {
		e := newEnv(t, nil)
		c := e.cashier(t, nil)
		tx, err := e.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 100, Result: rebilly.ResultUnknown, Timeout: timeout})
		require.NoError(t, err)
		if timeout {
			assert.Equal(t, rebilly.StatusTimeout, tx.Status)
		} else {
			assert.Equal(t, rebilly.StatusWaitingApproval, tx.Status)
			assert.NotEmpty(t, tx.Link("approvalUrl"))
		}
		e.quiet(t)
		assert.Empty(t, e.hook.snapshot(), "no notification before the result is final")
		_, err = e.sim.Finish(t.Context(), tx.ID, rebilly.ResultDeclined)
		require.NoError(t, err)
		calls := e.hook.waitCalls(t, 1)
		assert.Contains(t, calls[0].uri, "result=declined")
		got, err := e.client.GetTransaction(t.Context(), tx.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Value.Revision)
		assert.Equal(t, rebilly.ResultDeclined, got.Value.Result)
		_, err = e.sim.Finish(t.Context(), tx.ID, rebilly.ResultApproved)
		assert.ErrorIs(t, err, rebillysim.ErrInvalidState, "a final result does not change")
	}
}

// TestRefunds: partial then full refunds move the parent and bump its
// revision; refunding more than remains is rejected with a 422.
func TestRefunds(t *testing.T) {
	e := newEnv(t, nil)
	c := e.cashier(t, nil)
	dep, err := e.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 1000})
	require.NoError(t, err)

	r1, err := e.client.Refund(t.Context(), dep.ID, rebilly.RefundRequest{Amount: "4.00"})
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, r1.HTTPStatus)
	assert.Equal(t, rebilly.TypeRefund, r1.Value.Type)
	assert.Equal(t, dep.ID, r1.Value.ParentTransactionID)
	assert.Equal(t, int64(400), r1.Value.AmountMinor)

	_, err = e.client.Refund(t.Context(), dep.ID, rebilly.RefundRequest{Amount: "6.01"})
	require.Equal(t, rebilly.OutcomeRejected, rebilly.Classify(err))
	var re *rebilly.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusUnprocessableEntity, re.HTTPStatus)
	require.NotNil(t, re.Problem)
	assert.Equal(t, "amount", re.Problem.InvalidFields[0].Field)

	_, err = e.client.Refund(t.Context(), dep.ID, rebilly.RefundRequest{Amount: "6.00"})
	require.NoError(t, err)
	parent, err := e.client.GetTransaction(t.Context(), dep.ID)
	require.NoError(t, err)
	assert.Equal(t, rebilly.StatusRefunded, parent.Value.Status)
	assert.Equal(t, int64(3), parent.Value.Revision)
	assert.Len(t, parent.Value.ChildTransactions, 2)

	_, err = e.client.Refund(t.Context(), "txn_missing", rebilly.RefundRequest{Amount: "1"})
	assert.ErrorIs(t, err, rebilly.ErrNotFound)
	assert.Equal(t, int64(0), e.sim.Balance("cus_1", "EUR"))
}

// TestLostReplyRefundIsReconciled: the refund happens but its reply is
// lost; the client says unknown (sent), and reading the parent's children
// finds the one refund, so nothing is repeated.
func TestLostReplyRefundIsReconciled(t *testing.T) {
	for _, fault := range []rebillysim.EndpointFaults{{LostReplyRate: 1}, {TimeoutRate: 1}, {ErrorAfterEffectRate: 1}} {
		e := newEnv(t, nil)
		c := e.cashier(t, nil)
		dep, err := e.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 1000})
		require.NoError(t, err)
		require.NoError(t, e.sim.SetFaults(rebillysim.Faults{Endpoints: map[string]rebillysim.EndpointFaults{"POST " + rebilly.PathTransactionRefund: fault}}))
		_, err = e.client.Refund(t.Context(), dep.ID, rebilly.RefundRequest{Amount: "2.50"})
		require.Equal(t, rebilly.OutcomeUnknown, rebilly.Classify(err), "%v", err)
		var re *rebilly.Error
		require.ErrorAs(t, err, &re)
		assert.True(t, re.Sent)

		refunds, err := e.client.RefundsOf(t.Context(), dep.ID)
		require.NoError(t, err)
		require.Len(t, refunds, 1)
		assert.Equal(t, int64(250), refunds[0].Value.AmountMinor)
		assert.Equal(t, 1, e.sim.Effects().Applied["refund:"+dep.ID])
	}
}

// TestServerErrorBeforeEffect: a 503 is transient and changes nothing.
func TestServerErrorBeforeEffect(t *testing.T) {
	e := newEnv(t, func(c *rebillysim.Config) {
		c.Faults = rebillysim.Faults{Endpoints: map[string]rebillysim.EndpointFaults{rebillysim.AllEndpoints: {ServerErrorRate: 1}}}
	})
	_, err := e.client.CreateCashier(t.Context(), rebilly.CashierRequest{CustomerID: "c", WebsiteID: "w", Currency: "EUR"})
	assert.Equal(t, rebilly.OutcomeTransient, rebilly.Classify(err))
	assert.Zero(t, e.sim.Effects().Total("cashier.create"))
	assert.Equal(t, 1, e.sim.Effects().Calls["POST "+rebilly.PathCashiers])
}

// TestRequestIDIdempotency: a repeated create with the same requestId is
// one effect, answered per the configured reading; a lost reply is settled
// by FindByRequestID.
func TestRequestIDIdempotency(t *testing.T) {
	req := rebilly.TransactionRequest{Type: rebilly.TypeSale, WebsiteID: "web_1", CustomerID: "cus_1", Currency: "EUR", Amount: "12.34",
		RequestID: rebilly.RequestIDFor("cmd-42")}
	t.Run("conflict", func(t *testing.T) {
		e := newEnv(t, nil)
		first, err := e.client.CreateTransaction(t.Context(), req)
		require.NoError(t, err)
		assert.Equal(t, int64(1234), first.Value.AmountMinor)
		_, err = e.client.CreateTransaction(t.Context(), req)
		assert.Equal(t, rebilly.OutcomeUnknown, rebilly.Classify(err))
		assert.ErrorIs(t, err, rebilly.ErrDuplicateRequestID)
		found, err := e.client.FindByRequestID(t.Context(), req.RequestID)
		require.NoError(t, err)
		require.Len(t, found.Value, 1)
		assert.Equal(t, first.Value.ID, found.Value[0].ID)
		assert.Equal(t, 1, found.Total)
		assert.Equal(t, 1, e.sim.Effects().Total("transaction.create"))
	})
	t.Run("return", func(t *testing.T) {
		e := newEnv(t, func(c *rebillysim.Config) { c.Duplicate = rebillysim.DuplicateReturn })
		first, err := e.client.CreateTransaction(t.Context(), req)
		require.NoError(t, err)
		again, err := e.client.CreateTransaction(t.Context(), req)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, again.HTTPStatus)
		assert.Equal(t, first.Value.ID, again.Value.ID)
		assert.Equal(t, 1, e.sim.Effects().Total("transaction.create"))
	})
	t.Run("lost reply then lookup", func(t *testing.T) {
		e := newEnv(t, func(c *rebillysim.Config) {
			c.Faults = rebillysim.Faults{Endpoints: map[string]rebillysim.EndpointFaults{"POST " + rebilly.PathPayouts: {LostReplyRate: 1}}}
		})
		_, err := e.client.CreatePayout(t.Context(), rebilly.PayoutRequestBody{WebsiteID: "web_1", CustomerID: "cus_1", Currency: "EUR", Amount: "5", RequestID: "cmd-7"})
		require.Equal(t, rebilly.OutcomeUnknown, rebilly.Classify(err))
		found, err := e.client.FindByRequestID(t.Context(), "cmd-7")
		require.NoError(t, err)
		require.Len(t, found.Value, 1)
		assert.Equal(t, rebilly.TypeCredit, found.Value[0].Type)
		assert.Equal(t, 1, e.sim.Effects().Total("payout.create"))
	})
}

// TestPayoutRequests: an upsert is one effect however often it is sent; a
// cancel works once; the reverse withdrawal cancels oldest first up to the
// amount.
func TestPayoutRequests(t *testing.T) {
	now := time.Date(2026, 8, 21, 14, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	e := newEnv(t, func(c *rebillysim.Config) { c.Now = clock })
	put := func(id, amount string) *rebilly.Response[rebilly.PayoutRequest] {
		resp, err := e.client.UpsertPayoutRequest(t.Context(), id, rebilly.PayoutRequestInput{WebsiteID: "web_1", CustomerID: "cus_1", Currency: "EUR", Amount: rebilly.Decimal(amount)})
		require.NoError(t, err)
		return resp
	}
	first := put("pout_req_a", "10.00")
	assert.Equal(t, http.StatusCreated, first.HTTPStatus)
	assert.Equal(t, rebilly.PayoutPending, first.Value.Status)
	assert.Equal(t, http.StatusOK, put("pout_req_a", "10.00").HTTPStatus)
	assert.Equal(t, 1, e.sim.Effects().Applied["payout_request.create:pout_req_a"])
	_, err := e.client.UpsertPayoutRequest(t.Context(), "pout_req_a", rebilly.PayoutRequestInput{WebsiteID: "web_1", CustomerID: "cus_1", Currency: "EUR", Amount: "11"})
	assert.Equal(t, rebilly.OutcomeRejected, rebilly.Classify(err), "an upsert never changes the amount")
	put("pout_req_b", "20.00")
	put("pout_req_c", "5.00")
	put("pout_req_d", "1.00")

	pending, err := e.client.PendingPayoutRequests(t.Context(), "cus_1", "EUR", 100)
	require.NoError(t, err)
	require.Len(t, pending.Value, 4)
	assert.Equal(t, "pout_req_a", pending.Value[0].ID, "oldest first")

	// The adapter's reverse withdrawal: select, then cancel by id.
	sel := rebilly.SelectReverse(pending.Value, "EUR", 3200)
	assert.Equal(t, int64(3000), sel.Total)
	assert.Equal(t, int64(3600), sel.Pending)
	for _, p := range sel.Cancel {
		resp, err := e.client.CancelPayoutRequest(t.Context(), p.ID, "reverse withdrawal")
		require.NoError(t, err)
		assert.Equal(t, rebilly.PayoutCanceled, resp.Value.Status)
	}
	_, err = e.client.CancelPayoutRequest(t.Context(), "pout_req_a", "again")
	assert.Equal(t, rebilly.OutcomeRejected, rebilly.Classify(err), "a second cancel is refused; an unknown cancel is settled by GET")
	got, err := e.client.GetPayoutRequest(t.Context(), "pout_req_a")
	require.NoError(t, err)
	assert.Equal(t, rebilly.PayoutCanceled, got.Value.Status)
	assert.Equal(t, 1, e.sim.Effects().Applied["payout_request.cancel:pout_req_a"])

	// The storefront reverse withdrawal cancels the rest (no amount: all).
	c := e.cashier(t, nil)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/organizations/"+org+"/storefront/cashiers/"+c.ID+"/cancel-payout-requests", nil)
	req.Header.Set("Authorization", "Bearer "+c.CashierToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	after, err := e.client.GetCashier(t.Context(), c.ID)
	require.NoError(t, err)
	assert.Zero(t, after.Value.PendingPayoutTotalMinor)

	fulfilled, err := e.sim.FulfillPayoutRequest(t.Context(), "pout_req_b")
	assert.ErrorIs(t, err, rebillysim.ErrInvalidState, "a cancelled request is not paid")
	_ = fulfilled
}

// TestFulfillPayoutRequest: paying a request creates an approved credit.
func TestFulfillPayoutRequest(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.client.UpsertPayoutRequest(t.Context(), "pr1", rebilly.PayoutRequestInput{WebsiteID: "w", CustomerID: "cus_1", Currency: "JPY", Amount: "1500"})
	require.NoError(t, err)
	p, err := e.sim.FulfillPayoutRequest(t.Context(), "pr1")
	require.NoError(t, err)
	assert.Equal(t, rebilly.PayoutFulfilled, p.Status)
	credits, err := e.client.ListTransactions(t.Context(), rebilly.ListQuery{Filter: "payoutRequestId:pr1"})
	require.NoError(t, err)
	require.Len(t, credits.Value, 1)
	assert.Equal(t, int64(1500), credits.Value[0].AmountMinor)
	assert.Equal(t, int64(-1500), e.sim.Balance("cus_1", "JPY"))
}

// TestRateLimit: non-GET calls beyond the limit get a 429 with a retry
// time and no effect; GETs are not counted.
func TestRateLimit(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	e := newEnv(t, func(c *rebillysim.Config) {
		c.RateLimit = rebillysim.RateLimit{Limit: 2, Window: 10 * time.Minute}
		c.Now = func() time.Time { return now }
	})
	req := rebilly.CashierRequest{CustomerID: "c", WebsiteID: "w", Currency: "EUR"}
	r1, err := e.client.CreateCashier(t.Context(), req)
	require.NoError(t, err)
	assert.Equal(t, 2, r1.RateLimit.Limit)
	assert.Equal(t, 1, r1.RateLimit.Remaining)
	_, err = e.client.GetCashier(t.Context(), r1.Value.ID)
	require.NoError(t, err)
	_, err = e.client.CreateCashier(t.Context(), req)
	require.NoError(t, err)
	_, err = e.client.CreateCashier(t.Context(), req)
	require.Equal(t, rebilly.OutcomeTransient, rebilly.Classify(err))
	var re *rebilly.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, now.Add(10*time.Minute).Unix(), re.RateLimit.RetryAt.Unix())
	assert.Equal(t, 2, e.sim.Effects().Total("cashier.create"))
	now = now.Add(10 * time.Minute)
	_, err = e.client.CreateCashier(t.Context(), req)
	assert.NoError(t, err, "a new window")
}

// TestAuthAndOrganization: a wrong key is a 401, another organization a
// 403, org-less paths a 404 unless allowed; all rejected.
func TestAuthAndOrganization(t *testing.T) {
	e := newEnv(t, nil)
	for _, cfg := range []rebilly.ClientConfig{
		{BaseURL: e.srv.URL, OrganizationID: org, APIKey: "wrong"},
		{BaseURL: e.srv.URL, OrganizationID: "org_other", APIKey: apiKey},
		{BaseURL: e.srv.URL, APIKey: apiKey},
	} {
		c, err := rebilly.NewClient(cfg)
		require.NoError(t, err)
		_, err = c.GetTransaction(t.Context(), "txn_1")
		assert.Equal(t, rebilly.OutcomeRejected, rebilly.Classify(err), "%v", err)
		assert.NotContains(t, err.Error(), apiKey)
	}
	orgless := newEnv(t, func(c *rebillysim.Config) { c.AllowOrgless = true })
	c, err := rebilly.NewClient(rebilly.ClientConfig{BaseURL: orgless.srv.URL, APIKey: apiKey})
	require.NoError(t, err)
	_, err = c.CreateCashier(t.Context(), rebilly.CashierRequest{CustomerID: "c", WebsiteID: "w", Currency: "EUR"})
	assert.NoError(t, err)
}

// TestSimDecodesStrictly: the simulator reads requests with the protocol's
// strict decoder, so a case-variant or duplicate key is a 400.
func TestSimDecodesStrictly(t *testing.T) {
	e := newEnv(t, nil)
	for _, body := range []string{
		`{"customerId":"c","websiteId":"w","currency":"EUR","CustomerId":"x"}`,
		`{"customerId":"c","customerId":"d","websiteId":"w","currency":"EUR"}`,
	} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/organizations/"+org+"/cashiers", strings.NewReader(body))
		req.Header.Set(rebilly.HeaderAPIKey, apiKey)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	}
	assert.Zero(t, e.sim.Effects().Total("cashier.create"))
}

// TestReturnExistingCashier: the UNCONFIRMED 200 reading.
func TestReturnExistingCashier(t *testing.T) {
	e := newEnv(t, func(c *rebillysim.Config) { c.ReturnExistingCashier = true })
	a := e.cashier(t, nil)
	resp, err := e.client.CreateCashier(t.Context(), rebilly.CashierRequest{CustomerID: "cus_1", WebsiteID: "web_1", Currency: "EUR"})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.HTTPStatus)
	assert.Equal(t, a.ID, resp.Value.ID)
	assert.Equal(t, 1, e.sim.Effects().Total("cashier.create"))
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  rebillysim.Config
		want string
	}{
		{rebillysim.Config{}, "api_keys: at least one"},
		{rebillysim.Config{APIKeys: []string{""}}, "api_keys[0]: empty"},
		{rebillysim.Config{APIKeys: []string{"k"}, OrganizationID: "a/b"}, "organization_id"},
		{rebillysim.Config{APIKeys: []string{"k"}, Duplicate: "maybe"}, "duplicate"},
		{rebillysim.Config{APIKeys: []string{"k"}, NotificationBody: "xml"}, "notification_body"},
		{rebillysim.Config{APIKeys: []string{"k"}, RateLimit: rebillysim.RateLimit{Limit: 1}}, "rate_limit"},
		{rebillysim.Config{APIKeys: []string{"k"}, DeliveryLogLimit: -1}, "delivery_log_limit"},
		{rebillysim.Config{APIKeys: []string{"k"}, Webhooks: []rebillysim.Webhook{{URL: "nope"}}}, "webhooks[0].url"},
		{rebillysim.Config{APIKeys: []string{"k"}, Webhooks: []rebillysim.Webhook{{URL: "http://x", AuthType: "basic"}}}, "webhooks[0].username"},
		{rebillysim.Config{APIKeys: []string{"k"}, Faults: rebillysim.Faults{Endpoints: map[string]rebillysim.EndpointFaults{"GET /nope": {}}}}, "unknown operation"},
		{rebillysim.Config{APIKeys: []string{"k"}, Faults: rebillysim.Faults{Endpoints: map[string]rebillysim.EndpointFaults{"*": {TimeoutRate: 0.6, LostReplyRate: 0.6}}}}, "more than 1"},
	}
	for _, tc := range tests {
		_, err := rebillysim.New(tc.cfg, testLogger(t))
		assert.ErrorContains(t, err, tc.want)
	}
}

// TestExpiredCashier: an expired cashier takes no payment and its token is
// gone.
func TestExpiredCashier(t *testing.T) {
	e := newEnv(t, nil)
	c := e.cashier(t, nil)
	_, err := e.sim.ExpireCashier(t.Context(), c.ID)
	require.NoError(t, err)
	got, err := e.client.GetCashier(t.Context(), c.ID)
	require.NoError(t, err)
	assert.Empty(t, got.Value.CashierToken)
	_, err = e.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 100})
	assert.ErrorIs(t, err, rebillysim.ErrInvalidState)
	dep, err := e.client.GetDepositRequest(t.Context(), c.LastDepositRequestID)
	require.NoError(t, err)
	assert.Equal(t, "expired", dep.Value.Status)
}
