package rebillysim_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly/rebillysim"
	"github.com/praxis-adapter/praxis-adapter/internal/simkit/simkittest"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

const (
	apiKey = "sk_sandbox_test"
	org    = "org_test"
	wait   = 5 * time.Second
	poll   = 5 * time.Millisecond
)

// env is a simulator behind a real HTTP server, a rebilly.Client pointed
// at it, and a receiver for notifications and webhooks.
type env struct {
	sim    *rebillysim.Simulator
	srv    *httptest.Server
	client *rebilly.Client
	hook   *receiver
}

func newEnv(t *testing.T, mutate func(*rebillysim.Config)) *env {
	t.Helper()
	hook := newReceiver(t, nil)
	cfg := rebillysim.Config{OrganizationID: org, APIKeys: []string{apiKey}, ResendDelay: 10 * time.Millisecond,
		MaxDeliveries: 3, WebhookTimeout: 500 * time.Millisecond, Seed: 7}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := rebillysim.New(cfg, testutil.Logger(t))
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, s.Close())
	})
	c, err := rebilly.NewClient(rebilly.ClientConfig{BaseURL: srv.URL, OrganizationID: org, APIKey: apiKey, Timeout: time.Second})
	require.NoError(t, err)
	return &env{sim: s, srv: srv, client: c, hook: hook}
}

// cashier creates a cashier for cus_1 in EUR notifying the receiver.
func (e *env) cashier(t *testing.T, limits *rebilly.DepositLimits) rebilly.Cashier {
	t.Helper()
	resp, err := e.client.CreateCashier(t.Context(), rebilly.CashierRequest{
		CustomerID: "cus_1", WebsiteID: "web_1", Currency: "EUR", RedirectURL: "https://merchant.example/done",
		NotificationURL: e.hook.srv.URL + "/rebilly/notify/k3y?id={id}&result={result}", DepositLimits: limits,
	})
	require.NoError(t, err)
	return resp.Value
}

type hookCall struct {
	method, uri string
	header      http.Header
	body        []byte
}

// receiver records every call and answers from check (default 204).
type receiver struct {
	srv   *httptest.Server
	calls simkittest.Calls[hookCall]
	mu    sync.Mutex // guards check
	check func(r *http.Request) int
}

func newReceiver(t *testing.T, check func(r *http.Request) int) *receiver {
	rc := &receiver{check: check}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.calls.Add(hookCall{r.Method, r.URL.RequestURI(), r.Header.Clone(), body})
		rc.mu.Lock()
		check := rc.check
		rc.mu.Unlock()
		code := http.StatusNoContent
		if check != nil {
			code = check(r)
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) setCheck(f func(r *http.Request) int) {
	rc.mu.Lock()
	rc.check = f
	rc.mu.Unlock()
}

func (rc *receiver) snapshot() []hookCall { return rc.calls.All() }

// waitCalls waits until the receiver has at least n calls.
func (rc *receiver) waitCalls(t *testing.T, n int) []hookCall {
	t.Helper()
	return rc.calls.Wait(t, n, wait, poll)
}

// quiet waits until the simulator has no delivery in flight.
func (e *env) quiet(t *testing.T) {
	t.Helper()
	testutil.Eventually(t, wait, poll, func() error {
		if n := e.sim.PendingDeliveries(); n > 0 {
			return fmt.Errorf("%d deliveries pending", n)
		}
		return nil
	})
}

func testLogger(t *testing.T) zerolog.Logger { return testutil.Logger(t) }
