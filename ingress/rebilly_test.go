package ingress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly/rebillysim"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Values of the Rebilly tests: none of the secrets, nor the customer id
// (a body value), may appear in a log line (tu.Logger checks every line).
const (
	rbApp      = "rb"
	rbOrg      = "org_ingress"
	rbAPIKey   = "sk_rebilly_APIKEY_9f3"
	rbUser     = "hook-user"
	rbPassword = "hook-PASSWORD-7c1"
	rbCustomer = "cus_PII_4411"
	rbWait     = 5 * time.Second
	rbPoll     = 5 * time.Millisecond
)

// rbEnv is the Rebilly ingress as production runs it: rebillysim as the
// Rebilly API (and as the caller of the notificationUrl and webhooks),
// embedded NATS with the shared streams, the JetStream KV idempotency
// store, and the ingress router behind a real HTTP server.
type rbEnv struct {
	sim    *rebillysim.Simulator
	client *rebilly.Client
	ing    *Server
	url    string
	js     jetstream.JetStream
	store  idempotency.Store
	reg    *prometheus.Registry
	logs   *tu.SyncBuffer
}

type rbOptions struct {
	auth      RebillyAuth
	hookAuth  string // the simulator's webhook credential type; "" sends no webhooks
	hookPass  string // the password the simulator sends
	apiKey    string // the key the ingress's client sends (default rbAPIKey)
	algorithm string // Digest algorithm
	store     func(idempotency.Store) idempotency.Store
}

func newRBEnv(t *testing.T, o rbOptions) *rbEnv {
	t.Helper()
	e := &rbEnv{reg: prometheus.NewRegistry(), logs: &tu.SyncBuffer{}}
	ingHTTP := httptest.NewUnstartedServer(nil)
	e.url = "http://" + ingHTTP.Listener.Addr().String()

	simCfg := rebillysim.Config{OrganizationID: rbOrg, APIKeys: []string{rbAPIKey}, ResendDelay: 10 * time.Millisecond,
		MaxDeliveries: 3, WebhookTimeout: 2 * time.Second, Seed: 11}
	if o.hookAuth != "" {
		simCfg.Webhooks = []rebillysim.Webhook{{URL: e.url + "/rebilly/" + rbApp + "/webhook", AuthType: o.hookAuth,
			Username: rbUser, Password: o.hookPass}}
	}
	var err error
	e.sim, err = rebillysim.New(simCfg, zerolog.Nop())
	require.NoError(t, err)
	simHTTP := httptest.NewServer(e.sim.Handler())
	t.Cleanup(func() {
		require.NoError(t, e.sim.Close())
		simHTTP.Close()
	})
	key := o.apiKey
	if key == "" {
		key = rbAPIKey
	}
	e.client, err = rebilly.NewClient(rebilly.ClientConfig{BaseURL: simHTTP.URL, OrganizationID: rbOrg, APIKey: key, Timeout: 2 * time.Second})
	require.NoError(t, err)

	srv := tu.NATS(t)
	nc, err := nats.Connect(srv.ClientURL(), nats.ReconnectBufSize(-1))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	e.js, err = jetstream.New(nc)
	require.NoError(t, err)
	require.NoError(t, subjects.EnsureStreams(t.Context(), e.js, subjects.StreamsConfig{Providers: []subjects.Provider{subjects.Praxis, subjects.Rebilly}}))
	e.store, err = idempotency.NewKV(t.Context(), e.js, idempotency.KVConfig{MaxAge: 7 * 24 * time.Hour})
	require.NoError(t, err)
	store := e.store
	if o.store != nil {
		store = o.store(store)
	}
	app := RebillyApplication{Name: rbApp, OrganizationID: rbOrg, Client: e.client, Auth: o.auth,
		Basic:  rebilly.BasicAuth{Username: rbUser, Password: rbPassword},
		Digest: rebilly.DigestAuth{Username: rbUser, Password: rbPassword, Algorithm: o.algorithm}}
	log := tu.Logger(t, rbAPIKey, rbPassword, rbCustomer, "wrong-"+rbPassword)
	log = log.Output(zerolog.MultiLevelWriter(zerolog.SyncWriter(logWriter{log}), e.logs))
	e.ing, err = New(Config{Rebilly: []RebillyApplication{app}, Lists: praxis.DefaultLists(), PublishTimeout: 500 * time.Millisecond},
		Deps{NC: nc, JS: e.js, Store: store, Log: log, Registry: e.reg})
	require.NoError(t, err)
	ingHTTP.Config.Handler = e.ing.Handler()
	ingHTTP.Start()
	t.Cleanup(ingHTTP.Close)
	return e
}

