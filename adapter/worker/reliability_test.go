package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// The regression tests of issue 11: the real worker against the simulator
// through a fault-injecting proxy that answers as a real Praxis sometimes
// does. Each asserts, for capture, cancel, refund, withdrawal complete and
// withdrawal cancel, that the state-changing call reached Praxis once and
// that the final result says what happened.

// newFaultEnv is newEnv with the Praxis client going through a fault proxy
// whose client timeout is also the worker's PraxisTimeout.
func newFaultEnv(t *testing.T, timeout time.Duration, mutate ...func(*Config)) (*env, *faultProxy) {
	t.Helper()
	e := newEnv(t, append([]func(*Config){func(c *Config) { c.PraxisTimeout = timeout }}, mutate...)...)
	p := newFaultProxy(t, e.simURL)
	var err error
	e.client, err = praxis.NewClient(praxis.ClientConfig{BaseURL: p.srv.URL, Timeout: timeout, LightResponses: true})
	require.NoError(t, err)
	return e, p
}

// target is one state-changing command on its own object.
type target struct {
	name      string
	id        string
	body      string
	callKey   string // the proxy key of its state-changing call
	lookupKey string // and of its reconciling lookup
	effects   func(sim.Effects) int
	tid       int64
}

// targets creates one object for each state-changing command kind and
// returns the commands acting on them, ids prefixed with prefix.
func (e *env) targets(t *testing.T, prefix string) []target {
	t.Helper()
	capTID := e.authorized(t, prefix+"-auth-capture")
	cancelTID := e.authorized(t, prefix+"-auth-cancel")
	depTID := e.deposit(t, prefix+"-dep", 5000)
	wdc := e.withdrawalRequest(t, prefix+"-wd-complete", 700)
	wdx := e.withdrawalRequest(t, prefix+"-wd-cancel", 300)
	refundOrder := prefix + "-refund-order"
	return []target{
		{name: command.AuthorizationCapture, id: prefix + "-capture", body: fmt.Sprintf(`{"id":%q,"tid":%d}`, prefix+"-capture", capTID),
			callKey: key(praxis.PathManageTransaction, capTID), lookupKey: key(praxis.PathFindTransaction, capTID), tid: capTID,
			effects: func(f sim.Effects) int { return f.Captures[capTID] }},
		{name: command.AuthorizationCancel, id: prefix + "-cancel", body: fmt.Sprintf(`{"id":%q,"tid":%d}`, prefix+"-cancel", cancelTID),
			callKey: key(praxis.PathManageTransaction, cancelTID), lookupKey: key(praxis.PathFindTransaction, cancelTID), tid: cancelTID,
			effects: func(f sim.Effects) int { return f.Cancels[cancelTID] }},
		{name: command.RefundCreate, id: prefix + "-refund", body: fmt.Sprintf(`{"id":%q,"reference_id":%d,"amount":1500,"currency":"EUR","cid":"cust-1","order_id":%q}`,
			prefix+"-refund", depTID, refundOrder),
			callKey: key(praxis.PathRefund, refundOrder), lookupKey: key(praxis.PathFindOrder, refundOrder), tid: depTID,
			effects: func(f sim.Effects) int { return f.Refunds[depTID] }},
		{name: command.WithdrawalComplete, id: prefix + "-wd-complete", body: fmt.Sprintf(`{"id":%q,"withdrawal_request_id":%d}`, prefix+"-wd-complete", wdc),
			callKey: key(praxis.PathManageWithdrawal, wdc), lookupKey: key(praxis.PathFindTransaction, wdc), tid: wdc,
			effects: func(f sim.Effects) int { return f.WithdrawalCompletes[wdc] }},
		{name: command.WithdrawalCancel, id: prefix + "-wd-cancel", body: fmt.Sprintf(`{"id":%q,"withdrawal_request_id":%d}`, prefix+"-wd-cancel", wdx),
			callKey: key(praxis.PathManageWithdrawal, wdx), lookupKey: key(praxis.PathFindTransaction, wdx), tid: wdx,
			effects: func(f sim.Effects) int { return f.WithdrawalCancels[wdx] }},
	}
}

// final waits for the command's result: the one its worker computed, or,
// when that worker stored it and died before publishing it, the replay of
// it that the next delivery publishes.
func (e *env) final(t *testing.T, id string) command.Result {
	t.Helper()
	var got command.Result
	tu.Eventually(t, 30*time.Second, 5*time.Millisecond, func() error {
		rs := e.results.get(id)
		if len(rs) == 0 {
			return fmt.Errorf("no result for %s yet", id)
		}
		got = rs[0]
		for _, r := range rs {
			if !r.Replayed {
				got = r
			}
		}
		return nil
	})
	return got
}

