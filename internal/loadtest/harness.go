// Package loadtest is the benchmark harness behind `make bench`: it starts
// what it needs (a NATS server, the adapter as a child process, the Praxis
// simulator), drives the ingress and the worker with load, checks that
// nothing was lost or doubled, measures the ceilings of the same machine in
// the same run, prints tables, and stops everything it started.
package loadtest

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

// Options configure a run.
type Options struct {
	// AdapterBin is the praxis-adapter binary to run as the child process.
	AdapterBin string
	// RedisURL is required (the production store).
	RedisURL string
	// NATSURL, when empty, starts a NATS server: as its own process from
	// NATSServerBin when set (like production), else inside the harness
	// process; JetStream on a temporary directory, loopback TCP.
	NATSURL       string
	NATSServerBin string
	// Levels are the ingress concurrencies (default 1, 16, 64).
	Levels []int
	// Requests per ingress level (level 1 sends a tenth).
	Requests int
	DupShare float64
	BadShare float64
	// MaxTime bounds each level.
	MaxTime time.Duration
	// WorkerCommands per worker throughput run; InFlight is max_in_flight.
	WorkerCommands int
	InFlight       int
	// Ingress, Worker and Limits choose the scenarios.
	Ingress bool
	Worker  bool
	Limits  bool
	// Attack sizes the resource-limit scenario.
	Attack AttackOptions
	// GOMAXPROCS, when set, is passed to the adapter child process.
	GOMAXPROCS int
	// ProfileDir, when set, receives CPU and heap profiles of the adapter
	// taken during the last ingress level and the last worker throughput run.
	ProfileDir string
}

const benchSecret = "bench-merchant-secret"

// Run executes the scenarios and prints the report to out.
func Run(ctx context.Context, o Options, out io.Writer) error {
	if len(o.Levels) == 0 {
		o.Levels = []int{1, 16, 64}
	}
	dir, err := os.MkdirTemp("", "praxis-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	natsURL := o.NATSURL
	natsWhere := "external"
	if natsURL == "" && o.NATSServerBin != "" {
		url, stop, err := startNATSProcess(ctx, o.NATSServerBin, filepath.Join(dir, "nats"))
		if err != nil {
			return err
		}
		defer stop()
		natsURL, natsWhere = url, "own process ("+o.NATSServerBin+")"
	}
	if natsURL == "" {
		natsWhere = "inside the harness process"
		srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
			StoreDir: filepath.Join(dir, "nats"), NoLog: true, NoSigs: true, MaxPayload: 8 << 20})
		if err != nil {
			return err
		}
		go srv.Start()
		if !srv.ReadyForConnections(10 * time.Second) {
			return fmt.Errorf("embedded NATS did not start")
		}
		defer srv.Shutdown()
		natsURL = srv.ClientURL()
	}
	nc, err := nats.Connect(natsURL, nats.Name("praxis-bench"))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", natsURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return err
	}
	ropts, err := redis.ParseURL(o.RedisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	ropts.PoolSize = 128
	rdb := redis.NewClient(ropts)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w (start it or set REDIS_URL)", ropts.Addr, err)
	}
	run := fmt.Sprintf("bench:%d:", time.Now().UnixNano())
	// Leave Redis as it was: a run writes some 200,000 keys.
	defer testutil.DeleteRedisKeys(o.RedisURL, run)

	fmt.Fprintf(out, "# praxis-adapter benchmark\n\nmachine: %s, %d CPUs, %s; NATS %s (%s); Redis %s\n\n",
		runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), runtime.Version(), natsURL, natsWhere, ropts.Addr)

	if o.Ingress {
		if err := ingressScenario(ctx, o, out, dir, natsURL, js, nc, rdb, run); err != nil {
			return fmt.Errorf("ingress scenario: %w", err)
		}
	}
	if o.Limits {
		if err := attackScenario(ctx, o, out, dir, natsURL, run); err != nil {
			return fmt.Errorf("resource-limit scenario: %w", err)
		}
	}
	if o.Worker {
		if err := workerScenario(ctx, o, out, dir, natsURL, nc, js, run); err != nil {
			return fmt.Errorf("worker scenario: %w", err)
		}
	}
	return nil
}

const appYAML = `
applications:
  - name: sandbox
    merchant_id: Test-Integration-Merchant
    application_key: Sandbox
    secret_env: BENCH_SECRET
    return_url: https://shop.example/return
`

func childEnv(o Options, natsURL, prefix string) []string {
	env := []string{"BENCH_SECRET=" + benchSecret, "NATS_URL=" + natsURL, "REDIS_URL=" + o.RedisURL,
		"PRAXIS_REDIS_PREFIX=" + prefix, "PRAXIS_LOG_LEVEL=info", "PRAXIS_LOG_FORMAT=json", fmt.Sprintf("PRAXIS_PPROF=%t", o.ProfileDir != "")}
	if o.GOMAXPROCS > 0 {
		env = append(env, fmt.Sprintf("GOMAXPROCS=%d", o.GOMAXPROCS))
	}
	return env
}

