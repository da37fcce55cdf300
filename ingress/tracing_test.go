package ingress

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/telemetry"
)

func TestTraceRunsFromHTTPRequestToNATSMessage(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := telemetry.NewTracerProviderWith(telemetry.Config{ServiceName: "test"}, sdktrace.WithSyncer(exp))
	h := newHarnessWith(t, kvStore, tp)
	sub, err := h.nc.SubscribeSync("praxis.events.>")
	require.NoError(t, err)

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	body := notification(merchant, 31, "sale", "approved", 100, time.Now().Unix())
	r := h.post(t, PathNotification, body, h.sign(t, praxis.ListNotificationRequest, body, secret),
		"traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	require.Equal(t, 0, r.Status, r.Description)
	msg, err := sub.NextMsg(2 * time.Second)
	require.NoError(t, err)

	spans := exp.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	server, ok := byName["praxis notification"]
	require.True(t, ok, "server span exists: %v", spans)
	publish, ok := byName["publish praxis.events.sandbox.deposit.approved"]
	require.True(t, ok, "publish span exists")
	assert.Equal(t, traceID, server.SpanContext.TraceID().String(), "the caller's trace continues")
	assert.Equal(t, server.SpanContext.SpanID(), publish.Parent.SpanID(), "publish is a child of the request")
	assert.Equal(t, "00-"+traceID+"-"+publish.SpanContext.SpanID().String()+"-01", msg.Header.Get("traceparent"),
		"the message carries the publish span as its parent")
}
