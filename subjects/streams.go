package subjects

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamsConfig sizes the streams. Zero values take the defaults.
type StreamsConfig struct {
	// Replicas for every stream: 1 for a single server, 3 for a cluster.
	Replicas int `yaml:"replicas"`
	// EventsMaxAge keeps verified webhooks (default 30 days).
	EventsMaxAge time.Duration `yaml:"events_max_age"`
	// DuplicateWindow is how long JetStream remembers a Nats-Msg-Id
	// (default 2 minutes): it absorbs a second publish of one event after a
	// crash between publish and marking the dedup key done.
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	// ResultsMaxAge keeps command results (default 7 days).
	ResultsMaxAge time.Duration `yaml:"results_max_age"`
	// DLQMaxAge keeps dead letters for operators (default 30 days).
	DLQMaxAge time.Duration `yaml:"dlq_max_age"`
	// LedgerMaxAge keeps ledger instructions (default 90 days).
	LedgerMaxAge time.Duration `yaml:"ledger_max_age"`
	// LedgerDuplicateWindow is the ledger stream's own, longer duplicate
	// window (default 1 hour): a ledger instruction re-published after a
	// long record-store outage is still absorbed. Ledger traffic is small,
	// so the window costs little memory.
	LedgerDuplicateWindow time.Duration `yaml:"ledger_duplicate_window"`
	// Memory uses memory storage instead of files (benchmarks only).
	Memory bool `yaml:"memory"`
}

// WithDefaults fills zero fields with the documented defaults.
func (c StreamsConfig) WithDefaults() StreamsConfig {
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.EventsMaxAge == 0 {
		c.EventsMaxAge = 30 * 24 * time.Hour
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = 2 * time.Minute
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
			Subjects:    []string{AllEvents},
			Storage:     storage,
			Replicas:    c.Replicas,
			MaxAge:      c.EventsMaxAge,
			Duplicates:  c.DuplicateWindow,
			Discard:     jetstream.DiscardOld,
		},
		{
			Name:        StreamCommands,
			Description: "CRM commands for the worker; a work queue, each command consumed once",
			Subjects:    []string{AllCommands},
			Storage:     storage,
			Replicas:    c.Replicas,
			Retention:   jetstream.WorkQueuePolicy,
			Duplicates:  c.DuplicateWindow,
			// New commands are refused rather than old ones silently dropped.
			Discard: jetstream.DiscardNew,
		},
		{
			Name:        StreamResults,
			Description: "One result per command",
			Subjects:    []string{AllResults},
			Storage:     storage,
			Replicas:    c.Replicas,
			MaxAge:      c.ResultsMaxAge,
			Duplicates:  c.DuplicateWindow,
		},
		{
			Name:        StreamDLQ,
			Description: "Commands that were invalid or exhausted their retries, with the reason in headers",
			Subjects:    []string{AllDLQ},
			Storage:     storage,
			Replicas:    c.Replicas,
			MaxAge:      c.DLQMaxAge,
			Duplicates:  c.DuplicateWindow,
		},
		{
			Name:        StreamLedger,
			Description: "Ledger instructions, exactly one per money movement",
			Subjects:    []string{AllLedger},
			Storage:     storage,
			Replicas:    c.Replicas,
			MaxAge:      c.LedgerMaxAge,
			Duplicates:  c.LedgerDuplicateWindow,
		},
		{
			Name:        StreamReview,
			Description: "Suspect notifications, held movements, operators' decisions and their audit records",
			Subjects:    []string{AllReview},
			Storage:     storage,
			Replicas:    c.Replicas,
			MaxAge:      c.LedgerMaxAge,
			Duplicates:  c.LedgerDuplicateWindow,
		},
	}
}

// EnsureStreams creates every stream, or updates it to this configuration,
// idempotently: it is safe for every replica to call it at start.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, c StreamsConfig) error {
	for _, sc := range Streams(c) {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("ensure stream %s: %w", sc.Name, err)
		}
	}
	return nil
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
