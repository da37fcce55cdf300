// Package runtime wires the configuration into running roles: the NATS
// connection (or an embedded server), the idempotency store (Redis, or a
// JetStream KV bucket in single-process mode), the streams, the ingress HTTP
// server, the worker, the ledger, and the simulator when no Praxis is
// configured. It owns the order of shutdown: readiness false → stop
// accepting → finish in-flight work → drain NATS → exit.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/adapter/console"
	"github.com/praxis-adapter/praxis-adapter/adapter/frontend"
	"github.com/praxis-adapter/praxis-adapter/adapter/ledger"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/processor"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	"github.com/praxis-adapter/praxis-adapter/adapter/telemetry"
	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/ingress"
	"github.com/praxis-adapter/praxis-adapter/internal/buildinfo"
	"github.com/praxis-adapter/praxis-adapter/internal/httplimit"
	"github.com/praxis-adapter/praxis-adapter/internal/redact"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Roles says what this process runs.
type Roles struct {
	Ingress bool
	Worker  bool
	// Simulator runs the built-in Praxis simulator and points the worker at
	// it; only sensible when praxis.base_url is empty.
	Simulator bool
	// RebillySimulator runs the built-in Rebilly simulator for the
	// applications whose provider is rebilly; only sensible when
	// rebilly.base_url is empty.
	RebillySimulator bool
}

// DemoSecret is the public test secret of Praxis' documentation, used for
// applications without a secret when the simulator stands in for Praxis.
const DemoSecret = config.DemoSecret

// Runtime is a started process: every component, ready to serve.
type Runtime struct {
	cfg   *config.Config
	roles Roles
	log   zerolog.Logger
	reg   *prometheus.Registry

	embedded *server.Server
	ingNC    *nats.Conn
	wrkNC    *nats.Conn
	js       jetstream.JetStream
	store    Store
	rdb      redis.UniversalClient

	sim     *sim.Simulator
	simHTTP *http.Server
	simURL  string
	rebSim  *rebillySim

	rules    *frontend.SessionRules
	ing      *ingress.Server
	ingHTTP  *http.Server
	ingURL   string
	wrk      *worker.Worker
	rebWrk   *worker.Worker
	console  *console.Console
	admin    *http.Server
	adminURL string
	httpm    *httplimit.Metrics

	tracing     trace.TracerProvider
	stopTracing func(context.Context) error

	background sync.WaitGroup
	bgCancel   context.CancelFunc
	errs       chan error
}

// Store is what the roles need of the idempotency backend.
type Store interface {
	idempotency.Store
	idempotency.Records
}

// Start builds and starts every component of roles. On error, whatever was
// started is stopped again.
func Start(ctx context.Context, cfg *config.Config, roles Roles, log zerolog.Logger) (rt *Runtime, err error) {
	if !roles.Simulator && !cfg.Praxis.Simulated {
		for i, a := range cfg.Applications {
			if !a.IsRebilly() && slices.Contains(a.Secrets, DemoSecret) {
				return nil, fmt.Errorf("applications[%d] (%s): the secret is the public demo secret of Praxis' documentation, allowed only with a simulator (praxis.simulated: true, or `run` without praxis.base_url)", i, a.Name)
			}
		}
	}
	r := &Runtime{cfg: cfg, roles: roles, log: log, reg: prometheus.NewRegistry(), errs: make(chan error, 8)}
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := buildinfo.Register(r.reg); err != nil {
		return nil, fmt.Errorf("register build info: %w", err)
	}
	r.httpm = httplimit.NewMetrics(r.reg)
	defer func() {
		if err != nil {
			r.closeAll()
		}
	}()
	tp, stop, err := telemetry.NewTracerProvider(ctx, telemetry.Config{OTLPEndpoint: cfg.Telemetry.OTLPEndpoint,
		ServiceName: cfg.Telemetry.ServiceName, SampleRatio: *cfg.Telemetry.TraceSampleRatio})
	if err != nil {
		return nil, err
	}
	r.tracing, r.stopTracing = tp, stop
	if err := r.startNATS(ctx); err != nil {
		return nil, err
	}
	if err := subjects.EnsureStreams(ctx, r.js, cfg.NATS.Streams); err != nil {
		return nil, err
	}
	if err := r.startStore(ctx); err != nil {
		return nil, err
	}
	if err := r.startConsole(ctx); err != nil {
		return nil, err
	}
	if roles.Simulator {
		if err := r.startSimulator(); err != nil {
			return nil, err
		}
	}
	if roles.RebillySimulator {
		if err := r.reserveRebillySimulator(); err != nil {
			return nil, err
		}
	}
	// Fixed-amount sessions: the worker records them, the ingress's
	// validation rule reads them (through the shared store).
	if r.rules, err = frontend.NewSessionRules(frontend.SessionRulesConfig{Currencies: cfg.Currencies()}, r.store); err != nil {
		return nil, err
	}
	// The ingress listens first: the worker's default notification_url
	// and the simulator's webhooks need its address.
	if roles.Ingress {
		if err := r.startIngress(); err != nil {
			return nil, err
		}
	}
	if err := r.startRebillySimulator(); err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.bgCancel = cancel
	if err := r.runConsole(bg); err != nil {
		return nil, err
	}
	if roles.Worker {
		if err := r.startWorker(bg); err != nil {
			return nil, err
		}
	}
	if err := r.startAdmin(); err != nil {
		return nil, err
	}
	r.warnDemoSecret()
	return r, nil
}

