// Package config is the adapter's one configuration struct: loaded from a
// YAML file, overridden by environment variables (each field's `env` tag),
// and validated at start with messages that name the field and the fix.
// Secrets never come from the YAML: only from environment variables or
// files named in it (decoding is strict, so a `secret:` key is refused).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/processor"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Config is everything every role reads. Zero values take documented
// defaults (see Defaults and the example file deploy/config.example.yaml).
type Config struct {
	// LogLevel is trace, debug, info, warn or error.
	LogLevel string `yaml:"log_level" env:"PRAXIS_LOG_LEVEL"`
	// LogFormat is json (default) or console.
	LogFormat string `yaml:"log_format" env:"PRAXIS_LOG_FORMAT"`
	// ShutdownTimeout bounds a graceful stop after SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" env:"PRAXIS_SHUTDOWN_TIMEOUT"`

	NATS      NATS      `yaml:"nats"`
	Redis     Redis     `yaml:"redis"`
	Praxis    Praxis    `yaml:"praxis"`
	Rebilly   Rebilly   `yaml:"rebilly"`
	Ingress   Ingress   `yaml:"ingress"`
	Admin     Admin     `yaml:"admin"`
	Worker    Worker    `yaml:"worker"`
	Ledger    Ledger    `yaml:"ledger"`
	Telemetry Telemetry `yaml:"telemetry"`
	Simulator Simulator `yaml:"simulator"`
	Console   Console   `yaml:"console"`

	// Applications are the merchant applications (Praxis application keys)
	// this adapter serves; at least one is required.
	Applications []Application `yaml:"applications"`
}

// NATS says where the bus is.
type NATS struct {
	// URL of the NATS cluster; empty runs an embedded server (single-process mode).
	URL string `yaml:"url" env:"NATS_URL"`
	// CredsFile is a NATS credentials file for the connection (optional).
	CredsFile string `yaml:"creds_file" env:"NATS_CREDS"`
	// NKeySeedFile authenticates with an nkey: the file holds the user's
	// seed (SU...). Not together with creds_file.
	NKeySeedFile string `yaml:"nkey_seed_file" env:"NATS_NKEY_SEED_FILE"`
	// TLS: a CA to trust (instead of the system roots) and a client
	// certificate for mutual TLS. Setting any of them requires TLS.
	TLS TLSFiles `yaml:"tls"`
	// JetStreamDomain addresses JetStream in another domain (a leaf node
	// setup); empty: the local one.
	JetStreamDomain string `yaml:"jetstream_domain" env:"NATS_JS_DOMAIN"`
	// Name prefixes each connection's name, which servers show in
	// monitoring: <name>-ingress, <name>-worker (default praxis-adapter).
	Name string `yaml:"name" env:"NATS_CONNECTION_NAME"`
	// PingInterval and MaxPingsOutstanding decide how fast a client leaves
	// a server that stopped answering (a stalled node): after about
	// PingInterval × (MaxPingsOutstanding+1). Defaults 2s and 2, seconds
	// rather than nats.go's 2 minutes × 2.
	PingInterval        time.Duration `yaml:"ping_interval" env:"NATS_PING_INTERVAL"`
	MaxPingsOutstanding int           `yaml:"max_pings_outstanding" env:"NATS_MAX_PINGS_OUTSTANDING"`
	// ReconnectWait is the pause between reconnect attempts to one server
	// (default 250ms; nats.go adds jitter). Reconnects never give up.
	ReconnectWait time.Duration `yaml:"reconnect_wait" env:"NATS_RECONNECT_WAIT"`
	// ConnectTimeout bounds one dial (default 5s).
	ConnectTimeout time.Duration `yaml:"connect_timeout" env:"NATS_CONNECT_TIMEOUT"`
	// Embedded configures the embedded server used when URL is empty.
	Embedded EmbeddedNATS `yaml:"embedded"`
	// Streams sizes the JetStream streams.
	Streams subjects.StreamsConfig `yaml:"streams"`
}

// TLSFiles names PEM files for a TLS connection. Paths only: the files are
// mounted secrets, never inlined.
type TLSFiles struct {
	// CAFile is a PEM bundle of the CAs to trust (default: the system roots).
	CAFile string `yaml:"ca_file" env:"NATS_TLS_CA_FILE"`
	// CertFile and KeyFile are a client certificate and its key (mutual TLS).
	CertFile string `yaml:"cert_file" env:"NATS_TLS_CERT_FILE"`
	KeyFile  string `yaml:"key_file" env:"NATS_TLS_KEY_FILE"`
}

// EmbeddedNATS configures the in-process NATS server.
type EmbeddedNATS struct {
	// Listen is host:port for clients (the nats CLI, our CLI). Port 0 picks one.
	Listen string `yaml:"listen" env:"PRAXIS_EMBEDDED_NATS_LISTEN"`
	// StoreDir holds JetStream data; created on demand.
	StoreDir string `yaml:"store_dir" env:"PRAXIS_EMBEDDED_NATS_DIR"`
}

