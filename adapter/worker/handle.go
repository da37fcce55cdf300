package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/provider"
	"github.com/praxis-adapter/praxis-adapter/adapter/telemetry"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// job is one delivery of one command on its way through handle.
type job struct {
	msg      jetstream.Msg
	meta     *jetstream.MsgMetadata
	appToken string // <app> token of the subject
	name     string // command name
	app      *appState
	spec     command.Spec
	cmd      command.Command
	fp       string
	res      command.Result
	log      *zerolog.Logger // built on first use: most commands log nothing
	base     zerolog.Logger
	start    time.Time
	lease    *lease    // the held claim, once acquired
	lastSend time.Time // when this delivery announced its last call
}

// l returns the job's logger, with the command's fields.
func (j *job) l() *zerolog.Logger {
	if j.log == nil {
		l := j.base.With().Str("command", j.name).Str("command_id", j.res.ID).Uint64("seq", j.meta.Sequence.Stream).Logger()
		j.log = &l
	}
	return j.log
}

// handle processes one delivery. It always ends the delivery: ack after a
// final result is durably published, or NakWithDelay to retry later.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	j := &job{msg: msg, start: w.cfg.Now(), base: w.log}
	meta, err := msg.Metadata()
	if err != nil {
		w.log.Error().Err(err).Str("subject", msg.Subject()).Msg("command without JetStream metadata; terminating it")
		_ = msg.Term()
		return
	}
	j.meta = meta
	if w.tracing {
		var span trace.Span
		ctx, span = w.tracer.Start(telemetry.ExtractNATS(ctx, msg.Headers()), "process "+msg.Subject(),
			trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attribute.String("messaging.system", "nats"),
				attribute.String("messaging.destination.name", msg.Subject()), attribute.Int64("messaging.delivery_count", int64(meta.NumDelivered))))
		defer func() {
			span.SetAttributes(attribute.String("praxis.command_id", j.res.ID), attribute.String("praxis.outcome", j.res.Outcome))
			if j.res.Outcome == command.OutcomeFailed || j.res.Outcome == command.OutcomeInvalid {
				span.SetStatus(codes.Error, j.res.Outcome)
			}
			span.End()
		}()
	}
	j.res.Deliveries = int(meta.NumDelivered)
	j.appToken, j.name, err = w.prov.ParseCommand(msg.Subject())
	if err != nil {
		j.appToken, j.name = "unknown", "unknown"
	}
	j.res.Command, j.res.Application = j.name, j.appToken
	if w.prov != subjects.Praxis {
		j.res.Provider = w.prov.String()
	}
	if err != nil {
		w.finishInvalid(ctx, j, command.ReasonInvalidSubject, err.Error())
		return
	}

	// Parse and validate before anything else: an invalid command never
	// touches the idempotency store or Praxis.
	spec, ok := w.proto.lookup(j.name)
	if !ok {
		w.finishInvalid(ctx, j, command.ReasonUnknownCommand, fmt.Sprintf("unknown command %q; known commands: %v", j.name, w.proto.names()))
		return
	}
	j.spec = spec
	j.cmd, err = w.proto.parse(j.name, msg.Data(), w.cfg.Now())
	if j.cmd != nil {
		j.res.ID = j.cmd.Base().ID
	}
	if err != nil {
		reason, _ := command.IsInvalid(err)
		w.finishInvalid(ctx, j, command.ReasonInvalidCommand, reason)
		return
	}
	if code, reason, err := w.resolve(ctx, j); err != nil {
		w.retryLater(ctx, j, false, 0, "resolve application", err)
		return
	} else if reason != "" {
		w.finishInvalid(ctx, j, code, reason)
		return
	}
	j.fp = command.Fingerprint(j.name, j.cmd)
	key := w.keyPrefix("cmd") + j.app.Name + ":" + j.res.ID

	claim, err := w.deps.Store.Claim(ctx, key, w.cfg.ClaimTTL)
	if err != nil {
		w.retryLater(ctx, j, false, 0, "claim command id", err)
		return
	}
	if claim.State == idempotency.Busy {
		if claim, err = w.waitForHolder(ctx, j, key); err != nil {
			w.retryLater(ctx, j, false, 0, "wait for the command's other holder", err)
			return
		}
	}
	if claim.State == idempotency.Done {
		w.replay(ctx, j, claim.Value)
		return
	}
	w.execute(ctx, j, claim)
}