// assertOnce checks one effect and one state-changing call per command id,
// and a result that adds up.
func assertOnce(t *testing.T, e *env, p *faultProxy, tg target, r command.Result, wantCalls int) {
	t.Helper()
	assert.Equal(t, command.OutcomeOK, r.Outcome, "%s: %s", tg.id, r.Reason)
	assert.Equal(t, 1, tg.effects(e.sim.Effects()), "%s: exactly one effect at Praxis", tg.id)
	assert.Equal(t, wantCalls, p.sent(tg.callKey), "%s: state-changing calls that reached Praxis", tg.id)
	assert.Equal(t, wantCalls, r.Calls, "%s: calls says what was sent", tg.id)
	assert.Equal(t, r.Calls+r.Lookups, r.Attempts, "%s: attempts = calls + lookups", tg.id)
	computed := map[time.Time]bool{} // replays repeat the stored result's completed_at
	for _, x := range e.results.get(tg.id) {
		computed[x.CompletedAt] = true
	}
	assert.Len(t, computed, 1, "%s: exactly one final result", tg.id)
}

// Cause 1: a claim expired while its holder was still calling a slow
// Praxis, and a waiting duplicate called again. Now the holder renews its
// claim for as long as it works; the duplicate waits and replays.
func TestSlowPraxisClaimOutlivesTheCall(t *testing.T) {
	// A 1 s lease renewed every 333 ms: only a stall of about 700 ms
	// between renewals would lose it (a 600 ms lease lost one once under a
	// CPU hog, with no second call: the renewal is what this test shows).
	e, p := newFaultEnv(t, 2*time.Second, func(c *Config) { c.ClaimTTL = time.Second })
	e.start(t)
	e.start(t)
	tgs := e.targets(t, "slow")
	for _, tg := range tgs {
		p.push(tg.callKey, step{kind: stepSlow, delay: 1500 * time.Millisecond}) // longer than the claim TTL, inside the timeout
		e.publish(t, tg.name, tg.body)
		e.publish(t, tg.name, tg.body) // a re-publish that waits for the holder
	}
	for _, tg := range tgs {
		r := e.final(t, tg.id)
		e.waitResult(t, tg.id, 2)
		assertOnce(t, e, p, tg, r, 1)
		assert.Zero(t, r.Lookups, "%s: nothing to reconcile", tg.id)
		assert.False(t, r.Reconciled)
	}
	assert.Positive(t, e.renewals("renewed"), "the holders renewed their claims (praxis_worker_claim_renewals_total)")
	assert.Zero(t, e.renewals("lost"), "no holder lost its claim")
}

// renewals sums praxis_worker_claim_renewals_total{outcome} over the
// started workers.
func (e *env) renewals(outcome string) float64 {
	var n float64
	for _, reg := range e.regs {
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() != "praxis_worker_claim_renewals_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "outcome" && l.GetValue() == outcome {
						n += m.GetCounter().GetValue()
					}
				}
			}
		}
	}
	return n
}

// Cause 2: a lookup's generic error, "Agent API disabled" or a 404 was read
// as "nothing happened", and the call was repeated. Now they are unknown:
// retry the lookup, never the call.
func TestLookupErrorsAreUnknownNotNotDone(t *testing.T) {
	e, p := newFaultEnv(t, 300*time.Millisecond, func(c *Config) { c.MaxAttempts = 10 })
	e.start(t)
	tgs := e.targets(t, "lookup-err")
	for _, tg := range tgs {
		p.push(tg.callKey, lostReply)
		p.push(tg.lookupKey, genericError, agentAPIDisabled, plain404)
		e.publish(t, tg.name, tg.body)
	}
	for _, tg := range tgs {
		r := e.final(t, tg.id)
		assertOnce(t, e, p, tg, r, 1)
		assert.True(t, r.Reconciled, "%s: the lookup decided", tg.id)
		assert.Equal(t, 4, r.Lookups, "%s: three unanswered lookups, then the one that answered", tg.id)
	}
}

