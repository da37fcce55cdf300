package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly/rebillysim"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

const (
	rebillyKey     = "sk_sandbox_worker"
	rebillyOrg     = "org_worker"
	rebillyWebsite = "web_1"
	rebillyCust    = "cus_1"
)

// rebillyEnv is a Rebilly worker under test: real embedded NATS (streams
// holding both providers' subjects), real Redis, rebillysim as Rebilly.
type rebillyEnv struct {
	*env
	sim    *rebillysim.Simulator
	direct *rebilly.Client // setup, straight to the simulator
}

func newRebillyEnv(t *testing.T, mutate ...func(*Config)) *rebillyEnv {
	t.Helper()
	return newRebillyEnvWith(t, nil, mutate...)
}

// newRebillyEnvWith is newRebillyEnv with the simulator's config changed by simCfg.
func newRebillyEnvWith(t *testing.T, simCfg func(*rebillysim.Config), mutate ...func(*Config)) *rebillyEnv {
	t.Helper()
	e := newBaseEnv(t, subjects.StreamsConfig{Providers: []subjects.Provider{subjects.Praxis, subjects.Rebilly}})
	sc := rebillysim.Config{OrganizationID: rebillyOrg, APIKeys: []string{rebillyKey}, ResendDelay: time.Hour, Seed: 3}
	if simCfg != nil {
		simCfg(&sc)
	}
	sim, err := rebillysim.New(sc, tu.Logger(t))
	require.NoError(t, err)
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = sim.Close()
	})
	client, err := rebilly.NewClient(rebilly.ClientConfig{BaseURL: hs.URL, OrganizationID: rebillyOrg, APIKey: rebillyKey, Timeout: 300 * time.Millisecond})
	require.NoError(t, err)
	direct, err := rebilly.NewClient(rebilly.ClientConfig{BaseURL: hs.URL, OrganizationID: rebillyOrg, APIKey: rebillyKey, Timeout: 10 * time.Second})
	require.NoError(t, err)

	e.cfg = testConfig(Config{
		Provider:     subjects.Rebilly,
		Applications: []Application{{Name: appName, Rebilly: client, WebsiteID: rebillyWebsite, ReturnURL: "https://shop.example/return"}},
		PublicURL:    "https://adapter.example",
		MaxInFlight:  16,
	}, mutate...)
	e.collect(t, subjects.Rebilly.AllResults())
	return &rebillyEnv{env: e, sim: sim, direct: direct}
}

func (e *rebillyEnv) publish(t *testing.T, name, body string) {
	t.Helper()
	e.publishTo(t, subjects.Rebilly.Command(appName, name), body)
}

// sale makes an approved sale of amount EUR cents, straight at the simulator.
func (e *rebillyEnv) sale(t *testing.T, amount int64) rebilly.Transaction {
	t.Helper()
	resp, err := e.direct.CreateTransaction(t.Context(), rebilly.TransactionRequest{Type: rebilly.TypeSale, WebsiteID: rebillyWebsite,
		CustomerID: rebillyCust, Currency: "EUR", Amount: rebilly.FromMinor(e.direct.Currencies(), amount, "EUR")})
	require.NoError(t, err)
	return resp.Value
}

// payoutRequest makes a pending payout request, straight at the simulator.
func (e *rebillyEnv) payoutRequest(t *testing.T, id string, amount int64) {
	t.Helper()
	_, err := e.direct.UpsertPayoutRequest(t.Context(), id, rebilly.PayoutRequestInput{WebsiteID: rebillyWebsite, CustomerID: rebillyCust,
		Currency: "EUR", Amount: rebilly.FromMinor(e.direct.Currencies(), amount, "EUR")})
	require.NoError(t, err)
}

func (e *rebillyEnv) applied(key string) int { return e.sim.Effects().Applied[key] }