// keyPrefix namespaces the worker's idempotency keys: "<kind>:" for Praxis
// (the keys it always used), "<kind>:<provider>:" for any other provider,
// so an application name used by two providers never shares a command id.
func (w *Worker) keyPrefix(kind string) string {
	if w.prov == subjects.Praxis {
		return kind + ":"
	}
	return kind + ":" + w.prov.String() + ":"
}

// resolve finds the command's application (directly, or by front end) and
// fills the defaults that depend on it. A non-empty reason makes the
// command invalid; an error is a transient lookup failure.
func (w *Worker) resolve(ctx context.Context, j *job) (code, reason string, err error) {
	base := j.cmd.Base()
	name := j.appToken
	if name == FrontendApp {
		cur := commandCurrency(j.cmd)
		if w.cfg.Router == nil || base.Website == "" || cur == "" {
			return command.ReasonInvalidApplication, "commands on the frontend subject need a website and a currency (and configured front ends)", nil
		}
		resolved, err := w.cfg.Router.Resolve(ctx, base.Website, cur)
		if err != nil {
			var nf *NotFoundError
			if errors.As(err, &nf) {
				return command.ReasonInvalidApplication, nf.Error(), nil
			}
			return "", "", err
		}
		name = resolved
	}
	if base.Application != "" && base.Application != name {
		return command.ReasonInvalidApplication, fmt.Sprintf("application %q in the body does not match %q from the subject", base.Application, name), nil
	}
	app, ok := w.apps[name]
	if !ok {
		return command.ReasonInvalidApplication, fmt.Sprintf("application %q is not configured", name), nil
	}
	j.app = app
	j.res.Application = app.Name
	if code, reason := w.proto.defaults(w, j); reason != "" {
		return code, reason, nil
	}
	if w.cfg.Router != nil {
		if cid, cur := commandCustomer(j.cmd); cid != "" && cur != "" {
			reason, err := w.cfg.Router.CheckCurrency(ctx, app.Name, cid, cur)
			if err != nil || reason != "" {
				return command.ReasonCurrencyLocked, reason, err
			}
		}
	}
	return "", "", nil
}

// NotFoundError is a Router's answer for a front end nobody serves.
type NotFoundError struct{ Website, Currency string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no application serves website %q in currency %s", e.Website, e.Currency)
}

func commandCurrency(c command.Command) string {
	switch c := c.(type) {
	case *command.Session:
		return c.Currency
	case *command.Refund:
		return c.Currency
	}
	return ""
}

func commandCustomer(c command.Command) (cid, currency string) {
	switch c := c.(type) {
	case *command.Session:
		return c.CID, c.Currency
	case *command.Refund:
		return c.CID, c.Currency
	}
	return "", ""
}

// waitForHolder waits while another worker holds the command (a duplicate
// delivery): it never calls Praxis alongside it. It returns the record once
// done, or a fresh claim once the holder released it or its claim expired.
func (w *Worker) waitForHolder(ctx context.Context, j *job, key string) (idempotency.Claim, error) {
	w.metrics.Busy.WithLabelValues(j.name).Inc()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	lastProgress := time.Now()
	for {
		select {
		case <-ctx.Done():
			return idempotency.Claim{}, ctx.Err()
		case <-tick.C:
		}
		if time.Since(lastProgress) > w.cfg.AckWait/3 {
			_ = j.msg.InProgress()
			lastProgress = time.Now()
		}
		c, err := w.deps.Store.Claim(ctx, key, w.cfg.ClaimTTL)
		if err != nil {
			return idempotency.Claim{}, err
		}
		if c.State != idempotency.Busy {
			return c, nil
		}
	}
}

