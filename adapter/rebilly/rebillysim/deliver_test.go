package rebillysim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/money"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly/rebillysim"
)

// TestWebhookCredentials: webhooks arrive with the configured credential,
// checked by the protocol package's verifiers, and their payload reads
// with the one decoder; a wrong credential is resent, never accepted.
func TestWebhookCredentials(t *testing.T) {
	digest := rebilly.DigestAuth{Username: "hook", Password: "s3cret-pass", Realm: "ingress", Key: []byte("0123456789abcdef0123")}
	for _, tc := range []struct {
		authType, password string
		ok                 bool
	}{
		{rebillysim.AuthBasic, "s3cret-pass", true},
		{rebillysim.AuthBasic, "wrong", false},
		{rebillysim.AuthDigest, "s3cret-pass", true},
		{rebillysim.AuthDigest, "wrong", false},
	} {
		t.Run(fmt.Sprintf("%s ok=%v", tc.authType, tc.ok), func(t *testing.T) {
			hook := newReceiver(t, func(r *http.Request) int {
				var err error
				if tc.authType == rebillysim.AuthBasic {
					err = rebilly.BasicAuth{Username: "hook", Password: "s3cret-pass"}.Verify(r)
				} else {
					err = digest.Verify(r, time.Now())
				}
				if err != nil {
					return http.StatusUnauthorized
				}
				return http.StatusOK
			})
			hook.srv.Config.Handler = digestChallenger(hook.srv.Config.Handler, digest)
			e := newEnv(t, func(c *rebillysim.Config) {
				c.Webhooks = []rebillysim.Webhook{{URL: hook.srv.URL + "/rebilly/webhooks", AuthType: tc.authType, Username: "hook", Password: tc.password,
					EventsFilter: []string{"transaction-processed"}, Headers: map[string]string{"X-Static": "v"}}}
			})
			c := e.cashier(t, nil)
			tx, err := e.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 700})
			require.NoError(t, err)
			e.quiet(t)
			var hooks []rebillysim.Delivery
			for _, d := range e.sim.Deliveries() {
				if d.Kind == rebillysim.KindWebhook {
					hooks = append(hooks, d)
				}
			}
			require.NotEmpty(t, hooks)
			last := hooks[len(hooks)-1]
			assert.True(t, last.Authorized)
			if !tc.ok {
				assert.Len(t, hooks, 3, "resent up to MaxDeliveries")
				assert.Equal(t, http.StatusUnauthorized, last.HTTPStatus)
				return
			}
			require.Len(t, hooks, 1)
			assert.Equal(t, http.StatusOK, last.HTTPStatus)
			assert.Equal(t, tx.ID, last.TransactionID)
			calls := hook.snapshot()
			body := calls[len(calls)-1]
			assert.Equal(t, "v", body.header.Get("X-Static"))
			cur, _ := money.NewCurrencies(nil)
			w, err := rebilly.Decode[rebilly.TransactionWebhook](body.body, cur)
			require.NoError(t, err)
			assert.Equal(t, "transaction-processed", w.EventType)
			assert.Equal(t, int64(700), w.Embedded.Transaction.AmountMinor)
		})
	}
}