// logWriter writes through a logger's own writer (the leak checker).
type logWriter struct{ l zerolog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Log().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

// cashier creates a cashier for rbCustomer whose notificationUrl is the
// ingress (or nothing, when notify is false).
func (e *rbEnv) cashier(t *testing.T, notify bool) rebilly.Cashier {
	t.Helper()
	req := rebilly.CashierRequest{CustomerID: rbCustomer, WebsiteID: "web_1", Currency: "EUR"}
	if notify {
		req.NotificationURL = e.url + "/rebilly/" + rbApp + "/notification?id={id}&result={result}"
	}
	resp, err := e.client.CreateCashier(t.Context(), req)
	require.NoError(t, err)
	return resp.Value
}

// quiet waits until the simulator has delivered everything.
func (e *rbEnv) quiet(t *testing.T) {
	t.Helper()
	tu.Eventually(t, rbWait, rbPoll, func() error {
		if n := e.sim.PendingDeliveries(); n > 0 {
			return fmt.Errorf("%d deliveries pending", n)
		}
		return nil
	})
}

// events returns every Rebilly event in the stream, oldest first.
func (e *rbEnv) events(t *testing.T) []*nats.Msg {
	t.Helper()
	st, err := e.js.Stream(t.Context(), subjects.StreamEvents)
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	var out []*nats.Msg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(t.Context(), seq)
		if err != nil {
			continue
		}
		out = append(out, &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data})
	}
	return out
}

// onSubject returns the events on subject.
func (e *rbEnv) onSubject(t *testing.T, subject string) []*nats.Msg {
	var out []*nats.Msg
	for _, m := range e.events(t) {
		if m.Subject == subject {
			out = append(out, m)
		}
	}
	return out
}

type rbAnswer struct {
	status int
	header http.Header
	body   map[string]string
}

func (e *rbEnv) do(t *testing.T, method, path string, body []byte, auth string) rbAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.url+path, bytes.NewReader(body))
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := rbAnswer{status: resp.StatusCode, header: resp.Header}
	require.NoError(t, json.Unmarshal(raw, &a.body), "answers are JSON: %s", raw)
	return a
}

func notifyPath(query string) string { return "/rebilly/" + rbApp + "/notification?" + query }

