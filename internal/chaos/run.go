package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/ingress"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Options size a run.
type Options struct {
	AdapterBin, NATSServerBin, RedisServerBin string
	// Notifications unique webhooks, DupShare of them sent twice at once.
	Notifications int
	DupShare      float64
	// Commands state-changing commands (cashier sessions), RepublishShare
	// of them published again later.
	Commands       int
	RepublishShare float64
	// ResendDelay models Praxis' resend delay; DuplicateWindow is the
	// stream's. Production: 5m and 15m. A short run keeps their ratio.
	ResendDelay, DuplicateWindow time.Duration
	// Faults to inject, in order (see faultKinds); empty: none.
	Faults []string
	// Concurrency of the webhook sender.
	Concurrency int
	Seed        uint64
	// Keep leaves the run directory (logs, data) in place.
	Keep bool
	// Sentinel runs Redis as a primary, a replica and three sentinels
	// (redis.mode sentinel); the Redis fault then kills the primary.
	Sentinel bool
	// PraxisLatency is how long the simulated Praxis takes to open a
	// cashier session (plus up to as much again at random), so commands are
	// in flight when a worker is killed (issue 13, cause 6).
	PraxisLatency time.Duration
	// WorkerAckWait is the workers' worker.ack_wait (0: the binary's
	// default); a command held by a killed worker is redelivered after it.
	WorkerAckWait time.Duration
	// LegacyConfig omits settings older binaries do not know, to
	// reproduce a reported defect with the code before its fix.
	LegacyConfig bool
}

// FaultKinds are the faults a run can inject.
// ingress-node-pause SIGSTOPs, for 10 s, the node an ingress is connected
// to (one that does not lead the events stream when there is such an
// ingress): issue 13's cause 5.
var FaultKinds = []string{"leader-kill", "follower-kill", "node-pause", "ingress-node-pause", "redis-kill", "ingress-kill", "worker-kill"}

const (
	secret   = "chaos-merchant-secret"
	appName  = "sandbox"
	merchant = "Test-Integration-Merchant"
	appKey   = "Sandbox"
)

type adapterProc struct {
	*proc
	role  string
	addr  string // ingress or admin listen address
	ready string // readyz URL
}

// suite is one running cluster.
type suite struct {
	o Options
	// ts is the signed timestamp of every notification of the run (a
	// resend repeats its body byte for byte), so each event's id is known.
	ts       int64
	dir      string
	nodes    []*natsNode
	redis    *redisProc
	sentinel *sentinelSet
	sim      *proc
	simURL   string
	ingress  []*adapterProc
	workers  []*adapterProc
	nc       *nats.Conn
	js       jetstream.JetStream
	natsURLs string
	out      io.Writer
	start    time.Time
	causes   *causeLog
	// probeTID is the last tid a probe used (after the load's tids);
	// probes is the probes still running.
	probeTID atomic.Int64
	probes   sync.WaitGroup
}

