package subjects

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamsConfig sizes the streams. Zero values take the defaults.
type StreamsConfig struct {
	// Manage: the adapter creates the streams and consumers it uses and
	// updates them to this configuration at start (default true). False:
	// it only checks that they exist with compatible settings and names
	// every difference (streams owned by NACK, GitOps or an operator, and
	// accounts without stream-management permissions).
	Manage *bool `yaml:"manage" env:"PRAXIS_NATS_MANAGE_STREAMS"`
	// Replicas for every stream and KV bucket: 1 for a single server, 3
	// for a cluster.
	Replicas int `yaml:"replicas" env:"PRAXIS_NATS_REPLICAS"`
	// EventsMaxAge keeps verified webhooks (default 30 days).
	EventsMaxAge time.Duration `yaml:"events_max_age" env:"PRAXIS_EVENTS_MAX_AGE"`
	// DuplicateWindow is how long JetStream remembers a Nats-Msg-Id
	// (default 15 minutes). It must outlast Praxis' resend delay (about 5
	// minutes, ingress.resend_delay): a publish whose PubAck was lost may
	// still be stored, and the resend must then be absorbed, not stored
	// a second time.
	DuplicateWindow time.Duration `yaml:"duplicate_window" env:"PRAXIS_DUPLICATE_WINDOW"`
	// ResultsMaxAge keeps command results (default 7 days).
	ResultsMaxAge time.Duration `yaml:"results_max_age" env:"PRAXIS_RESULTS_MAX_AGE"`
	// DLQMaxAge keeps dead letters for operators (default 30 days).
	DLQMaxAge time.Duration `yaml:"dlq_max_age" env:"PRAXIS_DLQ_MAX_AGE"`
	// LedgerMaxAge keeps ledger instructions (default 90 days).
	LedgerMaxAge time.Duration `yaml:"ledger_max_age" env:"PRAXIS_LEDGER_MAX_AGE"`
	// CommandsMaxAge drops queued commands older than this (default -1:
	// never; a worker outage must not lose commands).
	CommandsMaxAge time.Duration `yaml:"commands_max_age" env:"PRAXIS_COMMANDS_MAX_AGE"`
	// Per-stream size limits: 0 takes the default, -1 is unlimited. The
	// command stream defaults to 1,000,000 messages and 1 GiB and refuses
	// new commands beyond (DiscardNew: the CRM's publish fails, nothing
	// queued is dropped); the other streams are bounded by age only.
	EventsMaxBytes   int64 `yaml:"events_max_bytes" env:"PRAXIS_EVENTS_MAX_BYTES"`
	EventsMaxMsgs    int64 `yaml:"events_max_msgs" env:"PRAXIS_EVENTS_MAX_MSGS"`
	CommandsMaxBytes int64 `yaml:"commands_max_bytes" env:"PRAXIS_COMMANDS_MAX_BYTES"`
	CommandsMaxMsgs  int64 `yaml:"commands_max_msgs" env:"PRAXIS_COMMANDS_MAX_MSGS"`
	ResultsMaxBytes  int64 `yaml:"results_max_bytes" env:"PRAXIS_RESULTS_MAX_BYTES"`
	ResultsMaxMsgs   int64 `yaml:"results_max_msgs" env:"PRAXIS_RESULTS_MAX_MSGS"`
	DLQMaxBytes      int64 `yaml:"dlq_max_bytes" env:"PRAXIS_DLQ_MAX_BYTES"`
	DLQMaxMsgs       int64 `yaml:"dlq_max_msgs" env:"PRAXIS_DLQ_MAX_MSGS"`
	LedgerMaxBytes   int64 `yaml:"ledger_max_bytes" env:"PRAXIS_LEDGER_MAX_BYTES"`
	LedgerMaxMsgs    int64 `yaml:"ledger_max_msgs" env:"PRAXIS_LEDGER_MAX_MSGS"`
	// KVMaxBytes bounds each embedded-store KV bucket (used without Redis;
	// default -1, unlimited).
	KVMaxBytes int64 `yaml:"kv_max_bytes" env:"PRAXIS_KV_MAX_BYTES"`
	// LedgerDuplicateWindow is the ledger stream's own, longer duplicate
	// window (default 1 hour): a ledger instruction re-published after a
	// long record-store outage is still absorbed. Ledger traffic is small,
	// so the window costs little memory.
	LedgerDuplicateWindow time.Duration `yaml:"ledger_duplicate_window" env:"PRAXIS_LEDGER_DUPLICATE_WINDOW"`
	// Memory uses memory storage instead of files (benchmarks only).
	Memory bool `yaml:"memory"`
	// Providers whose subjects the streams carry (default: Praxis only).
	// Set from the configured applications, not from the file: a stream
	// gains a provider's subjects only when an application uses it, so an
	// unchanged Praxis-only deployment with externally managed streams
	// still verifies.
	Providers []Provider `yaml:"-"`
}

