package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	"github.com/praxis-adapter/praxis-adapter/adapter/telemetry"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

const (
	merchantID = "Test-Integration-Merchant"
	appKey     = "Sandbox"
	secret     = "MerchantSecretKey"
	appName    = "sandbox"
)

var creds = praxis.Credentials{MerchantID: merchantID, ApplicationKey: appKey, Secrets: []string{secret}}

// env is a worker under test: real embedded NATS, real Redis, the
// simulator as Praxis, and a results collector.
type env struct {
	srv    *server.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	store  idempotency.Store
	sim    *sim.Simulator
	simURL string
	client *praxis.Client
	// setup reaches the simulator directly, with a generous timeout: test
	// setup is not what a test is about.
	setup   *praxis.Client
	cfg     Config
	results *collector
	// regs are the started workers' metric registries.
	regs []*prometheus.Registry
	// rdb and idemPrefix reach the claim records directly.
	rdb        *redis.Client
	idemPrefix string
}

type collector struct {
	mu   sync.Mutex
	byID map[string][]command.Result
	all  []command.Result
}

func (c *collector) add(r command.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byID[r.ID] = append(c.byID[r.ID], r)
	c.all = append(c.all, r)
}

func (c *collector) get(id string) []command.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]command.Result(nil), c.byID[id]...)
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.all)
}

