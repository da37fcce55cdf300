package sim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

// findTxBody is a find-transaction request for tid, signed at ts.
func findTxBody(t *testing.T, merchant, app string, ts int64) ([]byte, string) {
	t.Helper()
	body := fmt.Appendf(nil, `{"merchant_id":%q,"application_key":%q,"tid":1000001,"version":"1.3","timestamp":%d}`, merchant, app, ts)
	sig, err := praxis.DefaultLists().Get(praxis.ListFindTransactionRequest).Sign(body, secret)
	require.NoError(t, err)
	return body, sig.String()
}

func TestRequestsAreAuthenticated(t *testing.T) {
	e := newEnv(t, nil)
	now := time.Now().Unix()
	flip := func(sig string) string {
		c := byte('0')
		if sig[10] == '0' {
			c = '1'
		}
		return sig[:10] + string(c) + sig[11:]
	}
	tests := []struct {
		name     string
		build    func() ([]byte, string)
		httpCode int
		status   int
		desc     string
	}{
		{"signature differs by one character", func() ([]byte, string) {
			b, s := findTxBody(t, merchantID, appKey, now)
			return b, flip(s)
		}, http.StatusOK, 401, sim.DescAccountNotFound},
		{"timestamp 61 s old", func() ([]byte, string) { return findTxBody(t, merchantID, appKey, now-61) }, http.StatusOK, 400, sim.DescTimestamp},
		{"timestamp in the future", func() ([]byte, string) { return findTxBody(t, merchantID, appKey, now+5) }, http.StatusOK, 400, sim.DescTimestamp},
		{"no signature header", func() ([]byte, string) {
			b, _ := findTxBody(t, merchantID, appKey, now)
			return b, ""
		}, http.StatusBadRequest, 400, sim.DescHeaderMissing},
		{"not JSON", func() ([]byte, string) { return []byte(`{"merchant_id":`), strings.Repeat("a", 96) }, http.StatusOK, 400, sim.DescBadRequest},
		{"JSON array", func() ([]byte, string) { return []byte(`[1]`), strings.Repeat("a", 96) }, http.StatusOK, 400, sim.DescBadRequest},
		{"unknown merchant", func() ([]byte, string) { return findTxBody(t, "Other", appKey, now) }, http.StatusOK, 401, sim.DescAccountNotFound},
		{"unknown application", func() ([]byte, string) { return findTxBody(t, merchantID, "Other", now) }, http.StatusOK, 401, sim.DescWebsiteNotFound},
		{"tid of the wrong type", func() ([]byte, string) {
			body := fmt.Appendf(nil, `{"merchant_id":%q,"application_key":%q,"tid":"x","version":"1.3","timestamp":%d}`, merchantID, appKey, now)
			sig, err := praxis.DefaultLists().Get(praxis.ListFindTransactionRequest).Sign(body, secret)
			require.NoError(t, err)
			return body, sig.String()
		}, http.StatusOK, 400, "Input validation failed: tid must be an integer, not a string"},
		{"unknown tid", func() ([]byte, string) { return findTxBody(t, merchantID, appKey, now) }, http.StatusOK, 400, sim.DescNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, sig := tc.build()
			code, env, respSig := rawCall(t, e.srv.URL, praxis.PathFindTransaction, body, sig)
			assert.Equal(t, tc.httpCode, code)
			assert.Equal(t, tc.status, env.Status)
			assert.Equal(t, tc.desc, env.Description)
			assert.Empty(t, respSig, "error answers are never signed")
		})
	}
}

func TestClientSeesOldTimestampAndWrongSecretAsRejected(t *testing.T) {
	e := newEnv(t, nil)
	old, err := praxis.NewClient(praxis.ClientConfig{BaseURL: e.srv.URL, Now: func() time.Time { return time.Now().Add(-61 * time.Second) }})
	require.NoError(t, err)
	_, err = old.FindOrder(t.Context(), e.creds, "x")
	var pe *praxis.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, praxis.OutcomeRejected, pe.Outcome)
	assert.Equal(t, sim.DescTimestamp, pe.Description)

	wrong := e.creds
	wrong.Secrets = []string{"not-the-secret"}
	_, err = e.client.FindOrder(t.Context(), wrong, "x")
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 401, pe.Status)
	assert.Equal(t, sim.DescAccountNotFound, pe.Description)
}

func TestSecretRotationAcceptsEveryConfiguredSecret(t *testing.T) {
	e := newEnv(t, func(c *sim.Config) { c.Applications[0].Secrets = []string{secret, "old-secret"} })
	old := praxis.Credentials{MerchantID: merchantID, ApplicationKey: appKey, Secrets: []string{"old-secret", secret}}
	_, err := e.client.CashierSession(t.Context(), old, e.request(praxis.IntentPayment, 100))
	require.NoError(t, err, "a request signed with the second secret is accepted, the answer verifies under the first")
}

