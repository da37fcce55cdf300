package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

// AttackOptions size the resource-limit scenario: what a client without
// any secret can make the ingress hold.
type AttackOptions struct {
	// Idle keep-alive connections (one request each, then silence).
	Idle int
	// Slow uploads: chunked POSTs trickling a body of SlowBytes that never
	// ends.
	Slow      int
	SlowBytes int
	// SlowRate is each upload's bytes per second.
	SlowRate int
	// Duration of the attack (and of the baseline before it).
	Duration time.Duration
	// GenuineRate is signed notifications per second over GenuineConns
	// keep-alive connections, before and during the attack.
	GenuineRate  int
	GenuineConns int
	// Reconnect is how long an attacker's closed connection waits before
	// dialling again.
	Reconnect time.Duration
}

func (a *AttackOptions) defaults() {
	if a.Idle == 0 {
		a.Idle = 5000
	}
	if a.Slow == 0 {
		a.Slow = 500
	}
	if a.SlowBytes == 0 {
		a.SlowBytes = 1 << 20
	}
	if a.SlowRate == 0 {
		a.SlowRate = 100 << 10
	}
	if a.Duration == 0 {
		a.Duration = 20 * time.Second
	}
	if a.GenuineRate == 0 {
		a.GenuineRate = 200
	}
	if a.GenuineConns == 0 {
		a.GenuineConns = 8
	}
	if a.Reconnect == 0 {
		a.Reconnect = time.Second
	}
}

// raiseFileLimit lifts the soft open-files limit to the hard one, for the
// harness and the adapter it starts (thousands of sockets each).
func raiseFileLimit(need uint64) (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
	}
	if l.Cur < need {
		return l.Cur, fmt.Errorf("open-files limit %d is below the %d this scenario needs (ulimit -n)", l.Cur, need)
	}
	return l.Cur, nil
}

// attackScenario runs the ingress, measures genuine webhooks alone, then
// again while Idle connections sit idle and Slow uploads trickle, and
// prints the adapter's RSS, goroutines and the genuine p99 of both phases.
func attackScenario(ctx context.Context, o Options, out io.Writer, dir, natsURL, run string) error {
	a := o.Attack
	a.defaults()
	if _, err := raiseFileLimit(uint64(a.Idle+a.Slow+a.GenuineConns) + 512); err != nil {
		return err
	}
	// The admin address is given in the environment so a binary from
	// before the admin listener (which refuses the admin: key) runs too.
	cfgPath, err := writeConfig(dir, "attack.yaml", "ingress: {listen: \"127.0.0.1:0\"}\n"+appYAML)
	if err != nil {
		return err
	}
	env := append(childEnv(o, natsURL, run+"attack:"), "PRAXIS_ADMIN_LISTEN=127.0.0.1:0")
	ch, urls, err := startChild(ctx, o.AdapterBin, []string{"ingress", "-config", cfgPath}, env)
	if err != nil {
		return err
	}
	defer ch.stop()
	addr := hostOf(urls["ingress"])
	metricsURL := urls["ingress"] + "/metrics"
	if urls["admin"] != "" {
		metricsURL = urls["admin"] + "/metrics"
	}
	tid := int64(50_000_000)
	nextTID := func() int64 { return atomic.AddInt64(&tid, 1) }

	// Warm up, then the baseline.
	if _, err := genuineLoad(ctx, addr, a.GenuineRate, a.GenuineConns, 3*time.Second, nextTID); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	base, err := genuineLoad(ctx, addr, a.GenuineRate, a.GenuineConns, a.Duration/2, nextTID)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	rssBase, _ := ch.rss()

	actx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var atk attackCounters
	for i := 0; i < a.Idle; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); atk.idleLoop(actx, addr, a.Reconnect, i) }()
	}
	const chunkData = 16 << 10
	chunk := slowChunk(chunkData)
	for i := 0; i < a.Slow; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); atk.slowLoop(actx, addr, a, chunk, chunkData, i) }()
	}
	// Let the attack build up before measuring.
	peak := &peakSampler{}
	sctx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() { defer close(sampled); peak.run(sctx, ch, metricsURL) }()
	sleepCtx(ctx, 3*time.Second)
	during, gerr := genuineLoad(ctx, addr, a.GenuineRate, a.GenuineConns, a.Duration, nextTID)
	stopSampling()
	<-sampled
	stop()
	wg.Wait()
	if gerr != nil {
		return fmt.Errorf("genuine webhooks during the attack: %w", gerr)
	}
	rssAfter, _ := ch.rss()

	fmt.Fprintf(out, "## Resource limits: %d idle keep-alive connections and %d slow %d KiB uploads (%d KiB/s each, never finished), no secret\n\n",
		a.Idle, a.Slow, a.SlowBytes>>10, a.SlowRate>>10)
	fmt.Fprintf(out, "Genuine signed notifications: %d/s over %d keep-alive connections (reconnecting when closed), %v before and %v during the attack; attackers redial %v after a close.\n\n",
		a.GenuineRate, a.GenuineConns, a.Duration/2, a.Duration, a.Reconnect)
	fmt.Fprintln(out, "| phase | adapter RSS | adapter goroutines | genuine sent | genuine p50 | genuine p99 | genuine max | genuine answers |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|---|")
	fmt.Fprintf(out, "| before | %s | - | %d | %s | %s | %s | %s |\n", mib(rssBase), base.requests, ms(base.pct(50)), ms(base.pct(99)), ms(base.pct(100)), answers(base.byStatus))
	fmt.Fprintf(out, "| during (peak) | %s | %d | %d | %s | %s | %s | %s |\n", mib(peak.rss), peak.goroutines, during.requests, ms(during.pct(50)), ms(during.pct(99)), ms(during.pct(100)), answers(during.byStatus))
	fmt.Fprintf(out, "| after | %s | - | | | | | |\n", mib(rssAfter))
	fmt.Fprintf(out, "\nattackers: %d connections opened, %d closed by the adapter, %d slow bodies sent in full; slow answers: %s; adapter peak RSS (VmHWM) %s\n\n",
		atk.dials.Load(), atk.closed.Load(), atk.slowDone.Load(), atk.answers(), mib(ch.hwm()))
	return nil
}