// Run starts the cluster, drives the load with the faults, checks, and
// prints the report to out. It returns an error when a check fails.
func Run(ctx context.Context, o Options, out io.Writer) error {
	dir, err := os.MkdirTemp("", "praxis-chaos-")
	if err != nil {
		return err
	}
	s := &suite{o: o, dir: dir, out: out, start: time.Now(), causes: newCauseLog()}
	defer s.stopAll()
	if !o.Keep {
		defer os.RemoveAll(dir)
	}
	fmt.Fprintf(out, "# praxis-adapter chaos run\n\nmachine: %s/%s, %d CPUs, %s; run dir %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), dir)
	fmt.Fprintf(out, "load: %d notifications (%.0f%% sent twice at once), %d cashier.session commands (%.0f%% re-published, Praxis answering in %v-%v); resend delay %v, duplicate window %v; faults %v\n\n",
		o.Notifications, o.DupShare*100, o.Commands, o.RepublishShare*100, o.PraxisLatency, 2*o.PraxisLatency, o.ResendDelay, o.DuplicateWindow, o.Faults)
	if err := s.up(ctx); err != nil {
		return err
	}
	return s.drive(ctx)
}

func (s *suite) stopAll() {
	for _, a := range append(append([]*adapterProc{}, s.ingress...), s.workers...) {
		a.signal(syscall.SIGTERM)
	}
	time.Sleep(500 * time.Millisecond)
	for _, a := range append(append([]*adapterProc{}, s.ingress...), s.workers...) {
		a.kill()
	}
	if s.sim != nil {
		s.sim.kill()
	}
	if s.nc != nil {
		s.nc.Close()
	}
	for _, n := range s.nodes {
		n.kill()
	}
	if s.sentinel != nil {
		s.sentinel.kill()
	}
	if s.redis != nil {
		s.redis.kill()
	}
}

func (s *suite) up(ctx context.Context) error {
	var err error
	if s.nodes, err = startNATSCluster(s.dir, s.o.NATSServerBin); err != nil {
		return err
	}
	var urls []string
	for _, n := range s.nodes {
		urls = append(urls, n.url())
	}
	s.natsURLs = strings.Join(urls, ",")
	redisEnv := []string{}
	if s.o.Sentinel {
		if s.sentinel, err = startSentinel(s.dir, s.o.RedisServerBin); err != nil {
			return err
		}
		redisEnv = append(redisEnv, "REDIS_URL="+s.sentinel.url(), "REDIS_MODE=sentinel")
	} else {
		if s.redis, err = startRedis(s.dir, s.o.RedisServerBin); err != nil {
			return err
		}
		redisEnv = append(redisEnv, "REDIS_URL="+s.redis.url())
	}
	if s.nc, err = nats.Connect(s.natsURLs, nats.Name("praxis-chaos"), nats.MaxReconnects(-1), nats.PingInterval(2*time.Second),
		nats.MaxPingsOutstanding(2), nats.ReconnectWait(100*time.Millisecond)); err != nil {
		return err
	}
	if s.js, err = jetstream.New(s.nc); err != nil {
		return err
	}
	simPort, err := freePort()
	if err != nil {
		return err
	}
	s.simURL = fmt.Sprintf("http://127.0.0.1:%d", simPort)
	s.sim = &proc{name: "sim", bin: s.o.AdapterBin, log: filepath.Join(s.dir, "sim.log"), env: []string{"PRAXIS_SIM_SECRET=" + secret},
		args: []string{"sim", "-listen", fmt.Sprintf("127.0.0.1:%d", simPort), "-resend-delay", s.o.ResendDelay.String()}}
	if err := s.sim.start(); err != nil {
		return err
	}
	resend := fmt.Sprintf("resend_delay: %s, ", s.o.ResendDelay)
	trust := ", trust_signature: true"
	// Praxis' timeout short, so a slow call does not hold a run up; the
	// worker's claim TTL is each binary's default (this code: 10 s,
	// renewed; before claim renewal: praxis.timeout + 30 s), as issue 13's
	// cause 6 is about that default.
	tuning := "praxis: {timeout: 5s}\n"
	if s.o.WorkerAckWait > 0 {
		tuning += fmt.Sprintf("worker: {ack_wait: %s}\n", s.o.WorkerAckWait)
	}
	if s.o.LegacyConfig {
		// A binary from before the settings existed; its defaults
		// (praxis.timeout 30s, so worker.claim_ttl 60s), as reported.
		resend, trust, tuning = "", "", ""
	}
	cfg := filepath.Join(s.dir, "config.yaml")
	y := fmt.Sprintf(`log_level: info
nats:
  streams: {replicas: 3, duplicate_window: %s}
ingress: {%sclaim_ttl: 10s, public_url: "https://adapter.example"}
%sapplications:
  # trust_signature: the load's notifications carry tids the simulator never
  # made, so Praxis' lookup could not confirm them; this suite checks
  # delivery (nothing lost, nothing stored or booked twice), not confirmation.
  - {name: %s, merchant_id: %s, application_key: %s, secret_env: CHAOS_SECRET, return_url: "https://shop.example/return"%s}
`, s.o.DuplicateWindow, resend, tuning, appName, merchant, appKey, trust)
	if err := os.WriteFile(cfg, []byte(y), 0o640); err != nil {
		return err
	}
	for i := 0; i < 2; i++ {
		for _, role := range []string{"ingress", "worker"} {
			port, err := freePort()
			if err != nil {
				return err
			}
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			// The worker's probes are on its admin listener; an ingress
			// answers /readyz on its webhook port and gets an admin port of
			// its own (two ingresses cannot share the default one).
			admin := addr
			if role == "ingress" {
				aport, err := freePort()
				if err != nil {
					return err
				}
				admin = fmt.Sprintf("127.0.0.1:%d", aport)
			}
			env := append([]string{"CHAOS_SECRET=" + secret, "NATS_URL=" + s.natsURLs,
				"PRAXIS_BASE_URL=" + s.simURL, "PRAXIS_SIMULATED=true", "PRAXIS_ADMIN_LISTEN=" + admin}, redisEnv...)
			if role == "ingress" {
				env = append(env, "PRAXIS_INGRESS_LISTEN="+addr)
			} else if s.o.LegacyConfig {
				env = append(env, "PRAXIS_WORKER_LISTEN="+addr) // before the admin listener
			}
			a := &adapterProc{role: role, addr: addr, ready: "http://" + addr + "/readyz",
				proc: &proc{name: fmt.Sprintf("%s-%d", role, i+1), bin: s.o.AdapterBin, env: env,
					log: filepath.Join(s.dir, fmt.Sprintf("%s-%d.log", role, i+1)), args: []string{role, "-config", cfg}}}
			if role == "ingress" {
				s.ingress = append(s.ingress, a)
			} else {
				s.workers = append(s.workers, a)
			}
		}
	}
	// One ingress first: it creates the streams, so the others do not race
	// it on a fresh cluster.
	all := append(append([]*adapterProc{}, s.ingress...), s.workers...)
	for i, a := range all {
		if err := a.start(); err != nil {
			return err
		}
		if i == 0 {
			wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			err := waitFor(wctx, func(ctx context.Context) error { return httpOK(ctx, a.ready) })
			cancel()
			if err != nil {
				return fmt.Errorf("%s not ready: %w (log %s)", a.name, err, a.log)
			}
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, a := range all {
		if err := waitFor(wctx, func(ctx context.Context) error { return httpOK(ctx, a.ready) }); err != nil {
			return fmt.Errorf("%s not ready: %w (log %s)", a.name, err, a.log)
		}
	}
	if err := waitFor(wctx, func(ctx context.Context) error { return httpOK(ctx, s.simURL+"/sim/state") }); err != nil {
		return err
	}
	return s.slowPraxis(ctx)
}

// slowPraxis sets the simulator's cashier latency (Options.PraxisLatency).
func (s *suite) slowPraxis(ctx context.Context) error {
	if s.o.PraxisLatency <= 0 {
		return nil
	}
	ms := s.o.PraxisLatency.Milliseconds()
	body := fmt.Sprintf(`{"endpoints":{%q:{"latency_ms":%d,"jitter_ms":%d}}}`, praxis.PathCashier, ms, ms)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.simURL+"/sim/faults", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("set the simulator's latency: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("set the simulator's latency: HTTP %d", resp.StatusCode)
	}
	return nil
}

// sessionAnswerLost: a cashier session's result saying the session was
// opened but Praxis' answer was lost (the worker died during the call), so
// its redirect_url is unknown. The truthful result of a command in flight
// on a killed worker; binaries before reason_code say it in the reason.
func sessionAnswerLost(outcome string) bool {
	_, body, _ := strings.Cut(outcome, " ")
	var r struct {
		Outcome    string `json:"outcome"`
		ReasonCode string `json:"reason_code"`
		Reason     string `json:"reason"`
	}
	return json.Unmarshal([]byte(body), &r) == nil && r.Outcome == "failed" &&
		(r.ReasonCode == "session_answer_lost" || strings.Contains(r.Reason, "Praxis' answer was lost"))
}

// postNotification delivers one signed webhook to the ingress at addr; ok
// when it answered status 0. err is the transport's error.
func postNotification(ctx context.Context, client *http.Client, addr string, body []byte, sig string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/praxis/notification", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", praxis.ContentType)
	req.Header.Set(praxis.HeaderSignature, sig)
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	var rep struct {
		Status int `json:"status"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&rep)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK && rep.Status == 0, nil
}

// notification is a ~1.5 KB approved deposit.
func notificationBody(tid int64, ts int64) []byte {
	return fmt.Appendf(nil, `{"merchant_id":%q,"application_key":%q,"conversion_rate":"1.000000",`+
		`"customer":{"customer_token":"87cfb23a8f1e68e162c276b754d9c061","country":"GB","first_name":"John","last_name":"Johnson","avs_alert":0,"verification_alert":null},`+
		`"session":{"auth_token":"8a7sd87a8sd778ac961062c6bedddb8","intent":"payment","session_status":"successful","order_id":"chaos-%d","currency":"EUR","amount":2500,`+
		`"conversion_rate":"1.000000","processed_currency":"EUR","processed_amount":2500,"payment_method":"Credit Card","gateway":"gw","cid":"cust-%d",`+
		`"variable1":null,"variable2":null,"variable3":null},`+
		`"transaction":{"transaction_type":"sale","transaction_status":"approved","tid":%d,"transaction_id":"psp-%d","currency":"EUR","amount":2500,"conversion_rate":"1.000000",`+
		`"processed_currency":"EUR","processed_amount":2500,"fee":25,"payment_method":"Credit Card","payment_processor":"WireCard8",`+
		`"gateway":"gw","card":null,"wallet":null,"status_code":"00","status_details":null},"version":"1.3","timestamp":%d}`,
		merchant, appKey, tid, tid%997, tid, tid, ts)
}

// eventID is the CloudEvents id (= Nats-Msg-Id = dedup key) the ingress
// gives tid's notification.
func (s *suite) eventID(tid int64) string {
	if s.o.LegacyConfig { // binaries before the body digest keyed on the unsigned parts
		return fmt.Sprintf("%s:t:%d:approved:2500:2500:EUR", appName, tid)
	}
	return ingress.NotificationKey(appName, tid, "approved", notificationBody(tid, s.ts))
}

// ledger of what the simulated Praxis saw.
type webhookLog struct {
	mu       sync.Mutex
	answered map[int64]time.Time // first status 0
	failed   map[int64]int       // -1 or transport errors
	failedAt map[int64][]time.Time
}

type faultRecord struct {
	kind      string
	component string
	ingress   int // ingress-node-pause: the index of the ingress on the paused node; else -1
	at        time.Time
	recovered time.Duration
}

func (s *suite) drive(ctx context.Context) error {
	o := s.o
	rnd := rand.New(rand.NewPCG(o.Seed, 2))
	lists := praxis.DefaultLists().Get(praxis.ListNotificationRequest)
	ts := time.Now().Unix()
	s.ts = ts
	firstTID := int64(time.Now().Unix()%100000) * 100000
	s.probeTID.Store(firstTID + int64(o.Notifications) + 1000)
	wl := &webhookLog{answered: map[int64]time.Time{}, failed: map[int64]int{}, failedAt: map[int64][]time.Time{}}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var rr atomic.Uint64

	type job struct {
		tid  int64
		body []byte
		sig  string
	}
	send := func(j job) bool {
		for try := 0; try < 2; try++ { // the load balancer tries another ingress on a refused connection
			idx := int(rr.Add(1)) % len(s.ingress)
			sent := time.Now()
			ok, err := postNotification(ctx, client, s.ingress[idx].addr, j.body, j.sig)
			if err != nil {
				if errors.Is(err, syscall.ECONNREFUSED) {
					continue // nobody listens: the balancer picks the other ingress
				}
				s.causes.addAnswer(answer{ingress: idx, sent: sent, at: time.Now()})
				break // the request died in flight (502): Praxis resends later
			}
			s.causes.addAnswer(answer{ingress: idx, sent: sent, at: time.Now(), ok: ok})
			if ok {
				wl.mu.Lock()
				if _, ok := wl.answered[j.tid]; !ok {
					wl.answered[j.tid] = time.Now()
				}
				wl.mu.Unlock()
				return true
			}
			break
		}
		wl.mu.Lock()
		wl.failed[j.tid]++
		wl.failedAt[j.tid] = append(wl.failedAt[j.tid], time.Now())
		wl.mu.Unlock()
		return false
	}

	// Praxis-like delivery: a webhook not answered 0 is resent after the
	// resend delay, until it is (bounded by the run's end).
	var pending sync.WaitGroup
	resendDeadline := time.Now().Add(30*time.Minute + 20*o.ResendDelay)
	deliver := func(j job) {
		defer pending.Done()
		for !send(j) {
			if time.Now().After(resendDeadline) || ctx.Err() != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(o.ResendDelay):
			}
		}
	}

	jobs := make(chan job, 1024)
	var senders sync.WaitGroup
	for i := 0; i < o.Concurrency; i++ {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for j := range jobs {
				pending.Add(1)
				deliver(j)
			}
		}()
	}

	// Commands: cashier sessions, some re-published later.
	cmdIDs := make([]string, o.Commands)
	var cmdWG sync.WaitGroup
	publishCmd := func(i int) {
		id := cmdIDs[i]
		body := fmt.Appendf(nil, `{"id":%q,"intent":"payment","currency":"EUR","amount":2500,"cid":"cust-%d","order_id":"order-%s","customer_data":{"country":"GB","first_name":"Jane","last_name":"Doe","email":"jane@example.com"}}`, id, i, id)
		for ctx.Err() == nil {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := s.js.Publish(pctx, subjects.Command(appName, "cashier.session"), body)
			cancel()
			if err == nil {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	for i := range cmdIDs {
		cmdIDs[i] = fmt.Sprintf("chaos-%d-%d", firstTID, i)
	}

	sub, err := s.watchDeliveries()
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	sctx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	go s.sampleFetchErrors(sctx)

	// Faults at random moments of the load.
	loadTime := time.Duration(float64(o.Notifications)/150*float64(time.Second)) + 10*time.Second
	faultCh := make(chan []faultRecord, 1)
	go func() { faultCh <- s.injectFaults(ctx, rnd, loadTime, wl) }()

	startLoad := time.Now()
	perCmd := max(1, o.Notifications/max(1, o.Commands))
	var republish []int
	c := 0
	for i := 0; i < o.Notifications; i++ {
		tid := firstTID + int64(i)
		body := notificationBody(tid, ts)
		sig, _ := lists.Sign(body, secret)
		j := job{tid: tid, body: body, sig: sig.String()}
		jobs <- j
		if rnd.Float64() < o.DupShare {
			jobs <- j // a concurrent duplicate
		}
		if i%perCmd == 0 && c < o.Commands {
			cmdWG.Add(1)
			go func(c int) { defer cmdWG.Done(); publishCmd(c) }(c)
			if rnd.Float64() < o.RepublishShare {
				republish = append(republish, c)
			}
			c++
		}
		// Pace the load so the faults fall inside it.
		if want := time.Duration(float64(i) / 150 * float64(time.Second)); time.Since(startLoad) < want {
			time.Sleep(want - time.Since(startLoad))
		}
	}
	for ; c < o.Commands; c++ {
		cmdWG.Add(1)
		go func(c int) { defer cmdWG.Done(); publishCmd(c) }(c)
	}
	close(jobs)
	senders.Wait()
	for _, i := range republish {
		cmdWG.Add(1)
		go func(i int) { defer cmdWG.Done(); publishCmd(i) }(i)
	}
	cmdWG.Wait()
	faults := <-faultCh
	s.probes.Wait()
	pending.Wait()
	loadElapsed := time.Since(startLoad)

	// Let the workers finish, then read everything back.
	results, err := s.waitResults(ctx, cmdIDs, 3*time.Minute)
	if err != nil {
		return err
	}
	events, err := s.readEvents(ctx)
	if err != nil {
		return err
	}
	sessions, err := s.simSessions(ctx)
	if err != nil {
		return err
	}
	notDone, err := s.keysNotDone(ctx, wl)
	if err != nil {
		return err
	}
	credits, err := s.waitCredits(ctx, wl.answered, 2*time.Minute)
	if err != nil {
		return err
	}
	return s.report(o, wl, events, results, sessions, cmdIDs, faults, firstTID, loadElapsed, notDone, credits)
}

// injectFaults runs each configured fault at a random moment of the load
// and measures how long the component took to be ready again.
func (s *suite) injectFaults(ctx context.Context, rnd *rand.Rand, loadTime time.Duration, wl *webhookLog) []faultRecord {
	var out []faultRecord
	if len(s.o.Faults) == 0 {
		return out
	}
	slot := loadTime / time.Duration(len(s.o.Faults)+1)
	for i, kind := range s.o.Faults {
		at := time.Duration(i)*slot + time.Duration(rnd.Float64()*float64(slot)*0.5) + slot/2
		if wait := at - time.Since(s.start); wait > 0 {
			select {
			case <-ctx.Done():
				return out
			case <-time.After(wait):
			}
		}
		f := faultRecord{kind: kind, at: time.Now(), ingress: -1}
		var ready func(context.Context) error
		switch kind {
		case "leader-kill", "follower-kill", "node-pause":
			n := s.pickNode(ctx, kind != "follower-kill")
			f.component = "nats " + n.serverName
			if kind == "leader-kill" {
				if err := s.ledgerConsumerTo(ctx, n); err != nil {
					fmt.Fprintf(s.out, "leader-kill: the ledger's consumer stays off %s: %v\n", n.serverName, err)
				} else {
					f.component += " (+ ledger consumer)"
				}
				f.at = time.Now()
			}
			if kind == "node-pause" {
				n.signal(syscall.SIGSTOP)
				time.Sleep(10 * time.Second)
				n.signal(syscall.SIGCONT)
			} else {
				n.kill()
				time.Sleep(2 * time.Second)
				_ = n.start()
			}
			ready = n.healthy
		case "ingress-node-pause":
			i, n, err := s.pickIngressNode(ctx, rnd)
			if err != nil {
				fmt.Fprintf(s.out, "fault %s skipped: %v\n", kind, err)
				continue
			}
			f.ingress = i
			f.component = fmt.Sprintf("nats %s (%s's)", n.serverName, s.ingress[i].name)
			if n == s.pickNode(ctx, true) {
				f.component += ", leader"
			}
			f.at = time.Now()
			s.probes.Add(1)
			go func() { defer s.probes.Done(); s.probe(ctx, i, probeTime) }()
			n.signal(syscall.SIGSTOP)
			time.Sleep(10 * time.Second)
			n.signal(syscall.SIGCONT)
			ready = n.healthy
		case "redis-kill":
			if s.sentinel != nil {
				// Kill the current primary: the sentinels promote the
				// replica; the old primary comes back from its AOF as a
				// replica of the new one.
				primary := s.sentinelPrimary(ctx)
				f.component = "redis primary " + primary.name
				primary.kill()
				// The adapter recovers once the sentinels promoted the
				// replica; the old primary is restarted after that.
				for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && s.sentinelPrimary(ctx) == primary; {
					time.Sleep(200 * time.Millisecond)
				}
				rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
				_ = waitFor(rctx, func(ctx context.Context) error { return httpOK(ctx, s.ingress[0].ready) })
				cancel()
				f.recovered = time.Since(f.at)
				_ = primary.start()
			} else {
				f.component = "redis"
				s.redis.kill()
				time.Sleep(2 * time.Second)
				_ = s.redis.start()
			}
			ready = func(ctx context.Context) error { return httpOK(ctx, s.ingress[0].ready) }
		case "ingress-kill", "worker-kill":
			list := s.ingress
			if kind == "worker-kill" {
				list = s.workers
			}
			a := list[rnd.IntN(len(list))]
			f.component = a.name
			a.kill()
			_ = a.start()
			ready = func(ctx context.Context) error { return httpOK(ctx, a.ready) }
		default:
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		_ = waitFor(rctx, ready)
		cancel()
		if f.recovered == 0 {
			f.recovered = time.Since(f.at)
		}
		fmt.Fprintf(s.out, "fault %-13s on %-9s at +%5.1fs: ready again after %.1fs\n", kind, f.component, f.at.Sub(s.start).Seconds(), f.recovered.Seconds())
		out = append(out, f)
	}
	return out
}

// pickNode returns the events stream's leader, or a node that is not.
func (s *suite) pickNode(ctx context.Context, leader bool) *natsNode {
	name := ""
	if st, err := s.js.Stream(ctx, subjects.StreamEvents); err == nil {
		if info, err := st.Info(ctx); err == nil && info.Cluster != nil {
			name = info.Cluster.Leader
		}
	}
	for _, n := range s.nodes {
		if (n.serverName == name) == leader {
			return n
		}
	}
	return s.nodes[0]
}

type result struct {
	final    int // results not marked replayed
	replayed int
	outcomes []string
	first    time.Time // when the first result was stored
}

// waitResults reads PRAXIS_RESULTS until every command has a result or
// the deadline passes.
func (s *suite) waitResults(ctx context.Context, ids []string, total time.Duration) (map[string]*result, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	deadline := time.Now().Add(total)
	for {
		res := map[string]*result{}
		err := s.scan(ctx, subjects.StreamResults, func(m jetstream.Msg) {
			var r struct {
				ID       string `json:"id"`
				Outcome  string `json:"outcome"`
				Replayed bool   `json:"replayed"`
			}
			if json.Unmarshal(m.Data(), &r) != nil || !want[r.ID] {
				return
			}
			x := res[r.ID]
			if x == nil {
				x = &result{}
				res[r.ID] = x
			}
			if md, err := m.Metadata(); err == nil && (x.first.IsZero() || md.Timestamp.Before(x.first)) {
				x.first = md.Timestamp
			}
			if r.Replayed {
				x.replayed++
			} else {
				x.final++
				x.outcomes = append(x.outcomes, r.Outcome+" "+string(m.Data()))
			}
		})
		if err != nil {
			return nil, err
		}
		missing := 0
		for id := range want {
			if res[id] == nil {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			return res, nil
		}
		time.Sleep(2 * time.Second)
	}
}

// readEvents counts the stored events per CloudEvents id.
func (s *suite) readEvents(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := s.scan(ctx, subjects.StreamEvents, func(m jetstream.Msg) { out[m.Headers().Get("Nats-Msg-Id")]++ })
	return out, err
}

// scan reads a whole stream with an ordered consumer, starting over while
// the cluster is still settling after the last fault (up to a minute).
func (s *suite) scan(ctx context.Context, stream string, f func(jetstream.Msg)) error {
	deadline := time.Now().Add(time.Minute)
	for {
		var msgs []jetstream.Msg
		err := s.scanOnce(ctx, stream, func(m jetstream.Msg) { msgs = append(msgs, m) })
		if err == nil {
			for _, m := range msgs {
				f(m)
			}
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("read stream %s: %w", stream, err)
		}
		time.Sleep(time.Second)
	}
}

func (s *suite) scanOnce(ctx context.Context, stream string, f func(jetstream.Msg)) error {
	st, err := s.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return err
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 {
		return nil
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return err
	}
	for {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			f(m)
			md, _ := m.Metadata()
			if md != nil && md.Sequence.Stream >= last {
				return nil
			}
		}
		if batch.Error() != nil && !errors.Is(batch.Error(), nats.ErrTimeout) {
			return batch.Error()
		}
		if n == 0 {
			return fmt.Errorf("scan %s: stopped before sequence %d", stream, last)
		}
	}
}

// sentinelPrimary is the data node the sentinels currently name primary.
func (s *suite) sentinelPrimary(ctx context.Context) *redisProc {
	sc := redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.sentinel.ports[0])})
	defer sc.Close()
	if addr, err := sc.GetMasterAddrByName(ctx, sentinelMaster).Result(); err == nil && len(addr) == 2 {
		for _, r := range s.sentinel.data {
			if fmt.Sprint(r.port) == addr[1] {
				return r
			}
		}
	}
	return s.sentinel.data[0]
}

// waitCredits reads PRAXIS_LEDGER until it holds a deposit.credited
// instruction for every wanted deposit (the probes' deposits do not
// count), or the deadline passes, and returns the instructions per tid.
func (s *suite) waitCredits(ctx context.Context, want map[int64]time.Time, total time.Duration) (map[int64]int, error) {
	deadline := time.Now().Add(total)
	for {
		credits := map[int64]int{}
		err := s.scan(ctx, subjects.StreamLedger, func(m jetstream.Msg) {
			var in struct {
				Kind string `json:"kind"`
				TID  int64  `json:"tid"`
			}
			if json.Unmarshal(m.Data(), &in) == nil && in.Kind == "deposit.credited" {
				credits[in.TID]++
			}
		})
		if err != nil {
			return nil, err
		}
		have := 0
		for tid := range want {
			if credits[tid] > 0 {
				have++
			}
		}
		if have >= len(want) || time.Now().After(deadline) {
			return credits, nil
		}
		time.Sleep(2 * time.Second)
	}
}

// keysNotDone counts notifications answered 0 whose dedup key in Redis is
// not marked done (issue 13, cause 3): their resends would be published
// again, protected by the duplicate window only.
func (s *suite) keysNotDone(ctx context.Context, wl *webhookLog) (int, error) {
	var rdb redis.UniversalClient
	if s.sentinel != nil {
		rdb = redis.NewFailoverClient(&redis.FailoverOptions{MasterName: sentinelMaster, SentinelAddrs: []string{
			fmt.Sprintf("127.0.0.1:%d", s.sentinel.ports[0]), fmt.Sprintf("127.0.0.1:%d", s.sentinel.ports[1])}})
	} else {
		rdb = redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.redis.port)})
	}
	defer rdb.Close()
	var tids []int64
	for tid := range wl.answered {
		tids = append(tids, tid)
	}
	n := 0
	for i := 0; i < len(tids); i += 500 {
		keys := make([]string, 0, 500)
		for _, tid := range tids[i:min(i+500, len(tids))] {
			keys = append(keys, "praxis:idem:"+s.eventID(tid))
		}
		vals, err := rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return 0, fmt.Errorf("read dedup keys: %w", err)
		}
		for _, v := range vals {
			if str, ok := v.(string); !ok || !strings.HasPrefix(str, "d") {
				n++
			}
		}
	}
	return n, nil
}

// simSessions counts the simulator's sessions per order id (one per
// cashier.session effect).
func (s *suite) simSessions(ctx context.Context) (map[string]int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.simURL+"/sim/state", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var st struct {
		Applications []struct {
			Sessions []struct {
				OrderID string `json:"order_id"`
			} `json:"sessions"`
		} `json:"applications"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, a := range st.Applications {
		for _, se := range a.Sessions {
			out[se.OrderID]++
		}
	}
	return out, nil
}

func (s *suite) report(o Options, wl *webhookLog, events map[string]int, results map[string]*result, sessions map[string]int,
	cmdIDs []string, faults []faultRecord, firstTID int64, loadElapsed time.Duration, notDone int, credits map[int64]int) error {
	var failures []string
	lost, unanswered, twice, twiceAfterMinus1, minus1 := 0, 0, 0, 0, 0
	for i := 0; i < o.Notifications; i++ {
		tid := firstTID + int64(i)
		id := s.eventID(tid)
		_, ok := wl.answered[tid]
		if ok && events[id] == 0 {
			lost++
		}
		if !ok {
			unanswered++
		}
		if wl.failed[tid] > 0 {
			minus1 += wl.failed[tid]
		}
		if events[id] > 1 {
			twice++
			if wl.failed[tid] > 0 {
				twiceAfterMinus1++
			}
		}
	}
	effects, finals, missingResults, notOK, oneEffect, onlyReplayed, answerLost := 0, 0, 0, 0, 0, 0, 0
	workerKilled := false
	for _, f := range faults {
		workerKilled = workerKilled || f.kind == "worker-kill"
	}
	missingCredits, doubleCredits := 0, 0
	for tid := range wl.answered {
		switch n := credits[tid]; {
		case n == 0:
			missingCredits++
		case n > 1:
			doubleCredits++
		}
	}
	for _, id := range cmdIDs {
		switch n := sessions["order-"+id]; {
		case n > 1:
			effects++
		case n == 1:
			oneEffect++
		}
		r := results[id]
		switch {
		case r == nil:
			missingResults++
		case r.final == 0:
			// The first result's publish failed after the command was
			// done: the redelivery answered from the stored result.
			onlyReplayed++
		case workerKilled && sessionAnswerLost(r.outcomes[0]):
			answerLost++
		case !strings.HasPrefix(r.outcomes[0], "ok "):
			notOK++
			if notOK <= 3 {
				fmt.Fprintf(s.out, "command %s: %.300s\n", id, r.outcomes[0])
			}
		case r.final > 1:
			finals++
			if finals <= 3 {
				fmt.Fprintf(s.out, "command %s has %d final results: %q\n", id, r.final, r.outcomes)
			}
		}
	}
	w := s.out
	fmt.Fprintf(w, "\nload sent in %.1fs\n\n", loadElapsed.Seconds())
	fmt.Fprintf(w, "| check | value | must be |\n|---|---|---|\n")
	fmt.Fprintf(w, "| notifications answered 0 and missing from the stream | %d | 0 |\n", lost)
	fmt.Fprintf(w, "| notifications never answered 0 (after resends) | %d | 0 |\n", unanswered)
	quietMust := "—"
	if len(faults) == 0 {
		quietMust = "0 (no fault)"
	}
	fmt.Fprintf(w, "| webhook answers -1 or unreachable (each resent) | %d | %s |\n", minus1, quietMust)
	fmt.Fprintf(w, "| answered 0 but dedup key not marked done in Redis | %d | 0 |\n", notDone)
	fmt.Fprintf(w, "| events stored twice | %d (%d of them after a -1 answer: a PubAck lost while the server stored it, resent past the window) | 0 |\n", twice, twiceAfterMinus1)
	fmt.Fprintf(w, "| acknowledged deposits without a ledger credit | %d | 0 |\n", missingCredits)
	fmt.Fprintf(w, "| deposits with more than one ledger credit | %d | 0 |\n", doubleCredits)
	fmt.Fprintf(w, "| commands with exactly one Praxis effect | %d | %d |\n", oneEffect, len(cmdIDs))
	fmt.Fprintf(w, "| commands with more than one Praxis effect | %d | 0 |\n", effects)
	fmt.Fprintf(w, "| commands with more than one final result | %d | 0 |\n", finals)
	fmt.Fprintf(w, "| commands without any result | %d | 0 |\n", missingResults)
	fmt.Fprintf(w, "| commands whose only result is a replay of the stored one (first result's publish failed) | %d | — |\n", onlyReplayed)
	fmt.Fprintf(w, "| commands failed as session_answer_lost: the call was in flight on a killed worker (the session exists, its redirect_url is unknown) | %d | only after a worker kill |\n", answerLost)
	fmt.Fprintf(w, "| commands whose result is not ok (other) | %d | 0 |\n", notOK)
	if len(faults) > 0 {
		firstResult := map[string]time.Time{}
		for id, r := range results {
			firstResult[id] = r.first
		}
		fmt.Fprintf(w, "\n| fault | component | at | ready again after | webhooks -1 until the next fault (≤ 30 s) "+
			"| the paused node's ingress (cause 5) | ledger fetch warnings, peak and total (cause 4) "+
			"| commands in flight on the killed worker: kill to result (cause 6) |\n|---|---|---|---|---|---|---|---|\n")
		for i, f := range faults {
			end := f.at.Add(30 * time.Second)
			if i+1 < len(faults) && faults[i+1].at.Before(end) {
				end = faults[i+1].at
			}
			n := 0
			for _, ts := range wl.failedAt {
				for _, t := range ts {
					if !t.Before(f.at) && t.Before(end) {
						n++
					}
				}
			}
			c := s.figures(f, end, firstResult)
			fmt.Fprintf(w, "| %s | %s | +%.1fs | %.1fs | %d | %s | %s | %s |\n", f.kind, f.component, f.at.Sub(s.start).Seconds(), f.recovered.Seconds(), n,
				c.ingress, c.ledger, c.inFlight)
		}
	}
	if twice > 0 {
		var ids []string
		for id, n := range events {
			if n > 1 {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		fmt.Fprintf(w, "\nstored twice (first 10): %v\n", ids[:min(10, len(ids))])
	}
	for name, v := range map[string]int{"lost": lost, "unanswered": unanswered, "stored twice": twice, "double effects": effects,
		"double results": finals, "missing results": missingResults, "results not ok": notOK, "keys not done": notDone,
		"missing ledger credits": missingCredits, "double ledger credits": doubleCredits} {
		if v > 0 {
			failures = append(failures, fmt.Sprintf("%s: %d", name, v))
		}
	}
	if len(faults) == 0 && minus1 > 0 {
		failures = append(failures, fmt.Sprintf("-1 answers without any fault: %d", minus1))
	}
	if len(failures) > 0 {
		sort.Strings(failures)
		return fmt.Errorf("chaos checks failed: %s (logs in %s with -keep)", strings.Join(failures, ", "), s.dir)
	}
	fmt.Fprintln(w, "\nall checks passed")
	return nil
}
