package worker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// TestSoak is the at-most-once soak run (`make soak`; skipped unless
// SOAK_COMMANDS is set): SOAK_COMMANDS state-changing commands (capture,
// cancel, refund, withdrawal complete, withdrawal cancel, in equal parts)
// with random re-publishes, redeliveries (a rogue consumer that fetches and
// never acks), a worker killed mid-call, and Praxis answering slowly,
// losing replies and processing after its client gave up, at random. It
// prints calls per command id (max must be 1) and final results per
// command (exactly 1).
func TestSoak(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SOAK_COMMANDS"))
	if n <= 0 {
		t.Skip("set SOAK_COMMANDS (make soak) to run the soak")
	}
	const timeout = time.Second
	e, p := newFaultEnv(t, timeout, func(c *Config) {
		c.MaxInFlight = 64
		c.AckWait = 3 * time.Second
		c.ClaimTTL = 2 * time.Second
		c.SettleWindow = 2500 * time.Millisecond
		c.MaxAttempts = 30 // unanswered lookups are retried, not given up on
		c.RetryBase, c.RetryMax = 50*time.Millisecond, time.Second
		c.DrainTimeout = 2 * time.Second
	})
	random := &randomFaults{SlowRate: 0.10, Slow: 700 * time.Millisecond, LostRate: 0.03, LateRate: 0.02, Late: time.Second}

	// Setup goes straight to the simulator, not through the faults.
	direct, err := praxis.NewClient(praxis.ClientConfig{BaseURL: e.simURL, Timeout: 10 * time.Second, LightResponses: true})
	require.NoError(t, err)
	setupStart := time.Now()
	tgs := make([]target, n)
	var wg sync.WaitGroup
	jobs := make(chan int)
	var setupErr atomic.Value
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				tg, err := soakTarget(t.Context(), e, direct, i)
				if err != nil {
					setupErr.Store(err)
					continue
				}
				tgs[i] = tg
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err, _ := setupErr.Load().(error); err != nil {
		require.NoError(t, err)
	}
	fmt.Printf("soak setup: %d objects in %v\n", n, time.Since(setupStart).Round(time.Millisecond))

	// The workers: two that live, and one (with its own proxy) killed on
	// its (n/30)th Praxis request, while that request is on the wire.
	p.setRandom(random)
	e.start(t)
	e.start(t)
	kp := newFaultProxy(t, e.simURL)
	kp.setRandom(random)
	var kpRequests, killedAt atomic.Int64
	var kill atomic.Value // func()
	kp.beforeEach = func() {
		if kpRequests.Add(1) == int64(max(10, n/30)) {
			killedAt.Store(time.Now().UnixNano())
			kill.Load().(func())()
		}
	}
	kclient, err := praxis.NewClient(praxis.ClientConfig{BaseURL: kp.srv.URL, Timeout: timeout, LightResponses: true})
	require.NoError(t, err)
	saved := e.client
	e.client = kclient
	kill.Store(e.startKillable(t))
	e.client = saved

	// The rogue: fetches now and then and never acks (a consumer that died
	// right after its fetch): JetStream redelivers after AckWait.
	cons, err := e.js.CreateOrUpdateConsumer(t.Context(), subjects.StreamCommands, ConsumerConfig(e.cfg))
	require.NoError(t, err)
	rogueCtx, stopRogue := context.WithCancel(t.Context())
	var rogue atomic.Int64
	go func() {
		for rogueCtx.Err() == nil {
			if b, err := cons.Fetch(1, jetstream.FetchMaxWait(100*time.Millisecond)); err == nil {
				for range b.Messages() {
					rogue.Add(1)
				}
			}
			select {
			case <-rogueCtx.Done():
			case <-time.After(30 * time.Millisecond):
			}
		}
	}()

	start := time.Now()
	rng := rand.New(rand.NewPCG(7, 11))
	republished := 0
	var later []target
	for i, tg := range tgs {
		e.publish(t, tg.name, tg.body)
		if rng.Float64() < 0.05 {
			e.publish(t, tg.name, tg.body) // at once: a duplicate while the first runs
			republished++
		}
		if rng.Float64() < 0.05 {
			later = append(later, tg) // after it finished: answered from the record
		}
		if i%1000 == 999 {
			for _, l := range later {
				e.publish(t, l.name, l.body)
				republished++
			}
			later = later[:0]
		}
	}
	for _, l := range later {
		e.publish(t, l.name, l.body)
		republished++
	}
	fmt.Printf("soak: published in %v\n", time.Since(start).Round(time.Millisecond))
	lastReport := time.Now()
	tu.Eventually(t, 30*time.Minute, 100*time.Millisecond, func() error {
		missing := 0
		for _, tg := range tgs {
			if len(e.results.get(tg.id)) == 0 {
				missing++
			}
		}
		if missing > 0 {
			if time.Since(lastReport) > 5*time.Second {
				lastReport = time.Now()
				fmt.Printf("soak: %d of %d commands without a final result after %v\n", missing, n, time.Since(start).Round(time.Second))
			}
			return fmt.Errorf("%d of %d commands without a final result", missing, n)
		}
		return nil
	})
	elapsed := time.Since(start)
	stopRogue()

	eff := e.sim.Effects()
	calls := map[int]int{}
	finals := map[int]int{}
	outcomes := map[string]int{}
	effects := map[int]int{}
	maxCalls, maxLookups, reconciled, replays, onlyReplayed := 0, 0, 0, 0, 0
	for _, tg := range tgs {
		c := p.sent(tg.callKey) + kp.sent(tg.callKey)
		calls[c]++
		maxCalls = max(maxCalls, c)
		if c > 1 {
			t.Logf("%s: %d calls; proxy: %q; killed proxy: %q; lookups: %q / %q; results: %+v", tg.id, c, p.what(tg.callKey), kp.what(tg.callKey),
				p.what(tg.lookupKey), kp.what(tg.lookupKey), e.results.get(tg.id))
		}
		// A final result is one the worker computed and stored; replays
		// repeat it (same completed_at). When the worker that stored it died
		// before publishing, its first publication is a replay.
		computed := map[time.Time]command.Result{}
		fresh := false
		for _, r := range e.results.get(tg.id) {
			if r.Replayed {
				replays++
			} else {
				fresh = true
			}
			computed[r.CompletedAt] = r
		}
		if !fresh {
			onlyReplayed++
		}
		for _, r := range computed {
			outcomes[r.Outcome]++
			maxLookups = max(maxLookups, r.Lookups)
			if r.Reconciled {
				reconciled++
			}
		}
		finals[len(computed)]++
		effects[tg.effects(eff)]++
	}
	report := fmt.Sprintf("soak: %d state-changing commands (5 kinds), %d re-publishes, %d rogue fetches (redelivered), worker killed mid-call: %v\n",
		n, republished, rogue.Load(), killedAt.Load() != 0)
	report += fmt.Sprintf("  faults per Praxis request: slow %.0f%% (<= %v), reply lost %.0f%%, processed after the client gave up %.0f%% (<= %v later)\n",
		random.SlowRate*100, random.Slow, random.LostRate*100, random.LateRate*100, random.Late)
	report += fmt.Sprintf("  ran in %v (%.0f commands/s) on %d CPUs\n", elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), runtime.NumCPU())
	report += "  state-changing calls per command id: " + histogram(calls) + fmt.Sprintf(" (max %d)\n", maxCalls)
	report += "  final results per command: " + histogram(finals) + "\n"
	report += "  effects at Praxis per command: " + histogram(effects) + "\n"
	report += fmt.Sprintf("  outcomes: %v; reconciled by lookup: %d; max lookups for one command: %d; replayed answers: %d "+
		"(%d commands first answered by a replay: their worker stored the result and died before publishing it)\n",
		outcomes, reconciled, maxLookups, replays, onlyReplayed)
	t.Log("\n" + report)
	fmt.Print(report)

	assert.Equal(t, 1, maxCalls, "at most one state-changing call per command id")
	assert.Equal(t, map[int]int{1: n}, finals, "exactly one final result per command")
	assert.Equal(t, map[int]int{1: n}, effects, "exactly one effect per command")
	assert.Equal(t, n, outcomes[command.OutcomeOK], "every command ok")
	assert.NotZero(t, killedAt.Load(), "the worker was killed")
}