func basic(user, pass string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

// TestRebillyDepositPublishedOnce: a genuine cashier deposit is published
// once, from the GET, however often Rebilly calls; a later revision (a
// refund changes the parent) and the refund itself are new events.
func TestRebillyDepositPublishedOnce(t *testing.T) {
	e := newRBEnv(t, rbOptions{auth: RebillyAuthBasic, hookAuth: rebillysim.AuthBasic, hookPass: rbPassword})
	c := e.cashier(t, true)
	tx, err := e.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 1234})
	require.NoError(t, err)
	e.quiet(t)
	kinds := map[string]bool{}
	for _, d := range e.sim.Deliveries() {
		assert.Equal(t, http.StatusOK, d.HTTPStatus, "%s attempt %d", d.Kind, d.Attempt)
		kinds[d.Kind] = true
	}
	assert.True(t, kinds[rebillysim.KindNotification] && kinds[rebillysim.KindWebhook], "both the notificationUrl and a webhook called")

	subj := subjects.Rebilly.Event(rbApp, "deposit", "approved")
	msgs := e.onSubject(t, subj)
	require.Len(t, msgs, 1, "two calls, one event")
	got, err := e.client.GetTransaction(t.Context(), tx.ID)
	require.NoError(t, err)
	key := "rebilly:" + rbOrg + ":t:" + tx.ID + ":1"
	assert.Equal(t, key, msgs[0].Header.Get("Nats-Msg-Id"))
	ev, err := cloudevent.DecodeRebilly(msgs[0].Data)
	require.NoError(t, err)
	assert.Equal(t, string(got.Raw), string(ev.Data), "data is the GET's body byte for byte")
	assert.Equal(t, cloudevent.RebillyEvent{
		SpecVersion: "1.0", ID: key, Source: "rebilly/" + rbOrg, Type: cloudevent.TypeRebillyTransaction, Subject: tx.ID,
		Time: ev.Time, DataContentType: "application/json", DataSchema: dataSchemaRebillyTransaction,
		RebillyID: tx.ID, Revision: "1", Result: "approved", Status: "completed", Amount: "1234", Currency: "EUR", TxType: "sale",
		Data: ev.Data,
	}, *ev)
	dec, err := rebilly.Decode[rebilly.Transaction](ev.Data, e.client.Currencies())
	require.NoError(t, err, "the ledger reads data with the one decoder")
	assert.Equal(t, int64(1234), dec.AmountMinor)

	// Rebilly calls again (a resend, a duplicate delivery): still one event.
	a := e.do(t, http.MethodPost, notifyPath("id="+tx.ID+"&result=approved"), nil, "")
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, OutcomeDuplicate, a.body["result"])
	a = e.do(t, http.MethodGet, notifyPath("result=approved&id="+tx.ID), nil, "")
	assert.Equal(t, OutcomeDuplicate, a.body["result"], "GET is served too")
	hook := []byte(`{"transactionId":"` + tx.ID + `","eventType":"transaction-processed","_embedded":{"transaction":{"id":"x","amount":"forged"}}}`)
	a = e.do(t, http.MethodPost, "/rebilly/"+rbApp+"/webhook", hook, basic(rbUser, rbPassword))
	assert.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, OutcomeDuplicate, a.body["result"])
	assert.Len(t, e.onSubject(t, subj), 1)

	// A refund changes the parent (revision 2) and creates a child: the
	// refund webhook is a trigger for both.
	_, err = e.client.Refund(t.Context(), tx.ID, rebilly.RefundRequest{Amount: "5.00"})
	require.NoError(t, err)
	e.quiet(t)
	tu.Eventually(t, rbWait, rbPoll, func() error {
		if n := len(e.onSubject(t, subj)); n != 2 {
			return fmt.Errorf("%d deposit events, want 2", n)
		}
		return nil
	})
	parent, err := cloudevent.DecodeRebilly(e.onSubject(t, subj)[1].Data)
	require.NoError(t, err)
	assert.Equal(t, "2", parent.Revision)
	assert.Equal(t, rebilly.StatusPartiallyRefunded, parent.Status)
	refunds := e.onSubject(t, subjects.Rebilly.Event(rbApp, "refund", "approved"))
	require.Len(t, refunds, 1)
	child, err := cloudevent.DecodeRebilly(refunds[0].Data)
	require.NoError(t, err)
	assert.Equal(t, "500", child.Amount)
	assert.Equal(t, rebilly.TypeRefund, child.TxType)
	assert.Len(t, e.events(t), 3, "nothing else was published")
}

