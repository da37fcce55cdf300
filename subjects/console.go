package subjects

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The operator console's names: its audit records, the durable consumers
// that feed the transaction timeline's index, and the index's bucket.
//
//	praxis.audit.<app>.<source>               who did what, when and why (stream PRAXIS_AUDIT)
const (
	// StreamAudit keeps every operator action (replay, resolve) for a year.
	StreamAudit = "PRAXIS_AUDIT"
	// AllAudit matches every audit record.
	AllAudit = Root + ".audit.>"
	// AuditConsole is the <source> token of actions taken in the console.
	AuditConsole = "console"
	// ConsumerConsoleIndex is the durable consumer, one on each indexed
	// stream, through which the console's indexer reads every message.
	ConsumerConsoleIndex = "praxis-console-index"
	// BucketConsoleIndex is the JetStream key-value bucket holding the
	// timeline index (search key → message references).
	BucketConsoleIndex = "PRAXIS_CONSOLE_INDEX"
	// DefaultAuditMaxAge keeps audit records for a year.
	DefaultAuditMaxAge = 365 * 24 * time.Hour
)

// Audit is praxis.audit.<app>.<source>, e.g. praxis.audit.sandbox.console.
func Audit(app, source string) string {
	return Root + ".audit." + Token(app) + "." + Token(source)
}

// AuditStream is the audit stream's configuration (file storage, maxAge
// 0 takes DefaultAuditMaxAge). It is not in Streams: only a process that
// serves the console creates it.
func AuditStream(replicas int, maxAge time.Duration, memory bool) jetstream.StreamConfig {
	if maxAge == 0 {
		maxAge = DefaultAuditMaxAge
	}
	if replicas == 0 {
		replicas = 1
	}
	storage := jetstream.FileStorage
	if memory {
		storage = jetstream.MemoryStorage
	}
	return jetstream.StreamConfig{
		Name:        StreamAudit,
		Description: "Operator actions (replay, resolve): who, what, when, why",
		Subjects:    []string{AllAudit},
		Storage:     storage,
		Replicas:    replicas,
		MaxAge:      maxAge,
	}
}

// EnsureAuditStream creates or updates the audit stream.
func EnsureAuditStream(ctx context.Context, js jetstream.JetStream, sc jetstream.StreamConfig) error {
	if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
		return fmt.Errorf("ensure stream %s: %w", sc.Name, err)
	}
	return nil
}

// IndexedStreams are the streams whose messages the console's timeline
// indexes (commands are read from their subjects, since PRAXIS_COMMANDS is
// a work queue that allows one consumer only).
func IndexedStreams() []string {
	return []string{StreamEvents, StreamResults, StreamDLQ, StreamLedger, StreamReview, StreamAudit}
}
