package ingress

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Kinds of webhook, the `kind` label of every ingress metric (Rebilly's
// are KindRebillyNotification and KindRebillyWebhook).
const (
	KindNotification = "notification"
	KindValidation   = "validation"
	KindCustomerSync = "customer_sync"
	KindSubscription = "subscription"
)

// AppUnknown is the `app` label of a webhook whose application is not (or
// not yet) known, e.g. rejected before its application was matched.
const AppUnknown = "unknown"

// Outcomes of a handled webhook, the `outcome` label.
const (
	OutcomeAccepted  = "accepted"  // published now, status 0
	OutcomeDuplicate = "duplicate" // already done, status 0 without publishing
	OutcomeRejected  = "rejected"  // bad input, specific error
	OutcomeFailed    = "failed"    // internal failure, status -1
	OutcomeAnswered  = "answered"  // synchronous callback answered by the CRM
	OutcomeDefaulted = "defaulted" // synchronous callback answered with the configured default
	OutcomeRuled     = "ruled"     // validation decided by a configured rule, without the CRM
)

// Reasons for a rejected request, the `reason` label. The set is closed, so
// the label stays bounded.
const (
	ReasonBodyTooLarge      = "body_too_large"
	ReasonNotJSON           = "not_json"
	ReasonNotObject         = "not_object"
	ReasonContentType       = "content_type"
	ReasonMethod            = "method"
	ReasonMissingField      = "missing_field"
	ReasonMistypedField     = "mistyped_field"
	ReasonUnknownApp        = "unknown_application"
	ReasonSignatureMissing  = "signature_missing"
	ReasonSignatureMismatch = "signature_mismatch"
	ReasonTimestamp         = "timestamp_out_of_range"
	// ReasonAmbiguousKey: a repeated key, or a case variant of a known
	// field, that two JSON parsers could read differently.
	ReasonAmbiguousKey = "ambiguous_key"
)

// Metrics are the ingress's Prometheus metrics. Labels carry only bounded
// values: kind, outcome, reason, application name. Never PII or ids.
type Metrics struct {
	Requests        *prometheus.CounterVec
	Rejected        *prometheus.CounterVec
	Duration        *prometheus.HistogramVec
	PublishDuration *prometheus.HistogramVec
	DedupHits       *prometheus.CounterVec
	ClaimsReleased  *prometheus.CounterVec
	CRMDuration     *prometheus.HistogramVec
	CRMFallbacks    *prometheus.CounterVec
	CompleteErrors  prometheus.Counter
	// InProcessRetries counts publishes repeated after the stream answered
	// "duplicate message id is in process" (another copy being stored).
	InProcessRetries prometheus.Counter
	// RebillyLookups counts the GETs that confirm Rebilly calls by
	// application, object (transaction, payout_request) and outcome
	// (success, not_found, transient, rejected, unknown, mismatch).
	RebillyLookups *prometheus.CounterVec
}

// NewMetrics creates the ingress metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	buckets := []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ingress_requests_total",
			Help: "Webhook calls from Praxis by kind, application and outcome.",
		}, []string{"kind", "app", "outcome"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ingress_rejected_total",
			Help: "Webhook calls refused for bad input, by kind and reason.",
		}, []string{"kind", "reason"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "praxis_ingress_request_duration_seconds",
			Help:    "Time from receiving a webhook to answering it.",
			Buckets: buckets,
		}, []string{"kind"}),
		PublishDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "praxis_ingress_publish_duration_seconds",
			Help:    "JetStream publish latency until the PubAck.",
			Buckets: buckets,
		}, []string{"kind"}),
		DedupHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ingress_dedup_hits_total",
			Help: "Webhooks whose dedup key was already done (not published again) or busy (published again, absorbed by the stream's duplicate window).",
		}, []string{"kind", "state"}),
		ClaimsReleased: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ingress_claims_released_total",
			Help: "Dedup claims given back after a failed publish, so Praxis' resend is handled.",
		}, []string{"kind"}),
		CRMDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "praxis_ingress_crm_request_duration_seconds",
			Help:    "NATS request/reply latency to the CRM for synchronous callbacks.",
			Buckets: buckets,
		}, []string{"kind"}),
		CRMFallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ingress_crm_fallbacks_total",
			Help: "Synchronous callbacks answered with the configured default, by reason (timeout, no_responders, malformed, error).",
		}, []string{"kind", "reason"}),
		CompleteErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "praxis_ingress_dedup_complete_errors_total",
			Help: "Published events whose dedup key could not be marked done (the claim expires; the stream window absorbs a resend).",
		}),
		InProcessRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "praxis_ingress_publish_in_process_retries_total",
			Help: "Publishes repeated because the stream was storing another copy of the same event (nats-server error 10158).",
		}),
		RebillyLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_ingress_rebilly_lookups_total",
			Help: "GETs confirming Rebilly notifications and webhooks, by application, object and outcome (not_found: nothing published).",
		}, []string{"app", "object", "outcome"}),
	}
	reg.MustRegister(m.Requests, m.Rejected, m.Duration, m.PublishDuration, m.DedupHits,
		m.ClaimsReleased, m.CRMDuration, m.CRMFallbacks, m.CompleteErrors, m.InProcessRetries, m.RebillyLookups)
	return m
}