// soakTarget creates the object for command i and returns the command.
func soakTarget(ctx context.Context, e *env, direct *praxis.Client, i int) (target, error) {
	id := fmt.Sprintf("soak-%d", i)
	order := "o-" + id
	open := func(intent string, amount int64) (string, error) {
		a := amount
		resp, err := direct.CashierSession(ctx, creds, praxis.SessionRequest{
			Intent: intent, Currency: "EUR", Amount: &a, CID: "cust-1", Locale: "en-GB",
			CustomerData:    &praxis.CustomerData{Country: "GB", FirstName: "Jane", LastName: "Doe", Email: "jane@example.com"},
			NotificationURL: e.cfg.PublicURL, ReturnURL: "https://shop.example/r", OrderID: order,
		})
		if err != nil {
			return "", err
		}
		return resp.Session.AuthToken, nil
	}
	switch i % 5 {
	case 0, 1:
		tok, err := open(praxis.IntentAuthorization, 1000)
		if err != nil {
			return target{}, err
		}
		tx, err := e.sim.Pay(ctx, tok, sim.PayOptions{})
		if err != nil {
			return target{}, err
		}
		tid := tx.TID
		if i%5 == 0 {
			return target{name: command.AuthorizationCapture, id: id, body: fmt.Sprintf(`{"id":%q,"tid":%d}`, id, tid),
				callKey: key(praxis.PathManageTransaction, tid), lookupKey: key(praxis.PathFindTransaction, tid), effects: func(f sim.Effects) int { return f.Captures[tid] }}, nil
		}
		return target{name: command.AuthorizationCancel, id: id, body: fmt.Sprintf(`{"id":%q,"tid":%d}`, id, tid),
			callKey: key(praxis.PathManageTransaction, tid), lookupKey: key(praxis.PathFindTransaction, tid), effects: func(f sim.Effects) int { return f.Cancels[tid] }}, nil
	case 2:
		tok, err := open(praxis.IntentPayment, 5000)
		if err != nil {
			return target{}, err
		}
		tx, err := e.sim.Pay(ctx, tok, sim.PayOptions{})
		if err != nil {
			return target{}, err
		}
		dep, ro := tx.TID, "r-"+id
		return target{name: command.RefundCreate, id: id,
			body:    fmt.Sprintf(`{"id":%q,"reference_id":%d,"amount":1500,"currency":"EUR","cid":"cust-1","order_id":%q}`, id, dep, ro),
			callKey: key(praxis.PathRefund, ro), lookupKey: key(praxis.PathFindOrder, ro), effects: func(f sim.Effects) int { return f.Refunds[dep] }}, nil
	default:
		tok, err := open(praxis.IntentWithdrawal, 700)
		if err != nil {
			return target{}, err
		}
		tx, err := e.sim.RequestWithdrawal(ctx, tok, 700)
		if err != nil {
			return target{}, err
		}
		wr := tx.TID
		if i%5 == 3 {
			return target{name: command.WithdrawalComplete, id: id, body: fmt.Sprintf(`{"id":%q,"withdrawal_request_id":%d}`, id, wr),
				callKey: key(praxis.PathManageWithdrawal, wr), lookupKey: key(praxis.PathFindTransaction, wr), effects: func(f sim.Effects) int { return f.WithdrawalCompletes[wr] }}, nil
		}
		return target{name: command.WithdrawalCancel, id: id, body: fmt.Sprintf(`{"id":%q,"withdrawal_request_id":%d}`, id, wr),
			callKey: key(praxis.PathManageWithdrawal, wr), lookupKey: key(praxis.PathFindTransaction, wr), effects: func(f sim.Effects) int { return f.WithdrawalCancels[wr] }}, nil
	}
}

// histogram prints "value×count" pairs in value order.
func histogram(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%d: %d", k, m[k])
	}
	return s
}
