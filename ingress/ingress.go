// Package ingress is the HTTP side that Praxis calls: payment
// notifications, validation callbacks, customer sync and subscription
// notifications. Every call is size-limited, parsed in one pass over the raw
// JSON (numbers keep their token text), matched to a configured application
// and signature-verified before anything else happens. Asynchronous webhooks
// are deduplicated and published to JetStream, and Praxis hears `status: 0`
// only after the PubAck; synchronous callbacks become NATS request/reply to
// the CRM with a deadline and a configured default.
//
// Rebilly's notificationUrl calls and webhooks are served too, under
// /rebilly/<app>/ (rebilly.go): triggers confirmed by a GET, published with
// the same claim and publish steps.
//
// The ingress knows nothing of the worker or the ledger: it speaks the
// providers' protocols (adapter/praxis, adapter/rebilly) on one side and
// subjects on the other.
package ingress

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/processor"
	"github.com/praxis-adapter/praxis-adapter/adapter/telemetry"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// HTTP paths Praxis is configured to call. A suffix after the path (e.g.
// /praxis/notification/deposits/tx-1) is accepted and ignored, so a merchant
// may encode its own routing hints in notification_url.
const (
	PathNotification = "/praxis/notification"
	PathValidation   = "/praxis/validation"
	PathCustomerSync = "/praxis/customer-sync"
	PathSubscription = "/praxis/subscription"
	PathHealthz      = "/healthz"
	PathReadyz       = "/readyz"
	PathMetrics      = "/metrics"
)

// Application is one configured Praxis application as the ingress sees it.
type Application struct {
	// Name is the <app> subject token.
	Name           string
	MerchantID     string
	ApplicationKey string
	// Secrets verify incoming signatures; two during a rotation.
	Secrets []string
}

