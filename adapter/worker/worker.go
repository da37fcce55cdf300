// Package worker turns CRM commands on <provider>.commands.<app>.<command>
// into provider calls, each state-changing call made at most once per
// command id, and publishes exactly one result per command on
// <provider>.results.<app>.<command>.
//
// The core (claims, lease and gate, reconcile-before-repeat, settle window,
// retries, results, dead letters, metrics) is provider-neutral; a protocol
// per provider (praxis.go, rebilly.go) supplies the commands, defaults, the
// call and the lookup. One Worker serves one provider (Config.Provider):
// New(Config{...}, Deps{Client: praxisClient}) is a Praxis worker, and
// New(Config{Provider: subjects.Rebilly, Applications: [{Rebilly: client,
// WebsiteID: ...}]}, Deps{...}) a Rebilly one. Below, "Praxis" stands for
// whichever provider the worker serves.
//
// All replicas share one durable pull consumer on a work-queue stream;
// scaling is running more of them. Each command goes through:
//
//	parse + validate ─ invalid ─────────────────────────────▶ result invalid + dead letter
//	claim the command id ─ done ─▶ replay the stored result (no Praxis call)
//	                     ─ busy ─▶ wait for the other holder, then replay or take over
//	acquired: renew the claim (fenced) every renew_interval until the end
//	a call may have been sent (marker) or a DLQ replay? ─▶ reconcile by lookup first:
//	     done ─▶ result · unknown ─▶ retry later · nothing, within the settle window ─▶ retry later
//	announce the call (check-and-extend: lease > praxis timeout, marker) ─▶ call Praxis once
//	     ok / business error ─▶ store result, publish it, ack
//	     refused on a repeat ─▶ reconcile (the refusal may prove the first call landed)
//	     transient / unknown ─▶ release claim (marker kept), NakWithDelay(backoff)
//	                             (after max_attempts: failed + dead letter)
//
// The call marker (last send time, calls, lookups) lives in the claim
// record and survives releases and expiry, for result_ttl: a command that
// may have reached Praxis is always looked up before it is called again.
package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/adapter/telemetry"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/internal/graceful"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Header names on command, result and dead-letter messages.
const (
	// HeaderReplyTo on a command names a subject that also receives its
	// result (JetStream keeps headers, not the publisher's reply subject).
	HeaderReplyTo = "Praxis-Reply-To"
	// Dead-letter headers: why, after how many Praxis requests (attempts
	// = calls + lookups) and deliveries, and where the command came from.
	HeaderDLQReason     = "Praxis-Dlq-Reason"
	HeaderDLQOutcome    = "Praxis-Dlq-Outcome"
	HeaderDLQAttempts   = "Praxis-Dlq-Attempts"
	HeaderDLQCalls      = "Praxis-Dlq-Calls"
	HeaderDLQLookups    = "Praxis-Dlq-Lookups"
	HeaderDLQDeliveries = "Praxis-Dlq-Deliveries"
	HeaderDLQSubject    = "Praxis-Command-Subject"
	HeaderDLQCommandID  = "Praxis-Command-Id"
	HeaderDLQStreamSeq  = "Praxis-Command-Seq"
	// HeaderReplayedFrom marks a command re-published from a dead letter
	// (praxis-adapter dlq replay): a state-changing one is always looked up
	// before it is called, even if its record has expired.
	HeaderReplayedFrom = "Praxis-Replayed-From"
)

// Application is one configured application as the worker sees it: a
// Praxis application (Credentials) or, for a Rebilly worker, a Rebilly one
// (Rebilly, WebsiteID).
type Application struct {
	Name        string
	Credentials praxis.Credentials
	// Rebilly is the application's Rebilly client (its organization and
	// secret key); required, and used, by a Rebilly worker only.
	Rebilly *rebilly.Client
	// WebsiteID fills Rebilly commands that leave website_id empty.
	WebsiteID string
	// Locale and ReturnURL fill commands that leave them empty.
	Locale    string
	ReturnURL string
	// RateLimit bounds Praxis calls per second (0: unlimited).
	RateLimit float64
	Burst     int
	// AllowedCallbackURLs and AllowedReturnURLs are the https prefixes a
	// command may use besides PublicURL and ReturnURL (see checkCallbackURLs).
	AllowedCallbackURLs []string
	AllowedReturnURLs   []string
}