// Redis holds idempotency records and lifecycle state for many replicas.
type Redis struct {
	// URL like redis://host:6379/0; empty uses the embedded store (a
	// JetStream key-value bucket), which suits one process only.
	URL string `yaml:"url" env:"REDIS_URL"`
	// KeyPrefix namespaces every key.
	KeyPrefix string `yaml:"key_prefix" env:"PRAXIS_REDIS_PREFIX"`
	// Mode is how URL is read: standalone (default; redis:// or rediss://),
	// sentinel (go-redis' failover URL: redis://[:pw@]sentinel1:26379?
	// master_name=mymaster&addr=sentinel2:26379…), or cluster (go-redis'
	// cluster URL: redis://node1:6379?addr=node2:6379&addr=node3:6379).
	Mode string `yaml:"mode" env:"REDIS_MODE"`
	// CAFile is a PEM bundle of CAs to trust for rediss:// (default: the
	// system roots); CertFile and KeyFile a client certificate.
	CAFile   string `yaml:"ca_file" env:"REDIS_CA_FILE"`
	CertFile string `yaml:"cert_file" env:"REDIS_CERT_FILE"`
	KeyFile  string `yaml:"key_file" env:"REDIS_KEY_FILE"`
	// PoolSize is the connections per Redis node (default 256: every
	// in-flight webhook and command holds one for a round trip).
	PoolSize int `yaml:"pool_size" env:"REDIS_POOL_SIZE"`
}

// Redis modes (redis.mode).
const (
	RedisStandalone = "standalone"
	RedisSentinel   = "sentinel"
	RedisCluster    = "cluster"
)

// Praxis says how to reach Praxis.
type Praxis struct {
	// BaseURL of the gateway, e.g. https://gw.praxisgate.com. Empty in
	// `run` starts the built-in simulator and uses it instead.
	BaseURL string `yaml:"base_url" env:"PRAXIS_BASE_URL"`
	// Timeout bounds one HTTP attempt.
	Timeout time.Duration `yaml:"timeout" env:"PRAXIS_TIMEOUT"`
	// SignatureFields overrides signature field lists by name (the
	// UNCONFIRMED ones especially); see `praxis-adapter verify -lists`.
	SignatureFields map[string][]string `yaml:"signature_fields"`
	// Currencies overrides minor-unit factors, e.g. {KWD: 1000}.
	Currencies map[string]int64 `yaml:"currencies"`
	// Simulated says base_url is a praxis-adapter simulator (`praxis-adapter
	// sim`), not Praxis: only then may base_url be http:// and a secret be
	// the public demo secret of Praxis' documentation.
	Simulated bool `yaml:"simulated" env:"PRAXIS_SIMULATED"`
}

// DemoSecret is the public test secret of Praxis' documentation. It is
// allowed only with a simulator (the built-in one of `run`, or
// praxis.simulated), never against Praxis.
const DemoSecret = "MerchantSecretKey"

// Ingress configures the HTTP side that Praxis calls.
type Ingress struct {
	// Listen is the HTTP address (also serves /metrics, /healthz, /readyz).
	Listen string `yaml:"listen" env:"PRAXIS_INGRESS_LISTEN"`
	// PublicURL is how Praxis reaches this ingress; the worker builds
	// notification_url and validation_url from it when a command gives none.
	PublicURL string `yaml:"public_url" env:"PRAXIS_PUBLIC_URL"`
	// MaxBodyBytes refuses larger webhook bodies (default 64 KiB: Praxis'
	// bodies are 2–3 KB, and each concurrent request may hold this much).
	MaxBodyBytes int64 `yaml:"max_body_bytes" env:"PRAXIS_MAX_BODY_BYTES"`
	// Limits bound what clients can hold on the webhook listener before
	// any signature is checked.
	Limits HTTPLimits `yaml:"limits"`
	// PublishTimeout is how long to wait for the JetStream PubAck before
	// answering Praxis status -1 (default 2s).
	PublishTimeout time.Duration `yaml:"publish_timeout" env:"PRAXIS_PUBLISH_TIMEOUT"`
	// RequestTimeout is the CRM's deadline for validation and customer sync
	// (default 3s, below Praxis' own timeout).
	RequestTimeout time.Duration `yaml:"request_timeout" env:"PRAXIS_REQUEST_TIMEOUT"`
	// ClaimTTL is how long a notification's dedup key stays "processing"
	// (default 10s); it must be shorter than the stream's duplicate window.
	ClaimTTL time.Duration `yaml:"claim_ttl"`
	// DoneTTL is how long a handled notification is remembered (default 72h).
	DoneTTL time.Duration `yaml:"done_ttl"`
	// ResendDelay is how long Praxis waits before resending a webhook
	// answered -1 or not at all. UNCONFIRMED: about 5 minutes (default
	// 5m). nats.streams.duplicate_window must exceed it.
	ResendDelay time.Duration `yaml:"resend_delay" env:"PRAXIS_RESEND_DELAY"`
	// ReplySignatureHeaders names the headers carrying our reply's
	// signature. UNCONFIRMED: Praxis documents GT-Authentication; a
	// third-party guide names external-request-signature. Default
	// [GT-Authentication]; list both to send both.
	ReplySignatureHeaders []string `yaml:"reply_signature_headers"`
	// MaxTimestampAge refuses notifications and subscription notifications
	// whose timestamp is older than this (default: done_ttl, 72h; negative:
	// off). Whether Praxis' resends carry a fresh timestamp, and for how
	// long it resends, is UNCONFIRMED: the default accepts any resend for as
	// long as its dedup record is remembered, and refuses a replayed
	// genuine body once it would no longer be recognised as a duplicate.
	MaxTimestampAge time.Duration `yaml:"max_timestamp_age" env:"PRAXIS_MAX_TIMESTAMP_AGE"`
	// SyncMaxTimestampAge refuses validation and customer sync callbacks
	// older than this (default 5m; negative: off): they are synchronous
	// and never resent, so an old one is a replay.
	SyncMaxTimestampAge time.Duration `yaml:"sync_max_timestamp_age" env:"PRAXIS_SYNC_MAX_TIMESTAMP_AGE"`
	// MaxTimestampSkew refuses any webhook whose timestamp is further in
	// the future than this clock skew (default 2m; negative: off).
	MaxTimestampSkew time.Duration `yaml:"max_timestamp_skew" env:"PRAXIS_MAX_TIMESTAMP_SKEW"`
	// ValidationDefault answers a validation callback when the CRM does not
	// answer in time (default: approve).
	ValidationDefault DefaultAnswer `yaml:"validation_default"`
}