// faults sets the simulator's faults for one operation (none when ef is zero).
func (e *rebillyEnv) faults(t *testing.T, op string, ef rebillysim.EndpointFaults) {
	t.Helper()
	require.NoError(t, e.sim.SetFaults(rebillysim.Faults{Endpoints: map[string]rebillysim.EndpointFaults{op: ef}}))
}

func TestRebillyEveryCommandRoundTrips(t *testing.T) {
	e := newRebillyEnv(t)
	e.start(t)
	sale := e.sale(t, 5000)
	e.payoutRequest(t, "pr_cancel", 700)

	tests := []struct {
		name, body string
		check      func(t *testing.T, r command.Result)
	}{
		{command.RebillyCashierCreate, `{"id":"c-cashier","customer_id":"cus_1","currency":"EUR","deposit_minimum":1000,"deposit_maximum":50000}`,
			func(t *testing.T, r command.Result) {
				require.NotNil(t, r.Rebilly)
				assert.NotEmpty(t, r.Rebilly.CashierID)
				assert.NotEmpty(t, r.Rebilly.CashierToken)
				assert.NotEmpty(t, r.Rebilly.ExpirationTime)
				assert.NotEmpty(t, r.Rebilly.LastDepositRequestID)
				assert.Equal(t, "/sim/cashiers/"+r.Rebilly.CashierID, r.Rebilly.DepositURL, "the deposit request's hosted form")
				assert.Equal(t, 1, r.Lookups, "the deposit request was read once")
				c, ok := e.sim.Cashier(r.Rebilly.CashierID)
				require.True(t, ok)
				assert.Equal(t, "https://adapter.example/rebilly/sandbox/notification?id={id}&result={result}", c.NotificationURL)
				assert.Equal(t, "https://shop.example/return", c.RedirectURL, "the application's return URL is the default")
				assert.Equal(t, rebillyWebsite, c.WebsiteID, "the application's website is the default")
				assert.Equal(t, 1, e.applied("cashier.create:"+c.ID))
			}},
		{command.RebillyTransactionFind, fmt.Sprintf(`{"id":"c-find","transaction_id":%q}`, sale.ID),
			func(t *testing.T, r command.Result) {
				require.NotNil(t, r.Rebilly)
				assert.Equal(t, sale.ID, r.Rebilly.TransactionID)
				assert.Equal(t, int64(5000), *r.Rebilly.Amount)
				assert.Equal(t, rebilly.ResultApproved, r.Rebilly.TransactionResult)
				assert.Contains(t, string(r.Rebilly.Transaction), sale.ID)
			}},
		{command.RebillyRefundCreate, fmt.Sprintf(`{"id":"c-refund","transaction_id":%q,"amount":1250,"currency":"EUR"}`, sale.ID),
			func(t *testing.T, r command.Result) {
				require.NotNil(t, r.Rebilly)
				assert.Equal(t, rebilly.TypeRefund, r.Rebilly.TransactionType)
				assert.Equal(t, sale.ID, r.Rebilly.ParentTransactionID)
				assert.Equal(t, int64(1250), *r.Rebilly.Amount, "12.50 EUR, converted exactly")
				assert.Equal(t, 1, e.applied("refund:"+sale.ID))
			}},
		{command.RebillyPayoutRequestCreate, `{"id":"c-payout","customer_id":"cus_1","currency":"EUR","amount":2500}`,
			func(t *testing.T, r command.Result) {
				require.NotNil(t, r.Rebilly)
				assert.Equal(t, rebilly.RequestIDFor("c-payout"), r.Rebilly.PayoutRequestID)
				assert.Equal(t, rebilly.PayoutPending, r.Rebilly.PayoutRequestStatus)
				assert.Equal(t, int64(2500), *r.Rebilly.Amount)
			}},
		{command.RebillyPayoutRequestCancel, `{"id":"c-cancel","payout_request_id":"pr_cancel"}`,
			func(t *testing.T, r command.Result) {
				require.NotNil(t, r.Rebilly)
				assert.Equal(t, rebilly.PayoutCanceled, r.Rebilly.PayoutRequestStatus)
			}},
		{command.RebillyPayoutRequestReverse, `{"id":"c-reverse","customer_id":"cus_1","currency":"EUR","amount":100000}`,
			func(t *testing.T, r command.Result) {
				require.NotNil(t, r.Rebilly)
				assert.Equal(t, []string{rebilly.RequestIDFor("c-payout")}, r.Rebilly.CanceledPayoutRequests)
				assert.Equal(t, int64(2500), *r.Rebilly.CanceledAmount)
			}},
	}
	// In order: the reverse withdrawal cancels the payout request made
	// before it (and pr_cancel is canceled already).
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.publish(t, tc.name, tc.body)
			var id struct{ ID string }
			require.NoError(t, json.Unmarshal([]byte(tc.body), &id))
			r := e.waitResult(t, id.ID, 1)
			require.Equal(t, command.OutcomeOK, r.Outcome, "reason: %s", r.Reason)
			assert.Equal(t, "rebilly", r.Provider)
			assert.Equal(t, tc.name, r.Command)
			assert.False(t, r.Reconciled)
			tc.check(t, r)
		})
	}
}