// Config configures a worker. Zero values take the defaults of
// adapter/config.
type Config struct {
	// Provider is the provider this worker serves: its command subjects,
	// durable consumer, commands and calls. Empty is subjects.Praxis; one
	// Worker serves one provider, so a deployment runs one per provider.
	Provider     subjects.Provider
	Applications []Application
	// PublicURL is the ingress as Praxis reaches it; commands without a
	// notification_url or validation_url get ones built from it.
	PublicURL string
	// NotificationPath and ValidationPath are appended to PublicURL
	// (Praxis). A Rebilly cashier's notificationUrl is PublicURL +
	// RebillyNotificationPath(app) with Rebilly's {id} and {result}.
	NotificationPath string
	ValidationPath   string
	MaxInFlight      int
	AckWait          time.Duration
	// MaxDeliver is the consumer's redelivery cap; 0 (the default) means
	// unlimited, so an infrastructure outage never strands a command: the
	// worker itself gives up on Praxis after MaxAttempts deliveries.
	MaxDeliver  int
	MaxAttempts int
	RetryBase   time.Duration
	RetryMax    time.Duration
	// ClaimTTL is a claim's lease between renewals (default 10s): how long a
	// command of a killed worker waits before a successor takes it over.
	ClaimTTL time.Duration
	// RenewInterval is how often a holder renews its claim (default
	// ClaimTTL/3; must be below ClaimTTL/2).
	RenewInterval time.Duration
	// PraxisTimeout bounds one provider request (default 30s, the client's
	// timeout; for a Rebilly worker set it to rebilly.timeout): a call is made only under a lease of PraxisTimeout+ClaimTTL
	// announced right before it, and is cut off at PraxisTimeout.
	PraxisTimeout time.Duration
	// SettleWindow is how long after the last send a lookup's "not found"
	// (or "not done") is trusted (default 2×PraxisTimeout): Praxis may
	// still process a request its client gave up on.
	SettleWindow time.Duration
	// ResultTTL keeps a command id's result and its call marker (default
	// 35 days, past the dead-letter stream's 30): the horizon within which
	// a redelivery, re-publish or DLQ replay is recognised.
	ResultTTL    time.Duration
	DrainTimeout time.Duration
	// PullWait bounds one fetch; it is also how quickly Run notices a stop.
	PullWait time.Duration
	// Router resolves commands that name a front end instead of an
	// application, and checks customer currencies; nil: applications only.
	Router Router
	// Sessions records what a session command fixed (amount, balance), for
	// the ingress's validation rules; nil: nothing recorded.
	Sessions SessionRecorder
	// Refunds remembers which deposit each refund order refunds, before the
	// refund is sent, because Praxis' refund notifications do not say; the
	// ledger needs it to reverse the right deposit. nil: not recorded.
	Refunds RefundLinker
	Now     func() time.Time
}

// Router resolves the application of a command sent to the `frontend`
// pseudo-application, and enforces one currency per customer.
type Router interface {
	// Resolve returns the application name for (website, currency).
	Resolve(ctx context.Context, website, currency string) (string, error)
	// CheckCurrency returns a reason when the customer is known in
	// another currency ("" when fine), and remembers the currency.
	CheckCurrency(ctx context.Context, app, cid, currency string) (string, error)
}

// RefundLinker records that a refund order refunds a deposit (idempotent).
type RefundLinker interface {
	Link(ctx context.Context, app, orderID string, depositTID int64) error
}

// SessionRecorder remembers what a session command fixed, keyed by order id.
type SessionRecorder interface {
	RecordSession(ctx context.Context, app string, s *command.Session) error
}

// Deps are the connections a worker uses; it closes none of them.
type Deps struct {
	NC    *nats.Conn
	JS    jetstream.JetStream
	Store idempotency.Store
	// Client is the Praxis client, required by a Praxis worker (a Rebilly
	// worker's clients are its applications').
	Client   *praxis.Client
	Log      zerolog.Logger
	Registry prometheus.Registerer
	// Tracing, when it records, continues each command's trace (traceparent
	// in its headers) through the Praxis calls to the result.
	Tracing trace.TracerProvider
}

// Worker consumes commands.
type Worker struct {
	cfg     Config
	prov    subjects.Provider
	proto   protocol
	who     string // the provider as reasons name it ("Praxis", "Rebilly")
	deps    Deps
	log     zerolog.Logger
	metrics *Metrics
	apps    map[string]*appState
	tracer  trace.Tracer
	tracing bool
}

type appState struct {
	Application
	limiter *rate.Limiter
}

// FrontendApp is the <app> token of commands routed by website and currency.
const FrontendApp = "frontend"

