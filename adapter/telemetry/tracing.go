// Package telemetry sets up OpenTelemetry tracing and carries W3C trace
// context across NATS, which nats.go does not do for us: the ingress
// injects traceparent into the messages it publishes, the worker and the
// ledger extract it from the messages they consume, so one trace runs from
// Praxis' HTTP request, or the CRM's command, to the Praxis call.
package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// TracerName names the adapter's instrumentation scope.
const TracerName = "github.com/praxis-adapter/praxis-adapter"

// Config says where traces go.
type Config struct {
	// OTLPEndpoint is an OTLP/HTTP collector base URL (http://collector:4318);
	// empty disables tracing (a no-op tracer, no cost on hot paths).
	OTLPEndpoint string
	ServiceName  string
	// SampleRatio samples root traces (0 ≤ r ≤ 1; 0 starts none, e.g. to
	// follow only upstream decisions); children follow their parent.
	SampleRatio float64
}

// NewTracerProvider returns the provider for cfg and a shutdown function
// that flushes pending spans.
func NewTracerProvider(ctx context.Context, cfg Config) (trace.TracerProvider, func(context.Context) error, error) {
	if cfg.OTLPEndpoint == "" {
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimRight(cfg.OTLPEndpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, nil, fmt.Errorf("telemetry: OTLP exporter for %s: %w", cfg.OTLPEndpoint, err)
	}
	tp := NewTracerProviderWith(cfg, sdktrace.WithBatcher(exp))
	return tp, tp.Shutdown, nil
}

// NewTracerProviderWith builds an SDK provider with the given span
// processors or exporters (tests pass an in-memory exporter).
func NewTracerProviderWith(cfg Config, opts ...sdktrace.TracerProviderOption) *sdktrace.TracerProvider {
	ratio := cfg.SampleRatio
	if ratio < 0 || ratio > 1 || ratio != ratio {
		ratio = 1 // config validation refuses these; be safe for library callers
	}
	res := resource.NewSchemaless(attribute.String("service.name", cfg.ServiceName))
	opts = append([]sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	}, opts...)
	return sdktrace.NewTracerProvider(opts...)
}

// Tracer returns the adapter's tracer from tp (nil: a no-op tracer).
func Tracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return tp.Tracer(TracerName)
}

// Enabled reports whether tp records anything, so hot paths can skip span
// bookkeeping entirely when tracing is off.
func Enabled(tp trace.TracerProvider) bool {
	if tp == nil {
		return false
	}
	_, isNoop := tp.(noop.TracerProvider)
	return !isNoop
}

// natsCarrier adapts nats.Header to the propagation carrier interface.
type natsCarrier nats.Header

func (c natsCarrier) Get(key string) string { return nats.Header(c).Get(key) }
func (c natsCarrier) Set(key, value string) { nats.Header(c).Set(key, value) }
func (c natsCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// InjectNATS writes ctx's trace context (traceparent, tracestate) into h.
func InjectNATS(ctx context.Context, h nats.Header) {
	propagation.TraceContext{}.Inject(ctx, natsCarrier(h))
}

// ExtractNATS returns ctx carrying the trace context found in h.
func ExtractNATS(ctx context.Context, h nats.Header) context.Context {
	if h == nil {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, natsCarrier(h))
}

// InjectHTTP writes ctx's trace context into an outgoing request's headers.
func InjectHTTP(ctx context.Context, h http.Header) {
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(h))
}

// ExtractHTTP returns ctx carrying the trace context of an incoming request.
func ExtractHTTP(ctx context.Context, h http.Header) context.Context {
	return propagation.TraceContext{}.Extract(ctx, propagation.HeaderCarrier(h))
}