// HTTPLimits bound one listener's resources, whoever the client is.
type HTTPLimits struct {
	// MaxConnections caps open connections; beyond it the longest-idle
	// connection is closed, or the new one answered 503 when none is idle.
	MaxConnections int `yaml:"max_connections" env:"PRAXIS_MAX_CONNECTIONS"`
	// MaxConcurrentRequests caps requests being served; beyond it the
	// answer is 503 with Retry-After (and Praxis status -1: resend).
	MaxConcurrentRequests int `yaml:"max_concurrent_requests" env:"PRAXIS_MAX_CONCURRENT_REQUESTS"`
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing the answer (from the end of the headers).
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout closes keep-alive connections idle this long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes caps a request's headers.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
}

// Admin configures the operators' listener: /metrics, /readyz with
// details, /healthz, and /debug/pprof/ when telemetry.pprof is on. It is
// separate from the webhook listener so none of that faces the internet.
type Admin struct {
	// Listen is the admin address (default 127.0.0.1:8481; a legacy
	// worker.listen is used when this is unset). "off" serves none.
	Listen string `yaml:"listen" env:"PRAXIS_ADMIN_LISTEN"`
}

// AdminOff is the admin.listen value that turns the admin listener off.
const AdminOff = "off"

// DefaultAnswer is a configured reply used when the CRM is silent.
type DefaultAnswer struct {
	// Approve answers status 0; otherwise Status (positive) and Description.
	Approve     *bool  `yaml:"approve"`
	Status      int    `yaml:"status"`
	Description string `yaml:"description"`
}

// Worker configures command consumption.
type Worker struct {
	// Listen is the former name of admin.listen, still honoured when
	// admin.listen is unset.
	Listen string `yaml:"listen" env:"PRAXIS_WORKER_LISTEN"`
	// MaxInFlight bounds concurrent commands per worker process.
	MaxInFlight int `yaml:"max_in_flight" env:"PRAXIS_WORKER_MAX_IN_FLIGHT"`
	// AckWait is the consumer's redelivery timer; in-progress acks extend it.
	AckWait time.Duration `yaml:"ack_wait"`
	// MaxDeliver caps JetStream redeliveries of one command; 0 (default)
	// is unlimited, so an outage never strands a command: max_attempts
	// bounds the Praxis retries themselves.
	MaxDeliver int `yaml:"max_deliver"`
	// MaxAttempts bounds Praxis calls for one command (transient retries).
	MaxAttempts int `yaml:"max_attempts"`
	// RetryBase and RetryMax shape the exponential backoff with jitter.
	RetryBase time.Duration `yaml:"retry_base"`
	RetryMax  time.Duration `yaml:"retry_max"`
	// ClaimTTL is a command claim's lease between renewals (default 10s):
	// how long a killed worker's command waits for a successor. A call
	// itself is made under a lease of praxis.timeout + claim_ttl.
	ClaimTTL time.Duration `yaml:"claim_ttl"`
	// ResultTTL keeps each command id's result and its "may have been
	// sent" marker (default 840h = 35 days, at least
	// nats.streams.dlq_max_age): the horizon within which a redelivery,
	// re-publish or DLQ replay of the id is recognised.
	ResultTTL time.Duration `yaml:"result_ttl"`
	// DrainTimeout bounds finishing in-flight commands on SIGTERM (default
	// praxis.timeout + 5s; at least praxis.timeout, below shutdown_timeout).
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// RenewInterval is how often a holder renews its claim and sends an
	// in-progress ack (default claim_ttl/3; below claim_ttl/2 and at most
	// ack_wait/3).
	RenewInterval time.Duration `yaml:"renew_interval"`
	// SettleWindow is how long after the last send a lookup's "not found"
	// is trusted (default 2 × praxis.timeout; at least praxis.timeout).
	SettleWindow time.Duration `yaml:"settle_window"`
}

// Ledger configures the lifecycle tracker.
type Ledger struct {
	// Disabled turns the lifecycle tracker off in this process.
	Disabled bool `yaml:"disabled" env:"PRAXIS_LEDGER_DISABLED"`
	// Processors maps Praxis payment_processor/gateway names to the
	// platform's names, first match wins.
	Processors []ProcessorRule `yaml:"processors"`
	// RecheckHorizon is how long a notification Praxis does not confirm is
	// looked up again before it becomes a suspect record (default 5m).
	RecheckHorizon time.Duration `yaml:"recheck_horizon" env:"PRAXIS_LEDGER_RECHECK_HORIZON"`
	// LookupRate bounds the ledger's find-transaction calls per second per
	// application (default 50); LookupBurst is the bucket (default 100).
	LookupRate  float64 `yaml:"lookup_rate" env:"PRAXIS_LEDGER_LOOKUP_RATE"`
	LookupBurst int     `yaml:"lookup_burst" env:"PRAXIS_LEDGER_LOOKUP_BURST"`
}

// ProcessorRule maps one processor name or pattern. Pattern may contain
// `<1-99>` for a numbered account suffix, e.g. `WireCard<1-99>`.
type ProcessorRule struct {
	Match string `yaml:"match"`
	Name  string `yaml:"name"`
}