// digestChallenger answers a request without Digest credentials with the
// 401 challenge, as a Digest-protected ingress does.
func digestChallenger(next http.Handler, d rebilly.DigestAuth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a == "" {
			w.Header().Set("WWW-Authenticate", d.Challenge(time.Now()))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestNotificationResend: a non-2xx answer is resent until a 2xx; the
// duplicate fault repeats an acknowledged one; the body may carry the
// transaction.
func TestNotificationResend(t *testing.T) {
	e := newEnv(t, func(c *rebillysim.Config) {
		c.NotificationBody = "transaction"
		c.MaxDeliveries = 5
		c.DeliveryLogLimit = 4
	})
	n := 0
	e.hook.setCheck(func(*http.Request) int {
		n++
		if n < 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	c := e.cashier(t, nil)
	tx, err := e.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 100})
	require.NoError(t, err)
	calls := e.hook.waitCalls(t, 3)
	e.quiet(t)
	assert.Len(t, e.hook.snapshot(), 3)
	var got rebilly.Transaction
	require.NoError(t, json.Unmarshal(calls[2].body, &got))
	assert.Equal(t, tx.ID, got.ID)
	ds := e.sim.Deliveries()
	require.Len(t, ds, 3)
	assert.True(t, ds[0].WillResend)
	assert.False(t, ds[2].WillResend)

	require.NoError(t, e.sim.SetFaults(rebillysim.Faults{DuplicateRate: 1}))
	c2 := e.cashier(t, nil)
	_, err = e.sim.PayDeposit(t.Context(), c2.ID, rebillysim.PayOptions{Amount: 100})
	require.NoError(t, err)
	e.hook.waitCalls(t, 5)
	e.quiet(t)
	ds = e.sim.Deliveries()
	assert.Len(t, ds, 4, "the log keeps the newest DeliveryLogLimit")
	assert.True(t, ds[len(ds)-1].Duplicate)
}

// TestTestAPI drives a deposit and the faults over HTTP, as a demo would.
func TestTestAPI(t *testing.T) {
	e := newEnv(t, nil)
	c := e.cashier(t, nil)
	post := func(path, body string) *http.Response {
		resp, err := http.Post(e.srv.URL+path, "application/json", bytes.NewReader([]byte(body)))
		require.NoError(t, err)
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp
	}
	resp := post("/sim/cashiers/"+c.ID+"/pay", `{"amount":1234}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var tx rebilly.Transaction
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tx))
	assert.Equal(t, rebilly.Decimal("12.34"), tx.Amount)
	assert.Equal(t, http.StatusNotFound, post("/sim/cashiers/nope/pay", `{"amount":1}`).StatusCode)
	assert.Equal(t, http.StatusBadRequest, post("/sim/cashiers/"+c.ID+"/pay", `{"amuont":1}`).StatusCode)
	assert.Equal(t, http.StatusConflict, post("/sim/transactions/"+tx.ID+"/finish", `{"result":"approved"}`).StatusCode)
	require.Equal(t, http.StatusOK, post("/sim/faults", `{"endpoints":{"GET /transactions/{id}":{"server_error_rate":1}}}`).StatusCode)
	_, err := e.client.GetTransaction(t.Context(), tx.ID)
	assert.Equal(t, rebilly.OutcomeTransient, rebilly.Classify(err))
	assert.Equal(t, http.StatusBadRequest, post("/sim/faults", `{"endpoints":{"GET /nope":{}}}`).StatusCode)
	require.Equal(t, http.StatusOK, post("/sim/reset", ``).StatusCode)
	_, ok := e.sim.Transaction(tx.ID)
	assert.False(t, ok)
}

func TestDigestAuthVerify(t *testing.T) {
	d := rebilly.DigestAuth{Username: "u", Password: "p", Realm: "r", Key: []byte("0123456789abcdef"), Algorithm: "SHA-256", TTL: time.Minute}
	now := time.Unix(1_800_000_000, 0)
	good := func(pass string, at time.Time, uri string) *http.Request {
		ch := d.Challenge(at)
		p := rebilly.ParseAuthParams(ch[len("Digest "):])
		r, _ := http.NewRequest(http.MethodPost, "http://x"+uri, nil)
		auth, err := rebillysim.DigestAuthorization(ch, "u", pass, http.MethodPost, uri, "cn")
		require.NoError(t, err)
		assert.Equal(t, "SHA-256", p["algorithm"])
		r.Header.Set("Authorization", auth)
		return r
	}
	assert.NoError(t, d.Verify(good("p", now, "/hook?a=1"), now))
	assert.ErrorIs(t, d.Verify(good("x", now, "/hook"), now), rebilly.ErrUnauthorized)
	assert.ErrorIs(t, d.Verify(good("p", now.Add(-2*time.Minute), "/hook"), now), rebilly.ErrUnauthorized, "stale nonce")
	r := good("p", now, "/hook")
	r.URL.Path = "/other"
	assert.ErrorIs(t, d.Verify(r, now), rebilly.ErrUnauthorized, "uri must match")
	r = good("p", now, "/hook")
	r.Header.Set("Authorization", r.Header.Get("Authorization")+`, nonce="1.forged"`)
	assert.True(t, errors.Is(d.Verify(r, now), rebilly.ErrUnauthorized), "a forged nonce")
}
