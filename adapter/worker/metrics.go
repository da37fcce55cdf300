package worker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Metrics are the worker's Prometheus metrics; labels are bounded
// (application, command, endpoint, outcome), never ids or PII: a subject's
// application or command that is not configured or known counts as
// "unknown", however many invented subjects arrive.
type Metrics struct {
	Commands CounterVec
	Replays  CounterVec
	Retries  CounterVec
	Busy     CounterVec
	// ClaimRenewals counts the lease's periodic renewals by outcome:
	// renewed, lost (another holder has it: the worker stops before any
	// further call) or error (the store did not answer; the check before
	// the next call decides). Failing renewals are alerted on.
	ClaimRenewals   CounterVec
	DeadLetters     CounterVec
	Reconciliations CounterVec
	PraxisCalls     CounterVec
	PraxisDuration  HistogramVec
	Latency         HistogramVec
	InFlight        prometheus.Gauge
}

// LabelUnknown replaces an application or command label value that is not
// configured or known.
const LabelUnknown = "unknown"

// labelKind says what a label position holds.
type labelKind int

const (
	labelOther labelKind = iota
	labelApp
	labelCommand
)

// bounder maps application and command label values onto the known set.
type bounder struct {
	apps   map[string]bool
	lookup func(string) (command.Spec, bool)
}

func (b bounder) bound(kinds []labelKind, lvs []string) []string {
	var out []string
	for i, k := range kinds {
		if i >= len(lvs) {
			break
		}
		v := lvs[i]
		ok := true
		switch k {
		case labelApp:
			ok = b.apps[v]
		case labelCommand:
			_, ok = b.lookup(v)
		}
		if !ok {
			if out == nil {
				out = append([]string(nil), lvs...)
			}
			out[i] = LabelUnknown
		}
	}
	if out == nil {
		return lvs
	}
	return out
}

// CounterVec is a counter vector whose application and command labels are
// bounded.
type CounterVec struct {
	*prometheus.CounterVec
	kinds []labelKind
	b     bounder
}

// WithLabelValues is prometheus.CounterVec's, with unknown applications
// and commands counted as "unknown".
func (v CounterVec) WithLabelValues(lvs ...string) prometheus.Counter {
	return v.CounterVec.WithLabelValues(v.b.bound(v.kinds, lvs)...)
}

// HistogramVec is a histogram vector whose command label is bounded.
type HistogramVec struct {
	*prometheus.HistogramVec
	kinds []labelKind
	b     bounder
}

// WithLabelValues is prometheus.HistogramVec's, with unknown commands
// counted as "unknown".
func (v HistogramVec) WithLabelValues(lvs ...string) prometheus.Observer {
	return v.HistogramVec.WithLabelValues(v.b.bound(v.kinds, lvs)...)
}

// NewCounterVec is prometheus.NewCounterVec with bounded labels.
func (b bounder) NewCounterVec(o prometheus.CounterOpts, labels []string) CounterVec {
	return CounterVec{CounterVec: prometheus.NewCounterVec(o, labels), kinds: labelKinds(labels), b: b}
}

// NewHistogramVec is prometheus.NewHistogramVec with bounded labels.
func (b bounder) NewHistogramVec(o prometheus.HistogramOpts, labels []string) HistogramVec {
	return HistogramVec{HistogramVec: prometheus.NewHistogramVec(o, labels), kinds: labelKinds(labels), b: b}
}

// labelKinds maps label names to what they hold.
func labelKinds(names []string) []labelKind {
	out := make([]labelKind, len(names))
	for i, n := range names {
		switch n {
		case "app":
			out[i] = labelApp
		case "command":
			out[i] = labelCommand
		}
	}
	return out
}

// NewMetrics creates the Praxis worker's metrics and registers them on
// reg; apps are the configured applications (the only app label values
// besides "frontend" and "unknown").
func NewMetrics(reg prometheus.Registerer, apps ...Application) *Metrics {
	return newMetrics(reg, subjects.Praxis, command.Lookup, apps...)
}

// newMetrics creates a provider's worker metrics. Every provider's worker
// exports the same series names with a constant provider label, so one
// dashboard and one set of alerts cover them all; only the provider's own
// HTTP calls have their own names (praxis_worker_<provider>_calls_total).
// lookup bounds the command label to the provider's commands.
func newMetrics(reg prometheus.Registerer, p subjects.Provider, lookup func(string) (command.Spec, bool), apps ...Application) *Metrics {
	b := bounder{apps: map[string]bool{FrontendApp: true}, lookup: lookup}
	who := providerTitle(p)
	reg = prometheus.WrapRegistererWith(prometheus.Labels{"provider": p.String()}, reg)
	for _, a := range apps {
		b.apps[a.Name] = true
	}
	buckets := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	m := &Metrics{
		Commands: b.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_worker_commands_total",
			Help: "Commands finished, by application, command and outcome (ok, rejected, invalid, failed).",
		}, []string{"app", "command", "outcome"}),
		Replays: b.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_worker_replays_total",
			Help: "Commands answered from their stored result without calling the provider (redelivery or re-publish).",
		}, []string{"app", "command"}),
		Retries: b.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_worker_retries_total",
			Help: "Deliveries nak'ed for a later retry, by reason (transient, unknown_outcome, internal).",
		}, []string{"command", "reason"}),
		Busy: b.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_worker_busy_total",
			Help: "Deliveries that found their command held by another worker and waited for it.",
		}, []string{"command"}),
		ClaimRenewals: b.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_worker_claim_renewals_total",
			Help: "Periodic renewals of held command claims, by outcome (renewed, lost, error).",
		}, []string{"command", "outcome"}),
		DeadLetters: b.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_worker_dead_letters_total",
			Help: "Commands copied to the dead-letter stream, by outcome (invalid, failed).",
		}, []string{"app", "command", "outcome"}),
		Reconciliations: b.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_worker_reconciliations_total",
			Help: "Lookups made before repeating a state-changing call, by what they showed (done, not_done, final, unknown).",
		}, []string{"command", "result"}),
		Latency: b.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "praxis_worker_command_latency_seconds",
			Help:    "From the command's arrival in the stream to its result being published.",
			Buckets: buckets,
		}, []string{"command"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "praxis_worker_in_flight",
			Help: "Commands being processed by this worker.",
		}),
	}
	callsHelp, durationHelp := who+" HTTP calls by application, endpoint and outcome (success, rejected, transient, unknown).", who+" HTTP call latency by endpoint."
	if p == subjects.Rebilly {
		m.PraxisCalls = b.NewCounterVec(prometheus.CounterOpts{Name: "praxis_worker_rebilly_calls_total", Help: callsHelp},
			[]string{"app", "endpoint", "outcome"})
		m.PraxisDuration = b.NewHistogramVec(prometheus.HistogramOpts{Name: "praxis_worker_rebilly_call_duration_seconds",
			Help: durationHelp, Buckets: buckets}, []string{"endpoint"})
	} else {
		m.PraxisCalls = b.NewCounterVec(prometheus.CounterOpts{Name: "praxis_worker_praxis_calls_total", Help: callsHelp},
			[]string{"app", "endpoint", "outcome"})
		m.PraxisDuration = b.NewHistogramVec(prometheus.HistogramOpts{Name: "praxis_worker_praxis_call_duration_seconds",
			Help: durationHelp, Buckets: buckets}, []string{"endpoint"})
	}
	reg.MustRegister(m.Commands, m.Replays, m.Retries, m.Busy, m.ClaimRenewals, m.DeadLetters, m.Reconciliations,
		m.PraxisCalls, m.PraxisDuration, m.Latency, m.InFlight)
	return m
}