// Endpoints is what the process listens on, for the start-up banner.
type Endpoints struct {
	NATS      string
	Ingress   string
	Admin     string
	Simulator string
	// RebillySimulator is the built-in Rebilly simulator's URL ("" when
	// not running).
	RebillySimulator string
	Store            string
	// Console is the operator console's URL ("" when not served).
	Console string
}

// Endpoints reports the addresses actually bound.
func (r *Runtime) Endpoints() Endpoints {
	e := Endpoints{Ingress: r.ingURL, Admin: r.adminURL, Simulator: r.simURL, Console: r.ConsoleURL()}
	if r.rebSim != nil {
		e.RebillySimulator = r.rebSim.url
	}
	if r.embedded != nil {
		e.NATS = r.embedded.ClientURL() + " (embedded)"
	} else {
		e.NATS = redact.URLs(r.cfg.NATS.URL)
	}
	if r.rdb != nil {
		e.Store = "redis " + redisAddrs(r.rdb)
	} else {
		e.Store = "embedded (JetStream key-value buckets)"
	}
	return e
}

// Errors reports a component that stopped on its own (a listener failed).
func (r *Runtime) Errors() <-chan error { return r.errs }

// Registry is the process's Prometheus registry.
func (r *Runtime) Registry() *prometheus.Registry { return r.reg }

// Simulator is the built-in simulator, when running.
func (r *Runtime) Simulator() *sim.Simulator { return r.sim }

func (r *Runtime) startNATS(ctx context.Context) error {
	url := r.cfg.NATS.URL
	var inProcess nats.Option
	if url == "" {
		srv, err := StartEmbeddedNATS(r.cfg.NATS.Embedded)
		if err != nil {
			return err
		}
		r.embedded = srv
		url = srv.ClientURL()
		inProcess = nats.InProcessServer(srv)
	}
	conn := func(role string, extra ...nats.Option) (*nats.Conn, error) {
		opts, err := NATSOptions(r.cfg.NATS, role)
		if err != nil {
			return nil, err
		}
		opts = append(opts,
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err != nil {
					r.log.Warn().Err(err).Str("role", role).Msg("NATS disconnected")
				}
			}),
			nats.ReconnectHandler(func(nc *nats.Conn) {
				r.log.Info().Str("role", role).Str("url", nc.ConnectedUrlRedacted()).Msg("NATS reconnected")
			}))
		if inProcess != nil {
			opts = append(opts, inProcess)
		}
		nc, err := nats.Connect(url, append(opts, extra...)...)
		if err != nil {
			return nil, fmt.Errorf("connect %s to NATS at %s: %w", role, redact.URLs(url), redact.Error(err, url))
		}
		return nc, nil
	}
	var err error
	// The ingress connection never buffers while disconnected: a publish
	// that cannot be sent must fail now (Praxis hears -1), not land later.
	// A worker-only process uses this connection for streams and readiness.
	first := "ingress"
	if !r.roles.Ingress {
		first = "admin"
	}
	if r.ingNC, err = conn(first, nats.ReconnectBufSize(-1)); err != nil {
		return err
	}
	r.js, err = NewJetStream(r.ingNC, r.cfg.NATS)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	if r.roles.Worker {
		if r.wrkNC, err = conn("worker"); err != nil {
			return err
		}
	}
	_ = ctx
	return nil
}