// replay answers a command that already finished from its stored result.
func (w *Worker) replay(ctx context.Context, j *job, value []byte) {
	var st stored
	if err := json.Unmarshal(value, &st); err != nil {
		w.retryLater(ctx, j, false, 0, "decode stored result", err)
		return
	}
	if st.Fingerprint != j.fp {
		w.finishInvalid(ctx, j, command.ReasonIDReused, fmt.Sprintf("command id %q was already used for a different %s command; use a new id", j.res.ID, st.Result.Command))
		return
	}
	res := st.Result
	res.Replayed = true
	res.Deliveries = j.res.Deliveries
	j.res = res
	w.metrics.Replays.WithLabelValues(j.app.Name, j.name).Inc()
	j.l().Debug().Msg("command already done; replaying its result")
	data, err := json.Marshal(j.res)
	if err != nil {
		w.retryLater(ctx, j, false, 0, "encode result", err)
		return
	}
	w.publishAndAck(ctx, j, data, false)
}

// execute runs a claimed command: reconcile first if a call may already
// have been sent, then one Praxis call under a proven claim, then record
// and publish the result or give the claim back for a later retry.
func (w *Worker) execute(ctx context.Context, j *job, claim idempotency.Claim) {
	claimed := time.Now()
	lctx := w.hold(ctx, j, claim)
	j.res.Calls, j.res.Lookups = claim.Calls, claim.Lookups

	replayed := j.msg.Headers().Get(HeaderReplayedFrom) != ""
	if j.spec.StateChanging && (claim.Calls > 0 || replayed) {
		// A call may have reached Praxis (an earlier delivery, a dead
		// holder, or a DLQ replay whose record may have expired): look it
		// up. "Nothing there" counts only once the settle window since the
		// last send has passed.
		settled := claimed
		if claim.Calls > 0 {
			settled = claimed.Add(w.cfg.SettleWindow - claim.SentAgo)
		}
		switch rec := w.reconcile(lctx, j); {
		case rec == reconciledDone || rec == reconciledFinal:
			w.finish(ctx, j)
			return
		case rec == reconcileGate:
			w.lostClaim(ctx, j)
			return
		case rec == reconcileUnknown:
			if int(j.meta.NumDelivered) < w.cfg.MaxAttempts {
				w.retryLater(ctx, j, true, 0, "reconcile", errors.New("lookup gave no answer; the outcome of the earlier call is still unknown"))
				return
			}
			j.res.Outcome = command.OutcomeFailed
			j.res.ReasonCode = command.ReasonOutcomeUnknown
			j.res.Reason = fmt.Sprintf("gave up after %d deliveries: an earlier call may have reached %s and the lookup "+
				"that would tell gave no answer every time; replay it from the dead-letter stream once %s answers (it reconciles first)", j.meta.NumDelivered, w.who, w.who)
			w.finish(ctx, j)
			return
		default: // not found, or found not done
			if wait := time.Until(settled); wait > 0 {
				w.retryLater(ctx, j, true, wait, "settle", fmt.Errorf("lookup found nothing yet, but the last call was sent only %v ago; "+
					"%s may still be processing it", (w.cfg.SettleWindow-wait).Round(time.Millisecond), w.who))
				return
			}
		}
	}

	err := w.call(lctx, j)
	var ge *gateError
	if errors.As(err, &ge) {
		if errors.Is(err, idempotency.ErrNotHolder) {
			w.lostClaim(ctx, j)
			return
		}
		w.retryLater(ctx, j, true, 0, "claim check before the call", err)
		return
	}
	switch provider.Classify(err) {
	case provider.Success:
		j.res.Outcome = command.OutcomeOK
		w.proto.succeeded(ctx, w, j)
	case provider.Rejected:
		if j.spec.StateChanging && j.res.Calls > 1 {
			// A repeat's refusal ("order_id not unique", "only an
			// authorized transaction can be captured", ...) may be the
			// first call's effect: look it up rather than report it.
			switch rec := w.reconcile(lctx, j); rec {
			case reconciledDone, reconciledFinal:
				w.finish(ctx, j)
				return
			case reconcileGate:
				w.lostClaim(ctx, j)
				return
			case reconcileNotDone:
				// Praxis shows the effect did not happen: the refusal stands.
			default:
				w.retryLater(ctx, j, true, 0, "reconcile a refused repeat", fmt.Errorf("a repeated call was refused (%w) and the lookup does not show the effect yet", err))
				return
			}
		}
		j.res.Outcome = command.OutcomeRejected
		j.res.Reconciled = false
		w.proto.rejected(j, err)
	default:
		if int(j.meta.NumDelivered) < w.cfg.MaxAttempts {
			w.retryLater(ctx, j, true, w.throttle(j, err), w.prov.String()+" call", err)
			return
		}
		// Out of attempts: say exactly what is known.
		if j.spec.StateChanging && sentOrUnknown(err) {
			switch rec := w.reconcile(lctx, j); rec {
			case reconciledDone, reconciledFinal:
				w.finish(ctx, j)
				return
			case reconcileNotDone, reconcileNotFound:
				if wait := time.Until(j.lastSend.Add(w.cfg.SettleWindow)); wait > 0 {
					w.retryLater(ctx, j, true, wait, "settle", fmt.Errorf("last call failed (%w); waiting out the settle window before trusting the lookup", err))
					return
				}
				j.res.Outcome = command.OutcomeFailed
				j.res.ReasonCode = command.ReasonRetriesExhausted
				j.res.Reason = fmt.Sprintf("gave up after %d deliveries: %v; a lookup after the settle window shows no effect", j.meta.NumDelivered, err)
				w.finish(ctx, j)
				return
			}
			j.res.Outcome = command.OutcomeFailed
			j.res.ReasonCode = command.ReasonOutcomeUnknown
			j.res.Reason = fmt.Sprintf("gave up after %d deliveries: %v; the last call may have reached %s and the lookup gave no answer: "+
				"replay it from the dead-letter stream (it reconciles first)", j.meta.NumDelivered, err, w.who)
			w.finish(ctx, j)
			return
		}
		j.res.Outcome = command.OutcomeFailed
		j.res.ReasonCode = command.ReasonRetriesExhausted
		j.res.Reason = fmt.Sprintf("gave up after %d deliveries: %v", j.meta.NumDelivered, err)
	}
	w.finish(ctx, j)
}