// Cause 3: "not found" was trusted 0.25-0.5 s after the unknown outcome,
// while Praxis was still processing the abandoned request. Now it is
// trusted only after the settle window since the last send.
func TestLateProcessingIsWaitedOutBySettleWindow(t *testing.T) {
	e, p := newFaultEnv(t, 300*time.Millisecond, func(c *Config) { c.SettleWindow = 1500 * time.Millisecond })
	e.start(t)
	tgs := e.targets(t, "late")
	for _, tg := range tgs {
		// Held until the client gives up (300 ms), then processed 500 ms later.
		p.push(tg.callKey, step{kind: stepLate, delay: 500 * time.Millisecond})
		e.publish(t, tg.name, tg.body)
	}
	for _, tg := range tgs {
		r := e.final(t, tg.id)
		assertOnce(t, e, p, tg, r, 1)
		assert.True(t, r.Reconciled, "%s", tg.id)
		assert.GreaterOrEqual(t, r.Lookups, 2, "%s: a lookup inside the settle window, then one after it", tg.id)
	}
}

// Cause 4: the "may have been sent" memory expired before a DLQ replay, so
// the replay called again. Now the marker lives result_ttl (past the DLQ's
// retention) and a replay always reconciles first, even with no record.
func TestDLQReplayReconcilesEvenAfterTheRecordIsGone(t *testing.T) {
	e, p := newFaultEnv(t, 300*time.Millisecond, func(c *Config) { c.MaxAttempts = 3 })
	e.start(t)
	dlq := e.subscribe(t, subjects.AllDLQ)
	tgs := e.targets(t, "replay")
	for _, tg := range tgs {
		p.push(tg.callKey, lostReply)
		p.push(tg.lookupKey, genericError, genericError)
		e.publish(t, tg.name, tg.body)
	}
	letters := map[string]*nats.Msg{}
	for range tgs {
		m, err := dlq.NextMsg(30 * time.Second)
		require.NoError(t, err)
		letters[m.Header.Get(HeaderDLQCommandID)] = m
	}
	for _, tg := range tgs {
		r := e.final(t, tg.id)
		require.Equal(t, command.OutcomeFailed, r.Outcome, tg.id)
		assert.Contains(t, r.Reason, "may have reached Praxis")
		assert.Equal(t, 1, r.Calls)
		assert.Equal(t, 2, r.Lookups)
		m := letters[tg.id]
		require.NotNil(t, m, tg.id)
		assert.Equal(t, "1", m.Header.Get(HeaderDLQCalls), "%s: the dead letter says what was sent", tg.id)
		assert.Equal(t, "2", m.Header.Get(HeaderDLQLookups))
		assert.Equal(t, "3", m.Header.Get(HeaderDLQAttempts))
		assert.Equal(t, "3", m.Header.Get(HeaderDLQDeliveries))

		k := e.idemPrefix + "cmd:" + appName + ":" + tg.id
		ttl, err := e.rdb.PTTL(t.Context(), k).Result()
		require.NoError(t, err)
		assert.Greater(t, ttl, 30*24*time.Hour, "%s: the marker outlives the dead letter's retention", tg.id)
		// Past any horizon, the record is gone: the replay must still look up first.
		require.NoError(t, e.rdb.Del(t.Context(), k).Err())

		msg := &nats.Msg{Subject: m.Header.Get(HeaderDLQSubject), Data: m.Data, Header: nats.Header{}}
		msg.Header.Set(HeaderReplayedFrom, strconv.FormatUint(1, 10))
		_, err = e.js.PublishMsg(t.Context(), msg)
		require.NoError(t, err)
	}
	for _, tg := range tgs {
		r := e.waitResult(t, tg.id, 2)
		assert.Equal(t, command.OutcomeOK, r.Outcome, "%s: %s", tg.id, r.Reason)
		assert.True(t, r.Reconciled, tg.id)
		assert.Equal(t, 1, tg.effects(e.sim.Effects()), tg.id)
		assert.Equal(t, 1, p.sent(tg.callKey), "%s: the replay did not call again", tg.id)
	}
}

// Cause 5: on a repeat, Praxis' refusal ("order_id not unique", "only an
// authorized transaction can be captured") was stored as the final
// rejected result of a command that had in fact succeeded. Here the lookup
// lies ("not found" past the settle window), the worker repeats, Praxis
// refuses the repeat: the worker reconciles and answers ok.
func TestRefusedRepeatIsReconciledNotRejected(t *testing.T) {
	e, p := newFaultEnv(t, 300*time.Millisecond, func(c *Config) { c.SettleWindow = 600 * time.Millisecond; c.MaxAttempts = 10 })
	e.start(t)
	tgs := e.targets(t, "repeat")
	for _, tg := range tgs {
		p.push(tg.callKey, lostReply)
		p.push(tg.lookupKey, fakeNotFound, fakeNotFound)
		e.publish(t, tg.name, tg.body)
	}
	for _, tg := range tgs {
		r := e.final(t, tg.id)
		assertOnce(t, e, p, tg, r, 2) // Praxis lied past the settle window: the repeat was sent, and refused
		assert.True(t, r.Reconciled, "%s: the lookup after the refusal decided", tg.id)
	}
}