// managedJS is js, or (nats.streams.manage false) a handle that only checks
// consumers and key-value buckets instead of creating them.
func (r *Runtime) managedJS(js jetstream.JetStream) jetstream.JetStream {
	if r.cfg.NATS.Streams.ManageStreams() {
		return js
	}
	return subjects.CheckingJetStream{JetStream: js}
}

// StartEmbeddedNATS starts an in-process NATS server with JetStream, its
// data in cfg.StoreDir (created on demand).
func StartEmbeddedNATS(cfg config.EmbeddedNATS) (*server.Server, error) {
	host, port, err := splitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats.embedded.listen: %w", err)
	}
	if err := os.MkdirAll(cfg.StoreDir, 0o750); err != nil {
		return nil, fmt.Errorf("nats.embedded.store_dir: %w", err)
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "praxis-adapter-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		NoSigs:     true,
		NoLog:      true,
		MaxPayload: 8 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded NATS did not start listening on %s within 10s (is the port taken? set nats.embedded.listen)", cfg.Listen)
	}
	return srv, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	var port int
	if _, err := fmt.Sscan(p, &port); err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

func (r *Runtime) startStore(ctx context.Context) error {
	if r.cfg.Redis.URL != "" {
		rdb, err := NewRedisClient(r.cfg.Redis)
		if err != nil {
			return err
		}
		r.rdb = rdb
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := r.rdb.Ping(pctx).Err(); err != nil {
			return fmt.Errorf("redis (%s): %w", redisAddrs(r.rdb), redact.Error(err, r.cfg.Redis.URL))
		}
		s, err := idempotency.NewRedis(r.rdb, idempotency.RedisConfig{
			Prefix:        r.cfg.Redis.KeyPrefix + "idem:",
			RecordsPrefix: r.cfg.Redis.KeyPrefix + "records:",
			// Concurrent webhooks and commands share pipelines: far fewer
			// syscalls per notification on both sides.
			AutoPipeline: true,
		})
		if err != nil {
			return err
		}
		r.store = s
		return nil
	}
	maxAge := max(r.cfg.Ingress.DoneTTL, r.cfg.Worker.ResultTTL)
	s, err := idempotency.NewKV(ctx, r.managedJS(r.js), idempotency.KVConfig{MaxAge: maxAge, Replicas: r.cfg.NATS.Streams.Replicas,
		MaxBytes: r.cfg.NATS.Streams.KVMaxBytes})
	if err != nil {
		return err
	}
	r.store = s
	return nil
}

func (r *Runtime) lists() *praxis.Lists {
	l := r.cfg.Lists()
	return &l
}

