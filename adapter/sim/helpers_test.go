package sim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	"github.com/praxis-adapter/praxis-adapter/internal/simkit/simkittest"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

const (
	merchantID = "Test-Integration-Merchant"
	appKey     = "Sandbox"
	secret     = "MerchantSecretKey"
	wait       = 5 * time.Second
	poll       = 5 * time.Millisecond
)

// replyList signs the receiver's replies; compiled once, not per call.
var replyList = praxis.DefaultLists().Get(praxis.ListWebhookReply)

// env is a simulator behind a real HTTP server, a praxis.Client pointed at
// it, and a webhook receiver for notifications.
type env struct {
	sim    *sim.Simulator
	srv    *httptest.Server
	client *praxis.Client
	creds  praxis.Credentials
	hook   *receiver
	orders atomic.Int64
}

// newEnv starts a simulator with fast resends; mutate adjusts the config.
func newEnv(t testing.TB, mutate func(*sim.Config)) *env {
	t.Helper()
	cfg := sim.Config{
		Applications:   []sim.Application{{MerchantID: merchantID, ApplicationKey: appKey, Secrets: []string{secret}}},
		ResendDelay:    10 * time.Millisecond,
		MaxDeliveries:  5,
		WebhookTimeout: 300 * time.Millisecond,
		Seed:           42,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := sim.New(cfg, testutil.Logger(t))
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, s.Close())
	})
	c, err := praxis.NewClient(praxis.ClientConfig{BaseURL: srv.URL, Timeout: 2 * time.Second})
	require.NoError(t, err)
	return &env{
		sim: s, srv: srv, client: c,
		creds: praxis.Credentials{MerchantID: merchantID, ApplicationKey: appKey, Secrets: []string{secret}},
		hook:  newReceiver(t, nil),
	}
}

// request is a cashier session request to the env's receiver.
func (e *env) request(intent string, amount int64) praxis.SessionRequest {
	req := praxis.SessionRequest{
		Intent: intent, Currency: "EUR", CID: "cust-1", Locale: "en-GB",
		CustomerData:    &praxis.CustomerData{Country: "GB", FirstName: "John", LastName: "Johnson", Email: "john@example.com"},
		NotificationURL: e.hook.srv.URL + "/notify", ReturnURL: "https://merchant.example/return",
		OrderID: fmt.Sprintf("order-%d", e.orders.Add(1)),
	}
	if amount > 0 {
		req.Amount = &amount
	}
	return req
}

// session opens a session through the client and returns its auth token.
func (e *env) session(t testing.TB, req praxis.SessionRequest) *praxis.SessionResponse {
	t.Helper()
	resp, err := e.client.CashierSession(t.Context(), e.creds, req)
	require.NoError(t, err)
	require.NotNil(t, resp.Session)
	return resp
}

// hookReply scripts one webhook answer.
type hookReply struct {
	status   int    // reply status, signed, when body is empty
	desc     string // its description; default "Ok"
	body     string // raw reply body
	httpCode int    // default 200
	hang     bool   // wait until the simulator gives up
	badSig   bool   // sign with the wrong secret
}

type hookCall struct {
	body []byte
	sig  string
}

// receiver is a merchant webhook endpoint that records every call and
// answers from a script (default: status 0, signed).
type receiver struct {
	srv    *httptest.Server
	calls  simkittest.Calls[hookCall]
	mu     sync.Mutex // guards script
	script func(n int) hookReply
}