// Cause 6: a capture reconciled as "not done" because the authorization
// had moved on from approved (charged back) by the time of the lookup.
func TestCaptureThenChargebackCountsAsCaptured(t *testing.T) {
	e, p := newFaultEnv(t, 300*time.Millisecond)
	e.start(t)
	tg := e.targets(t, "cb")[0]
	require.Equal(t, command.AuthorizationCapture, tg.name)
	p.push(tg.callKey, lostReply)
	p.push(tg.lookupKey, step{kind: stepHook, hook: func() {
		_, err := e.sim.Chargeback(context.Background(), tg.tid)
		assert.NoError(t, err)
	}})
	e.publish(t, tg.name, tg.body)
	r := e.final(t, tg.id)
	assertOnce(t, e, p, tg, r, 1)
	assert.True(t, r.Reconciled)
	assert.Equal(t, praxis.StatusChargeback, r.TransactionStatus)
}

// Cause 6, the status tables: every status that implies the effect
// happened (API.md §6) counts as done.
func TestEffectDoneStatuses(t *testing.T) {
	tests := []struct {
		command string
		done    []string
		notDone []string
	}{
		{command.AuthorizationCapture, []string{"approved", "refund", "partial_refund", "chargeback", "reversed", "duplicated"},
			[]string{"authorized", "pending", "cancelled", "rejected"}},
		{command.AuthorizationCancel, []string{"cancelled", "canceled", "rejected"}, []string{"authorized", "approved"}},
		{command.WithdrawalComplete, []string{"in_progress", "in progress", "approved", "pending", "payment", "partial_payout", "split", "error"},
			[]string{"requested", "initialized", "cancelled", "rejected"}},
		{command.WithdrawalCancel, []string{"cancelled", "rejected"}, []string{"requested", "initialized", "approved", "split"}},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			for _, s := range tt.done {
				assert.True(t, effectDone(tt.command, &praxis.Transaction{TransactionStatus: s}), "%s after %s", s, tt.command)
			}
			for _, s := range tt.notDone {
				assert.False(t, effectDone(tt.command, &praxis.Transaction{TransactionStatus: s}), "%s after %s", s, tt.command)
			}
		})
	}
	assert.True(t, effectDone(command.RefundCreate, &praxis.Transaction{TransactionType: "refund", TransactionStatus: "pending"}))
	assert.False(t, effectDone(command.RefundCreate, &praxis.Transaction{TransactionType: "sale", TransactionStatus: "approved"}))
}

// Cause 7: prefetched commands got no in-progress acks and came back as
// duplicates under a slow Praxis. Now nothing is pulled beyond the free
// handlers: every command is delivered once.
func TestSlowPraxisCausesNoRedelivery(t *testing.T) {
	e, p := newFaultEnv(t, 2*time.Second, func(c *Config) {
		c.MaxInFlight, c.AckWait, c.ClaimTTL = 2, time.Second, 900*time.Millisecond
	})
	e.start(t)
	var tgs []target
	for i := range 2 {
		tgs = append(tgs, e.targets(t, fmt.Sprintf("busy%d", i))...)
	}
	for _, tg := range tgs {
		p.push(tg.callKey, step{kind: stepSlow, delay: 700 * time.Millisecond})
		e.publish(t, tg.name, tg.body)
	}
	for _, tg := range tgs {
		r := e.final(t, tg.id)
		assertOnce(t, e, p, tg, r, 1)
		assert.Equal(t, 1, r.Deliveries, "%s: delivered once, never past AckWait", tg.id)
		assert.Len(t, e.results.get(tg.id), 1, tg.id)
	}
}

// Cause 9: results say exactly what was sent: a capture whose reply was
// lost is 1 call + 1 lookup, reconciled.
func TestResultCountsCallsAndLookups(t *testing.T) {
	e, p := newFaultEnv(t, 300*time.Millisecond)
	e.start(t)
	for _, tg := range e.targets(t, "count") {
		p.push(tg.callKey, lostReply)
		e.publish(t, tg.name, tg.body)
		r := e.final(t, tg.id)
		assertOnce(t, e, p, tg, r, 1)
		assert.Equal(t, 1, r.Lookups, tg.id)
		assert.Equal(t, 2, r.Attempts, tg.id)
		assert.True(t, r.Reconciled, tg.id)
		assert.Equal(t, 2, r.Deliveries, tg.id)
	}
}

