package ledger

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the service's Prometheus series. Labels are bounded: the
// configured applications (others count as "unknown"), the fixed kinds,
// event types, outcomes and flags; never a status text, tid or customer.
type Metrics struct {
	// Events counts deliveries by outcome: a lifecycle outcome, or skipped
	// (no money), invalid (unusable, terminated) or retried; Rebilly events
	// also count applied, no_movement (declined, unknown, a repeat of a
	// booked milestone) and already_applied.
	Events *prometheus.CounterVec
	// Instructions counts instructions stored in the ledger stream (copies
	// the duplicate window dropped are not counted).
	Instructions *prometheus.CounterVec
	// UnknownStatuses counts statuses API.md §6 does not list, by event type.
	UnknownStatuses *prometheus.CounterVec
	// Ignored counts repeats and regressions that produced nothing.
	Ignored *prometheus.CounterVec
	// Flags counts lifecycle flags asking a person to look.
	Flags *prometheus.CounterVec
	// Retries counts failed deliveries that were nak'ed, by step.
	Retries *prometheus.CounterVec
	// Conflicts counts lost compare-and-set rounds (another replica won).
	Conflicts prometheus.Counter
	// DuplicatesAbsorbed counts re-published instructions the stream dropped.
	DuplicatesAbsorbed prometheus.Counter
	// StaleOutbox counts outboxes flushed after the duplicate window.
	StaleOutbox prometheus.Counter
	// Duration is the time to handle one delivery.
	Duration prometheus.Histogram
	// Lookups counts find-transaction answers by verdict (found,
	// not_found, unknown) or shared (another event's answer reused).
	Lookups *prometheus.CounterVec
	// LookupDuration is the time of one lookup, rate-limiter wait included.
	LookupDuration prometheus.Histogram
	// Confirmations counts events by confirmation outcome: confirmed,
	// trusted (trust_signature), recheck (one more lookup later), suspect.
	Confirmations *prometheus.CounterVec
	// Suspects counts suspect records published, by reason.
	Suspects *prometheus.CounterVec
	// Holds counts held movements announced, by reason.
	Holds *prometheus.CounterVec
	// Resolutions counts operators' decisions by action (book, dismiss) or refused.
	Resolutions *prometheus.CounterVec
	// FetchErrors counts failed fetches from the events or review streams.
	FetchErrors prometheus.Counter
	// DuplicatesInProcess counts publishes re-sent after nats-server's
	// 10158 "duplicate message id is in process".
	DuplicatesInProcess prometheus.Counter
}

// NewMetrics registers the series on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_events_total", Help: "Events handled by the lifecycle tracker, by outcome.",
		}, []string{"app", "outcome"}),
		Instructions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_instructions_total", Help: "Ledger instructions stored, by kind.",
		}, []string{"app", "kind"}),
		UnknownStatuses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_unknown_statuses_total", Help: "Notifications with a status Praxis does not document (kept and flagged).",
		}, []string{"app", "type"}),
		Ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_ignored_total", Help: "Repeated or regressing statuses that produced no instruction.",
		}, []string{"app", "reason"}),
		Flags: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_flags_total", Help: "Lifecycle flags that ask a person to look.",
		}, []string{"app", "flag"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_retries_total", Help: "Deliveries nak'ed for a later retry, by failed step.",
		}, []string{"step"}),
		Conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "praxis_ledger_cas_conflicts_total", Help: "State compare-and-set rounds lost to a concurrent update.",
		}),
		DuplicatesAbsorbed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "praxis_ledger_duplicates_absorbed_total", Help: "Re-published instructions dropped by the stream's duplicate window.",
		}),
		StaleOutbox: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "praxis_ledger_stale_outbox_total", Help: "Outboxes re-published after the duplicate window (consumers must dedupe by id).",
		}),
		Duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "praxis_ledger_handle_seconds", Help: "Time to handle one event delivery.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		Lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_lookups_total", Help: "Praxis find-transaction answers the ledger used, by verdict (found, not_found, unknown, shared).",
		}, []string{"app", "verdict"}),
		LookupDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "praxis_ledger_lookup_seconds", Help: "Time of one confirming lookup, rate-limit wait included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		Confirmations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_confirmations_total", Help: "Money events by confirmation outcome (confirmed, trusted, recheck, suspect).",
		}, []string{"app", "outcome"}),
		Suspects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_suspects_total", Help: "Notifications Praxis did not confirm within the re-check horizon (nothing booked), by reason.",
		}, []string{"app", "reason"}),
		Holds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_holds_total", Help: "Doubtful movements held for an operator's decision, by reason.",
		}, []string{"app", "reason"}),
		Resolutions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_resolutions_total", Help: "Operators' decisions on holds, by action (book, dismiss, refused).",
		}, []string{"app", "action"}),
		FetchErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "praxis_ledger_fetch_errors_total", Help: "Failed fetches from the events or review streams (retried with backoff).",
		}),
		DuplicatesInProcess: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "praxis_ledger_duplicates_in_process_total", Help: "Publishes re-sent after error 10158 (another replica was storing the same id).",
		}),
	}
	for _, c := range []prometheus.Collector{m.Events, m.Instructions, m.UnknownStatuses, m.Ignored, m.Flags,
		m.Retries, m.Conflicts, m.DuplicatesAbsorbed, m.StaleOutbox, m.Duration, m.Lookups, m.LookupDuration,
		m.Confirmations, m.Suspects, m.Holds, m.Resolutions, m.FetchErrors, m.DuplicatesInProcess} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ledger: register metrics (one service per registry): %w", err)
		}
	}
	return m, nil
}