func newReceiver(t testing.TB, script func(n int) hookReply) *receiver {
	rc := &receiver{script: script}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) setScript(script func(n int) hookReply) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.script = script
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n := rc.calls.Add(hookCall{body: body, sig: r.Header.Get(praxis.HeaderSignature)})
	rc.mu.Lock()
	script := rc.script
	rc.mu.Unlock()
	reply := hookReply{}
	if script != nil {
		reply = script(n)
	}
	if reply.hang {
		select {
		case <-r.Context().Done():
		case <-time.After(wait):
		}
		return
	}
	body = []byte(reply.body)
	if reply.body == "" {
		desc := reply.desc
		if desc == "" {
			desc = "Ok"
		}
		body = fmt.Appendf(nil, `{"status":%d,"description":%q,"version":"1.3","timestamp":%d}`, reply.status, desc, time.Now().Unix())
		key := secret
		if reply.badSig {
			key = "wrong"
		}
		sig, err := replyList.Sign(body, key)
		if err == nil {
			w.Header().Set(praxis.HeaderSignature, sig.String())
		}
	}
	if reply.httpCode != 0 {
		w.WriteHeader(reply.httpCode)
	}
	_, _ = w.Write(body)
}

func (rc *receiver) got() []hookCall { return rc.calls.All() }

// waitCalls waits until at least n calls arrived and returns them all.
func (rc *receiver) waitCalls(t *testing.T, n int) []hookCall {
	t.Helper()
	return rc.calls.Wait(t, n, wait, poll)
}

// notification verifies a call's signature and decodes it.
func notification(t *testing.T, c hookCall) *praxis.Notification {
	t.Helper()
	require.NoError(t, praxis.DefaultLists().Get(praxis.ListNotificationRequest).Verify(c.body, c.sig, secret), "notification signature")
	n, err := praxis.Decode[praxis.Notification](c.body)
	require.NoError(t, err)
	return n
}

// statuses lists the transaction statuses of notification calls for tid.
func statuses(t *testing.T, calls []hookCall, tid int64) []string {
	t.Helper()
	var out []string
	for _, c := range calls {
		if n := notification(t, c); n.Transaction != nil && n.Transaction.TID == tid {
			out = append(out, n.Transaction.TransactionStatus)
		}
	}
	return out
}

// waitStatuses waits until tid's notifications are exactly want.
func waitStatuses(t *testing.T, rc *receiver, tid int64, want ...string) {
	t.Helper()
	testutil.Eventually(t, wait, poll, func() error {
		if got := statuses(t, rc.got(), tid); fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("tid %d notified %v, want %v", tid, got, want)
		}
		return nil
	})
}

// deliveriesFor returns the delivery log entries of kind for tid.
func deliveriesFor(s *sim.Simulator, kind string, tid int64) []sim.Delivery {
	var out []sim.Delivery
	for _, d := range s.Deliveries() {
		if d.Kind == kind && d.TID == tid {
			out = append(out, d)
		}
	}
	return out
}

// waitDeliveries waits until the delivery log holds n entries of kind for
// tid and returns them.
func waitDeliveries(t *testing.T, s *sim.Simulator, kind string, tid int64, n int) []sim.Delivery {
	t.Helper()
	var got []sim.Delivery
	testutil.Eventually(t, wait, poll, func() error {
		if got = deliveriesFor(s, kind, tid); len(got) < n {
			return fmt.Errorf("%d %s deliveries for tid %d, want %d", len(got), kind, tid, n)
		}
		return nil
	})
	return got
}

// rawCall posts body to path with the given signature header, bypassing
// the client, and returns the HTTP status, decoded envelope and signature.
func rawCall(t *testing.T, base, path string, body []byte, sig string) (int, praxis.Envelope, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", praxis.ContentType)
	if sig != "" {
		req.Header.Set(praxis.HeaderSignature, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var env praxis.Envelope
	require.NoError(t, json.Unmarshal(raw, &env), "body %s", raw)
	return resp.StatusCode, env, resp.Header.Get(praxis.HeaderSignature)
}

// simPost calls the test API and decodes its JSON answer into out.
func simPost(t *testing.T, base, path, body string, out any) int {
	t.Helper()
	resp, err := http.Post(base+path, "application/json", bytes.NewBufferString(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

func simGet(t *testing.T, base, path string, out any) {
	t.Helper()
	resp, err := http.Get(base + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
}

func outcome(err error) praxis.Outcome { return praxis.Classify(err) }

func key(cid, currency string) sim.BalanceKey {
	return sim.BalanceKey{ApplicationKey: appKey, CID: cid, Currency: currency}
}