// Telemetry configures metrics and traces.
type Telemetry struct {
	// OTLPEndpoint sends traces over OTLP/HTTP (e.g. http://collector:4318);
	// empty keeps traces in-process only.
	OTLPEndpoint string `yaml:"otlp_endpoint" env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	// ServiceName is the OpenTelemetry service name.
	ServiceName string `yaml:"service_name" env:"OTEL_SERVICE_NAME"`
	// Pprof serves Go's profiler at /debug/pprof/ on the admin address
	// (never the webhook one). Off by default: it exposes internals.
	Pprof bool `yaml:"pprof" env:"PRAXIS_PPROF"`
	// TraceSampleRatio samples this share of root traces (default 1 when
	// unset; an explicit 0 samples no new root trace). A pointer, so that
	// 0 is told apart from "not set". A trace started upstream follows its
	// parent's decision.
	TraceSampleRatio *float64 `yaml:"trace_sample_ratio" env:"OTEL_TRACES_SAMPLER_ARG"`
}

// Simulator configures the built-in Praxis simulator used by `run` when no
// Praxis base URL is set.
type Simulator struct {
	// Listen is the simulator's HTTP address.
	Listen string `yaml:"listen" env:"PRAXIS_SIM_LISTEN"`
	// ResendDelay is how long the simulator waits before resending a
	// notification that was not acknowledged (Praxis: about 5 minutes).
	ResendDelay time.Duration `yaml:"resend_delay" env:"PRAXIS_SIM_RESEND_DELAY"`
	// RebillyListen is the built-in Rebilly simulator's HTTP address, used
	// by `run` when rebilly.base_url is empty and an application uses
	// Rebilly (default 127.0.0.1:8491).
	RebillyListen string `yaml:"rebilly_listen" env:"REBILLY_SIM_LISTEN"`
}

// Application is one Praxis application (a website and base currency).
type Application struct {
	// Name is the <app> subject token; default: the normalised application
	// key (required for a Rebilly application).
	Name string `yaml:"name"`
	// Provider is praxis (default) or rebilly: which gateway serves the
	// application, and so the prefix of its subjects.
	Provider string `yaml:"provider"`
	// Rebilly configures an application whose provider is rebilly; the
	// Praxis fields below (merchant_id, application_key, secret_*) are
	// then unused.
	Rebilly RebillyApplication `yaml:"rebilly"`
	// MerchantID and ApplicationKey are issued by Praxis.
	MerchantID     string `yaml:"merchant_id"`
	ApplicationKey string `yaml:"application_key"`
	// SecretEnv / SecretFile name where the merchant secret is; the
	// Previous* pair holds the old secret during a rotation.
	SecretEnv          string `yaml:"secret_env"`
	SecretFile         string `yaml:"secret_file"`
	PreviousSecretEnv  string `yaml:"previous_secret_env"`
	PreviousSecretFile string `yaml:"previous_secret_file"`
	// PayoutDebitOn is "payout debited upon event": requested, authorized
	// or in_progress (default, Praxis' recommendation).
	PayoutDebitOn string `yaml:"payout_debit_on"`
	// Frontends route commands that name a website and currency instead of
	// an application (LEGACY_PLATFORM.md §2: one front end per pair).
	Frontends []Frontend `yaml:"frontends"`
	// Locale is the default cashier locale (default en-GB).
	Locale string `yaml:"locale"`
	// ReturnURL is the default browser return URL for sessions (always
	// allowed).
	ReturnURL string `yaml:"return_url"`
	// AllowedCallbackURLs are https URL prefixes a command may set as
	// notification_url or validation_url, besides ingress.public_url.
	AllowedCallbackURLs []string `yaml:"allowed_callback_urls"`
	// AllowedReturnURLs are https URL prefixes a command may set as
	// return_url, besides return_url itself.
	AllowedReturnURLs []string `yaml:"allowed_return_urls"`
	// RateLimit bounds Praxis calls per second for this application
	// (0 = unlimited); Burst is the token bucket's size.
	RateLimit float64 `yaml:"rate_limit"`
	Burst     int     `yaml:"burst"`
	// TrustSignature books this application's notifications as signed,
	// without confirming them by a Praxis lookup: for merchants without
	// Agent API access only. A replayed genuine body with an edited status
	// or shifted digits is then booked as it says (README, Security).
	TrustSignature bool `yaml:"trust_signature"`

	// Secrets is resolved at load: the current secret first, then the
	// previous one. Never printed.
	Secrets []string `yaml:"-"`
}

// Frontend is one (website, currency) pair served by an application.
type Frontend struct {
	Website  string `yaml:"website"`
	Currency string `yaml:"currency"`
}

// Payout debit stages ("payout debited upon event", LEGACY_PLATFORM.md §4.3).
const (
	DebitOnRequested  = "requested"
	DebitOnAuthorized = "authorized"
	DebitOnInProgress = "in_progress"
)

// Credentials returns what the Praxis client needs for this application.
func (a Application) Credentials() praxis.Credentials {
	return praxis.Credentials{MerchantID: a.MerchantID, ApplicationKey: a.ApplicationKey, Secrets: a.Secrets}
}

// Load reads path (empty: no file, defaults and environment only), applies
// environment overrides from getenv, resolves secrets, fills defaults and
// validates. Every error names the field.
func Load(path string, getenv func(string) string) (*Config, error) {
	var raw []byte
	if path != "" {
		var err error
		if raw, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	c, err := LoadBytes(raw, getenv)
	if err != nil && path != "" {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, err
}

// LoadBytes is Load for YAML already in memory (the built-in demo config).
func LoadBytes(raw []byte, getenv func(string) string) (*Config, error) {
	var c Config
	if err := Parse(raw, &c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := applyEnv(&c, getenv); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c.SetDefaults()
	if err := c.validate(append(c.resolveSecrets(getenv), c.Console.resolveToken(getenv)...)); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}

// Parse decodes YAML strictly: an unknown key is an error, which is how a
// secret pasted into the file is caught.
func Parse(raw []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file
		}
		msg := err.Error()
		if strings.Contains(msg, "field secret ") || strings.Contains(msg, "field previous_secret ") {
			return fmt.Errorf("%w (secrets are never read from the YAML: set secret_env or secret_file)", err)
		}
		return err
	}
	return nil
}

// validateWorkerTimings refuses the timing combinations that would break
// "one Praxis effect per command id" or leave deliveries unacknowledged
// (the README's table of worker defaults lists the same inequalities).
func (c *Config) validateWorkerTimings(add func(string, ...any)) {
	w := c.Worker
	if w.ClaimTTL < time.Second {
		add("worker.claim_ttl: %v is too short: at least 1s (default 10s)", w.ClaimTTL)
	}
	if w.RenewInterval <= 0 || 2*w.RenewInterval >= w.ClaimTTL {
		add("worker.renew_interval: %v must be positive and below half of worker.claim_ttl (%v), so one lost renewal does not lose a claim", w.RenewInterval, w.ClaimTTL)
	}
	if 3*w.RenewInterval > w.AckWait {
		add("worker.renew_interval: %v must be at most a third of worker.ack_wait (%v): renewals carry the in-progress acks", w.RenewInterval, w.AckWait)
	}
	if w.SettleWindow < c.Praxis.Timeout {
		add("worker.settle_window: %v must be at least praxis.timeout (%v): Praxis may still process a call its client gave up on, so an earlier \"not found\" proves nothing", w.SettleWindow, c.Praxis.Timeout)
	}
	if w.DrainTimeout < c.Praxis.Timeout {
		add("worker.drain_timeout: %v must be at least praxis.timeout (%v), or every stop during a slow Praxis abandons calls", w.DrainTimeout, c.Praxis.Timeout)
	}
	if w.DrainTimeout >= c.ShutdownTimeout {
		add("worker.drain_timeout: %v must be below shutdown_timeout (%v), so in-flight commands finish before NATS drains", w.DrainTimeout, c.ShutdownTimeout)
	}
	if dlq := c.NATS.Streams.DLQMaxAge; w.ResultTTL < dlq {
		add("worker.result_ttl: %v must be at least nats.streams.dlq_max_age (%v): a dead letter replayed later must still find its command's record", w.ResultTTL, dlq)
	}
}

// SetDefaults fills every zero field with its documented default.
func (c *Config) SetDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defDur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.LogLevel, "info")
	def(&c.LogFormat, "json")
	defDur(&c.ShutdownTimeout, 40*time.Second)
	def(&c.NATS.Name, "praxis-adapter")
	defDur(&c.NATS.PingInterval, 2*time.Second)
	if c.NATS.MaxPingsOutstanding == 0 {
		c.NATS.MaxPingsOutstanding = 2
	}
	defDur(&c.NATS.ReconnectWait, 250*time.Millisecond)
	defDur(&c.NATS.ConnectTimeout, 5*time.Second)
	def(&c.Redis.Mode, RedisStandalone)
	if c.Redis.PoolSize == 0 {
		c.Redis.PoolSize = 256
	}
	defDur(&c.Ingress.ResendDelay, 5*time.Minute)
	def(&c.NATS.Embedded.Listen, "127.0.0.1:14222")
	def(&c.NATS.Embedded.StoreDir, "data/nats")
	c.NATS.Streams = c.NATS.Streams.WithDefaults()
	def(&c.Redis.KeyPrefix, "praxis:")
	defDur(&c.Praxis.Timeout, 30*time.Second)

	def(&c.Ingress.Listen, "127.0.0.1:8480")
	if c.Ingress.MaxBodyBytes == 0 {
		c.Ingress.MaxBodyBytes = 64 << 10
	}
	c.Ingress.Limits = c.Ingress.Limits.WithDefaults(WebhookLimits)
	def(&c.Admin.Listen, c.Worker.Listen)
	def(&c.Admin.Listen, "127.0.0.1:8481")
	defDur(&c.Ingress.PublishTimeout, 2*time.Second)
	defDur(&c.Ingress.RequestTimeout, 3*time.Second)
	defDur(&c.Ingress.ClaimTTL, 10*time.Second)
	defDur(&c.Ingress.DoneTTL, 72*time.Hour)
	defDur(&c.Ingress.MaxTimestampAge, c.Ingress.DoneTTL)
	defDur(&c.Ingress.SyncMaxTimestampAge, 5*time.Minute)
	defDur(&c.Ingress.MaxTimestampSkew, 2*time.Minute)
	if len(c.Ingress.ReplySignatureHeaders) == 0 {
		c.Ingress.ReplySignatureHeaders = []string{praxis.HeaderSignature}
	}
	if c.Ingress.ValidationDefault.Approve == nil && c.Ingress.ValidationDefault.Status == 0 {
		yes := true
		c.Ingress.ValidationDefault.Approve = &yes
	}
	def(&c.Ingress.ValidationDefault.Description, "Ok")

	if c.Worker.MaxInFlight == 0 {
		c.Worker.MaxInFlight = 64
	}
	defDur(&c.Worker.AckWait, 10*time.Second)
	def(&c.Worker.Listen, "127.0.0.1:8481")
	if c.Worker.MaxAttempts == 0 {
		c.Worker.MaxAttempts = 5
	}
	defDur(&c.Worker.RetryBase, 500*time.Millisecond)
	defDur(&c.Worker.RetryMax, 30*time.Second)
	defDur(&c.Worker.ClaimTTL, 10*time.Second)
	defDur(&c.Worker.RenewInterval, c.Worker.ClaimTTL/3)
	defDur(&c.Worker.SettleWindow, 2*c.Praxis.Timeout)
	defDur(&c.Worker.ResultTTL, 35*24*time.Hour)
	defDur(&c.Worker.DrainTimeout, c.Praxis.Timeout+5*time.Second)

	def(&c.Telemetry.ServiceName, "praxis-adapter")
	if c.Telemetry.TraceSampleRatio == nil {
		one := 1.0
		c.Telemetry.TraceSampleRatio = &one
	}
	def(&c.Simulator.Listen, "127.0.0.1:8490")
	defDur(&c.Simulator.ResendDelay, 5*time.Minute)
	c.Console.setDefaults()
	c.setRebillyDefaults()
	c.NATS.Streams.Providers = c.Providers()

	for i := range c.Applications {
		a := &c.Applications[i]
		def(&a.Name, subjects.AppName(a.ApplicationKey))
		def(&a.PayoutDebitOn, DebitOnInProgress)
		def(&a.Locale, "en-GB")
		if a.RateLimit > 0 && a.Burst == 0 {
			a.Burst = max(1, int(a.RateLimit))
		}
	}
}

// resolveSecrets reads each application's secrets and returns the problems
// found, which validation reports together with the others.
func (c *Config) resolveSecrets(getenv func(string) string) []string {
	var problems []string
	problems = append(problems, c.resolveRebillySecrets(getenv)...)
	for i := range c.Applications {
		a := &c.Applications[i]
		field := fmt.Sprintf("applications[%d]", i)
		a.Secrets = nil
		if a.IsRebilly() {
			continue
		}
		cur, err := readSecret(field, "secret_env", a.SecretEnv, "secret_file", a.SecretFile, getenv, true)
		if err != nil {
			problems = append(problems, err.Error())
		} else if cur != "" {
			a.Secrets = append(a.Secrets, cur)
		}
		// The previous secret is optional: once a rotation is over its
		// variable may be unset without touching the YAML.
		prev, err := readSecret(field, "previous_secret_env", a.PreviousSecretEnv, "previous_secret_file", a.PreviousSecretFile, getenv, false)
		if err != nil {
			problems = append(problems, err.Error())
		} else if prev != "" && prev != cur {
			a.Secrets = append(a.Secrets, prev)
		}
	}
	return problems
}

func readSecret(field, envKey, envName, fileKey, fileName string, getenv func(string) string, required bool) (string, error) {
	switch {
	case envName != "" && fileName != "":
		return "", fmt.Errorf("%s: set %s or %s, not both", field, envKey, fileKey)
	case envName != "":
		if !envNameRE.MatchString(envName) {
			// Most likely the secret itself, pasted in the wrong place:
			// never repeat it.
			return "", fmt.Errorf("%s.%s: must name an environment variable (letters, digits and _), not hold the secret itself", field, envKey)
		}
		v := getenv(envName)
		if v == "" && required {
			return "", fmt.Errorf("%s.%s: environment variable %s is empty or unset; export it with the merchant secret", field, envKey, envName)
		}
		return v, nil
	case fileName != "":
		if err := checkSecretFile(fileName); err != nil {
			if !required && errors.Is(err, os.ErrNotExist) {
				return "", nil
			}
			return "", fmt.Errorf("%s.%s: %w", field, fileKey, err)
		}
		raw, err := os.ReadFile(fileName)
		if err != nil {
			if !required && errors.Is(err, os.ErrNotExist) {
				return "", nil
			}
			return "", fmt.Errorf("%s.%s: %w", field, fileKey, err)
		}
		v := strings.TrimSpace(string(raw))
		if v == "" && required {
			return "", fmt.Errorf("%s.%s: %s is empty", field, fileKey, fileName)
		}
		return v, nil
	}
	return "", nil
}

var appNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// checkSecretFile refuses a secret file that others could rewrite (a
// swapped secret lets whoever wrote it forge Praxis' webhooks).
func checkSecretFile(name string) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New("is a directory, not a file")
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("is writable by group or others (mode %04o); chmod 600 (or 400) it", perm)
	}
	return nil
}

// isHTTPSPrefix reports whether u is an https URL usable as an allowlist
// prefix: a host, no user, no query or fragment.
func isHTTPSPrefix(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme == "https" && p.Host != "" && p.User == nil && p.RawQuery == "" && p.Fragment == ""
}

// Validate reports every unusable setting at once, one per line, each
// naming its field and what to do about it.
func (c *Config) Validate() error { return c.validate(nil) }

func (c *Config) validate(problems []string) error {
	errs := append([]string(nil), problems...)
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	switch c.LogLevel {
	case "trace", "debug", "info", "warn", "error":
	default:
		add("log_level: is not one of trace, debug, info, warn, error")
	}
	if c.LogFormat != "json" && c.LogFormat != "console" {
		add("log_format: is not json or console")
	}
	if err := c.NATS.Streams.Validate(); err != nil {
		add("%v", err)
	}
	if _, err := praxis.NewLists(c.Praxis.SignatureFields); err != nil {
		add("praxis.%v", err)
	}
	if _, err := praxis.NewCurrencies(c.Praxis.Currencies); err != nil {
		add("praxis.%v", err)
	}
	if b := c.Praxis.BaseURL; b != "" {
		if !c.Praxis.Simulated && !strings.HasPrefix(b, "https://") {
			add("praxis.base_url: must start with https:// (e.g. https://gw.praxisgate.com); http:// is allowed only for a simulator (praxis.simulated: true)")
		} else if c.Praxis.Simulated && !strings.HasPrefix(b, "https://") && !strings.HasPrefix(b, "http://") {
			add("praxis.base_url: must start with http:// or https://")
		}
	}
	if r := c.Telemetry.TraceSampleRatio; r != nil && (*r < 0 || *r > 1 || *r != *r) {
		add("telemetry.trace_sample_ratio: must be a number between 0 and 1")
	}
	if c.Ingress.MaxBodyBytes < 1024 {
		add("ingress.max_body_bytes: %d is too small for a Praxis notification (default 65536)", c.Ingress.MaxBodyBytes)
	}
	if c.Ingress.ClaimTTL >= c.NATS.Streams.DuplicateWindow {
		add("ingress.claim_ttl: %v must be shorter than nats.streams.duplicate_window (%v), so a crash between claim and publish is absorbed by the stream", c.Ingress.ClaimTTL, c.NATS.Streams.DuplicateWindow)
	}
	if c.NATS.Streams.DuplicateWindow <= c.Ingress.ResendDelay {
		add("nats.streams.duplicate_window: %v must exceed ingress.resend_delay (%v, Praxis' resend delay): a webhook whose PubAck was lost may be stored, and its resend must be absorbed by the window, not stored twice (default 15m)", c.NATS.Streams.DuplicateWindow, c.Ingress.ResendDelay)
	}
	c.validateConnections(add)
	if c.Ingress.PublicURL != "" && !strings.HasPrefix(c.Ingress.PublicURL, "http") {
		add("ingress.public_url: must be an http(s) URL that Praxis can reach")
	}
	c.Ingress.Limits.validate("ingress.limits", add)
	if c.Admin.Listen == c.Ingress.Listen && !strings.HasSuffix(c.Admin.Listen, ":0") {
		add("admin.listen: must differ from ingress.listen (metrics and profiles never share the webhook port)")
	}
	for i, h := range c.Ingress.ReplySignatureHeaders {
		if h == "" || strings.ContainsAny(h, " :\r\n") {
			add("ingress.reply_signature_headers[%d]: is not a header name", i)
		}
	}
	if d := c.Ingress.ValidationDefault; (d.Approve == nil || !*d.Approve) && d.Status <= 0 {
		add("ingress.validation_default: set approve: true, or a positive status with the description shown to the customer")
	}
	if c.Worker.MaxInFlight < 1 {
		add("worker.max_in_flight: %d must be at least 1", c.Worker.MaxInFlight)
	}
	c.validateWorkerTimings(add)
	if c.Worker.MaxAttempts < 1 {
		add("worker.max_attempts: %d must be at least 1", c.Worker.MaxAttempts)
	}
	if c.Worker.MaxDeliver != 0 && c.Worker.MaxDeliver <= c.Worker.MaxAttempts {
		add("worker.max_deliver: %d must exceed worker.max_attempts (%d), or be 0 for unlimited", c.Worker.MaxDeliver, c.Worker.MaxAttempts)
	}
	if c.Worker.AckWait < time.Second {
		add("worker.ack_wait: %v is too short (default 10s)", c.Worker.AckWait)
	}
	if c.Ledger.RecheckHorizon < 0 || (c.Ledger.RecheckHorizon > 0 && c.Ledger.RecheckHorizon < 5*time.Second) {
		add("ledger.recheck_horizon: must be at least 5s (default 5m): a genuine status may be seconds ahead of Praxis' lookup")
	}
	if c.Ledger.LookupRate < 0 || c.Ledger.LookupBurst < 0 {
		add("ledger.lookup_rate and ledger.lookup_burst: must not be negative (0 takes the defaults 50/s and 100)")
	}
	for i, r := range c.Ledger.Processors {
		if _, err := processor.Compile(r.Match, r.Name); err != nil {
			add("ledger.processors[%d]: %v", i, err)
		}
	}

	c.Console.validate(add)
	c.validateRebilly(add)

	if len(c.Applications) == 0 {
		add("applications: none configured; add one with merchant_id, application_key and secret_env (see deploy/config.example.yaml)")
	}
	names := map[string]int{}
	pairs := map[string]int{}
	frontends := map[Frontend]string{}
	for i, a := range c.Applications {
		field := fmt.Sprintf("applications[%d]", i)
		if a.IsRebilly() {
			validateName(add, field, a.Name, i, names)
			continue
		}
		if a.MerchantID == "" {
			add("%s.merchant_id: required (issued by Praxis)", field)
		}
		if a.ApplicationKey == "" {
			add("%s.application_key: required (issued by Praxis)", field)
		}
		validateName(add, field, a.Name, i, names)
		pair := a.MerchantID + "\x00" + a.ApplicationKey
		if j, dup := pairs[pair]; dup {
			add("%s: merchant_id and application_key repeat applications[%d]", field, j)
		}
		pairs[pair] = i
		if len(a.Secrets) == 0 && c.Praxis.BaseURL != "" {
			add("%s (%s): no secret; set secret_env or secret_file (never the secret itself in the YAML)", field, a.Name)
		}
		if c.Praxis.BaseURL != "" && !c.Praxis.Simulated && slices.Contains(a.Secrets, DemoSecret) {
			add("%s (%s): the secret is the public demo secret of Praxis' documentation, allowed only with a simulator (praxis.simulated: true, or `run` without praxis.base_url)", field, a.Name)
		}
		for j, u := range a.AllowedCallbackURLs {
			if !isHTTPSPrefix(u) {
				add("%s.allowed_callback_urls[%d]: must be an https:// URL without user or query", field, j)
			}
		}
		for j, u := range a.AllowedReturnURLs {
			if !isHTTPSPrefix(u) {
				add("%s.allowed_return_urls[%d]: must be an https:// URL without user or query", field, j)
			}
		}
		switch a.PayoutDebitOn {
		case DebitOnRequested, DebitOnAuthorized, DebitOnInProgress:
		default:
			add("%s.payout_debit_on: is not requested, authorized or in_progress", field)
		}
		if a.RateLimit < 0 {
			add("%s.rate_limit: %v must not be negative", field, a.RateLimit)
		}
		for j, fe := range a.Frontends {
			if fe.Website == "" || !praxis.IsCurrencyCode(fe.Currency) {
				add("%s.frontends[%d]: need a website and an ISO currency code like EUR", field, j)
			}
			if other, dup := frontends[fe]; dup {
				add("%s.frontends[%d]: %s/%s is already served by %s", field, j, fe.Website, fe.Currency, other)
			}
			frontends[fe] = a.Name
		}
	}
	if len(errs) == 0 {
		return nil
	}
	sort.Strings(errs)
	return fmt.Errorf("%d problem(s):\n  %s", len(errs), strings.Join(errs, "\n  "))
}

// validateName checks an application's name, which is its subject token
// under every provider, so names are unique across providers.
func validateName(add func(string, ...any), field, name string, i int, names map[string]int) {
	if !appNameRE.MatchString(name) {
		add("%s.name: must be lower-case letters, digits, '_' or '-' (it is a NATS subject token)", field)
	}
	if j, dup := names[name]; dup {
		add("%s.name: %q is already used by applications[%d]; give one of them another name", field, name, j)
	}
	names[name] = i
}

// Application returns the application with the given name.
func (c *Config) Application(name string) (Application, bool) {
	for _, a := range c.Applications {
		if a.Name == name {
			return a, true
		}
	}
	return Application{}, false
}

// Lists compiles the signature field lists with overrides applied.
func (c *Config) Lists() praxis.Lists {
	l, err := praxis.NewLists(c.Praxis.SignatureFields)
	if err != nil {
		panic(err) // Validate already checked
	}
	return l
}

// Currencies builds the currency table with overrides applied.
func (c *Config) Currencies() praxis.Currencies {
	cur, err := praxis.NewCurrencies(c.Praxis.Currencies)
	if err != nil {
		panic(err) // Validate already checked
	}
	return cur
}

// WebhookLimits are the webhook listener's defaults: room for thousands of
// idle clients without churning connections, Praxis' bursts and a few
// hundred slow clients, and a bound on memory (about 30 KiB per open
// connection, twice max_body_bytes per request: some 410 MiB at worst)
// below a 512 MiB container limit.
var WebhookLimits = HTTPLimits{
	MaxConnections:        8192,
	MaxConcurrentRequests: 1024,
	ReadHeaderTimeout:     5 * time.Second,
	ReadTimeout:           10 * time.Second,
	WriteTimeout:          15 * time.Second,
	IdleTimeout:           30 * time.Second,
	MaxHeaderBytes:        16 << 10,
}

// AdminLimits are the admin listener's: a handful of scrapers and probes.
var AdminLimits = HTTPLimits{
	MaxConnections:        64,
	MaxConcurrentRequests: 32,
	ReadHeaderTimeout:     5 * time.Second,
	ReadTimeout:           10 * time.Second,
	// Profiles stream for their duration (pprof's default is 30s).
	WriteTimeout:   2 * time.Minute,
	IdleTimeout:    time.Minute,
	MaxHeaderBytes: 16 << 10,
}

// WithDefaults fills l's zero fields from def.
func (l HTTPLimits) WithDefaults(def HTTPLimits) HTTPLimits {
	if l.MaxConnections == 0 {
		l.MaxConnections = def.MaxConnections
	}
	if l.MaxConcurrentRequests == 0 {
		l.MaxConcurrentRequests = def.MaxConcurrentRequests
	}
	if l.ReadHeaderTimeout == 0 {
		l.ReadHeaderTimeout = def.ReadHeaderTimeout
	}
	if l.ReadTimeout == 0 {
		l.ReadTimeout = def.ReadTimeout
	}
	if l.WriteTimeout == 0 {
		l.WriteTimeout = def.WriteTimeout
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = def.IdleTimeout
	}
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = def.MaxHeaderBytes
	}
	return l
}

// validate reports l's unusable settings under field.
func (l HTTPLimits) validate(field string, add func(string, ...any)) {
	if l.MaxConnections < 1 || l.MaxConcurrentRequests < 1 {
		add("%s: max_connections and max_concurrent_requests must be at least 1", field)
	}
	if l.ReadHeaderTimeout <= 0 || l.ReadTimeout < l.ReadHeaderTimeout || l.IdleTimeout <= 0 || l.WriteTimeout <= 0 {
		add("%s: timeouts must be positive, read_timeout at least read_header_timeout", field)
	}
	if l.MaxHeaderBytes < 4<<10 {
		add("%s.max_header_bytes: must be at least 4096", field)
	}
}
