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
	// (no money), invalid (unusable, terminated) or retried.
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
}

// NewMetrics registers the series on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_events_total", Help: "Events handled by the lifecycle tracker, by outcome.",
		}, []string{"application", "outcome"}),
		Instructions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_instructions_total", Help: "Ledger instructions stored, by kind.",
		}, []string{"application", "kind"}),
		UnknownStatuses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_unknown_statuses_total", Help: "Notifications with a status Praxis does not document (kept and flagged).",
		}, []string{"application", "type"}),
		Ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_ignored_total", Help: "Repeated or regressing statuses that produced no instruction.",
		}, []string{"application", "reason"}),
		Flags: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ledger_flags_total", Help: "Lifecycle flags that ask a person to look.",
		}, []string{"application", "flag"}),
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
	}
	for _, c := range []prometheus.Collector{m.Events, m.Instructions, m.UnknownStatuses, m.Ignored, m.Flags,
		m.Retries, m.Conflicts, m.DuplicatesAbsorbed, m.StaleOutbox, m.Duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ledger: register metrics (one service per registry): %w", err)
		}
	}
	return m, nil
}