// TestRebillyForgedNotifications: the notificationUrl is unauthenticated,
// so what it says is never believed: an unknown id publishes nothing, a
// forged result is overruled by the GET, bad input is refused.
func TestRebillyForgedNotifications(t *testing.T) {
	e := newRBEnv(t, rbOptions{auth: RebillyAuthBasic})
	c := e.cashier(t, false) // Rebilly itself calls nobody here
	declined, err := e.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 700, Result: rebilly.ResultDeclined})
	require.NoError(t, err)

	for _, tc := range []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"unknown id", http.MethodPost, notifyPath("id=txn_FORGED&result=approved"), http.StatusNotFound, OutcomeNotFound},
		{"no id", http.MethodPost, notifyPath("result=approved"), http.StatusBadRequest, ReasonBadQuery},
		{"two ids", http.MethodPost, notifyPath("id=" + declined.ID + "&id=txn_2"), http.StatusBadRequest, ReasonBadQuery},
		{"id with a path", http.MethodGet, notifyPath("id=..%2Fcashiers"), http.StatusBadRequest, ReasonBadQuery},
		{"id too long", http.MethodGet, notifyPath("id=" + strings.Repeat("t", 51)), http.StatusBadRequest, ReasonBadQuery},
		{"unknown application", http.MethodPost, "/rebilly/nope/notification?id=" + declined.ID, http.StatusNotFound, ReasonUnknownApp},
		{"wrong method", http.MethodPut, notifyPath("id=" + declined.ID), http.StatusMethodNotAllowed, ReasonMethod},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(t, tc.method, tc.path, nil, "")
			assert.Equal(t, tc.status, a.status)
			assert.Equal(t, tc.code, a.body["error"])
			assert.Empty(t, e.events(t), "nothing published")
		})
	}
	assert.Equal(t, 1.0, testutil.ToFloat64(e.ing.metrics.RebillyLookups.WithLabelValues(rbApp, "transaction", OutcomeNotFound)))

	// The right id with a forged result: the GET says declined, and that
	// is what is published, once.
	for range 2 {
		a := e.do(t, http.MethodPost, notifyPath("id="+declined.ID+"&result=approved"), []byte(`{"result":"approved"}`), "")
		assert.Equal(t, http.StatusOK, a.status, a.body)
	}
	assert.Empty(t, e.onSubject(t, subjects.Rebilly.Event(rbApp, "deposit", "approved")))
	msgs := e.onSubject(t, subjects.Rebilly.Event(rbApp, "deposit", "declined"))
	require.Len(t, msgs, 1)
	ev, err := cloudevent.DecodeRebilly(msgs[0].Data)
	require.NoError(t, err)
	assert.Equal(t, rebilly.ResultDeclined, ev.Result)
	assert.Len(t, e.events(t), 1)
}

// TestRebillyWebhookCredentials: webhooks delivered by the simulator with
// a wrong Basic password or a wrong Digest response are refused with 401
// and publish nothing; the right credential publishes.
func TestRebillyWebhookCredentials(t *testing.T) {
	for _, tc := range []struct {
		name      string
		auth      RebillyAuth
		hookAuth  string
		pass      string
		algorithm string
		ok        bool
	}{
		{"basic", RebillyAuthBasic, rebillysim.AuthBasic, rbPassword, "", true},
		{"basic, wrong password", RebillyAuthBasic, rebillysim.AuthBasic, "wrong-" + rbPassword, "", false},
		{"basic expected, none sent", RebillyAuthBasic, rebillysim.AuthNone, "", "", false},
		{"digest", RebillyAuthDigest, rebillysim.AuthDigest, rbPassword, "", true},
		{"digest sha-256", RebillyAuthDigest, rebillysim.AuthDigest, rbPassword, "SHA-256", true},
		{"digest, wrong password", RebillyAuthDigest, rebillysim.AuthDigest, "wrong-" + rbPassword, "", false},
		{"digest expected, basic sent", RebillyAuthDigest, rebillysim.AuthBasic, rbPassword, "", false},
		{"none", RebillyAuthNone, rebillysim.AuthNone, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRBEnv(t, rbOptions{auth: tc.auth, hookAuth: tc.hookAuth, hookPass: tc.pass, algorithm: tc.algorithm})
			c := e.cashier(t, false)
			_, err := e.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 100})
			require.NoError(t, err)
			e.quiet(t)
			ds := e.sim.Deliveries()
			require.NotEmpty(t, ds)
			last := ds[len(ds)-1]
			if !tc.ok {
				assert.Equal(t, http.StatusUnauthorized, last.HTTPStatus)
				assert.Len(t, ds, 3, "refused every time")
				assert.Empty(t, e.events(t), "nothing published")
				return
			}
			assert.Equal(t, http.StatusOK, last.HTTPStatus)
			assert.Len(t, e.onSubject(t, subjects.Rebilly.Event(rbApp, "deposit", "approved")), 1)
		})
	}

	t.Run("challenges", func(t *testing.T) {
		hook := "/rebilly/" + rbApp + "/webhook"
		body := []byte(`{"transactionId":"txn_1","eventType":"transaction-processed"}`)
		e := newRBEnv(t, rbOptions{auth: RebillyAuthDigest})
		a := e.do(t, http.MethodPost, hook, body, "")
		assert.Equal(t, http.StatusUnauthorized, a.status)
		assert.Equal(t, ReasonCredentialMissing, a.body["error"])
		assert.True(t, strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Digest "), a.header.Get("WWW-Authenticate"))
		a = e.do(t, http.MethodPost, hook, body, `Digest username="hook-user", nonce="1.forged", response="00"`)
		assert.Equal(t, ReasonCredentialMismatch, a.body["error"])

		e = newRBEnv(t, rbOptions{auth: RebillyAuthBasic})
		a = e.do(t, http.MethodPost, hook, body, basic(rbUser, "wrong-"+rbPassword))
		assert.Equal(t, http.StatusUnauthorized, a.status)
		assert.Contains(t, a.header.Get("WWW-Authenticate"), "Basic ")
		assert.Empty(t, e.events(t))
	})
}

