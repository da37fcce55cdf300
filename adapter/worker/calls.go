package worker

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/praxis-adapter/praxis-adapter/adapter/provider"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// request waits for the application's rate limit (covered by the claim's
// renewals), proves the claim still held and records the request in it
// (gate; call marks "may have been sent"), then makes one provider request
// cut off before the lease ends, and counts it. A *gateError means nothing
// was sent; an error that provably never left (provider.NotSent) takes
// its call back.
func (w *Worker) request(ctx context.Context, j *job, endpoint string, call bool, f func(context.Context) error) error {
	if err := j.app.limiter.Wait(ctx); err != nil {
		return &localError{provider: w.prov, op: endpoint, what: "rate limit wait", err: err}
	}
	lctx := ctx
	ctx, cancel, err := w.gate(ctx, j, call)
	if err != nil {
		return err
	}
	defer cancel()
	defer func() {
		if call && provider.NotSent(err) {
			w.retract(lctx, j) // provably never sent: take the call back
		}
	}()
	name := w.prov.String()
	var span trace.Span
	if w.tracing {
		ctx, span = w.tracer.Start(ctx, name+" "+endpoint, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String(name+".endpoint", endpoint), attribute.String(name+".application", j.app.Name)))
	}
	start := time.Now()
	err = f(ctx)
	took := time.Since(start)
	j.res.PraxisMS += float64(took.Microseconds()) / 1000
	outcome := provider.Classify(err).String()
	if span != nil {
		span.SetAttributes(attribute.String(name+".outcome", outcome))
		span.End()
	}
	w.metrics.PraxisCalls.WithLabelValues(j.app.Name, endpoint, outcome).Inc()
	w.metrics.PraxisDuration.WithLabelValues(endpoint).Observe(took.Seconds())
	return err
}

// localError is a failure on our side before a request was sent (a
// cancelled rate-limit wait, a record that had to be written first): a
// retry is safe, so it is transient and never sent.
type localError struct {
	provider subjects.Provider
	op, what string
	err      error
}

func (e *localError) Error() string {
	return fmt.Sprintf("%s %s: transient: %s: %v", e.provider, e.op, e.what, e.err)
}
func (e *localError) Unwrap() error                     { return e.err }
func (e *localError) ProviderOutcome() provider.Outcome { return provider.Transient }
func (e *localError) NotSent() bool                     { return true }

// call makes the command's one provider call (its protocol's).
func (w *Worker) call(ctx context.Context, j *job) error { return w.proto.call(ctx, w, j) }

// reconcile looks the provider up before repeating a state-changing call
// that may have reached it; only a definite answer counts (done, not done,
// explicitly not found), anything else is unknown.
func (w *Worker) reconcile(ctx context.Context, j *job) (out reconcileResult) {
	defer func() {
		w.metrics.Reconciliations.WithLabelValues(j.name, reconcileLabel(out)).Inc()
		j.l().Info().Str("result", reconcileLabel(out)).Msg("reconciled an earlier call by lookup")
	}()
	return w.proto.reconcile(ctx, w, j)
}

// reconcileResult says what a lookup showed about an earlier call.
type reconcileResult int

const (
	// reconciledDone: the effect happened; the result is filled as ok.
	reconciledDone reconcileResult = iota + 1
	// reconciledFinal: the command cannot succeed any more (or its answer
	// is lost); the result is filled as failed or rejected.
	reconciledFinal
	// reconcileNotDone: Praxis shows the object in a state that means the
	// effect did not happen (yet): trusted only after the settle window.
	reconcileNotDone
	// reconcileNotFound: Praxis said explicitly "not found": trusted only
	// after the settle window.
	reconcileNotFound
	// reconcileUnknown: the lookup proved nothing (any error other than an
	// explicit "not found"); try again later, never call on it.
	reconcileUnknown
	// reconcileGate: the claim could not be proven held; nothing was asked.
	reconcileGate
)

func reconcileLabel(r reconcileResult) string {
	switch r {
	case reconciledDone:
		return "done"
	case reconciledFinal:
		return "final"
	case reconcileNotDone:
		return "not_done"
	case reconcileNotFound:
		return "not_found"
	case reconcileUnknown:
		return "unknown"
	case reconcileGate:
		return "claim_lost"
	}
	return "none"
}