func (r *Runtime) startSimulator() error {
	praxisApps := r.cfg.ApplicationsOf(subjects.Praxis)
	apps := make([]sim.Application, 0, len(praxisApps))
	for _, a := range praxisApps {
		apps = append(apps, sim.Application{MerchantID: a.MerchantID, ApplicationKey: a.ApplicationKey, Secrets: secretsOrDemo(a)})
	}
	ln, err := net.Listen("tcp", r.cfg.Simulator.Listen)
	if err != nil {
		return fmt.Errorf("simulator.listen %s: %w", r.cfg.Simulator.Listen, err)
	}
	r.simURL = "http://" + ln.Addr().String()
	r.sim, err = sim.New(sim.Config{Applications: apps, BaseURL: r.simURL, Lists: r.lists(), ResendDelay: r.cfg.Simulator.ResendDelay,
		FirstTID: sim.ClockTID(time.Now())},
		r.log.With().Str("component", "simulator").Logger())
	if err != nil {
		_ = ln.Close()
		return err
	}
	r.simHTTP = &http.Server{Handler: r.sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	r.serve(r.simHTTP, ln, "simulator")
	return nil
}

func secretsOrDemo(a config.Application) []string {
	if len(a.Secrets) > 0 {
		return a.Secrets
	}
	return []string{DemoSecret}
}

func (r *Runtime) applicationSecrets(a config.Application) []string {
	if r.roles.Simulator {
		return secretsOrDemo(a)
	}
	return a.Secrets
}

func (r *Runtime) processors() *processor.Mapper {
	pairs := make([][2]string, 0, len(r.cfg.Ledger.Processors))
	for _, p := range r.cfg.Ledger.Processors {
		pairs = append(pairs, [2]string{p.Match, p.Name})
	}
	m, err := processor.New(pairs...)
	if err != nil {
		panic(err) // config validation compiled these already
	}
	return m
}

func (r *Runtime) startIngress() error {
	praxisApps := r.cfg.ApplicationsOf(subjects.Praxis)
	apps := make([]ingress.Application, 0, len(praxisApps))
	for _, a := range praxisApps {
		apps = append(apps, ingress.Application{Name: a.Name, MerchantID: a.MerchantID, ApplicationKey: a.ApplicationKey, Secrets: r.applicationSecrets(a)})
	}
	rebillyApps, err := r.ingressRebillyApps()
	if err != nil {
		return err
	}
	def := praxis.Reply{Status: r.cfg.Ingress.ValidationDefault.Status, Description: r.cfg.Ingress.ValidationDefault.Description}
	if a := r.cfg.Ingress.ValidationDefault.Approve; a != nil && *a {
		def.Status = 0
	}
	// No Gatherer: /metrics is served on the admin listener only.
	ing, err := ingress.New(ingress.Config{
		Applications: apps, Lists: *r.lists(), MaxBodyBytes: r.cfg.Ingress.MaxBodyBytes,
		PublishTimeout: r.cfg.Ingress.PublishTimeout, RequestTimeout: r.cfg.Ingress.RequestTimeout,
		ClaimTTL: r.cfg.Ingress.ClaimTTL, DoneTTL: r.cfg.Ingress.DoneTTL,
		ReplySignatureHeaders: r.cfg.Ingress.ReplySignatureHeaders, MaxTimestampAge: r.cfg.Ingress.MaxTimestampAge,
		SyncMaxTimestampAge: r.cfg.Ingress.SyncMaxTimestampAge, MaxTimestampSkew: r.cfg.Ingress.MaxTimestampSkew,
		ValidationDefault: def, Processors: r.processors(), Rules: r.rules,
		Rebilly: rebillyApps,
	}, ingress.Deps{NC: r.ingNC, JS: r.js, Store: r.store, Log: r.log, Registry: r.reg, Tracing: r.tracing})
	if err != nil {
		return err
	}
	r.ing = ing
	ln, err := net.Listen("tcp", r.cfg.Ingress.Listen)
	if err != nil {
		return fmt.Errorf("ingress.listen %s: %w", r.cfg.Ingress.Listen, err)
	}
	r.ingURL = "http://" + ln.Addr().String()
	// The webhook listener faces the internet: it serves the webhook paths,
	// /healthz and /readyz only, within limits that hold before any
	// signature is checked.
	srv, bln := httplimit.Server("webhook", ln, ing.Handler(), limitsOf(r.cfg.Ingress.Limits), r.httpm)
	r.ingHTTP = srv
	r.serve(r.ingHTTP, bln, "ingress")
	return nil
}

// publicURL is how Praxis reaches the ingress: configured, or (in a single
// process) the ingress's own address.
func (r *Runtime) publicURL() string {
	if r.cfg.Ingress.PublicURL != "" {
		return r.cfg.Ingress.PublicURL
	}
	return r.ingURL
}

func (r *Runtime) startWorker(ctx context.Context) error {
	js, err := NewJetStream(r.wrkNC, r.cfg.NATS)
	if err != nil {
		return err
	}
	js = r.managedJS(js)
	praxisApps := r.cfg.ApplicationsOf(subjects.Praxis)
	var cc praxis.ClientConfig
	if len(praxisApps) > 0 {
		if cc, err = r.startPraxisWorker(ctx, js, praxisApps); err != nil {
			return err
		}
	}
	if err := r.startRebillyWorker(ctx, js); err != nil {
		return err
	}
	if r.cfg.Ledger.Disabled {
		return nil
	}
	// The ledger books Praxis movements from Praxis' lookups: its own
	// client decodes whole answers, with each application's credentials.
	// Rebilly events already carry Rebilly's own GET.
	lookup := ledger.PraxisLookup{Credentials: map[string]praxis.Credentials{}}
	if len(praxisApps) > 0 {
		lc := cc
		lc.LightResponses = false
		if lookup.Client, err = praxis.NewClient(lc); err != nil {
			return err
		}
		for _, a := range praxisApps {
			cr := a.Credentials()
			cr.Secrets = r.applicationSecrets(a)
			lookup.Credentials[a.Name] = cr
		}
	}
	cur := r.cfg.Currencies()
	rebillyApps := ledger.RebillyAppsOf(r.cfg.Applications)
	svc, err := ledger.New(ledger.Config{DebitOn: ledger.DebitOnOf(praxisApps), Processors: r.processors(),
		Rebilly: len(rebillyApps) > 0, RebillyApps: rebillyApps, Currencies: &cur,
		DuplicateWindow: r.cfg.NATS.Streams.LedgerDuplicateWindow, Trust: ledger.TrustOf(praxisApps),
		RecheckHorizon: r.cfg.Ledger.RecheckHorizon, LookupRate: r.cfg.Ledger.LookupRate, LookupBurst: r.cfg.Ledger.LookupBurst},
		ledger.Deps{JS: js, Records: r.store, Log: r.log, Registry: r.reg, Lookup: lookup})
	if err != nil {
		return err
	}
	r.goRun(ctx, "ledger", svc.Run)
	return nil
}

// startPraxisWorker starts the worker of the Praxis applications and
// returns the client configuration the ledger's lookups share.
func (r *Runtime) startPraxisWorker(ctx context.Context, js jetstream.JetStream, praxisApps []config.Application) (praxis.ClientConfig, error) {
	base := r.cfg.Praxis.BaseURL
	if base == "" {
		if r.simURL == "" {
			return praxis.ClientConfig{}, errors.New("praxis.base_url is empty and no simulator runs in this process; set PRAXIS_BASE_URL")
		}
		base = r.simURL
	}
	// The worker needs only the outcome of most calls: the client reads it
	// in the pass that verifies the signature (lookups decode fully).
	cc := praxis.ClientConfig{BaseURL: base, Timeout: r.cfg.Praxis.Timeout, Lists: r.lists(), LightResponses: true}
	if telemetry.Enabled(r.tracing) {
		cc.BeforeSend = func(ctx context.Context, req *http.Request) { telemetry.InjectHTTP(ctx, req.Header) }
	}
	client, err := praxis.NewClient(cc)
	if err != nil {
		return cc, err
	}
	apps := make([]worker.Application, 0, len(praxisApps))
	for _, a := range praxisApps {
		cr := a.Credentials()
		cr.Secrets = r.applicationSecrets(a)
		apps = append(apps, worker.Application{Name: a.Name, Credentials: cr, Locale: a.Locale, ReturnURL: a.ReturnURL,
			RateLimit: a.RateLimit, Burst: a.Burst, AllowedCallbackURLs: a.AllowedCallbackURLs, AllowedReturnURLs: a.AllowedReturnURLs})
	}
	router, err := frontend.NewRouter(frontend.RouterConfig{Frontends: frontend.FrontendsOf(praxisApps)}, r.store)
	if err != nil {
		return cc, err
	}
	links, err := ledger.NewRefundLinks(r.store, "")
	if err != nil {
		return cc, err
	}
	wcfg := r.workerConfig()
	wcfg.Router, wcfg.Sessions, wcfg.Refunds, wcfg.Applications = router, r.rules, links, apps
	w, err := worker.New(wcfg, worker.Deps{NC: r.wrkNC, JS: js, Store: r.store, Client: client, Log: r.log, Registry: r.reg, Tracing: r.tracing})
	if err != nil {
		return cc, err
	}
	r.wrk = w
	r.goRun(ctx, "worker", w.Run)
	return cc, nil
}

// workerConfig is the worker settings every provider's worker shares.
func (r *Runtime) workerConfig() worker.Config {
	return worker.Config{
		PublicURL: r.publicURL(), MaxInFlight: r.cfg.Worker.MaxInFlight, AckWait: r.cfg.Worker.AckWait,
		MaxDeliver: r.cfg.Worker.MaxDeliver, MaxAttempts: r.cfg.Worker.MaxAttempts, RetryBase: r.cfg.Worker.RetryBase,
		RetryMax: r.cfg.Worker.RetryMax, ClaimTTL: r.cfg.Worker.ClaimTTL, ResultTTL: r.cfg.Worker.ResultTTL,
		DrainTimeout: r.cfg.Worker.DrainTimeout, RenewInterval: r.cfg.Worker.RenewInterval,
		PraxisTimeout: r.cfg.Praxis.Timeout, SettleWindow: r.cfg.Worker.SettleWindow,
	}
}

// goRun runs a background role until ctx ends; Shutdown waits for it.
func (r *Runtime) goRun(ctx context.Context, name string, run func(context.Context) error) {
	r.background.Add(1)
	go func() {
		defer r.background.Done()
		if err := run(ctx); err != nil {
			r.errs <- fmt.Errorf("%s: %w", name, err)
		}
	}()
}

// startAdmin serves the operators' listener in every role: /healthz,
// /readyz (with each component's state), /metrics, and /debug/pprof/ when
// enabled. It is separate from the webhook listener, which faces the
// internet.
func (r *Runtime) startAdmin() error {
	if r.cfg.Admin.Listen == config.AdminOff {
		return nil
	}
	ln, err := net.Listen("tcp", r.cfg.Admin.Listen)
	if err != nil {
		return fmt.Errorf("admin.listen %s: %w", r.cfg.Admin.Listen, err)
	}
	r.adminURL = "http://" + ln.Addr().String()
	srv, bln := httplimit.Server("admin", ln, r.withConsole(r.adminHandler()), limitsOf(config.AdminLimits), r.httpm)
	r.admin = srv
	r.serve(r.admin, bln, "admin")
	return nil
}

// PathAdminReadyz is /readyz on the admin listener: the same answer, plus
// one line per component.
const PathAdminReadyz = ingress.PathReadyz

// adminHandler is the admin listener's mux.
func (r *Runtime) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+ingress.PathHealthz, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET "+PathAdminReadyz, func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		lines, err := r.readiness(ctx)
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready: %s\n", redact.String(err.Error(), r.cfg.NATS.URL, r.cfg.Redis.URL))
		} else {
			_, _ = w.Write([]byte("ready\n"))
		}
		for _, l := range lines {
			_, _ = fmt.Fprintln(w, redact.String(l, r.cfg.NATS.URL, r.cfg.Redis.URL))
		}
	})
	mux.Handle("GET "+ingress.PathMetrics, promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{}))
	return r.withPprof(mux)
}