// TestRebillyWebhookBodies: the body is read strictly and only for ids;
// a payout-request event publishes the GET'ed payout request.
func TestRebillyWebhookBodies(t *testing.T) {
	e := newRBEnv(t, rbOptions{auth: RebillyAuthBasic})
	hook := "/rebilly/" + rbApp + "/webhook"
	auth := basic(rbUser, rbPassword)
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"not JSON", `{"transactionId":`, http.StatusBadRequest, ReasonBadBody},
		{"repeated key", `{"transactionId":"txn_1","transactionId":"txn_2","eventType":"x"}`, http.StatusBadRequest, ReasonBadBody},
		{"case variant", `{"TransactionId":"txn_1","eventType":"x"}`, http.StatusBadRequest, ReasonBadBody},
		{"neither id", `{"customerId":"` + rbCustomer + `","eventType":"customer-created"}`, http.StatusBadRequest, ReasonBadBody},
		{"both ids", `{"transactionId":"txn_1","payoutRequestId":"pr_1","eventType":"x"}`, http.StatusBadRequest, ReasonBadBody},
		{"bad id", `{"transactionId":"../x","eventType":"x"}`, http.StatusBadRequest, ReasonBadBody},
		{"unknown transaction", `{"transactionId":"txn_nope","eventType":"transaction-processed"}`, http.StatusNotFound, OutcomeNotFound},
		{"unknown payout request", `{"payoutRequestId":"pr_nope","eventType":"payout-request-created"}`, http.StatusNotFound, OutcomeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(t, http.MethodPost, hook, []byte(tc.body), auth)
			assert.Equal(t, tc.status, a.status)
			assert.Equal(t, tc.code, a.body["error"])
			assert.NotContains(t, a.body["description"], rbCustomer, "answers quote no body value")
		})
	}
	assert.Empty(t, e.events(t))

	resp, err := e.client.UpsertPayoutRequest(t.Context(), "pout_req_1", rebilly.PayoutRequestInput{
		WebsiteID: "web_1", CustomerID: rbCustomer, Currency: "EUR", Amount: "25.00"})
	require.NoError(t, err)
	a := e.do(t, http.MethodPost, hook, []byte(`{"payoutRequestId":"pout_req_1","eventType":"payout-request-created"}`), auth)
	require.Equal(t, http.StatusOK, a.status, a.body)
	msgs := e.onSubject(t, subjects.Rebilly.Event(rbApp, "withdrawal", "pending"))
	require.Len(t, msgs, 1)
	assert.Equal(t, rebilly.PayoutEventKey(rbOrg, &resp.Value), msgs[0].Header.Get("Nats-Msg-Id"))
	ev, err := cloudevent.DecodeRebilly(msgs[0].Data)
	require.NoError(t, err)
	assert.Equal(t, cloudevent.TypeRebillyPayoutRequest, ev.Type)
	assert.Equal(t, "2500", ev.Amount)
	assert.Equal(t, "pending", ev.Status)
	assert.Empty(t, ev.Revision)
	assert.Equal(t, string(resp.Raw), string(ev.Data))
}