func TestRebillyInvalidCommandGetsReasonAndDeadLetter(t *testing.T) {
	e := newRebillyEnv(t)
	e.start(t)
	dlq := e.subscribe(t, subjects.Rebilly.AllDLQ())
	tests := []struct {
		name, command, id, body, code, reason string
	}{
		{"decimal amount", command.RebillyRefundCreate, "i-1", `{"id":"i-1","transaction_id":"txn_1","amount":12.5,"currency":"EUR"}`,
			command.ReasonInvalidCommand, "amount must be an integer"},
		{"unknown field", command.RebillyPayoutRequestCreate, "i-2", `{"id":"i-2","customer_id":"cus_1","currency":"EUR","amount":1,"amt":1}`,
			command.ReasonInvalidCommand, `unknown field "amt"`},
		{"praxis command on a rebilly subject", command.CashierSession, "i-3", command.Examples()[command.CashierSession],
			command.ReasonUnknownCommand, `unknown command "cashier.session"`},
		{"redirect elsewhere", command.RebillyCashierCreate, "i-4", `{"id":"i-4","customer_id":"cus_1","currency":"EUR","redirect_url":"https://evil.example/x"}`,
			command.ReasonCallbackNotAllowed, "redirect_url is not the application's return_url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if tc.command == command.CashierSession {
				body = `{"id":"i-3"` + body[len(`{"id":"cmd-1001"`):]
			}
			e.publish(t, tc.command, body)
			r := e.waitResult(t, tc.id, 1)
			assert.Equal(t, command.OutcomeInvalid, r.Outcome)
			assert.Equal(t, tc.code, r.ReasonCode)
			assert.Contains(t, r.Reason, tc.reason)
			assert.Equal(t, 0, r.Calls)
			m, err := dlq.NextMsg(5 * time.Second)
			require.NoError(t, err)
			assert.Equal(t, subjects.Rebilly.DeadLetter(appName, tc.command), m.Subject)
			assert.Equal(t, body, string(m.Data), "the dead letter is the command, byte for byte")
			assert.Equal(t, command.OutcomeInvalid, m.Header.Get(HeaderDLQOutcome))
		})
	}
	assert.Empty(t, e.sim.Effects().Calls, "an invalid command never reaches Rebilly")
}

