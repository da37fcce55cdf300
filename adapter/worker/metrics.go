package worker

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the worker's Prometheus metrics; labels are bounded
// (application, command, endpoint, outcome), never ids or PII.
type Metrics struct {
	Commands        *prometheus.CounterVec
	Replays         *prometheus.CounterVec
	Retries         *prometheus.CounterVec
	Busy            *prometheus.CounterVec
	DeadLetters     *prometheus.CounterVec
	Reconciliations *prometheus.CounterVec
	PraxisCalls     *prometheus.CounterVec
	PraxisDuration  *prometheus.HistogramVec
	Latency         *prometheus.HistogramVec
	InFlight        prometheus.Gauge
}

// NewMetrics creates the worker metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	buckets := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	m := &Metrics{
		Commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_worker_commands_total",
			Help: "Commands finished, by application, command and outcome (ok, rejected, invalid, failed).",
		}, []string{"app", "command", "outcome"}),
		Replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_worker_replays_total",
			Help: "Commands answered from their stored result without calling Praxis (redelivery or re-publish).",
		}, []string{"app", "command"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_worker_retries_total",
			Help: "Deliveries nak'ed for a later retry, by reason (transient, unknown_outcome, internal).",
		}, []string{"command", "reason"}),
		Busy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_worker_busy_total",
			Help: "Deliveries that found their command held by another worker and waited for it.",
		}, []string{"command"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_worker_dead_letters_total",
			Help: "Commands copied to the dead-letter stream, by outcome (invalid, failed).",
		}, []string{"app", "command", "outcome"}),
		Reconciliations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_worker_reconciliations_total",
			Help: "Lookups made before repeating a state-changing call, by what they showed (done, not_done, final, unknown).",
		}, []string{"command", "result"}),
		PraxisCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_worker_praxis_calls_total",
			Help: "Praxis HTTP calls by application, endpoint and outcome (success, rejected, transient, unknown).",
		}, []string{"app", "endpoint", "outcome"}),
		PraxisDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "praxis_worker_praxis_call_duration_seconds",
			Help:    "Praxis HTTP call latency by endpoint.",
			Buckets: buckets,
		}, []string{"endpoint"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "praxis_worker_command_latency_seconds",
			Help:    "From the command's arrival in the stream to its result being published.",
			Buckets: buckets,
		}, []string{"command"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "praxis_worker_in_flight",
			Help: "Commands being processed by this worker.",
		}),
	}
	reg.MustRegister(m.Commands, m.Replays, m.Retries, m.Busy, m.DeadLetters, m.Reconciliations,
		m.PraxisCalls, m.PraxisDuration, m.Latency, m.InFlight)
	return m
}