func TestSessionRequestValidation(t *testing.T) {
	e := newEnv(t, nil)
	future := time.Now().Add(73 * time.Hour).Unix()
	tests := []struct {
		name   string
		mutate func(*praxis.SessionRequest)
		desc   string
	}{
		{"bad intent", func(r *praxis.SessionRequest) { r.Intent = "deposit" }, "intent must be payment, authorization or withdrawal"},
		{"bad currency", func(r *praxis.SessionRequest) { r.Currency = "euro" }, "currency must be a three-letter ISO 4217 code"},
		{"no cid", func(r *praxis.SessionRequest) { r.CID = "" }, "cid is required"},
		{"no notification_url", func(r *praxis.SessionRequest) { r.NotificationURL = "" }, "notification_url is required"},
		{"no customer", func(r *praxis.SessionRequest) { r.CustomerData = nil }, "customer_data or customer_token is required"},
		{"customer without email", func(r *praxis.SessionRequest) { r.CustomerData.Email = "" }, "customer_data.email is required"},
		{"link beyond 72 h", func(r *praxis.SessionRequest) {
			r.SessionType = praxis.SessionTypePaymentLink
			r.Expires = &future
		}, "expires must be in the future and at most 72 hours ahead"},
		{"negative amount", func(r *praxis.SessionRequest) {
			a := int64(-1)
			r.Amount = &a
		}, "amount must be a positive integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := e.request(praxis.IntentPayment, 100)
			tc.mutate(&req)
			_, err := e.client.CashierSession(t.Context(), e.creds, req)
			var pe *praxis.Error
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, praxis.OutcomeRejected, pe.Outcome)
			assert.Equal(t, 400, pe.Status)
			assert.True(t, strings.HasPrefix(pe.Description, sim.DescInputPrefix+tc.desc), pe.Description)
		})
	}
	t.Run("payment link within 72 h", func(t *testing.T) {
		req := e.request(praxis.IntentPayment, 100)
		req.SessionType = praxis.SessionTypePaymentLink
		exp := time.Now().Add(71 * time.Hour).Unix()
		req.Expires = &exp
		resp := e.session(t, req)
		se, ok := e.sim.Session(resp.Session.AuthToken)
		require.True(t, ok)
		assert.Equal(t, "payment_link", se.Kind)
		assert.Equal(t, exp, se.ExpiresAt.Unix())
	})
	t.Run("virtual terminal needs an agent", func(t *testing.T) {
		req := e.request(praxis.IntentPayment, 100)
		_, err := e.client.VirtualTerminal(t.Context(), e.creds, req)
		var pe *praxis.Error
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, sim.DescInputPrefix+"agent_name is required", pe.Description)
		req.AgentName = "agent-7"
		resp, err := e.client.VirtualTerminal(t.Context(), e.creds, req)
		require.NoError(t, err)
		se, _ := e.sim.Session(resp.Session.AuthToken)
		assert.Equal(t, "virtual_terminal", se.Kind)
	})
}