// DefaultDuplicateWindow is three times Praxis' resend delay (about five
// minutes): a resend of a webhook whose PubAck was lost is still absorbed.
const DefaultDuplicateWindow = 15 * time.Minute

// ManageStreams reports whether the adapter creates and updates its streams
// and consumers (the default) rather than only checking them.
func (c StreamsConfig) ManageStreams() bool { return c.Manage == nil || *c.Manage }

// WithDefaults fills zero fields with the documented defaults.
func (c StreamsConfig) WithDefaults() StreamsConfig {
	if c.Manage == nil {
		yes := true
		c.Manage = &yes
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if len(c.Providers) == 0 {
		c.Providers = []Provider{Praxis}
	}
	defLimit := func(v *int64, def int64) {
		if *v == 0 {
			*v = def
		}
	}
	defLimit(&c.CommandsMaxMsgs, 1_000_000)
	defLimit(&c.CommandsMaxBytes, 1<<30)
	for _, v := range []*int64{&c.EventsMaxBytes, &c.EventsMaxMsgs, &c.ResultsMaxBytes, &c.ResultsMaxMsgs,
		&c.DLQMaxBytes, &c.DLQMaxMsgs, &c.LedgerMaxBytes, &c.LedgerMaxMsgs, &c.KVMaxBytes} {
		defLimit(v, -1)
	}
	if c.CommandsMaxAge == 0 {
		c.CommandsMaxAge = -1
	}
	if c.EventsMaxAge == 0 {
		c.EventsMaxAge = 30 * 24 * time.Hour
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
	}
	if c.ResultsMaxAge == 0 {
		c.ResultsMaxAge = 7 * 24 * time.Hour
	}
	if c.DLQMaxAge == 0 {
		c.DLQMaxAge = 30 * 24 * time.Hour
	}
	if c.LedgerMaxAge == 0 {
		c.LedgerMaxAge = 90 * 24 * time.Hour
	}
	if c.LedgerDuplicateWindow == 0 {
		c.LedgerDuplicateWindow = time.Hour
	}
	return c
}

// Validate reports the first unusable setting, naming its config field.
func (c StreamsConfig) Validate() error {
	switch {
	case c.Replicas < 1 || c.Replicas > 5:
		return fmt.Errorf("nats.streams.replicas: %d is not between 1 and 5 (use 3 on a 3-node cluster)", c.Replicas)
	case c.DuplicateWindow < time.Second:
		return fmt.Errorf("nats.streams.duplicate_window: %v is too short; it must cover a crash between publish and dedup (default 2m)", c.DuplicateWindow)
	case c.LedgerDuplicateWindow < time.Minute:
		return fmt.Errorf("nats.streams.ledger_duplicate_window: %v is too short; it must outlast the ledger's retries (default 1h)", c.LedgerDuplicateWindow)
	case c.EventsMaxAge < c.DuplicateWindow:
		return fmt.Errorf("nats.streams.events_max_age: %v is shorter than duplicate_window %v", c.EventsMaxAge, c.DuplicateWindow)
	case c.CommandsMaxAge != -1 && c.CommandsMaxAge < time.Minute:
		return fmt.Errorf("nats.streams.commands_max_age: %v must be -1 (never) or at least 1m", c.CommandsMaxAge)
	}
	for _, l := range []struct {
		name string
		v    int64
	}{{"events_max_bytes", c.EventsMaxBytes}, {"events_max_msgs", c.EventsMaxMsgs}, {"commands_max_bytes", c.CommandsMaxBytes},
		{"commands_max_msgs", c.CommandsMaxMsgs}, {"results_max_bytes", c.ResultsMaxBytes}, {"results_max_msgs", c.ResultsMaxMsgs},
		{"dlq_max_bytes", c.DLQMaxBytes}, {"dlq_max_msgs", c.DLQMaxMsgs}, {"ledger_max_bytes", c.LedgerMaxBytes},
		{"ledger_max_msgs", c.LedgerMaxMsgs}, {"kv_max_bytes", c.KVMaxBytes}} {
		if l.v < -1 {
			return fmt.Errorf("nats.streams.%s: %d must be positive, or -1 for unlimited", l.name, l.v)
		}
	}
	if c.CommandsMaxBytes > 0 && c.CommandsMaxBytes < 1<<20 {
		return fmt.Errorf("nats.streams.commands_max_bytes: %d is below 1 MiB; the command queue would refuse commands almost at once", c.CommandsMaxBytes)
	}
	return nil
}

// Streams returns every stream's configuration.
func Streams(c StreamsConfig) []jetstream.StreamConfig {
	c = c.WithDefaults()
	storage := jetstream.FileStorage
	if c.Memory {
		storage = jetstream.MemoryStorage
	}
	return []jetstream.StreamConfig{
		{
			Name:        StreamEvents,
			Description: "Verified Praxis webhooks as CloudEvents; Nats-Msg-Id is the dedup key",
			Subjects:    subjectsOf(c.Providers, Provider.AllEvents),
			Storage:     storage,
			Replicas:    c.Replicas,
			MaxAge:      c.EventsMaxAge,
			MaxBytes:    c.EventsMaxBytes,
			MaxMsgs:     c.EventsMaxMsgs,
			Duplicates:  c.DuplicateWindow,
			Discard:     jetstream.DiscardOld,
		},
		{
			Name:        StreamCommands,
			Description: "CRM commands for the worker; a work queue, each command consumed once",
			Subjects:    subjectsOf(c.Providers, Provider.AllCommands),
			Storage:     storage,
			Replicas:    c.Replicas,
			Retention:   jetstream.WorkQueuePolicy,
			Duplicates:  c.DuplicateWindow,
			MaxAge:      max(c.CommandsMaxAge, 0),
			MaxBytes:    c.CommandsMaxBytes,
			MaxMsgs:     c.CommandsMaxMsgs,
			// New commands are refused rather than old ones silently dropped.
			Discard: jetstream.DiscardNew,
		},
		{
			Name:        StreamResults,
			Description: "One result per command",
			Subjects:    subjectsOf(c.Providers, Provider.AllResults),
			Storage:     storage,
			Replicas:    c.Replicas,
			MaxAge:      c.ResultsMaxAge,
			MaxBytes:    c.ResultsMaxBytes,
			MaxMsgs:     c.ResultsMaxMsgs,
			Duplicates:  c.DuplicateWindow,
		},
		{
			Name:        StreamDLQ,
			Description: "Commands that were invalid or exhausted their retries, with the reason in headers",
			Subjects:    subjectsOf(c.Providers, Provider.AllDLQ),
			Storage:     storage,
			Replicas:    c.Replicas,
			MaxAge:      c.DLQMaxAge,
			MaxBytes:    c.DLQMaxBytes,
			MaxMsgs:     c.DLQMaxMsgs,
			Duplicates:  c.DuplicateWindow,
		},
		{
			Name:        StreamLedger,
			Description: "Ledger instructions, exactly one per money movement",
			Subjects:    subjectsOf(c.Providers, Provider.AllLedger),
			Storage:     storage,
			Replicas:    c.Replicas,
			MaxAge:      c.LedgerMaxAge,
			MaxBytes:    c.LedgerMaxBytes,
			MaxMsgs:     c.LedgerMaxMsgs,
			Duplicates:  c.LedgerDuplicateWindow,
		},
		{
			Name:        StreamReview,
			Description: "Suspect notifications, held movements, operators' decisions and their audit records",
			Subjects:    subjectsOf(c.Providers, Provider.AllReview),
			Storage:     storage,
			Replicas:    c.Replicas,
			MaxAge:      c.LedgerMaxAge,
			Duplicates:  c.LedgerDuplicateWindow,
		},
	}
}

// EnsureStreams creates every stream, or updates it to this configuration,
// idempotently: it is safe for every replica to call it at start. With
// nats.streams.manage false it changes nothing and only checks them (see
// VerifyStreams).
func EnsureStreams(ctx context.Context, js jetstream.JetStream, c StreamsConfig) error {
	if !c.ManageStreams() {
		return VerifyStreams(ctx, js, c)
	}
	for _, sc := range Streams(c) {
		if err := ensureStream(ctx, js, sc); err != nil {
			return fmt.Errorf("ensure stream %s: %w", sc.Name, err)
		}
	}
	return nil
}

// ensureStream creates or updates one stream. On a cluster that has just
// formed (or lost a node) the meta leader can take longer than one API
// request's timeout to place a replicated stream, so a timeout is retried,
// with each attempt given more time, for up to a minute in all; any other
// error is returned at once.
func ensureStream(ctx context.Context, js jetstream.JetStream, sc jetstream.StreamConfig) error {
	deadline := time.Now().Add(time.Minute)
	wait := 5 * time.Second
	for {
		actx, cancel := context.WithTimeout(ctx, wait)
		_, err := js.CreateOrUpdateStream(actx, sc)
		cancel()
		if err == nil {
			return nil
		}
		timedOut := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
		if !timedOut || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		wait = min(2*wait, 20*time.Second)
	}
}

// CheckStreams reports the first stream that does not exist (readiness).
func CheckStreams(ctx context.Context, js jetstream.JetStream, names ...string) error {
	for _, name := range names {
		if _, err := js.Stream(ctx, name); err != nil {
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				return fmt.Errorf("stream %s does not exist", name)
			}
			return fmt.Errorf("stream %s: %w", name, err)
		}
	}
	return nil
}