// readiness checks every component of this process, one line each.
func (r *Runtime) readiness(ctx context.Context) ([]string, error) {
	var lines []string
	var errs []error
	check := func(name string, err error) {
		if err != nil {
			lines = append(lines, name+": "+err.Error())
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return
		}
		lines = append(lines, name+": ok")
	}
	if r.ing != nil {
		check("ingress", r.ing.Ready(ctx))
	}
	if r.roles.Worker {
		check("worker", r.ready(ctx))
	}
	return lines, errors.Join(errs...)
}

// limitsOf converts the configured limits.
func limitsOf(l config.HTTPLimits) httplimit.Limits {
	return httplimit.Limits{MaxConnections: l.MaxConnections, MaxConcurrentRequests: l.MaxConcurrentRequests,
		ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout, WriteTimeout: l.WriteTimeout,
		IdleTimeout: l.IdleTimeout, MaxHeaderBytes: l.MaxHeaderBytes}
}

// warnDemoSecret says loudly when an application runs on the public demo
// secret of Praxis' documentation (only ever with a simulator).
func (r *Runtime) warnDemoSecret() {
	for _, a := range r.cfg.ApplicationsOf(subjects.Praxis) {
		if slices.Contains(r.applicationSecrets(a), DemoSecret) {
			r.log.Warn().Str("app", a.Name).Msg("this application uses the PUBLIC demo secret of Praxis' documentation: anyone can sign its webhooks; fine with the simulator only, never in production")
		}
	}
}