// throttle is the redelivery delay the provider asked for (a 429's
// Retry-After), never below our backoff and at most maxThrottle; 0 (our
// backoff) when it asked nothing.
func (w *Worker) throttle(j *job, err error) time.Duration {
	d := provider.RetryAfter(err, time.Now())
	if d <= 0 {
		return 0
	}
	return min(max(d, w.backoff(int(j.meta.NumDelivered))), maxThrottle)
}

// maxThrottle bounds a provider's Retry-After, so a bad header cannot park
// a command for hours.
const maxThrottle = 5 * time.Minute

func sentOrUnknown(err error) bool {
	return !provider.NotSent(err) || provider.Classify(err) == provider.Unknown
}

// lostClaim ends a delivery whose claim another holder took over (its
// renewals failed for longer than the lease): it must not call Praxis or
// record anything. The new holder reconciles and answers; this delivery
// comes back later and replays that answer.
func (w *Worker) lostClaim(ctx context.Context, j *job) {
	j.lease.end()
	w.metrics.Retries.WithLabelValues(j.name, "claim_lost").Inc()
	delay := w.backoff(int(j.meta.NumDelivered))
	j.l().Warn().Dur("retry_in", delay).Msg("claim taken over by another holder; not calling the provider, leaving the command to it")
	if err := j.msg.NakWithDelay(delay); err != nil {
		j.l().Warn().Err(err).Msg("nak; AckWait will redeliver")
	}
}