// attackCounters count what the attackers saw.
type attackCounters struct {
	dials, closed, slowDone atomic.Int64
	mu                      sync.Mutex
	slowAnswers             map[string]int
}

func (c *attackCounters) answer(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slowAnswers == nil {
		c.slowAnswers = map[string]int{}
	}
	c.slowAnswers[s]++
}

func (c *attackCounters) answers() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.slowAnswers) == 0 {
		return "none"
	}
	return answers(c.slowAnswers)
}

// idleLoop keeps one keep-alive connection open and silent after a
// request; when the adapter closes it, it dials again.
func (c *attackCounters) idleLoop(ctx context.Context, addr string, reconnect time.Duration, i int) {
	// Spread the dials so the listen backlog is not the limit.
	sleepCtx(ctx, time.Duration(i%100)*20*time.Millisecond)
	for ctx.Err() == nil {
		nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			sleepCtx(ctx, reconnect)
			continue
		}
		c.dials.Add(1)
		stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
		_, _ = io.WriteString(nc, "GET /healthz HTTP/1.1\r\nHost: attacker\r\n\r\n")
		// Read the answer, then wait for the adapter to close the
		// connection (idle timeout, or room for another).
		_, _ = io.Copy(io.Discard, nc)
		stop()
		_ = nc.Close()
		if ctx.Err() == nil {
			c.closed.Add(1)
		}
		sleepCtx(ctx, reconnect)
	}
}

// slowLoop trickles a chunked body that never ends; when the adapter
// answers or closes, it dials again.
func (c *attackCounters) slowLoop(ctx context.Context, addr string, a AttackOptions, chunk []byte, chunkData, i int) {
	sleepCtx(ctx, time.Duration(i%50)*20*time.Millisecond)
	every := time.Duration(float64(time.Second) * float64(chunkData) / float64(a.SlowRate))
	for ctx.Err() == nil {
		nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			sleepCtx(ctx, a.Reconnect)
			continue
		}
		c.dials.Add(1)
		stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
		got := make(chan string, 1)
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				got <- ""
				return
			}
			_ = resp.Body.Close()
			got <- "HTTP " + strconv.Itoa(resp.StatusCode)
		}()
		_, err = fmt.Fprintf(nc, "POST /praxis/notification HTTP/1.1\r\nHost: attacker\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
		sent := 0
		t := time.NewTicker(every)
	upload:
		for err == nil && sent < a.SlowBytes {
			select {
			case <-ctx.Done():
				break upload
			case s := <-got:
				got <- s
				break upload
			case <-t.C:
				_, err = nc.Write(chunk)
				sent += chunkData
			}
		}
		t.Stop()
		if sent >= a.SlowBytes {
			c.slowDone.Add(1) // and never send the last chunk
		}
		var s string
		select {
		case s = <-got:
		case <-ctx.Done():
		}
		stop()
		_ = nc.Close()
		if ctx.Err() == nil {
			c.closed.Add(1)
			if s != "" {
				c.answer(s)
			}
		}
		sleepCtx(ctx, a.Reconnect)
	}
}