// withPprof mounts net/http/pprof under /debug/pprof/ when telemetry.pprof
// is on, in front of h.
func (r *Runtime) withPprof(h http.Handler) http.Handler {
	if !r.cfg.Telemetry.Pprof {
		return h
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/", h)
	return mux
}

func (r *Runtime) ready(ctx context.Context) error {
	if r.bgCancel == nil {
		return errors.New("starting")
	}
	for _, nc := range []*nats.Conn{r.ingNC, r.wrkNC} {
		if nc != nil && nc.Status() != nats.CONNECTED {
			return fmt.Errorf("NATS connection is %s", nc.Status())
		}
	}
	if err := r.store.Ping(ctx); err != nil {
		return fmt.Errorf("idempotency store: %w", err)
	}
	return subjects.CheckStreams(ctx, r.js, subjects.StreamCommands, subjects.StreamResults, subjects.StreamDLQ)
}

func (r *Runtime) serve(s *http.Server, ln net.Listener, name string) {
	go func() {
		if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.errs <- fmt.Errorf("%s HTTP server: %w", name, err)
		}
	}()
}

// Shutdown stops everything in order within ctx's deadline: readiness
// false, stop accepting and finish in-flight HTTP requests, let the worker
// finish its commands, drain NATS, stop the embedded server.
func (r *Runtime) Shutdown(ctx context.Context) error {
	var errs []error
	if r.ing != nil {
		r.ing.SetDraining()
	}
	if r.ingHTTP != nil {
		if err := r.ingHTTP.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("ingress: %w", err))
		}
		if err := r.ing.Drain(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if r.bgCancel != nil {
		r.bgCancel()
		done := make(chan struct{})
		go func() { r.background.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, errors.New("worker did not stop before the shutdown deadline"))
		}
	}
	servers := []*http.Server{r.admin, r.simHTTP}
	if r.rebSim != nil {
		servers = append(servers, r.rebSim.http)
	}
	for _, s := range servers {
		if s != nil {
			if err := s.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if r.sim != nil {
		_ = r.sim.Close()
	}
	if r.rebSim != nil {
		if r.rebSim.sim != nil {
			_ = r.rebSim.sim.Close()
		} else {
			_ = r.rebSim.ln.Close() // reserved, never served
		}
	}
	for _, nc := range []*nats.Conn{r.wrkNC, r.ingNC} {
		if nc != nil && !nc.IsClosed() {
			if err := drain(ctx, nc); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if c, ok := r.store.(interface{ Close() error }); ok {
		_ = c.Close()
	}
	if r.rdb != nil {
		_ = r.rdb.Close()
	}
	if r.embedded != nil {
		r.embedded.Shutdown()
		r.embedded.WaitForShutdown()
	}
	if r.stopTracing != nil {
		if err := r.stopTracing(ctx); err != nil {
			errs = append(errs, fmt.Errorf("flush traces: %w", err))
		}
	}
	return errors.Join(errs...)
}

// drain flushes a connection's pending publishes and unsubscribes cleanly.
func drain(ctx context.Context, nc *nats.Conn) error {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return nil
	}
	select {
	case <-closed:
		return nil
	case <-ctx.Done():
		nc.Close()
		return errors.New("NATS drain did not finish before the shutdown deadline")
	}
}

func (r *Runtime) closeAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.Shutdown(ctx)
}

// NATSClientURL is where clients reach the bus: the embedded server's
// address, or the configured URL.
func (r *Runtime) NATSClientURL() string {
	if r.embedded != nil {
		return r.embedded.ClientURL()
	}
	return r.cfg.NATS.URL
}