func TestRebillyRejectedCarriesTheProblem(t *testing.T) {
	e := newRebillyEnv(t)
	e.start(t)
	sale := e.sale(t, 1000)
	// More than the sale: Rebilly answers 422 problem+json.
	e.publish(t, command.RebillyRefundCreate, fmt.Sprintf(`{"id":"r-1","transaction_id":%q,"amount":5000,"currency":"EUR"}`, sale.ID))
	r := e.waitResult(t, "r-1", 1)
	assert.Equal(t, command.OutcomeRejected, r.Outcome)
	assert.Equal(t, command.ReasonRebillyRejected, r.ReasonCode)
	require.NotNil(t, r.Rebilly)
	require.NotNil(t, r.Rebilly.Problem)
	assert.Equal(t, 422, r.Rebilly.Problem.Status)
	assert.NotEmpty(t, r.Rebilly.Problem.Title)
	assert.Equal(t, 422, r.Rebilly.HTTPStatus)
	assert.NotContains(t, r.Reason, "exceeds the amount", "the problem's field message is never copied")
	assert.Equal(t, 1, r.Calls)
	assert.Zero(t, e.applied("refund:"+sale.ID))

	// A refund in another currency than the sale's is refused before any call.
	e.publish(t, command.RebillyRefundCreate, fmt.Sprintf(`{"id":"r-2","transaction_id":%q,"amount":100,"currency":"USD"}`, sale.ID))
	r = e.waitResult(t, "r-2", 1)
	assert.Equal(t, command.OutcomeRejected, r.Outcome)
	assert.Contains(t, r.Reason, "currency USD is not the transaction's (EUR)")
	assert.Equal(t, 0, r.Calls)
}