// Config configures the ingress. Zero durations take the documented
// defaults (see adapter/config).
type Config struct {
	Applications []Application
	// Rebilly are the Rebilly applications: their notificationUrl calls
	// and webhooks are served under /rebilly/<name>/ (see rebilly.go).
	Rebilly []RebillyApplication
	Lists   praxis.Lists
	// MaxBodyBytes refuses larger bodies with HTTP 413.
	MaxBodyBytes int64
	// PublishTimeout bounds the wait for a PubAck before answering -1.
	PublishTimeout time.Duration
	// RequestTimeout bounds the CRM's answer to a synchronous callback.
	RequestTimeout time.Duration
	// ClaimTTL and DoneTTL are the dedup key's two phases.
	ClaimTTL time.Duration
	DoneTTL  time.Duration
	// ReplySignatureHeaders carry our reply's signature (UNCONFIRMED name).
	ReplySignatureHeaders []string
	// MaxTimestampAge refuses notifications and subscription notifications
	// older than this: the resend horizon (UNCONFIRMED; default 72h, the
	// dedup memory). Negative: off.
	MaxTimestampAge time.Duration
	// SyncMaxTimestampAge refuses validation and customer sync callbacks
	// older than this; they are synchronous and never resent (default 5m).
	// Negative: off.
	SyncMaxTimestampAge time.Duration
	// MaxTimestampSkew refuses any webhook whose timestamp is further in the
	// future than this (default 2m). Negative: off.
	MaxTimestampSkew time.Duration
	// ValidationDefault answers a validation callback the CRM did not answer.
	ValidationDefault praxis.Reply
	// Processors maps processor names carried on events (nil: as is).
	Processors *processor.Mapper
	// Rules decides validation callbacks without the CRM where it can
	// (fixed-amount sessions); nil asks the CRM every time.
	Rules ValidationRules
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Deps are the connections the ingress uses; it closes none of them.
type Deps struct {
	NC       *nats.Conn
	JS       jetstream.JetStream
	Store    idempotency.Store
	Log      zerolog.Logger
	Registry prometheus.Registerer
	// Gatherer serves /metrics; nil serves nothing there.
	Gatherer prometheus.Gatherer
	// Tracing, when it records, traces each webhook from the HTTP request
	// through the NATS publish; nil or no-op copies an incoming traceparent
	// onto the message and does nothing else.
	Tracing trace.TracerProvider
}

// Server is the ingress HTTP handler.
type Server struct {
	cfg      Config
	deps     Deps
	log      zerolog.Logger
	metrics  *Metrics
	apps     map[string]*app
	rebilly  map[string]*RebillyApplication
	router   chi.Router
	draining atomic.Bool
	// bodies recycles request body buffers (most bodies are 1–3 KB).
	bodies sync.Pool
	// ctJSON is the shared, read-only Content-Type header value.
	ctJSON []string
	// pending tracks background dedup completions (see Drain).
	pending sync.WaitGroup
	// rejects rate-limits the log lines of rejected webhooks.
	rejects *rejectLog
	// idPrefix and reqSeq make request ids for calls that bring none.
	idPrefix string
	reqSeq   atomic.Uint64

	tracer  trace.Tracer
	tracing bool

	replyPaths *praxis.Paths // status and description of a CRM answer

	notif *extractor
	sub   *extractor
	valid *extractor
	sync  *extractor
}

// app is an Application with its precomputed strings.
type app struct {
	Application
	source string // CloudEvents source
}

// New validates cfg and builds the ingress.
func New(cfg Config, deps Deps) (*Server, error) {
	if len(cfg.Applications) == 0 && len(cfg.Rebilly) == 0 {
		return nil, errors.New("ingress: no applications configured")
	}
	if deps.JS == nil || deps.NC == nil || deps.Store == nil || deps.Registry == nil {
		return nil, errors.New("ingress: NATS connection, JetStream, store and metrics registry are required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 2 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 3 * time.Second
	}
	if cfg.ClaimTTL <= 0 {
		cfg.ClaimTTL = 10 * time.Second
	}
	if cfg.DoneTTL <= 0 {
		cfg.DoneTTL = 72 * time.Hour
	}
	if len(cfg.ReplySignatureHeaders) == 0 {
		cfg.ReplySignatureHeaders = []string{praxis.HeaderSignature}
	}
	if cfg.MaxTimestampAge == 0 {
		cfg.MaxTimestampAge = cfg.DoneTTL
	}
	if cfg.SyncMaxTimestampAge == 0 {
		cfg.SyncMaxTimestampAge = 5 * time.Minute
	}
	if cfg.MaxTimestampSkew == 0 {
		cfg.MaxTimestampSkew = 2 * time.Minute
	}
	if cfg.ValidationDefault.Description == "" {
		cfg.ValidationDefault.Description = "Ok"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Log.With().Str("component", "ingress").Logger(),
		metrics: NewMetrics(deps.Registry), apps: make(map[string]*app), ctJSON: []string{praxis.ContentType}, rejects: newRejectLog()}
	s.bodies.New = func() any { b := make([]byte, 0, 4096); return &b }
	s.tracer, s.tracing = telemetry.Tracer(deps.Tracing), telemetry.Enabled(deps.Tracing)
	s.idPrefix = strconv.FormatInt(time.Now().UnixNano()%(1<<40), 36) + "-"
	for _, a := range cfg.Applications {
		if a.Name == "" || a.MerchantID == "" || a.ApplicationKey == "" {
			return nil, fmt.Errorf("ingress: application %+q needs a name, merchant_id and application_key", a.Name)
		}
		key := appKey(a.MerchantID, a.ApplicationKey)
		if _, dup := s.apps[key]; dup {
			return nil, fmt.Errorf("ingress: application %s repeats merchant_id/application_key", a.Name)
		}
		s.apps[key] = &app{Application: a, source: "/praxis/" + a.Name}
	}
	var err error
	if s.rebilly, err = newRebillyApps(cfg.Rebilly); err != nil {
		return nil, err
	}
	s.replyPaths = replyFields()
	s.notif = newExtractor(praxis.NotificationSchema(), cfg.Lists.Get(praxis.ListNotificationRequest), notificationFields()...)
	s.sub = newExtractor(praxis.SubscriptionSchema(), cfg.Lists.Get(praxis.ListSubscriptionRequest), subscriptionFields()...)
	s.valid = newExtractor(praxis.ValidationSchema(), cfg.Lists.Get(praxis.ListValidationRequest), validationFields()...)
	s.sync = newExtractor(praxis.CustomerSyncSchema(), cfg.Lists.Get(praxis.ListCustomerSyncRequest), customerSyncFields()...)
	s.router = s.routes()
	return s, nil
}

func appKey(merchantID, applicationKey string) string {
	return merchantID + "\x00" + applicationKey
}

// Handler is the HTTP handler for every ingress path.
func (s *Server) Handler() http.Handler { return s.router }

// SetDraining flips readiness to false so load balancers stop sending
// traffic before shutdown; in-flight requests still complete.
func (s *Server) SetDraining() { s.draining.Store(true) }

func (s *Server) routes() chi.Router {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusNotFound, 400, "no such path: "+req.URL.Path)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		kind := kindOfPath(req.URL.Path)
		s.metrics.Rejected.WithLabelValues(kind, ReasonMethod).Inc()
		switch kind {
		case KindRebillyNotification:
			w.Header().Set("Allow", "GET, POST")
			writeRebillyJSON(w, http.StatusMethodNotAllowed, "error", ReasonMethod, "method "+req.Method+" is not allowed; notificationUrl calls are GET or POST")
			return
		case KindRebillyWebhook:
			w.Header().Set("Allow", http.MethodPost)
			writeRebillyJSON(w, http.StatusMethodNotAllowed, "error", ReasonMethod, "method "+req.Method+" is not allowed; Rebilly webhooks are POST")
			return
		}
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, 400, "method "+req.Method+" is not allowed; Praxis webhooks are POST")
	})
	for path, h := range map[string]http.HandlerFunc{
		PathNotification: s.webhook(KindNotification, s.notif, s.handleNotification),
		PathValidation:   s.webhook(KindValidation, s.valid, s.handleValidation),
		PathCustomerSync: s.webhook(KindCustomerSync, s.sync, s.handleCustomerSync),
		PathSubscription: s.webhook(KindSubscription, s.sub, s.handleSubscription),
	} {
		if s.tracing {
			h = s.traced(kindOfPath(path), h)
		}
		r.Post(path, h)
		r.Post(path+"/*", h)
	}
	s.rebillyRoutes(r)
	r.Get(PathHealthz, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	r.Get(PathReadyz, s.handleReadyz)
	if s.deps.Gatherer != nil {
		r.Handle(PathMetrics, promhttp.HandlerFor(s.deps.Gatherer, promhttp.HandlerOpts{}))
	}
	return r
}