// killSwitch makes a worker dead as if killed -9: its store and NATS
// connection stop answering, whatever its goroutines still try.
type killSwitch struct{ dead atomic.Bool }

var errKilled = errors.New("killed")

type killableStore struct {
	idempotency.Store
	k *killSwitch
}

func (s killableStore) Claim(ctx context.Context, key string, ttl time.Duration) (idempotency.Claim, error) {
	if s.k.dead.Load() {
		return idempotency.Claim{}, errKilled
	}
	return s.Store.Claim(ctx, key, ttl)
}

func (s killableStore) Complete(ctx context.Context, c idempotency.Claim, v []byte, ttl time.Duration) error {
	if s.k.dead.Load() {
		return errKilled
	}
	return s.Store.Complete(ctx, c, v, ttl)
}

func (s killableStore) Renew(ctx context.Context, c idempotency.Claim, o idempotency.RenewOptions) (idempotency.Claim, error) {
	if s.k.dead.Load() {
		return idempotency.Claim{}, errKilled
	}
	return s.Store.Renew(ctx, c, o)
}

func (s killableStore) Release(ctx context.Context, c idempotency.Claim) error {
	if s.k.dead.Load() {
		return errKilled
	}
	return s.Store.Release(ctx, c)
}

// startKillable runs a worker that kill() makes dead at once.
func (e *env) startKillable(t *testing.T) (kill func()) {
	t.Helper()
	k := &killSwitch{}
	nc := tu.Connect(t, e.srv)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	w, err := New(e.cfg, Deps{NC: nc, JS: js, Store: killableStore{e.store, k}, Client: e.client, Log: tu.Logger(t), Registry: prometheus.NewRegistry()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return func() {
		k.dead.Store(true)
		nc.Close()
	}
}

// Issue 13, cause 6: a worker killed mid-call leaves its command to a
// successor as soon as the call's lease ends (praxis timeout + claim TTL
// after the call was announced), not after a fixed minute; the successor
// looks up, it does not call again.
func TestKilledWorkersCommandSettledWithinTheCallLease(t *testing.T) {
	const timeout, claimTTL = 300 * time.Millisecond, time.Second
	e, p := newFaultEnv(t, timeout, func(c *Config) { c.ClaimTTL = claimTTL })
	kill := e.startKillable(t)
	tgs := e.targets(t, "kill")
	var killedAt atomic.Int64
	for i, tg := range tgs {
		p.push(tg.callKey, step{kind: stepHook, hook: func() {
			if i == 0 {
				killedAt.Store(time.Now().UnixNano())
				kill() // dies while its call is on the wire; the call still lands
			}
		}})
	}
	for _, tg := range tgs {
		e.publish(t, tg.name, tg.body)
	}
	tu.Eventually(t, 10*time.Second, 5*time.Millisecond, func() error {
		if killedAt.Load() == 0 {
			return errors.New("not killed yet")
		}
		return nil
	})
	e.start(t) // the successor
	for _, tg := range tgs {
		r := e.final(t, tg.id)
		assertOnce(t, e, p, tg, r, 1)
	}
	took := time.Since(time.Unix(0, killedAt.Load()))
	assert.Less(t, took, timeout+claimTTL+e.cfg.AckWait+3*time.Second, "settled within the call's lease plus a redelivery")
	t.Logf("commands of the killed worker settled %v after the kill", took.Round(10*time.Millisecond))
}

// A call whose request was never written (Praxis unreachable) is taken
// back: calls says nothing was sent, and no marker makes a retry wait out
// the settle window or reconcile.
func TestUnsentCallIsNotCounted(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxAttempts = 2; c.SettleWindow = time.Hour })
	var err error
	e.client, err = praxis.NewClient(praxis.ClientConfig{BaseURL: "http://127.0.0.1:1", Timeout: 300 * time.Millisecond})
	require.NoError(t, err)
	e.start(t)
	e.publish(t, command.AuthorizationCapture, `{"id":"unsent","tid":42}`)
	r := e.final(t, "unsent")
	assert.Equal(t, command.OutcomeFailed, r.Outcome)
	assert.Zero(t, r.Calls, "nothing reached Praxis")
	assert.Zero(t, r.Lookups, "nothing to reconcile: no call may have been sent")
	assert.Equal(t, 2, r.Deliveries, "the retry did not wait out the settle window")
}