func newEnv(t *testing.T, mutate ...func(*Config)) *env {
	t.Helper()
	e := newBaseEnv(t, subjects.StreamsConfig{})
	var err error

	// Praxis' notifications go to a receiver that acknowledges everything:
	// these tests are about commands.
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"status":0,"description":"Ok","version":"1.3","timestamp":1}`)
	}))
	t.Cleanup(receiver.Close)

	e.sim, err = sim.New(sim.Config{Applications: []sim.Application{{MerchantID: merchantID, ApplicationKey: appKey, Secrets: []string{secret}}},
		ResendDelay: time.Hour, Seed: 1}, tu.Logger(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.sim.Close() })
	hs := httptest.NewServer(e.sim.Handler())
	t.Cleanup(hs.Close)
	e.simURL = hs.URL
	e.client, err = praxis.NewClient(praxis.ClientConfig{BaseURL: hs.URL, Timeout: 300 * time.Millisecond, LightResponses: true})
	require.NoError(t, err)
	e.setup, err = praxis.NewClient(praxis.ClientConfig{BaseURL: hs.URL, Timeout: 10 * time.Second, LightResponses: true})
	require.NoError(t, err)

	e.cfg = testConfig(Config{
		Applications: []Application{{Name: appName, Credentials: creds, Locale: "en-GB", ReturnURL: "https://shop.example/return"}},
		PublicURL:    receiver.URL,
		MaxInFlight:  32,
	}, mutate...)
	e.collect(t, subjects.AllResults)
	return e
}

// newBaseEnv starts embedded NATS with the streams and a Redis store.
func newBaseEnv(t *testing.T, streams subjects.StreamsConfig) *env {
	t.Helper()
	e := &env{srv: tu.NATS(t), results: &collector{byID: map[string][]command.Result{}}}
	e.nc = tu.Connect(t, e.srv)
	var err error
	e.js, err = jetstream.New(e.nc)
	require.NoError(t, err)
	require.NoError(t, subjects.EnsureStreams(t.Context(), e.js, streams))
	e.rdb = tu.Redis(t)
	e.idemPrefix = tu.Prefix(t) + "idem:"
	e.store, err = idempotency.NewRedis(e.rdb, idempotency.RedisConfig{Prefix: e.idemPrefix, RecordsPrefix: tu.Prefix(t) + "rec:"})
	require.NoError(t, err)
	return e
}

// testConfig gives c the tests' short timings, then applies mutate.
func testConfig(c Config, mutate ...func(*Config)) Config {
	c.AckWait, c.MaxAttempts = 2*time.Second, 5
	c.RetryBase, c.RetryMax = 10*time.Millisecond, 40*time.Millisecond
	c.ClaimTTL, c.PraxisTimeout = 2*time.Second, 300*time.Millisecond
	c.PullWait, c.DrainTimeout = 100*time.Millisecond, 2*time.Second
	for _, m := range mutate {
		m(&c)
	}
	return c
}

// collect gathers every result published on subject.
func (e *env) collect(t *testing.T, subject string) {
	t.Helper()
	sub, err := e.nc.Subscribe(subject, func(m *nats.Msg) {
		var r command.Result
		if json.Unmarshal(m.Data, &r) == nil {
			e.results.add(r)
		}
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	require.NoError(t, e.nc.Flush())
}

// start runs one worker on its own connection until the test ends.
func (e *env) start(t *testing.T) *Worker {
	t.Helper()
	nc := tu.Connect(t, e.srv)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	e.regs = append(e.regs, reg)
	w, err := New(e.cfg, Deps{NC: nc, JS: js, Store: e.store, Client: e.client, Log: tu.Logger(t), Registry: reg})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("worker did not stop within 10s")
		}
	})
	return w
}

func (e *env) publish(t *testing.T, name, body string, hdr ...string) {
	t.Helper()
	e.publishTo(t, subjects.Command(appName, name), body, hdr...)
}

func (e *env) publishTo(t *testing.T, subject, body string, hdr ...string) {
	t.Helper()
	msg := &nats.Msg{Subject: subject, Data: []byte(body), Header: nats.Header{}}
	for i := 0; i+1 < len(hdr); i += 2 {
		msg.Header.Set(hdr[i], hdr[i+1])
	}
	_, err := e.js.PublishMsg(t.Context(), msg)
	require.NoError(t, err)
}

// waitResult waits for the n-th result of a command id.
func (e *env) waitResult(t *testing.T, id string, n int) command.Result {
	t.Helper()
	var got []command.Result
	tu.Eventually(t, 15*time.Second, 5*time.Millisecond, func() error {
		got = e.results.get(id)
		if len(got) < n {
			return fmt.Errorf("%d of %d results for %s", len(got), n, id)
		}
		return nil
	})
	return got[n-1]
}

// openSession opens a session straight through the client, as setup.
func (e *env) openSession(t *testing.T, intent, order string, amount int64) string {
	t.Helper()
	a := amount
	resp, err := e.setup.CashierSession(t.Context(), creds, praxis.SessionRequest{
		Intent: intent, Currency: "EUR", Amount: &a, CID: "cust-1", Locale: "en-GB",
		CustomerData:    &praxis.CustomerData{Country: "GB", FirstName: "Jane", LastName: "Doe", Email: "jane@example.com"},
		NotificationURL: e.cfg.PublicURL, ReturnURL: "https://shop.example/r", OrderID: order,
	})
	require.NoError(t, err)
	return resp.Session.AuthToken
}

func (e *env) authorized(t *testing.T, order string) int64 {
	t.Helper()
	tx, err := e.sim.Pay(t.Context(), e.openSession(t, praxis.IntentAuthorization, order, 1000), sim.PayOptions{})
	require.NoError(t, err)
	require.Equal(t, praxis.StatusAuthorized, tx.Status)
	return tx.TID
}

func (e *env) deposit(t *testing.T, order string, amount int64) int64 {
	t.Helper()
	tx, err := e.sim.Pay(t.Context(), e.openSession(t, praxis.IntentPayment, order, amount), sim.PayOptions{})
	require.NoError(t, err)
	require.Equal(t, praxis.StatusApproved, tx.Status)
	return tx.TID
}

func (e *env) withdrawalRequest(t *testing.T, order string, amount int64) int64 {
	t.Helper()
	tx, err := e.sim.RequestWithdrawal(t.Context(), e.openSession(t, praxis.IntentWithdrawal, order, amount), amount)
	require.NoError(t, err)
	require.Equal(t, praxis.StatusRequested, tx.Status)
	return tx.TID
}

func TestEveryCommandRoundTrips(t *testing.T) {
	e := newEnv(t)
	e.start(t)
	authTID := e.authorized(t, "auth-1")
	cancelTID := e.authorized(t, "auth-2")
	depTID := e.deposit(t, "dep-1", 5000)
	wrTID := e.withdrawalRequest(t, "wd-1", 700)
	wr2TID := e.withdrawalRequest(t, "wd-2", 300)

	customer := `"customer_data":{"country":"GB","first_name":"Jane","last_name":"Doe","email":"jane@example.com"}`
	tests := []struct {
		name, body string
		check      func(t *testing.T, r command.Result)
	}{
		{command.CashierSession, `{"id":"c-session","intent":"payment","currency":"EUR","amount":2500,"cid":"cust-9","order_id":"o-9",` + customer + `}`,
			func(t *testing.T, r command.Result) {
				assert.Contains(t, r.RedirectURL, e.simURL, "redirect_url points at the cashier page")
				assert.NotEmpty(t, r.AuthToken)
				assert.NotEmpty(t, r.CustomerToken)
				assert.Equal(t, "o-9", r.OrderID)
				s, ok := e.sim.Session(r.AuthToken)
				require.True(t, ok)
				assert.Equal(t, "payment", s.Intent)
				require.NotNil(t, s.Amount)
				assert.Equal(t, int64(2500), *s.Amount)
			}},
		{command.CashierSession, `{"id":"c-link","intent":"payment","session_type":"payment_link","expires":` + fmt.Sprint(time.Now().Add(48*time.Hour).Unix()) +
			`,"currency":"EUR","cid":"cust-9","order_id":"o-link",` + customer + `}`,
			func(t *testing.T, r command.Result) {
				assert.NotEmpty(t, r.RedirectURL)
				s, _ := e.sim.Session(r.AuthToken)
				assert.Equal(t, "payment_link", s.Kind)
			}},
		{command.VirtualTerminal, `{"id":"c-vt","intent":"payment","currency":"EUR","amount":100,"cid":"cust-9","order_id":"o-vt","agent_name":"agent-7",` + customer + `}`,
			func(t *testing.T, r command.Result) { assert.NotEmpty(t, r.RedirectURL) }},
		{command.AuthorizationCapture, fmt.Sprintf(`{"id":"c-capture","tid":%d}`, authTID), func(t *testing.T, r command.Result) {
			require.NotNil(t, r.TID)
			assert.Equal(t, authTID, *r.TID)
			assert.Equal(t, praxis.StatusApproved, r.TransactionStatus)
			assert.Equal(t, 1, e.sim.Effects().Captures[authTID])
		}},
		{command.AuthorizationCancel, fmt.Sprintf(`{"id":"c-cancel","tid":%d}`, cancelTID), func(t *testing.T, r command.Result) {
			assert.Equal(t, praxis.StatusCancelled, praxis.NormalizeStatus(r.TransactionStatus))
			assert.Equal(t, 1, e.sim.Effects().Cancels[cancelTID])
		}},
		{command.WithdrawalComplete, fmt.Sprintf(`{"id":"c-wd-complete","withdrawal_request_id":%d}`, wrTID), func(t *testing.T, r command.Result) {
			assert.Equal(t, 1, e.sim.Effects().WithdrawalCompletes[wrTID])
		}},
		{command.WithdrawalCancel, fmt.Sprintf(`{"id":"c-wd-cancel","withdrawal_request_id":%d}`, wr2TID), func(t *testing.T, r command.Result) {
			assert.Equal(t, 1, e.sim.Effects().WithdrawalCancels[wr2TID])
			tx, _ := e.sim.Transaction(wr2TID)
			assert.Equal(t, praxis.StatusCancelled, tx.Status)
		}},
		{command.RefundCreate, fmt.Sprintf(`{"id":"c-refund","reference_id":%d,"amount":1500,"currency":"EUR","cid":"cust-1","order_id":"r-1"}`, depTID),
			func(t *testing.T, r command.Result) {
				assert.Equal(t, praxis.TypeRefund, r.TransactionType)
				require.NotNil(t, r.Amount)
				assert.Equal(t, int64(1500), *r.Amount)
				assert.Equal(t, 1, e.sim.Effects().Refunds[depTID])
			}},
		{command.TransactionFind, fmt.Sprintf(`{"id":"c-find","tid":%d}`, depTID), func(t *testing.T, r command.Result) {
			require.NotNil(t, r.Transaction)
			assert.Equal(t, depTID, r.Transaction.TID)
			assert.Equal(t, "sale", r.Transaction.TransactionType)
		}},
		{command.OrderFind, `{"id":"c-order","order_id":"dep-1"}`, func(t *testing.T, r command.Result) {
			require.NotNil(t, r.Session)
			assert.Equal(t, "dep-1", r.Session.OrderID)
		}},
	}
	for _, tc := range tests {
		var id struct{ ID string }
		require.NoError(t, json.Unmarshal([]byte(tc.body), &id))
		t.Run(id.ID, func(t *testing.T) {
			e.publish(t, tc.name, tc.body)
			r := e.waitResult(t, id.ID, 1)
			require.Equal(t, command.OutcomeOK, r.Outcome, "reason: %s", r.Reason)
			assert.Equal(t, tc.name, r.Command)
			assert.Equal(t, appName, r.Application)
			require.NotNil(t, r.Praxis)
			assert.Equal(t, 0, r.Praxis.Status)
			assert.Equal(t, 1, r.Attempts)
			assert.Equal(t, 1, r.Deliveries)
			assert.False(t, r.Replayed)
			assert.Greater(t, r.LatencyMS, 0.0)
			tc.check(t, r)
		})
	}
}

func TestLostCaptureResponseIsReconciledNotRepeated(t *testing.T) {
	e := newEnv(t)
	e.start(t)
	tid := e.authorized(t, "auth-lost")
	// The simulator captures, then drops the connection: the worker cannot
	// know whether the capture happened.
	require.NoError(t, e.sim.SetFaults(sim.Faults{Endpoints: map[string]sim.EndpointFaults{praxis.PathManageTransaction: {TimeoutRate: 1}}}))
	e.publish(t, command.AuthorizationCapture, fmt.Sprintf(`{"id":"lost-1","tid":%d}`, tid))
	r := e.waitResult(t, "lost-1", 1)
	assert.Equal(t, command.OutcomeOK, r.Outcome, r.Reason)
	assert.True(t, r.Reconciled, "the outcome came from find-transaction")
	assert.Equal(t, praxis.StatusApproved, r.TransactionStatus)
	eff := e.sim.Effects()
	assert.Equal(t, 1, eff.Captures[tid], "captured exactly once")
	assert.Equal(t, 1, eff.Calls[praxis.PathManageTransaction], "the capture was not sent again")
}

func TestCommandDeliveredThreeTimesCallsPraxisOnce(t *testing.T) {
	e := newEnv(t)
	tid := e.authorized(t, "auth-3x")
	body := fmt.Sprintf(`{"id":"thrice","tid":%d}`, tid)

	// Delivery 1 goes to a worker that dies before acking: nobody acks it,
	// so JetStream redelivers it after AckWait (delivery 2).
	cons, err := e.js.CreateOrUpdateConsumer(t.Context(), subjects.StreamCommands, ConsumerConfig(e.cfg))
	require.NoError(t, err)
	e.publish(t, command.AuthorizationCapture, body)
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
	require.NoError(t, err)
	n := 0
	for range batch.Messages() {
		n++
	}
	require.Equal(t, 1, n)
	// Delivery 3: the CRM publishes the same command again.
	e.publish(t, command.AuthorizationCapture, body)

	e.start(t)
	first := e.waitResult(t, "thrice", 2)
	results := e.results.get("thrice")
	require.Len(t, results, 2)
	replays := 0
	for _, r := range results {
		assert.Equal(t, command.OutcomeOK, r.Outcome)
		if r.Replayed {
			replays++
		}
	}
	assert.Equal(t, 1, replays, "one message made the call, the other replayed its result")
	_ = first
	eff := e.sim.Effects()
	assert.Equal(t, 1, eff.Captures[tid])
	assert.Equal(t, 1, eff.Calls[praxis.PathManageTransaction], "Praxis was called once")
}

func TestWorkerDyingMidCallIsReconciledBySuccessor(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ClaimTTL = 500 * time.Millisecond; c.AckWait = time.Second })
	tid := e.authorized(t, "auth-crash")
	body := fmt.Sprintf(`{"id":"crash-1","tid":%d}`, tid)

	// A worker fetches the command, claims it, makes the call, and dies
	// before recording anything or acking.
	cons, err := e.js.CreateOrUpdateConsumer(t.Context(), subjects.StreamCommands, ConsumerConfig(e.cfg))
	require.NoError(t, err)
	e.publish(t, command.AuthorizationCapture, body)
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
	require.NoError(t, err)
	for range batch.Messages() {
	}
	claim, err := e.store.Claim(t.Context(), "cmd:"+appName+":crash-1", e.cfg.ClaimTTL)
	require.NoError(t, err)
	require.Equal(t, idempotency.Acquired, claim.State)
	// As the worker does, it announces the call in the claim first.
	_, err = e.store.Renew(t.Context(), claim, idempotency.RenewOptions{Lease: e.cfg.ClaimTTL, Call: true, Keep: time.Hour})
	require.NoError(t, err)
	_, err = e.client.ManageTransaction(t.Context(), creds, praxis.IntentCaptureAuthorization, tid)
	require.NoError(t, err)

	e.start(t)
	r := e.waitResult(t, "crash-1", 1)
	assert.Equal(t, command.OutcomeOK, r.Outcome, r.Reason)
	assert.True(t, r.Reconciled)
	eff := e.sim.Effects()
	assert.Equal(t, 1, eff.Captures[tid])
	assert.Equal(t, 1, eff.Calls[praxis.PathManageTransaction], "the successor looked up, it did not capture again")
}

func TestTwoWorkersThousandCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 commands")
	}
	const n = 1000
	e := newEnv(t, func(c *Config) { c.MaxInFlight = 64 })
	tids := make([]int64, n)
	for i := range tids {
		tids[i] = e.authorized(t, fmt.Sprintf("bulk-%d", i))
	}
	e.start(t)
	e.start(t)
	for i, tid := range tids {
		e.publish(t, command.AuthorizationCapture, fmt.Sprintf(`{"id":"bulk-%d","tid":%d}`, i, tid))
	}
	tu.Eventually(t, 60*time.Second, 20*time.Millisecond, func() error {
		if c := e.results.count(); c < n {
			return fmt.Errorf("%d of %d results", c, n)
		}
		return nil
	})
	eff := e.sim.Effects()
	ok := 0
	for i, tid := range tids {
		rs := e.results.get(fmt.Sprintf("bulk-%d", i))
		require.Len(t, rs, 1, "exactly one result for bulk-%d", i)
		if rs[0].Outcome == command.OutcomeOK {
			ok++
		}
		assert.Equal(t, 1, eff.Captures[tid], "tid %d", tid)
	}
	assert.Equal(t, n, ok)
	assert.Equal(t, n, len(eff.Captures), "exactly 1,000 effects")
	assert.Equal(t, n, eff.Calls[praxis.PathManageTransaction])
}

func TestTransientErrorsAreRetried(t *testing.T) {
	e := newEnv(t)
	e.start(t)
	tid := e.authorized(t, "auth-flaky")
	require.NoError(t, e.sim.SetFaults(sim.Faults{Endpoints: map[string]sim.EndpointFaults{praxis.PathManageTransaction: {ServerErrorRate: 1}}}))
	e.publish(t, command.AuthorizationCapture, fmt.Sprintf(`{"id":"flaky-1","tid":%d}`, tid))
	tu.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
		if c := e.sim.Effects().Calls[praxis.PathManageTransaction]; c < 2 {
			return fmt.Errorf("%d calls so far", c)
		}
		return nil
	})
	require.NoError(t, e.sim.SetFaults(sim.Faults{}))
	r := e.waitResult(t, "flaky-1", 1)
	assert.Equal(t, command.OutcomeOK, r.Outcome, r.Reason)
	assert.GreaterOrEqual(t, r.Deliveries, 3)
	assert.GreaterOrEqual(t, r.Lookups, 1, "a retry of a state-changing call looks Praxis up first")
	calls := e.sim.Effects().Calls[praxis.PathManageTransaction]
	assert.Equal(t, calls, r.Calls, "calls says how many captures were sent, the refused ones included")
	assert.Equal(t, r.Calls+r.Lookups, r.Attempts)
	assert.False(t, r.Reconciled, "the outcome came from the last capture's answer, not from a lookup")
	assert.Equal(t, 1, e.sim.Effects().Captures[tid])
}

func TestExhaustedRetriesFailWithDeadLetter(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxAttempts = 3 })
	e.start(t)
	require.NoError(t, e.sim.SetFaults(sim.Faults{Endpoints: map[string]sim.EndpointFaults{sim.AllEndpoints: {NegativeRate: 1}}}))
	dlq := e.subscribe(t, subjects.AllDLQ)
	e.publish(t, command.TransactionFind, `{"id":"never","tid":1}`)
	r := e.waitResult(t, "never", 1)
	assert.Equal(t, command.OutcomeFailed, r.Outcome)
	assert.Equal(t, command.ReasonRetriesExhausted, r.ReasonCode, "a lookup changes nothing: no effect is possible")
	assert.Contains(t, r.Reason, "gave up after 3 deliveries")
	m, err := dlq.NextMsg(5 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, "praxis.dlq.sandbox.transaction.find", m.Subject)
	assert.Equal(t, command.OutcomeFailed, m.Header.Get(HeaderDLQOutcome))
	assert.Equal(t, "3", m.Header.Get(HeaderDLQDeliveries))
	assert.JSONEq(t, `{"id":"never","tid":1}`, string(m.Data), "the command itself, byte for byte")
}

func TestBusinessErrorIsRejectedNotRetried(t *testing.T) {
	e := newEnv(t)
	e.start(t)
	e.publish(t, command.AuthorizationCapture, `{"id":"nope","tid":999999}`)
	r := e.waitResult(t, "nope", 1)
	assert.Equal(t, command.OutcomeRejected, r.Outcome)
	assert.Equal(t, command.ReasonPraxisRejected, r.ReasonCode)
	require.NotNil(t, r.Praxis)
	assert.Greater(t, r.Praxis.Status, 0)
	assert.Contains(t, r.Praxis.Description, "not found")
	assert.Equal(t, 1, r.Deliveries)
	assert.Equal(t, 1, e.sim.Effects().Calls[praxis.PathManageTransaction], "not retried")

	// A re-publish replays the stored rejection.
	e.publish(t, command.AuthorizationCapture, `{"id":"nope","tid":999999}`)
	r = e.waitResult(t, "nope", 2)
	assert.True(t, r.Replayed)
	assert.Equal(t, 1, e.sim.Effects().Calls[praxis.PathManageTransaction])
}

func (e *env) subscribe(t *testing.T, subject string) *nats.Subscription {
	sub, err := e.nc.SubscribeSync(subject)
	require.NoError(t, err)
	require.NoError(t, e.nc.Flush())
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return sub
}

func TestInvalidCommandsGetReasonAndDeadLetter(t *testing.T) {
	e := newEnv(t)
	e.start(t)
	dlq := e.subscribe(t, subjects.AllDLQ)
	session := command.Examples()[command.CashierSession]
	with := func(id, old, new string) string {
		return strings.Replace(strings.Replace(session, `"cmd-1001"`, `"`+id+`"`, 1), old, new, 1)
	}
	tests := []struct {
		id, subject, body, reason string
	}{
		{"", subjects.Command(appName, command.CashierSession), `not json`, "not valid JSON"},
		{"inv-unknown", subjects.Command(appName, "cashier.teleport"), `{"id":"inv-unknown"}`, `unknown command "cashier.teleport"`},
		{"inv-missing", subjects.Command(appName, command.CashierSession), with("inv-missing", `"order_id":"order-1001",`, ``), "order_id is required"},
		{"inv-email", subjects.Command(appName, command.CashierSession), with("inv-email", `"cust-42"`, `"jane@example.com"`), "cid looks like an e-mail address"},
		{"inv-phone", subjects.Command(appName, command.CashierSession), with("inv-phone", `"cust-42"`, `"+442011112222"`), "cid looks like a phone number"},
		{"inv-amount", subjects.Command(appName, command.CashierSession), with("inv-amount", `2500`, `25.5`), "amount must be an integer"},
		{"inv-currency", subjects.Command(appName, command.CashierSession), with("inv-currency", `"EUR"`, `"EUQ"`), "not a known ISO 4217 code"},
		{"inv-expires", subjects.Command(appName, command.CashierSession), with("inv-expires", `"intent"`,
			fmt.Sprintf(`"session_type":"payment_link","expires":%d,"intent"`, time.Now().Add(80*time.Hour).Unix())), "at most 72h"},
		{"inv-app", subjects.Command("ghost", command.CashierSession), with("inv-app", ``, ``), `application "ghost" is not configured`},
	}
	for _, tc := range tests {
		t.Run(tc.reason, func(t *testing.T) {
			e.publishTo(t, tc.subject, tc.body)
			var r command.Result
			if tc.id == "" {
				tu.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
					rs := e.results.get("")
					if len(rs) == 0 {
						return fmt.Errorf("no result yet")
					}
					r = rs[0]
					return nil
				})
				assert.NotZero(t, r.StreamSeq, "a result without id names the stream sequence")
			} else {
				r = e.waitResult(t, tc.id, 1)
			}
			assert.Equal(t, command.OutcomeInvalid, r.Outcome)
			assert.Contains(t, r.Reason, tc.reason)
			wantCode := command.ReasonInvalidCommand
			switch tc.id {
			case "inv-unknown":
				wantCode = command.ReasonUnknownCommand
			case "inv-app":
				wantCode = command.ReasonInvalidApplication
			}
			assert.Equal(t, wantCode, r.ReasonCode)
			m, err := dlq.NextMsg(5 * time.Second)
			require.NoError(t, err)
			assert.Contains(t, m.Header.Get(HeaderDLQReason), tc.reason)
			assert.Equal(t, command.OutcomeInvalid, m.Header.Get(HeaderDLQOutcome))
			assert.Equal(t, tc.subject, m.Header.Get(HeaderDLQSubject))
			assert.Equal(t, tc.body, string(m.Data))
		})
	}
	assert.Zero(t, e.sim.Effects().Calls[praxis.PathCashier], "no invalid command reached Praxis")
}

func TestReusedIDWithDifferentContentIsInvalid(t *testing.T) {
	e := newEnv(t)
	e.start(t)
	e.publish(t, command.TransactionFind, `{"id":"dup-id","tid":1}`)
	first := e.waitResult(t, "dup-id", 1)
	require.Equal(t, command.OutcomeRejected, first.Outcome) // tid 1 does not exist
	e.publish(t, command.TransactionFind, `{"id":"dup-id","tid":2}`)
	r := e.waitResult(t, "dup-id", 2)
	assert.Equal(t, command.OutcomeInvalid, r.Outcome)
	assert.Equal(t, command.ReasonIDReused, r.ReasonCode)
	assert.Contains(t, r.Reason, "already used for a different")
}

func TestResultGoesToReplySubject(t *testing.T) {
	e := newEnv(t)
	e.start(t)
	inbox := nats.NewInbox()
	sub := e.subscribe(t, inbox)
	e.publish(t, command.OrderFind, `{"id":"reply-1","order_id":"nope"}`, HeaderReplyTo, inbox)
	m, err := sub.NextMsg(5 * time.Second)
	require.NoError(t, err)
	var r command.Result
	require.NoError(t, json.Unmarshal(m.Data, &r))
	assert.Equal(t, "reply-1", r.ID)
}

func TestShutdownFinishesInFlight(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.sim.SetFaults(sim.Faults{Endpoints: map[string]sim.EndpointFaults{praxis.PathFindOrder: {Latency: 200 * time.Millisecond}}}))
	nc := tu.Connect(t, e.srv)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	w, err := New(e.cfg, Deps{NC: nc, JS: js, Store: e.store, Client: e.client, Log: tu.Logger(t), Registry: prometheus.NewRegistry()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	e.publish(t, command.OrderFind, `{"id":"slow-1","order_id":"x"}`)
	tu.Eventually(t, 5*time.Second, time.Millisecond, func() error {
		if e.sim.Effects().Calls[praxis.PathFindOrder] == 0 {
			return fmt.Errorf("call not started")
		}
		return nil
	})
	cancel() // SIGTERM while the call is in flight
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	// The result was stored (PubAck) before Run returned: read the stream
	// at once. The collector's own subscription may see it a moment later.
	st, err := e.js.Stream(t.Context(), subjects.StreamResults)
	require.NoError(t, err)
	m, err := st.GetLastMsgForSubject(t.Context(), subjects.Result(appName, command.OrderFind))
	require.NoError(t, err, "the in-flight command finished before Run returned")
	var r command.Result
	require.NoError(t, json.Unmarshal(m.Data, &r))
	assert.Equal(t, "slow-1", r.ID)
	tu.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
		if n := len(e.results.get("slow-1")); n != 1 {
			return fmt.Errorf("%d results collected", n)
		}
		return nil
	})
}

func TestUnreconcilableCommandFailsAfterMaxAttempts(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxAttempts = 3 })
	e.start(t)
	tid := e.authorized(t, "auth-dark")
	// Every answer is lost, lookups too: the capture happens, the worker
	// can never learn it.
	require.NoError(t, e.sim.SetFaults(sim.Faults{Endpoints: map[string]sim.EndpointFaults{sim.AllEndpoints: {TimeoutRate: 1}}}))
	e.publish(t, command.AuthorizationCapture, fmt.Sprintf(`{"id":"dark-1","tid":%d}`, tid))
	r := e.waitResult(t, "dark-1", 1)
	assert.Equal(t, command.OutcomeFailed, r.Outcome)
	assert.Equal(t, command.ReasonOutcomeUnknown, r.ReasonCode, "the capture may have happened: replay reconciles first")
	assert.Contains(t, r.Reason, "gave up after 3 deliveries")
	eff := e.sim.Effects()
	assert.Equal(t, 1, eff.Captures[tid])
	assert.Equal(t, 1, eff.Calls[praxis.PathManageTransaction], "after the unknown outcome only lookups were made, never a second capture")
	assert.GreaterOrEqual(t, eff.Calls[praxis.PathFindTransaction], 2)
}

func TestTraceRunsFromCommandToPraxisCall(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := telemetry.NewTracerProviderWith(telemetry.Config{ServiceName: "test"}, sdktrace.WithSyncer(exp))
	e := newEnv(t)
	nc := tu.Connect(t, e.srv)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	w, err := New(e.cfg, Deps{NC: nc, JS: js, Store: e.store, Client: e.client, Log: tu.Logger(t), Registry: prometheus.NewRegistry(), Tracing: tp})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	results := e.subscribe(t, subjects.AllResults)
	const traceID = "0af7651916cd43dd8448eb211c80319c"
	e.publish(t, command.OrderFind, `{"id":"traced-1","order_id":"none"}`, "traceparent", "00-"+traceID+"-b7ad6b7169203331-01")
	m, err := results.NextMsg(10 * time.Second)
	require.NoError(t, err)
	assert.Contains(t, m.Header.Get("traceparent"), traceID, "the result carries the trace on")

	var process, call tracetest.SpanStub
	tu.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		for _, s := range exp.GetSpans() {
			switch {
			case strings.HasPrefix(s.Name, "process "):
				process = s
			case s.Name == "praxis "+praxis.PathFindOrder:
				call = s
			}
		}
		if process.Name == "" || call.Name == "" {
			return fmt.Errorf("spans so far: %d", len(exp.GetSpans()))
		}
		return nil
	})
	assert.Equal(t, traceID, process.SpanContext.TraceID().String(), "the CRM's trace continues in the worker")
	assert.Equal(t, process.SpanContext.SpanID(), call.Parent.SpanID(), "the Praxis call is a child of the command")
}

func TestPerApplicationRateLimit(t *testing.T) {
	// 20 calls per second, burst 1: six lookups cannot complete in less
	// than five intervals of 50 ms, however fast Praxis answers.
	e := newEnv(t, func(c *Config) { c.Applications[0].RateLimit, c.Applications[0].Burst = 20, 1 })
	e.start(t)
	start := time.Now()
	for i := 0; i < 6; i++ {
		e.publish(t, command.OrderFind, fmt.Sprintf(`{"id":"rl-%d","order_id":"none"}`, i))
	}
	for i := 0; i < 6; i++ {
		e.waitResult(t, fmt.Sprintf("rl-%d", i), 1)
	}
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond, "the token bucket spaced the calls")
	assert.Equal(t, 6, e.sim.Effects().Calls[praxis.PathFindOrder])
}