// webhook runs every check common to the four webhooks (accept) and, when
// they pass, the kind's handler with the verified call.
func (s *Server) webhook(kind string, ex *extractor, h func(http.ResponseWriter, *http.Request, *call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var c call
		defer s.release(&c)
		if s.accept(w, r, kind, ex, &c) != nil {
			return
		}
		h(w, r, &c)
	}
}

// traced wraps a webhook handler in a server span that continues the
// caller's trace (W3C traceparent), so the publish and the CRM request
// become its children.
func (s *Server) traced(kind string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := telemetry.ExtractHTTP(r.Context(), r.Header)
		ctx, span := s.tracer.Start(ctx, "praxis "+kind, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("praxis.webhook", kind), attribute.String("http.route", r.URL.Path)))
		defer span.End()
		h(w, r.WithContext(ctx))
	}
}

func kindOfPath(p string) string {
	switch {
	case strings.HasPrefix(p, PathNotification):
		return KindNotification
	case strings.HasPrefix(p, PathValidation):
		return KindValidation
	case strings.HasPrefix(p, PathCustomerSync):
		return KindCustomerSync
	case strings.HasPrefix(p, PathSubscription):
		return KindSubscription
	case strings.HasPrefix(p, "/rebilly/") && strings.HasSuffix(p, "/notification"):
		return KindRebillyNotification
	case strings.HasPrefix(p, "/rebilly/") && strings.HasSuffix(p, "/webhook"):
		return KindRebillyWebhook
	}
	return "other"
}

// Ready reports why the ingress cannot take traffic, or nil.
func (s *Server) Ready(ctx context.Context) error {
	if s.draining.Load() {
		return errors.New("draining")
	}
	if st := s.deps.NC.Status(); st != nats.CONNECTED {
		return fmt.Errorf("NATS connection is %s", st)
	}
	if err := s.deps.Store.Ping(ctx); err != nil {
		return fmt.Errorf("idempotency store: %w", err)
	}
	return subjects.CheckStreams(ctx, s.deps.JS, subjects.StreamEvents)
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.Ready(ctx); err != nil {
		// The reason (internal addresses, store errors) is for operators:
		// the admin listener's /readyz says it; this port faces the internet.
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}