// failingJS fails every publish while fail is set.
type failingJS struct {
	jetstream.JetStream
	fail atomic.Bool
}

func (j *failingJS) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if j.fail.Load() {
		return nil, errors.New("nats: no response from stream")
	}
	return j.JetStream.PublishMsg(ctx, msg, opts...)
}

// failingStore fails every claim while fail is set.
type failingStore struct {
	idempotency.Store
	fail atomic.Bool
}

func (s *failingStore) Claim(ctx context.Context, key string, ttl time.Duration) (idempotency.Claim, error) {
	if s.fail.Load() {
		return idempotency.Claim{}, errors.New("redis: connection refused")
	}
	return s.Store.Claim(ctx, key, ttl)
}

// TestRebillyFailuresAreRetried: every internal failure is a non-2xx (so
// Rebilly calls again), publishes nothing, and leaves the key free, so
// the next call publishes; logs name what failed without a secret or a
// body value.
func TestRebillyFailuresAreRetried(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		break_ func(e *rbEnv, js *failingJS, st *failingStore)
		heal   func(e *rbEnv, js *failingJS, st *failingStore)
		log    string
	}{
		{"NATS publish fails", http.StatusServiceUnavailable,
			func(_ *rbEnv, js *failingJS, _ *failingStore) { js.fail.Store(true) },
			func(_ *rbEnv, js *failingJS, _ *failingStore) { js.fail.Store(false) }, "event not stored"},
		{"dedup store fails", http.StatusServiceUnavailable,
			func(_ *rbEnv, _ *failingJS, st *failingStore) { st.fail.Store(true) },
			func(_ *rbEnv, _ *failingJS, st *failingStore) { st.fail.Store(false) }, "dedup store unavailable"},
		{"GET transient", http.StatusServiceUnavailable,
			func(e *rbEnv, _ *failingJS, _ *failingStore) {
				require.NoError(t, e.sim.SetFaults(rebillysim.Faults{Endpoints: map[string]rebillysim.EndpointFaults{
					"GET /transactions/{id}": {ServerErrorRate: 1}}}))
			},
			func(e *rbEnv, _ *failingJS, _ *failingStore) {
				require.NoError(t, e.sim.SetFaults(rebillysim.Faults{}))
			},
			"Rebilly lookup failed (transient)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &failingStore{}
			e := newRBEnv(t, rbOptions{auth: RebillyAuthBasic, store: func(s idempotency.Store) idempotency.Store { st.Store = s; return st }})
			js := &failingJS{JetStream: e.js}
			e.ing.deps.JS = js
			c := e.cashier(t, false)
			tx, err := e.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 300})
			require.NoError(t, err)

			tc.break_(e, js, st)
			a := e.do(t, http.MethodPost, notifyPath("id="+tx.ID+"&result=approved"), nil, "")
			assert.Equal(t, tc.status, a.status, a.body)
			assert.Equal(t, "temporary_failure", a.body["error"])
			assert.NotEmpty(t, a.header.Get("Retry-After"))
			assert.Empty(t, e.events(t), "nothing published")
			_, err = e.store.Get(t.Context(), "rebilly:"+rbOrg+":t:"+tx.ID+":1")
			assert.ErrorIs(t, err, idempotency.ErrNotFound, "the key is free for the next call")

			tc.heal(e, js, st)
			a = e.do(t, http.MethodPost, notifyPath("id="+tx.ID+"&result=approved"), nil, "")
			assert.Equal(t, http.StatusOK, a.status, a.body)
			assert.Equal(t, OutcomeAccepted, a.body["result"])
			assert.Len(t, e.onSubject(t, subjects.Rebilly.Event(rbApp, "deposit", "approved")), 1)

			logs := e.logs.String()
			assert.Contains(t, logs, tc.log)
			assert.Contains(t, logs, tx.ID, "the failure names the transaction it was about")
			for _, secret := range []string{rbAPIKey, rbPassword, rbCustomer, `"amount"`} {
				assert.NotContains(t, logs, secret)
			}
		})
	}

	t.Run("GET refused (our API key)", func(t *testing.T) {
		e := newRBEnv(t, rbOptions{auth: RebillyAuthBasic, apiKey: "sk_wrong"})
		a := e.do(t, http.MethodPost, notifyPath("id=txn_1"), nil, "")
		assert.Equal(t, http.StatusBadGateway, a.status, a.body)
		assert.Empty(t, e.events(t))
		assert.Equal(t, 1.0, testutil.ToFloat64(e.ing.metrics.RebillyLookups.WithLabelValues(rbApp, "transaction", "rejected")))
	})
}