// finish records a final result and publishes it. ok and rejected results
// are stored as done first, so redeliveries and re-publishes replay them
// and a lost claim never publishes a second answer; a failed result
// releases the claim (keeping its call marker), so an operator's replay
// reconciles and then tries again.
func (w *Worker) finish(ctx context.Context, j *job) {
	claim := j.lease.end()
	j.res.Attempts = j.res.Calls + j.res.Lookups
	j.res.LatencyMS = float64(w.cfg.Now().Sub(j.meta.Timestamp).Microseconds()) / 1000
	j.res.CompletedAt = w.cfg.Now().UTC()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	data, err := json.Marshal(j.res)
	if err != nil {
		w.retryLater(ctx, j, true, 0, "encode result", err)
		return
	}
	if j.res.Outcome == command.OutcomeFailed {
		if err := w.deps.Store.Release(sctx, claim); err != nil && !errors.Is(err, idempotency.ErrNotHolder) {
			j.l().Warn().Err(err).Msg("release claim of a failed command")
		}
		w.publishAndAck(ctx, j, data, true)
		return
	}
	if err := w.deps.Store.Complete(sctx, claim, encodeStored(j.fp, data), w.cfg.ResultTTL); err != nil {
		if errors.Is(err, idempotency.ErrNotHolder) {
			// Another holder took over (our renewals failed past the
			// lease); it reconciles, finds this effect and answers.
			w.lostClaim(ctx, j)
			return
		}
		// Not recorded: retry. The claim (with its marker) expires; the
		// next holder reconciles and publishes the same result.
		w.retryLater(ctx, j, false, 0, "store result", err)
		return
	}
	w.publishAndAck(ctx, j, data, false)
}

// finishInvalid ends a command refused by validation: result, dead letter, ack.
func (w *Worker) finishInvalid(ctx context.Context, j *job, code, reason string) {
	if j.res.ID == "" {
		j.res.ID = command.PeekID(j.msg.Data())
	}
	j.res.Outcome = command.OutcomeInvalid
	j.res.ReasonCode = code
	j.res.Reason = reason
	j.res.CompletedAt = w.cfg.Now().UTC()
	if j.res.ID == "" {
		j.res.StreamSeq = j.meta.Sequence.Stream
	}
	j.l().Warn().Str("reason", reason).Msg("invalid command")
	data, err := json.Marshal(j.res)
	if err != nil {
		w.retryLater(ctx, j, false, 0, "encode result", err)
		return
	}
	w.publishAndAck(ctx, j, data, true)
}

// retryLater gives the claim back (if held and release is set), keeping
// its call marker, and asks for a redelivery after delay (0: our backoff).
// A plain Nak would ignore the consumer's BackOff (nats-server #4726), so
// the delay is always explicit.
func (w *Worker) retryLater(ctx context.Context, j *job, release bool, delay time.Duration, what string, err error) {
	if j.lease != nil {
		claim := j.lease.end()
		if release {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if rerr := w.deps.Store.Release(sctx, claim); rerr != nil && !errors.Is(rerr, idempotency.ErrNotHolder) {
				j.l().Warn().Err(rerr).Msg("release claim")
			}
			cancel()
		}
	}
	if delay <= 0 {
		delay = w.backoff(int(j.meta.NumDelivered))
	}
	reason := retryReason(err)
	if what == "settle" {
		reason = "settle"
	}
	w.metrics.Retries.WithLabelValues(j.name, reason).Inc()
	j.l().Warn().Err(err).Str("step", what).Dur("retry_in", delay).Uint64("deliveries", j.meta.NumDelivered).Msg("command will be retried")
	if nerr := j.msg.NakWithDelay(delay); nerr != nil {
		j.l().Warn().Err(nerr).Msg("nak; AckWait will redeliver")
	}
}

func retryReason(err error) string {
	switch provider.Classify(err) {
	case provider.Transient:
		return "transient"
	case provider.Unknown:
		var pe provider.Classified
		if errors.As(err, &pe) {
			return "unknown_outcome"
		}
	}
	return "internal"
}

// publishAndAck publishes the result (and a dead letter when asked) and
// acks; if either cannot be stored the command is nak'ed instead.
func (w *Worker) publishAndAck(ctx context.Context, j *job, data []byte, deadLetter bool) {
	if w.publishResult(ctx, j, data, deadLetter) {
		w.ack(j)
	}
}