func TestRebillyLostRefundReplyIsReconciledNotRepeated(t *testing.T) {
	e := newRebillyEnv(t)
	e.start(t)
	sale := e.sale(t, 5000)
	e.faults(t, "POST "+rebilly.PathTransactionRefund, rebillysim.EndpointFaults{LostReplyRate: 1})
	e.publish(t, command.RebillyRefundCreate, fmt.Sprintf(`{"id":"lost-1","transaction_id":%q,"amount":800,"currency":"EUR"}`, sale.ID))
	require.Eventually(t, func() bool { return e.applied("refund:"+sale.ID) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, e.sim.SetFaults(rebillysim.Faults{}))
	r := e.waitResult(t, "lost-1", 1)
	require.Equal(t, command.OutcomeOK, r.Outcome, "reason: %s", r.Reason)
	assert.True(t, r.Reconciled, "the refund was found by RefundsOf, not answered")
	assert.Equal(t, 1, r.Calls, "the refund was never sent again")
	assert.Equal(t, 1, e.applied("refund:"+sale.ID))
	require.NotNil(t, r.Rebilly)
	assert.Equal(t, int64(800), *r.Rebilly.Amount)
	assert.Equal(t, sale.ID, r.Rebilly.ParentTransactionID)
}

func TestRebillyRefundNextToAnEarlierRefundOfTheSameAmount(t *testing.T) {
	e := newRebillyEnv(t)
	e.start(t)
	sale := e.sale(t, 5000)
	_, err := e.direct.Refund(t.Context(), sale.ID, rebilly.RefundRequest{Amount: rebilly.FromMinor(e.direct.Currencies(), 800, "EUR")})
	require.NoError(t, err)
	// The earlier refund is in the baseline: a lost reply is settled by a
	// NEW child only, so the command's own refund still happens once.
	e.faults(t, "POST "+rebilly.PathTransactionRefund, rebillysim.EndpointFaults{ServerErrorRate: 1})
	e.publish(t, command.RebillyRefundCreate, fmt.Sprintf(`{"id":"same-1","transaction_id":%q,"amount":800,"currency":"EUR"}`, sale.ID))
	require.Eventually(t, func() bool { return e.sim.Effects().Calls["POST "+rebilly.PathTransactionRefund] >= 2 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, e.sim.SetFaults(rebillysim.Faults{}))
	r := e.waitResult(t, "same-1", 1)
	require.Equal(t, command.OutcomeOK, r.Outcome, "reason: %s", r.Reason)
	assert.False(t, r.Reconciled)
	assert.Equal(t, 2, e.applied("refund:"+sale.ID), "the earlier refund and this one")
}

func TestRebillyPayoutRequestRepeatedPublishIsOneEffect(t *testing.T) {
	e := newRebillyEnv(t)
	e.start(t)
	body := `{"id":"p-1","customer_id":"cus_1","currency":"EUR","amount":3000}`
	// The first answer is lost after the effect; the retry reconciles.
	e.faults(t, "PUT "+rebilly.PathPayoutRequest, rebillysim.EndpointFaults{ErrorAfterEffectRate: 1})
	e.publish(t, command.RebillyPayoutRequestCreate, body)
	id := rebilly.RequestIDFor("p-1")
	require.Eventually(t, func() bool { return e.applied("payout_request.create:"+id) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, e.sim.SetFaults(rebillysim.Faults{}))
	first := e.waitResult(t, "p-1", 1)
	require.Equal(t, command.OutcomeOK, first.Outcome, "reason: %s", first.Reason)
	assert.True(t, first.Reconciled)

	for range 3 {
		e.publish(t, command.RebillyPayoutRequestCreate, body)
	}
	r := e.waitResult(t, "p-1", 4)
	assert.True(t, r.Replayed)
	assert.Equal(t, 1, e.applied("payout_request.create:"+id))
	assert.Equal(t, 1, e.sim.Effects().Calls["PUT "+rebilly.PathPayoutRequest])
}

func TestRebillyCancelLostReplyIsReconciled(t *testing.T) {
	e := newRebillyEnv(t)
	e.start(t)
	e.payoutRequest(t, "pr_1", 900)
	e.faults(t, "POST "+rebilly.PathPayoutRequestCancel, rebillysim.EndpointFaults{LostReplyRate: 1})
	e.publish(t, command.RebillyPayoutRequestCancel, `{"id":"x-1","payout_request_id":"pr_1"}`)
	require.Eventually(t, func() bool { return e.applied("payout_request.cancel:pr_1") == 1 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, e.sim.SetFaults(rebillysim.Faults{}))
	r := e.waitResult(t, "x-1", 1)
	require.Equal(t, command.OutcomeOK, r.Outcome, "reason: %s", r.Reason)
	assert.True(t, r.Reconciled)
	assert.Equal(t, 1, r.Calls)
}

func TestRebillyReverseRetryCancelsNoMoreThanAsked(t *testing.T) {
	e := newRebillyEnv(t)
	e.start(t)
	for _, id := range []string{"pr_a", "pr_b", "pr_c"} {
		e.payoutRequest(t, id, 1000) // oldest first; equal times fall back to id order
	}
	// Every cancel's answer is lost after its effect, until the first
	// has happened; the retry must cancel pr_b only, not pr_c.
	e.faults(t, "POST "+rebilly.PathPayoutRequestCancel, rebillysim.EndpointFaults{LostReplyRate: 1})
	e.publish(t, command.RebillyPayoutRequestReverse, `{"id":"rev-1","customer_id":"cus_1","currency":"EUR","amount":2000}`)
	require.Eventually(t, func() bool { return e.applied("payout_request.cancel:pr_a") == 1 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, e.sim.SetFaults(rebillysim.Faults{}))
	r := e.waitResult(t, "rev-1", 1)
	require.Equal(t, command.OutcomeOK, r.Outcome, "reason: %s", r.Reason)
	require.NotNil(t, r.Rebilly)
	assert.Equal(t, []string{"pr_a", "pr_b"}, r.Rebilly.CanceledPayoutRequests)
	assert.Equal(t, int64(2000), *r.Rebilly.CanceledAmount)
	assert.Equal(t, int64(3000), *r.Rebilly.PendingAmount)
	for id, want := range map[string]int{"pr_a": 1, "pr_b": 1, "pr_c": 0} {
		assert.Equal(t, want, e.applied("payout_request.cancel:"+id), id)
	}
	c, ok := e.sim.PayoutRequest("pr_c")
	require.True(t, ok)
	assert.Equal(t, rebilly.PayoutPending, c.Status)
}

func TestRebillyCashierAnswerLostFails(t *testing.T) {
	e := newRebillyEnv(t)
	e.start(t)
	e.faults(t, "POST "+rebilly.PathCashiers, rebillysim.EndpointFaults{ErrorAfterEffectRate: 1})
	dlq := e.subscribe(t, subjects.Rebilly.AllDLQ())
	e.publish(t, command.RebillyCashierCreate, `{"id":"cl-1","customer_id":"cus_1","currency":"EUR"}`)
	r := e.waitResult(t, "cl-1", 1)
	assert.Equal(t, command.OutcomeFailed, r.Outcome)
	assert.Equal(t, command.ReasonCashierAnswerLost, r.ReasonCode)
	assert.Equal(t, 1, r.Calls, "a cashier is never created twice")
	_, err := dlq.NextMsg(5 * time.Second)
	require.NoError(t, err)

	// Rebilly saying "nothing happened" (503) is retried: no answer was lost.
	e.faults(t, "POST "+rebilly.PathCashiers, rebillysim.EndpointFaults{ServerErrorRate: 1})
	e.publish(t, command.RebillyCashierCreate, `{"id":"cl-2","customer_id":"cus_1","currency":"EUR"}`)
	require.Eventually(t, func() bool { return e.sim.Effects().Calls["POST "+rebilly.PathCashiers] >= 3 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, e.sim.SetFaults(rebillysim.Faults{}))
	r = e.waitResult(t, "cl-2", 1)
	require.Equal(t, command.OutcomeOK, r.Outcome, "reason: %s", r.Reason)
	assert.Equal(t, 1, r.Calls, "the refused attempts were taken back")
}

func TestRebillyWorkerBesidePraxisWorker(t *testing.T) {
	e := newRebillyEnv(t)
	reg := prometheus.NewRegistry()
	deps := Deps{NC: e.nc, JS: e.js, Store: e.store, Log: tu.Logger(t), Registry: reg}
	_, err := New(e.cfg, deps)
	require.NoError(t, err, "a Rebilly worker needs no Praxis client")

	praxisCfg := e.cfg
	praxisCfg.Provider = ""
	praxisCfg.Applications = []Application{{Name: appName, Credentials: creds}}
	_, err = New(praxisCfg, deps)
	require.ErrorContains(t, err, "Praxis client", "a Praxis worker still needs its client")
	deps.Client, err = praxis.NewClient(praxis.ClientConfig{BaseURL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	_, err = New(praxisCfg, deps)
	require.NoError(t, err, "both workers' metrics share one registry")

	noClient := e.cfg
	noClient.Applications = []Application{{Name: appName}}
	_, err = New(noClient, deps)
	require.ErrorContains(t, err, `application "sandbox" has no Rebilly client`)

	cc := ConsumerConfig(e.cfg)
	assert.Equal(t, subjects.Rebilly.WorkerConsumer(), cc.Durable)
	assert.Equal(t, subjects.Rebilly.AllCommands(), cc.FilterSubject)
	cc = ConsumerConfig(praxisCfg)
	assert.Equal(t, subjects.ConsumerWorker, cc.Durable)
	assert.Equal(t, subjects.AllCommands, cc.FilterSubject)
}

func TestNoteIsWriteOnceAndNamespaced(t *testing.T) {
	e := newRebillyEnv(t)
	w, err := New(e.cfg, Deps{NC: e.nc, JS: e.js, Store: e.store, Log: tu.Logger(t), Registry: prometheus.NewRegistry()})
	require.NoError(t, err)
	j := &job{app: w.apps[appName], base: w.log, meta: &jetstream.MsgMetadata{}}
	j.res.ID = "n-1"
	builds := 0
	build := func(v string) func(context.Context) ([]byte, error) {
		return func(context.Context) ([]byte, error) {
			builds++
			return []byte(v), nil
		}
	}
	_, ok, err := w.storedNote(t.Context(), j)
	require.NoError(t, err)
	assert.False(t, ok, "no note before the first build")
	v, err := w.note(t.Context(), j, build(`{"first":true}`))
	require.NoError(t, err)
	assert.Equal(t, `{"first":true}`, string(v))
	v, err = w.note(t.Context(), j, build(`{"second":true}`))
	require.NoError(t, err)
	assert.Equal(t, `{"first":true}`, string(v), "a later holder reuses the first note")
	assert.Equal(t, 1, builds)
	got, ok, err := w.storedNote(t.Context(), j)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, `{"first":true}`, string(got))

	assert.Equal(t, "note:rebilly:sandbox:n-1", w.noteKey(j), "Rebilly keys are apart from Praxis' (cmd:<app>:<id>)")
	assert.Equal(t, "cmd:rebilly:", w.keyPrefix("cmd"))
	praxisCfg := e.cfg
	praxisCfg.Provider = ""
	pc, err := praxis.NewClient(praxis.ClientConfig{BaseURL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	pw, err := New(praxisCfg, Deps{NC: e.nc, JS: e.js, Store: e.store, Client: pc, Log: tu.Logger(t), Registry: prometheus.NewRegistry()})
	require.NoError(t, err)
	assert.Equal(t, "cmd:", pw.keyPrefix("cmd"), "Praxis keys are unchanged")
}

func TestRebillyCashierReplayedFromDLQWithNoCallIsCalled(t *testing.T) {
	e := newRebillyEnv(t)
	e.start(t)
	// A replay with no call marker: nothing was ever sent, so the cashier
	// is opened (not reported lost).
	e.publishTo(t, subjects.Rebilly.Command(appName, command.RebillyCashierCreate), `{"id":"rp-1","customer_id":"cus_1","currency":"EUR"}`,
		HeaderReplayedFrom, "42")
	r := e.waitResult(t, "rp-1", 1)
	require.Equal(t, command.OutcomeOK, r.Outcome, "reason: %s", r.Reason)
	assert.Equal(t, 1, r.Calls)
}

func TestRebillyTransientReadIsRetried(t *testing.T) {
	e := newRebillyEnv(t)
	e.start(t)
	sale := e.sale(t, 900)
	e.faults(t, "GET "+rebilly.PathTransaction, rebillysim.EndpointFaults{ServerErrorRate: 1})
	e.publish(t, command.RebillyTransactionFind, fmt.Sprintf(`{"id":"tf-1","transaction_id":%q}`, sale.ID))
	require.Eventually(t, func() bool { return e.sim.Effects().Calls["GET "+rebilly.PathTransaction] >= 2 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, e.sim.SetFaults(rebillysim.Faults{}))
	r := e.waitResult(t, "tf-1", 1)
	require.Equal(t, command.OutcomeOK, r.Outcome, "reason: %s", r.Reason)
	assert.GreaterOrEqual(t, r.Deliveries, 3, "503s were retried on later deliveries")
	assert.Equal(t, int64(900), *r.Rebilly.Amount)
}

func TestRebillyRateLimitIsWaitedOutNotBurnt(t *testing.T) {
	// One write per 2 s window: the second payout request is refused with
	// 429 and X-RateLimit-Retry-After. Retrying on our 10-40 ms backoff
	// would spend all five attempts inside the window.
	e := newRebillyEnvWith(t, func(c *rebillysim.Config) { c.RateLimit = rebillysim.RateLimit{Limit: 1, Window: 2 * time.Second} })
	e.start(t)
	e.publish(t, command.RebillyPayoutRequestCreate, `{"id":"rl-1","customer_id":"cus_1","currency":"EUR","amount":100}`)
	e.publish(t, command.RebillyPayoutRequestCreate, `{"id":"rl-2","customer_id":"cus_1","currency":"EUR","amount":200}`)
	for _, id := range []string{"rl-1", "rl-2"} {
		r := e.waitResult(t, id, 1)
		require.Equal(t, command.OutcomeOK, r.Outcome, "%s: %s", id, r.Reason)
		assert.LessOrEqual(t, r.Deliveries, 3, "%s: a 429 is retried after its Retry-After, not on the backoff", id)
	}
}