// slowChunk is one chunk of a chunked body carrying n bytes of data.
func slowChunk(n int) []byte {
	return []byte(fmt.Sprintf("%x\r\n%s\r\n", n, strings.Repeat("x", n)))
}

// genuineLoad sends signed notifications at rate per second over conns
// keep-alive connections for d, reconnecting (and resending the same
// notification, as Praxis would) when a connection is closed.
func genuineLoad(ctx context.Context, addr string, rate, conns int, d time.Duration, nextTID func() int64) (loadResult, error) {
	lists := praxis.DefaultLists().Get(praxis.ListNotificationRequest)
	res := loadResult{concurrency: conns, byStatus: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	interval := time.Duration(conns) * time.Second / time.Duration(rate)
	start := time.Now()
	var failures atomic.Int64
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *conn
			defer func() {
				if c != nil {
					c.close()
				}
			}()
			rnd := rand.New(rand.NewPCG(uint64(w), 3))
			next := time.Now().Add(time.Duration(rnd.Int64N(int64(interval))))
			for ctx.Err() == nil && time.Since(start) < d {
				sleepCtx(ctx, time.Until(next))
				next = next.Add(interval)
				body := notificationBody(nextTID(), time.Now().Unix())
				sig, _ := lists.Sign(body, benchSecret)
				req := buildRequest(addr, "/praxis/notification", body, map[string]string{praxis.HeaderSignature: sig.String()})
				t0 := time.Now()
				var code, st int
				ok := false
				for try := 0; try < 5 && !ok && ctx.Err() == nil; try++ {
					if c == nil {
						var err error
						if c, err = dial(addr); err != nil {
							continue
						}
					}
					var b []byte
					var err error
					code, b, err = c.do(req)
					if err != nil {
						c.close()
						c = nil
						continue
					}
					st, _ = replyStatus(b)
					ok = true
					if code == http.StatusServiceUnavailable {
						// Shed with Connection: close.
						c.close()
						c = nil
					}
				}
				lat := time.Since(t0)
				mu.Lock()
				if ok {
					res.latencies = append(res.latencies, lat)
					res.byStatus[fmt.Sprintf("HTTP %d / status %d", code, st)]++
				} else {
					failures.Add(1)
					res.byStatus["no answer after 5 tries"]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.requests = len(res.latencies)
	res.errors = int(failures.Load())
	sort.Slice(res.latencies, func(i, j int) bool { return res.latencies[i] < res.latencies[j] })
	if res.requests == 0 {
		return res, fmt.Errorf("no genuine webhook was answered")
	}
	return res, nil
}

// peakSampler follows the adapter's RSS and goroutines.
type peakSampler struct {
	rss        int64
	goroutines int
}

func (p *peakSampler) run(ctx context.Context, ch *child, metricsURL string) {
	client := &http.Client{Timeout: 2 * time.Second}
	for ctx.Err() == nil {
		if r, err := ch.rss(); err == nil && r > p.rss {
			p.rss = r
		}
		if g, err := goroutines(client, metricsURL); err == nil && g > p.goroutines {
			p.goroutines = g
		}
		sleepCtx(ctx, 250*time.Millisecond)
	}
}

// goroutines reads go_goroutines from the adapter's metrics.
func goroutines(client *http.Client, url string) (int, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	s := bufio.NewScanner(resp.Body)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(f), err
		}
	}
	return 0, fmt.Errorf("no go_goroutines")
}

// rss returns VmRSS, the process's current resident set size, in bytes.
func (c *child) rss() (int64, error) { return procStatus(c.cmd.Process.Pid, "VmRSS:") }

func procStatus(pid int, field string) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line)
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s", field)
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func (c *child) hwm() int64 {
	b, _ := procStatus(c.cmd.Process.Pid, "VmHWM:")
	return b
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