// New validates cfg and builds a worker.
func New(cfg Config, deps Deps) (*Worker, error) {
	setDefaults(&cfg)
	proto, ok := protocolFor(cfg.Provider)
	if !ok {
		return nil, fmt.Errorf("worker: provider %q has no worker protocol", cfg.Provider)
	}
	if deps.JS == nil || deps.NC == nil || deps.Store == nil || deps.Registry == nil {
		return nil, errors.New("worker: NATS, JetStream, store and metrics registry are required")
	}
	if cfg.Provider == subjects.Praxis && deps.Client == nil {
		return nil, errors.New("worker: NATS, JetStream, store, Praxis client and metrics registry are required")
	}
	if len(cfg.Applications) == 0 {
		return nil, errors.New("worker: no applications configured")
	}
	if cfg.ClaimTTL <= 0 || cfg.MaxInFlight < 1 || cfg.MaxAttempts < 1 {
		return nil, errors.New("worker: claim TTL, max in flight and max attempts must be positive")
	}
	if err := cfg.CheckTimings(); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	for _, a := range cfg.Applications {
		if cfg.Provider == subjects.Rebilly && a.Rebilly == nil {
			return nil, fmt.Errorf("worker: application %q has no Rebilly client", a.Name)
		}
	}
	w := &Worker{cfg: cfg, prov: cfg.Provider, proto: proto, who: providerTitle(cfg.Provider),
		deps: deps, log: deps.Log.With().Str("component", "worker").Str("provider", cfg.Provider.String()).Logger(),
		metrics: newMetrics(deps.Registry, cfg.Provider, proto.lookup, cfg.Applications...), apps: make(map[string]*appState),
		tracer: telemetry.Tracer(deps.Tracing), tracing: telemetry.Enabled(deps.Tracing)}
	for _, a := range cfg.Applications {
		if a.Name == FrontendApp {
			return nil, fmt.Errorf("worker: %q is reserved for front-end routing; rename the application", FrontendApp)
		}
		lim := rate.NewLimiter(rate.Inf, 1)
		if a.RateLimit > 0 {
			lim = rate.NewLimiter(rate.Limit(a.RateLimit), max(1, a.Burst))
		}
		w.apps[a.Name] = &appState{Application: a, limiter: lim}
	}
	return w, nil
}

