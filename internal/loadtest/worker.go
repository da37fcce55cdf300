package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// workerResult is one worker scenario's figures.
type workerResult struct {
	latency  time.Duration // simulated Praxis latency
	commands int
	elapsed  time.Duration
	added    []time.Duration // result latency minus simulated latency, sorted (harness clock)
	own      []time.Duration // latency_ms - praxis_ms from each result (the adapter's own clock), sorted
	outcomes map[string]int
	inFlight int
	paced    bool
}

func (r workerResult) rate() float64 { return float64(r.commands) / r.elapsed.Seconds() }

func (r workerResult) bound() float64 {
	if r.latency == 0 {
		return 0
	}
	return float64(r.inFlight) / r.latency.Seconds()
}

func (r workerResult) pct(p float64) time.Duration { return percentile(r.added, p) }

func (r workerResult) ownPct(p float64) time.Duration { return percentile(r.own, p) }

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p/100*float64(len(sorted)-1))]
}

// authorizations opens n authorization sessions and has the simulated
// customer pay each, returning the authorized tids: the captures to come.
func authorizations(ctx context.Context, s *sim.Simulator, client *praxis.Client, cr praxis.Credentials, notifyURL string, n int, tag string) ([]int64, error) {
	tids := make([]int64, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	jobs := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				amount := int64(1000 + i%500)
				resp, err := client.CashierSession(ctx, cr, praxis.SessionRequest{Intent: praxis.IntentAuthorization, Currency: "EUR",
					Amount: &amount, CID: "bench-" + strconv.Itoa(i%97), Locale: "en-GB", CustomerToken: "c0ffee00c0ffee00c0ffee00c0ffee00",
					NotificationURL: notifyURL, ReturnURL: "https://shop.example/return", OrderID: fmt.Sprintf("%s-%d", tag, i)})
				if err == nil {
					var tx sim.Transaction
					tx, err = s.Pay(ctx, resp.Session.AuthToken, sim.PayOptions{})
					tids[i] = tx.TID
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return tids, firstErr
}

// runCaptures publishes a capture per tid and waits for every result.
// With interval > 0 commands are paced (one per interval), else published
// as fast as possible and throughput is measured.
func runCaptures(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, tids []int64, tag string, interval time.Duration, lat time.Duration) (workerResult, error) {
	res := workerResult{latency: lat, commands: len(tids), outcomes: map[string]int{}, paced: interval > 0}
	sent := make([]time.Time, len(tids))
	got := make([]time.Time, len(tids))
	own := make([]time.Duration, len(tids))
	var mu sync.Mutex
	done := make(chan struct{})
	remaining := len(tids)
	prefix := tag + "-"
	sub, err := nc.Subscribe(subjects.Result("sandbox", command.AuthorizationCapture), func(m *nats.Msg) {
		now := time.Now()
		var r struct {
			ID, Outcome string
			LatencyMS   float64 `json:"latency_ms"`
			PraxisMS    float64 `json:"praxis_ms"`
		}
		if json.Unmarshal(m.Data, &r) != nil || !strings.HasPrefix(r.ID, prefix) {
			return
		}
		i, err := strconv.Atoi(strings.TrimPrefix(r.ID, prefix))
		if err != nil || i < 0 || i >= len(tids) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if got[i].IsZero() {
			got[i] = now
			own[i] = time.Duration((r.LatencyMS - r.PraxisMS) * float64(time.Millisecond))
			res.outcomes[r.Outcome]++
			remaining--
			if remaining == 0 {
				close(done)
			}
		}
	})
	if err != nil {
		return res, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.Flush(); err != nil {
		return res, err
	}
	start := time.Now()
	var tick *time.Ticker
	if interval > 0 {
		tick = time.NewTicker(interval)
		defer tick.Stop()
	}
	for i, tid := range tids {
		if tick != nil {
			<-tick.C
		}
		msg := &nats.Msg{Subject: subjects.Command("sandbox", command.AuthorizationCapture),
			Data: fmt.Appendf(nil, `{"id":"%s%d","tid":%d}`, prefix, i, tid)}
		mu.Lock()
		sent[i] = time.Now()
		mu.Unlock()
		if _, err := js.PublishMsgAsync(msg); err != nil {
			return res, fmt.Errorf("publish command %d: %w", i, err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		return res, fmt.Errorf("commands not acknowledged by JetStream within 30s")
	}
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		return res, fmt.Errorf("%d of %d results missing after 120s", remaining, len(tids))
	case <-ctx.Done():
		return res, ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	last := start
	for i := range tids {
		if got[i].After(last) {
			last = got[i]
		}
		res.added = append(res.added, got[i].Sub(sent[i])-lat)
	}
	res.elapsed = last.Sub(start)
	sort.Slice(res.added, func(i, j int) bool { return res.added[i] < res.added[j] })
	res.own = append(res.own, own...)
	sort.Slice(res.own, func(i, j int) bool { return res.own[i] < res.own[j] })
	return res, nil
}

// duplicateEffects counts tids captured other than exactly once.
func duplicateEffects(s *sim.Simulator, tids []int64) (dups, missing int) {
	eff := s.Effects()
	for _, tid := range tids {
		switch n := eff.Captures[tid]; {
		case n == 0:
			missing++
		case n > 1:
			dups += n - 1
		}
	}
	return dups, missing
}