func writeConfig(dir, name, yaml string) (string, error) {
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, []byte(yaml), 0o600)
}

func ingressScenario(ctx context.Context, o Options, out io.Writer, dir, natsURL string, js jetstream.JetStream, nc *nats.Conn, rdb *redis.Client, run string) error {
	cfgPath, err := writeConfig(dir, "ingress.yaml", "ingress: {listen: \"127.0.0.1:0\"}\nadmin: {listen: \"127.0.0.1:0\"}\n"+appYAML)
	if err != nil {
		return err
	}
	ch, urls, err := startChild(ctx, o.AdapterBin, []string{"ingress", "-config", cfgPath}, childEnv(o, natsURL, run+"ingress:"))
	if err != nil {
		return err
	}
	defer ch.stop()
	addr := hostOf(urls["ingress"])
	rnd := rand.New(rand.NewPCG(7, 11))

	// Warm up connections, pools and the JIT-free but cache-cold paths.
	warm := buildIngressPlan(addr, 1, 2000, 0, 0, benchSecret, rnd)
	if _, err := runIngressLoad(ctx, addr, warm, 16, 30*time.Second); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}

	fmt.Fprintf(out, "## Ingress: signed ~1.5 KB notifications, %.0f%% duplicates, %.0f%% bad signatures\n\n", o.DupShare*100, o.BadShare*100)
	fmt.Fprintln(out, "| connections | requests | req/s | p50 | p90 | p99 | max | adapter CPU/req | answers | stream check | JetStream ceiling | ingress/JS | Redis SET NX ceiling | ingress/Redis |")
	fmt.Fprintln(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|")
	tid := int64(10_000_000)
	envSize := len(notificationBody(1, 1)) + 420
	for _, c := range o.Levels {
		n := o.Requests
		if c == 1 {
			n = o.Requests / 10
		}
		plan := buildIngressPlan(addr, tid, n, o.DupShare, o.BadShare, benchSecret, rnd)
		tid += int64(n)
		before, err := streamCount(ctx, js)
		if err != nil {
			return err
		}
		cpu0, _ := ch.cpu()
		var prof chan error
		if o.ProfileDir != "" && c == o.Levels[len(o.Levels)-1] {
			prof = profile(ctx, urls["admin"], o.ProfileDir, "ingress")
		}
		res, err := runIngressLoad(ctx, addr, plan, c, o.MaxTime)
		if prof != nil {
			if perr := <-prof; perr != nil {
				fmt.Fprintln(os.Stderr, "profile:", perr)
			}
		}
		if err != nil {
			return fmt.Errorf("%d connections: %w", c, err)
		}
		cpu1, _ := ch.cpu()
		after, err := streamCount(ctx, js)
		if err != nil {
			return err
		}
		check := "exact"
		if got := int(after - before); got != plan.uniqueValid || res.wrong > 0 {
			check = fmt.Sprintf("MISMATCH: stored %d, want %d; %d unexpected answers", got, plan.uniqueValid, res.wrong)
		}
		jsRate, err := ceilingJetStream(ctx, nc, c, max(n/2, 1000), envSize)
		if err != nil {
			return fmt.Errorf("JetStream ceiling: %w", err)
		}
		rRate, err := ceilingRedis(ctx, rdb, run+"ceiling:"+fmt.Sprint(c)+":", c, max(n, 1000))
		if err != nil {
			return fmt.Errorf("redis ceiling: %w", err)
		}
		cpuPer := time.Duration(0)
		if res.requests > 0 {
			cpuPer = (cpu1 - cpu0) / time.Duration(res.requests)
		}
		fmt.Fprintf(out, "| %d | %d | %.0f | %s | %s | %s | %s | %s | %s | %s | %.0f | %.2f | %.0f | %.2f |\n",
			c, res.requests, res.rate(), ms(res.pct(50)), ms(res.pct(90)), ms(res.pct(99)), ms(res.pct(100)), us(cpuPer),
			answers(res.byStatus), check, jsRate, res.rate()/jsRate, rRate, res.rate()/rRate)
	}
	rss, _ := ch.peakRSS()
	fmt.Fprintf(out, "\nadapter (ingress) peak RSS: %.1f MiB\n\n", float64(rss)/(1<<20))
	return nil
}

func workerScenario(ctx context.Context, o Options, out io.Writer, dir, natsURL string, nc *nats.Conn, js jetstream.JetStream, run string) error {
	s, err := sim.New(sim.Config{Applications: []sim.Application{{MerchantID: "Test-Integration-Merchant", ApplicationKey: "Sandbox",
		Secrets: []string{benchSecret}}}, ResendDelay: time.Hour, NoNotifications: true}, zerolog.Nop())
	if err != nil {
		return err
	}
	defer s.Close()
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	simSrv := &http.Server{Handler: s.Handler()}
	go func() { _ = simSrv.Serve(simLn) }()
	defer simSrv.Close()
	simURL := "http://" + simLn.Addr().String()
	// Praxis' notifications about the set-up transactions go to a receiver
	// that acknowledges them; this scenario measures commands.
	rcvLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	rcv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"status":0,"description":"Ok","version":"1.3","timestamp":1}`)
	})}
	go func() { _ = rcv.Serve(rcvLn) }()
	defer rcv.Close()
	rcvURL := "http://" + rcvLn.Addr().String()

	cfgPath, err := writeConfig(dir, "worker.yaml", fmt.Sprintf(`