func TestConfigValidation(t *testing.T) {
	app := sim.Application{MerchantID: "m", ApplicationKey: "a", Secrets: []string{"s"}}
	tests := []struct {
		name string
		cfg  sim.Config
		want string
	}{
		{"no applications", sim.Config{}, "applications: at least one is required"},
		{"no secret", sim.Config{Applications: []sim.Application{{MerchantID: "m", ApplicationKey: "a"}}}, "applications[0].secrets"},
		{"bad mode", sim.Config{Applications: []sim.Application{{MerchantID: "m", ApplicationKey: "a", Secrets: []string{"s"}, WithdrawalMode: "both"}}}, "withdrawal_mode"},
		{"duplicate key", sim.Config{Applications: []sim.Application{app, app}}, `applications[1].application_key: "a" is used twice`},
		{"bad base url", sim.Config{Applications: []sim.Application{app}, BaseURL: "localhost:8090"}, "base_url"},
		{"bad rate", sim.Config{Applications: []sim.Application{app}, Faults: sim.Faults{DuplicateRate: 2}}, "faults.duplicate_rate"},
		{"unknown endpoint", sim.Config{Applications: []sim.Application{app}, Faults: sim.Faults{Endpoints: map[string]sim.EndpointFaults{"/nope": {}}}}, `faults.endpoints["/nope"]`},
		{"rates above 1", sim.Config{Applications: []sim.Application{app}, Faults: sim.Faults{Endpoints: map[string]sim.EndpointFaults{"*": {NegativeRate: 0.6, TimeoutRate: 0.6}}}}, "add up to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sim.New(tc.cfg, testutil.Logger(t))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestSameSeedSameTokens(t *testing.T) {
	tokens := func() string {
		e := newEnv(t, nil)
		return e.session(t, e.request(praxis.IntentPayment, 100)).Session.AuthToken
	}
	assert.Equal(t, tokens(), tokens())
}

func TestSimTestAPI(t *testing.T) {
	e := newEnv(t, nil)
	resp := e.session(t, e.request(praxis.IntentPayment, 900))
	token := resp.Session.AuthToken

	// The cashier page shows the session and the customer's buttons.
	page, err := http.Get(resp.RedirectURL)
	require.NoError(t, err)
	defer page.Body.Close()
	assert.Equal(t, http.StatusOK, page.StatusCode)
	assert.Contains(t, page.Header.Get("Content-Type"), "text/html")

	var tx sim.Transaction
	require.Equal(t, http.StatusOK, simPost(t, e.srv.URL, "/sim/sessions/"+token+"/pay", `{"amount":850}`, &tx))
	assert.Equal(t, praxis.StatusApproved, tx.Status)
	assert.Equal(t, int64(850), tx.Amount)

	var apiErr struct{ Error string }
	assert.Equal(t, http.StatusConflict, simPost(t, e.srv.URL, "/sim/sessions/"+token+"/pay", ``, &apiErr))
	assert.Contains(t, apiErr.Error, "already has transaction")
	assert.Equal(t, http.StatusBadRequest, simPost(t, e.srv.URL, "/sim/sessions/"+token+"/pay", `{"amout":1}`, &apiErr))
	assert.Contains(t, apiErr.Error, "unknown field")
	assert.Equal(t, http.StatusNotFound, simPost(t, e.srv.URL, "/sim/sessions/nope/pay", ``, &apiErr))
	assert.Equal(t, http.StatusNotFound, simPost(t, e.srv.URL, "/sim/sessions/"+token+"/dance", ``, &apiErr))

	var cb sim.Transaction
	require.Equal(t, http.StatusOK, simPost(t, e.srv.URL, fmt.Sprintf("/sim/transactions/%d/chargeback", tx.TID), ``, &cb))
	assert.Equal(t, praxis.StatusChargeback, cb.Status)

	var state sim.State
	simGet(t, e.srv.URL, "/sim/state", &state)
	require.Len(t, state.Applications, 1)
	require.Len(t, state.Applications[0].Transactions, 1)
	assert.Equal(t, praxis.StatusChargeback, state.Applications[0].Transactions[0].Status)

	var eff sim.Effects
	simGet(t, e.srv.URL, "/sim/effects", &eff)
	assert.Equal(t, 1, eff.Chargebacks[tx.TID])
	assert.Equal(t, 1, eff.Calls[praxis.PathCashier])

	var balances []sim.Balance
	simGet(t, e.srv.URL, "/sim/balances", &balances)
	assert.Equal(t, []sim.Balance{{ApplicationKey: appKey, CID: "cust-1", Currency: "EUR", Amount: 0}}, balances)

	waitStatuses(t, e.hook, tx.TID, praxis.StatusPending, praxis.StatusApproved, praxis.StatusChargeback)
	waitDeliveries(t, e.sim, sim.KindNotification, tx.TID, 3)
	var deliveries []sim.Delivery
	simGet(t, e.srv.URL, "/sim/deliveries", &deliveries)
	assert.Len(t, deliveries, 3)

	// Faults round-trip in milliseconds; a misspelt one is refused.
	var faults sim.Faults
	require.Equal(t, http.StatusOK, simPost(t, e.srv.URL, "/sim/faults", `{"endpoints":{"/agent/find-order":{"latency_ms":5,"negative_rate":0.5}},"duplicate_rate":0.25}`, &faults))
	assert.Equal(t, 5*time.Millisecond, faults.Endpoints[praxis.PathFindOrder].Latency)
	assert.Equal(t, 0.25, e.sim.Faults().DuplicateRate)
	assert.Equal(t, http.StatusBadRequest, simPost(t, e.srv.URL, "/sim/faults", `{"duplicate_rat":1}`, &apiErr))
	assert.Equal(t, http.StatusBadRequest, simPost(t, e.srv.URL, "/sim/faults", `{"duplicate_rate":3}`, &apiErr))
	assert.Contains(t, apiErr.Error, "faults.duplicate_rate")

	var reset map[string]string
	require.Equal(t, http.StatusOK, simPost(t, e.srv.URL, "/sim/reset", ``, &reset))
	simGet(t, e.srv.URL, "/sim/state", &state)
	assert.Empty(t, state.Applications[0].Transactions)
	assert.Empty(t, e.sim.Deliveries())
	assert.Empty(t, e.sim.Effects().Calls)
}

func TestCashierPageFormsDriveTheSession(t *testing.T) {
	e := newEnv(t, nil)
	resp := e.session(t, e.request(praxis.IntentPayment, 900))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := "return_to=" + resp.Session.AuthToken + "&three_ds=true"
	res, err := noRedirect.Post(e.srv.URL+"/sim/sessions/"+resp.Session.AuthToken+"/pay", "application/x-www-form-urlencoded", strings.NewReader(form))
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Contains(t, res.Header.Get("Location"), "/cashier/session/"+resp.Session.AuthToken)
	se, _ := e.sim.Session(resp.Session.AuthToken)
	require.Len(t, se.TIDs, 1)
	tx, _ := e.sim.Transaction(se.TIDs[0])
	assert.Equal(t, praxis.StatusInitialized, tx.Status)
	raw, err := json.Marshal(se)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "Johnson", "no customer names in the test API")
}