// publishResult publishes the result (and a dead letter when asked) and
// sends it to the command's reply subject. It reports false after naking
// the command because something could not be stored.
func (w *Worker) publishResult(ctx context.Context, j *job, data []byte, deadLetter bool) bool {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	appToken := j.resultApp()
	resultID := "result:" + appToken + ":" + j.res.ID
	if j.res.ID == "" || j.res.Outcome == command.OutcomeInvalid || j.res.Outcome == command.OutcomeFailed {
		resultID = "result:seq:" + strconv.FormatUint(j.meta.Sequence.Stream, 10)
	}
	msg := &nats.Msg{Subject: w.prov.Result(appToken, j.name), Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, resultID)
	if w.tracing {
		telemetry.InjectNATS(ctx, msg.Header)
	}
	if _, err := w.deps.JS.PublishMsg(pctx, msg, jetstream.WithExpectStream(subjects.StreamResults)); err != nil {
		w.retryLater(ctx, j, false, 0, "publish result", err)
		return false
	}
	if deadLetter {
		if err := w.deadLetter(pctx, j, appToken); err != nil {
			w.retryLater(ctx, j, false, 0, "publish dead letter", err)
			return false
		}
	}
	if reply := j.msg.Headers().Get(HeaderReplyTo); reply != "" {
		if err := w.deps.NC.Publish(reply, data); err != nil {
			j.l().Warn().Err(err).Msg("send result to the reply subject")
		}
	}
	return true
}

func (j *job) resultApp() string {
	if j.res.Application != "" {
		return j.res.Application
	}
	return j.appToken
}

// ack ends a command whose result is durable, and counts it.
func (w *Worker) ack(j *job) {
	if err := j.msg.Ack(); err != nil {
		j.l().Warn().Err(err).Msg("ack command; a redelivery will replay its stored result")
	}
	appToken := j.resultApp()
	w.metrics.Commands.WithLabelValues(appToken, j.name, j.res.Outcome).Inc()
	if !j.res.Replayed {
		w.metrics.Latency.WithLabelValues(j.name).Observe(w.cfg.Now().Sub(j.meta.Timestamp).Seconds())
	}
	if e := j.l().Debug(); e.Enabled() {
		if j.res.TID != nil {
			e = e.Int64("tid", *j.res.TID)
		}
		e.Str("outcome", j.res.Outcome).Msg("command finished")
	}
}

// deadLetter copies the command, byte for byte, to praxis.dlq.<app>.<command>
// with headers naming why; a replay re-publishes it under the same id.
func (w *Worker) deadLetter(ctx context.Context, j *job, appToken string) error {
	h := nats.Header{}
	h.Set(jetstream.MsgIDHeader, "dlq:"+strconv.FormatUint(j.meta.Sequence.Stream, 10))
	h.Set(HeaderDLQReason, j.res.Reason)
	h.Set(HeaderDLQOutcome, j.res.Outcome)
	h.Set(HeaderDLQAttempts, strconv.Itoa(j.res.Attempts))
	h.Set(HeaderDLQCalls, strconv.Itoa(j.res.Calls))
	h.Set(HeaderDLQLookups, strconv.Itoa(j.res.Lookups))
	h.Set(HeaderDLQDeliveries, strconv.FormatUint(j.meta.NumDelivered, 10))
	h.Set(HeaderDLQSubject, j.msg.Subject())
	h.Set(HeaderDLQStreamSeq, strconv.FormatUint(j.meta.Sequence.Stream, 10))
	if j.res.ID != "" {
		h.Set(HeaderDLQCommandID, j.res.ID)
	}
	name := j.name
	msg := &nats.Msg{Subject: w.prov.DeadLetter(appToken, name), Data: j.msg.Data(), Header: h}
	_, err := w.deps.JS.PublishMsg(ctx, msg, jetstream.WithExpectStream(subjects.StreamDLQ))
	if err == nil {
		w.metrics.DeadLetters.WithLabelValues(appToken, name, j.res.Outcome).Inc()
	}
	return err
}