// TestRebillyConfig: applications are validated, errors name the field.
func TestRebillyConfig(t *testing.T) {
	client, err := rebilly.NewClient(rebilly.ClientConfig{BaseURL: "http://127.0.0.1:1", OrganizationID: rbOrg, APIKey: rbAPIKey})
	require.NoError(t, err)
	ok := RebillyApplication{Name: rbApp, OrganizationID: rbOrg, Client: client, Auth: RebillyAuthBasic,
		Basic: rebilly.BasicAuth{Username: rbUser, Password: rbPassword}}
	for _, tc := range []struct {
		name   string
		mutate func(a *RebillyApplication)
		want   string
	}{
		{"valid", func(*RebillyApplication) {}, ""},
		{"no name", func(a *RebillyApplication) { a.Name = "" }, "name"},
		{"name not a token", func(a *RebillyApplication) { a.Name = "Rb.1" }, "name"},
		{"bad organization", func(a *RebillyApplication) { a.OrganizationID = "org/1" }, "organization_id"},
		{"no client", func(a *RebillyApplication) { a.Client = nil }, "client"},
		{"no auth", func(a *RebillyApplication) { a.Auth = "" }, "auth must be"},
		{"basic without password", func(a *RebillyApplication) { a.Basic.Password = "" }, "basic auth"},
		{"digest without user", func(a *RebillyApplication) { a.Auth = RebillyAuthDigest }, "digest auth"},
		{"short digest key", func(a *RebillyApplication) {
			a.Auth, a.Digest = RebillyAuthDigest, rebilly.DigestAuth{Username: "u", Password: "p", Key: []byte("short")}
		}, "16 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ok
			tc.mutate(&a)
			_, err := newRebillyApps([]RebillyApplication{a})
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), rbPassword)
		})
	}
	_, err = newRebillyApps([]RebillyApplication{ok, ok})
	assert.ErrorContains(t, err, "twice")
}

// TestRebillyConcurrentCallsPublishOnce: calls for one state racing each
// other (Rebilly's duplicates, the notification and the webhook) all hear
// 200 after the event is stored, and it is stored once.
func TestRebillyConcurrentCallsPublishOnce(t *testing.T) {
	e := newRBEnv(t, rbOptions{auth: RebillyAuthBasic})
	c := e.cashier(t, false)
	tx, err := e.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 4200})
	require.NoError(t, err)
	answers := make(chan int, 8)
	for i := range cap(answers) {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, e.url+notifyPath("id="+tx.ID), nil)
			if i%2 == 1 {
				req, _ = http.NewRequest(http.MethodPost, e.url+"/rebilly/"+rbApp+"/webhook",
					strings.NewReader(`{"transactionId":"`+tx.ID+`","eventType":"transaction-processed"}`))
				req.SetBasicAuth(rbUser, rbPassword)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				answers <- 0
				return
			}
			_ = resp.Body.Close()
			answers <- resp.StatusCode
		}()
	}
	for range cap(answers) {
		assert.Equal(t, http.StatusOK, <-answers)
	}
	assert.Len(t, e.events(t), 1)
	require.NoError(t, e.ing.Drain(t.Context()))
	rec, err := e.store.Get(t.Context(), "rebilly:"+rbOrg+":t:"+tx.ID+":1")
	require.NoError(t, err)
	assert.Equal(t, idempotency.Done, rec.State, "the key ends done")
}