func setDefaults(c *Config) {
	if c.Provider == "" {
		c.Provider = subjects.Praxis
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 64
	}
	if c.AckWait == 0 {
		c.AckWait = 10 * time.Second
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.RetryBase == 0 {
		c.RetryBase = 500 * time.Millisecond
	}
	if c.RetryMax == 0 {
		c.RetryMax = 30 * time.Second
	}
	if c.ClaimTTL == 0 {
		c.ClaimTTL = DefaultClaimTTL
	}
	if c.RenewInterval == 0 {
		c.RenewInterval = c.ClaimTTL / 3
	}
	if c.PraxisTimeout == 0 {
		c.PraxisTimeout = 30 * time.Second
	}
	if c.SettleWindow == 0 {
		c.SettleWindow = 2 * c.PraxisTimeout
	}
	if c.ResultTTL == 0 {
		c.ResultTTL = DefaultResultTTL
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = c.PraxisTimeout + 5*time.Second
	}
	if c.PullWait == 0 {
		c.PullWait = time.Second
	}
	if c.NotificationPath == "" {
		c.NotificationPath = "/praxis/notification"
	}
	if c.ValidationPath == "" {
		c.ValidationPath = "/praxis/validation"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Defaults the timing rules below are built around.
const (
	// DefaultClaimTTL is a claim's lease between renewals.
	DefaultClaimTTL = 10 * time.Second
	// DefaultResultTTL is the command-id horizon: 35 days, past the
	// dead-letter stream's 30-day retention.
	DefaultResultTTL = 35 * 24 * time.Hour
)

// CheckTimings reports the first timing combination that would break "one
// Praxis effect per command id" or leave a delivery unacknowledged, naming
// the rule. adapter/config checks the same rules with its field names.
func (c Config) CheckTimings() error {
	switch {
	case c.RenewInterval <= 0 || 2*c.RenewInterval >= c.ClaimTTL:
		return fmt.Errorf("renew interval %v must be positive and below half the claim TTL %v, so one lost renewal does not lose the claim", c.RenewInterval, c.ClaimTTL)
	case c.SettleWindow < c.PraxisTimeout:
		return fmt.Errorf("settle window %v must be at least the Praxis timeout %v: a lookup right after an abandoned call proves nothing", c.SettleWindow, c.PraxisTimeout)
	case c.AckWait > 0 && 3*c.RenewInterval > c.AckWait:
		return fmt.Errorf("renew interval %v must be at most a third of AckWait %v: renewals carry the in-progress acks", c.RenewInterval, c.AckWait)
	case c.DrainTimeout < c.PraxisTimeout:
		return fmt.Errorf("drain timeout %v must be at least the Praxis timeout %v, or every stop abandons slow calls", c.DrainTimeout, c.PraxisTimeout)
	}
	return nil
}

// ConsumerConfig is the durable consumer every replica shares.
func ConsumerConfig(c Config) jetstream.ConsumerConfig {
	setDefaults(&c)
	maxDeliver := c.MaxDeliver
	if maxDeliver <= 0 {
		maxDeliver = -1
	}
	return jetstream.ConsumerConfig{
		Durable:       c.Provider.WorkerConsumer(),
		Description:   "praxis-adapter workers: one command, one " + providerTitle(c.Provider) + " effect",
		FilterSubject: c.Provider.AllCommands(),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    maxDeliver,
		MaxAckPending: 100_000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

// Run consumes commands until ctx ends, then stops pulling, lets in-flight
// commands finish within DrainTimeout, and naks what is still running.
func (w *Worker) Run(ctx context.Context) error {
	cons, err := w.deps.JS.CreateOrUpdateConsumer(ctx, subjects.StreamCommands, ConsumerConfig(w.cfg))
	if err != nil {
		return fmt.Errorf("worker: ensure consumer %s: %w", w.prov.WorkerConsumer(), err)
	}
	// Handlers outlive ctx by up to DrainTimeout, so a Praxis call that is
	// under way finishes instead of becoming an unknown outcome.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	// A fixed pool of max_in_flight goroutines handles commands, and a
	// command is pulled only for a free handler: each pull asks for as many
	// messages as there are free handlers, so nothing is ever prefetched
	// beyond capacity, and every delivery is either being handled (and kept
	// alive by in-progress acks) or still in the stream. A prefetched
	// command waiting behind a slow Praxis would pass AckWait and come back
	// as a duplicate.
	work := make(chan jetstream.Msg, w.cfg.MaxInFlight)
	free := make(chan struct{}, w.cfg.MaxInFlight)
	var wg sync.WaitGroup
	for i := 0; i < w.cfg.MaxInFlight; i++ {
		free <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for msg := range work {
				w.metrics.InFlight.Inc()
				w.handle(hctx, msg)
				w.metrics.InFlight.Dec()
				free <- struct{}{}
			}
		}()
	}
	w.log.Info().Int("max_in_flight", w.cfg.MaxInFlight).Msg("worker started")

pull:
	for {
		select {
		case <-free:
		case <-ctx.Done():
			break pull
		}
		n := 1
	more:
		for n < w.cfg.MaxInFlight {
			select {
			case <-free:
				n++
			default:
				break more
			}
		}
		batch, err := cons.Fetch(n, jetstream.FetchMaxWait(w.cfg.PullWait))
		got := 0
		if err == nil {
			for msg := range batch.Messages() {
				got++
				work <- msg
			}
			err = batch.Error()
		}
		for ; got < n; got++ {
			free <- struct{}{}
		}
		if err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			w.log.Warn().Err(err).Msg("pull commands")
			graceful.Sleep(ctx, 200*time.Millisecond)
		}
	}
	close(work)

	w.log.Info().Msg("worker stopping: no more pulls; finishing in-flight commands")
	if graceful.Wait(&wg, w.cfg.DrainTimeout, hcancel) {
		w.log.Warn().Dur("drain_timeout", w.cfg.DrainTimeout).Msg("in-flight commands did not finish in time; they were cancelled (nak'ed and redelivered)")
	}
	w.log.Info().Msg("worker stopped")
	return nil
}

// backoff is the redelivery delay after the n-th delivery failed: base·2^(n-1)
// capped at RetryMax, with jitter in [50%, 100%] so retries spread out.
func (w *Worker) backoff(n int) time.Duration {
	d := w.cfg.RetryBase
	for i := 1; i < n && d < w.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, w.cfg.RetryMax)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// stored is the idempotency record's value for a finished command: its
// fingerprint and its result.
type stored struct {
	Fingerprint string         `json:"fingerprint"`
	Result      command.Result `json:"result"`
}

// encodeStored builds the stored record around an already-encoded result,
// so a result is marshalled once.
func encodeStored(fp string, result []byte) []byte {
	b := make([]byte, 0, len(result)+len(fp)+32)
	b = append(b, `{"fingerprint":`...)
	b = strconv.AppendQuote(b, fp)
	b = append(b, `,"result":`...)
	b = append(b, result...)
	return append(b, '}')
}

// providerTitle names a provider as results and reasons spell it.
func providerTitle(p subjects.Provider) string {
	switch p {
	case "", subjects.Praxis:
		return "Praxis"
	case subjects.Rebilly:
		return "Rebilly"
	}
	return p.String()
}