praxis: {base_url: %q, timeout: 10s, simulated: true}
ingress: {public_url: %q}
worker: {listen: "127.0.0.1:0", max_in_flight: %d}
ledger: {disabled: true}
`, simURL, rcvURL, o.InFlight)+appYAML)
	if err != nil {
		return err
	}
	ch, wurls, err := startChild(ctx, o.AdapterBin, []string{"worker", "-config", cfgPath}, childEnv(o, natsURL, run+"worker:"))
	if err != nil {
		return err
	}
	defer ch.stop()

	client, err := praxis.NewClient(praxis.ClientConfig{BaseURL: simURL, Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	cr := praxis.Credentials{MerchantID: "Test-Integration-Merchant", ApplicationKey: "Sandbox", Secrets: []string{benchSecret}}
	paced := 3000
	total := 2*o.WorkerCommands + paced + 200
	fmt.Fprintf(os.Stderr, "setting up %d authorizations in the simulator...\n", total)
	tids, err := authorizations(ctx, s, client, cr, rcvURL, total, run+"auth")
	if err != nil {
		return fmt.Errorf("set-up: %w", err)
	}
	warmTIDs, tids := tids[:200], tids[200:]
	if _, err := runCaptures(ctx, nc, js, warmTIDs, "warm", 0, 0); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}

	fmt.Fprintf(out, "## Worker: authorization.capture commands against the simulator, max_in_flight %d\n\n", o.InFlight)
	fmt.Fprintln(out, "| simulated Praxis latency | commands | publishing | commands/s | bound (in-flight/latency) | share of bound | added latency p50 / p99 (end to end) | added by the adapter p50 / p99 | adapter CPU/command | harness CPU/command | outcomes |")
	fmt.Fprintln(out, "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
	var all []int64
	for i, sc := range []struct {
		lat      time.Duration
		n        int
		interval time.Duration
	}{{0, o.WorkerCommands, 0}, {50 * time.Millisecond, o.WorkerCommands, 0}, {50 * time.Millisecond, paced, time.Millisecond}} {
		batch := tids[:sc.n]
		tids = tids[sc.n:]
		all = append(all, batch...)
		faults := sim.Faults{}
		if sc.lat > 0 {
			faults.Endpoints = map[string]sim.EndpointFaults{praxis.PathManageTransaction: {Latency: sc.lat}}
		}
		if err := s.SetFaults(faults); err != nil {
			return err
		}
		cpu0, _ := ch.cpu()
		self0 := selfCPU()
		var prof chan error
		if o.ProfileDir != "" {
			prof = profile(ctx, wurls["admin"], o.ProfileDir, fmt.Sprintf("worker-%d", i))
		}
		res, err := runCaptures(ctx, nc, js, batch, fmt.Sprintf("w%d", i), sc.interval, sc.lat)
		if err != nil {
			return err
		}
		if prof != nil {
			if perr := <-prof; perr != nil {
				fmt.Fprintln(os.Stderr, "profile:", perr)
			}
		}
		cpu1, _ := ch.cpu()
		res.inFlight = o.InFlight
		publishing := "all at once"
		boundText, share := "-", "-"
		if sc.interval > 0 {
			publishing = fmt.Sprintf("paced, %.0f/s", float64(time.Second)/float64(sc.interval))
		} else if b := res.bound(); b > 0 {
			boundText = fmt.Sprintf("%.0f", b)
			share = fmt.Sprintf("%.0f%%", 100*res.rate()/b)
		}
		self1 := selfCPU()
		fmt.Fprintf(out, "| %s | %d | %s | %.0f | %s | %s | %s / %s | %s / %s | %s | %s | %s |\n", ms(sc.lat), res.commands, publishing, res.rate(),
			boundText, share, ms(res.pct(50)), ms(res.pct(99)), ms(res.ownPct(50)), ms(res.ownPct(99)), us((cpu1-cpu0)/time.Duration(res.commands)),
			us((self1-self0)/time.Duration(res.commands)), answers(res.outcomes))
	}
	dups, missing := duplicateEffects(s, all)
	rss, _ := ch.peakRSS()
	fmt.Fprintf(out, "\nduplicate effects: %d, missing effects: %d (simulator capture counts over %d commands)\nadapter (worker) peak RSS: %.1f MiB\n\n",
		dups, missing, len(all), float64(rss)/(1<<20))
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d.Nanoseconds())/1000) }

func answers(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
