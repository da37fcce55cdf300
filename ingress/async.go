package ingress

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/telemetry"
	"github.com/praxis-adapter/praxis-adapter/contracts"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// notificationFields are what the notification handler reads besides the
// signed fields.
func notificationFields() []string {
	return []string{
		"transaction", "transaction.transaction_type", "transaction.transaction_status", "transaction.tid",
		"transaction.amount", "transaction.processed_amount", "transaction.currency",
		"transaction.withdrawal_request_id", "transaction.payment_processor",
		"session.order_id", "session.session_status", "session.intent",
	}
}

// subscriptionFields are what the subscription handler reads besides the
// signed fields.
func subscriptionFields() []string { return []string{"event", "subscription_id"} }

// Header names on published messages.
const (
	headerMsgID       = "Nats-Msg-Id"
	headerTraceparent = "traceparent"
	headerTracestate  = "tracestate"
)

// event is what a handler hands to publishOnce.
type event struct {
	key     []byte // dedup key = CloudEvents id = Nats-Msg-Id
	typ     string // event <type> token
	status  string // event <status> token (normalised)
	subject string // CloudEvents subject (tid, order id, subscription id)
	proc    string // mapped processor name, if any
	attrs   keyAttrs
	// dataSchema is the CloudEvents dataschema: the contract of the body.
	dataSchema string
}

// The dataschema of each kind of event (contracts.SchemaID, as constants so
// the hot path builds nothing).
const (
	dataSchemaNotification    = contracts.SchemaIDBase + "praxis.notification.json"
	dataSchemaSubscription    = contracts.SchemaIDBase + "praxis.subscription_notification.json"
	dataSchemaValidation      = contracts.SchemaIDBase + "praxis.validation_request.json"
	dataSchemaCustomerSync    = contracts.SchemaIDBase + "praxis.customer_sync_request.json"
	dataSchemaValidationAudit = contracts.SchemaIDBase + "cloudevent.validation_audit.json#/properties/data"
)

// keyAttrs are the verified key fields carried as CloudEvents extension
// attributes (raw tokens from the strictly scanned body).
type keyAttrs struct {
	tid, amount, currency, processedAmount, processedCurrency, orderID []byte
}

// maxStatusLen bounds a status or event name: it becomes a subject token.
const maxStatusLen = 64

func (s *Server) handleNotification(w http.ResponseWriter, r *http.Request, c *call) {
	ex := c.ex
	v := func(name string) praxis.Value { return c.vals[ex.at(name)] }
	ev := event{dataSchema: dataSchemaNotification}
	var keyBuf [256]byte
	key := appendKeyApp(keyBuf[:0], c.app.Name)

	if o := v("session.order_id"); o.Kind == praxis.KindString {
		ev.attrs.orderID = o.Raw
	}
	tx := v("transaction")
	switch tx.Kind {
	case praxis.KindObject:
		tid, status := v("transaction.tid"), v("transaction.transaction_status")
		if tid.Kind != praxis.KindNumber {
			s.rejectField(w, c, "transaction.tid", tid.Kind, praxis.KindNumber)
			return
		}
		if _, err := tid.Int(); err != nil {
			s.reject(w, c, ReasonMistypedField, http.StatusBadRequest, 400, "Input validation failed: transaction.tid: "+err.Error())
			return
		}
		if status.Kind != praxis.KindString {
			s.rejectField(w, c, "transaction.transaction_status", status.Kind, praxis.KindString)
			return
		}
		if len(status.Raw) > maxStatusLen+2 {
			s.reject(w, c, ReasonMistypedField, http.StatusBadRequest, 400,
				fmt.Sprintf("Input validation failed: transaction.transaction_status is longer than %d bytes", maxStatusLen))
			return
		}
		if len(status.Raw) == 2 {
			s.rejectField(w, c, "transaction.transaction_status", praxis.KindMissing, praxis.KindString)
			return
		}
		for _, f := range []string{"transaction.amount", "transaction.processed_amount"} {
			if k := v(f).Kind; k != praxis.KindNumber && k != praxis.KindNull && k != praxis.KindMissing {
				s.rejectField(w, c, f, k, praxis.KindNumber)
				return
			}
		}
		wr := v("transaction.withdrawal_request_id").Present()
		ev.typ = subjects.EventType(intern(v("transaction.transaction_type")), intern(v("session.intent")), wr, true)
		ev.status = praxis.NormalizeStatus(intern(status))
		ev.subject = string(tid.Raw)
		c.tid = ev.subject
		if p, err := v("transaction.payment_processor").Text(); err == nil && p != "" {
			ev.proc = s.cfg.Processors.Name(p)
		}
		ev.attrs.tid = tid.Raw
		ev.attrs.amount = numberToken(v("transaction.amount"))
		ev.attrs.processedAmount = numberToken(v("transaction.processed_amount"))
		ev.attrs.currency = stringToken(v("transaction.currency"))
		ev.attrs.processedCurrency = stringToken(v("transaction.processed_currency"))
		key = append(key, ":t:"...)
		key = append(key, tid.Raw...) // a positive integer of at most 18 digits (strict schema)
		key = append(key, ':')
		key = appendBoundedPart(key, ev.status)
	case praxis.KindNull, praxis.KindMissing:
		// A session-level notification, e.g. an expired session.
		order, st := v("session.order_id"), v("session.session_status")
		if order.Kind != praxis.KindString {
			s.rejectField(w, c, "session.order_id (transaction is null)", order.Kind, praxis.KindString)
			return
		}
		if st.Kind != praxis.KindString {
			s.rejectField(w, c, "session.session_status (transaction is null)", st.Kind, praxis.KindString)
			return
		}
		if len(st.Raw) > maxStatusLen+2 {
			s.reject(w, c, ReasonMistypedField, http.StatusBadRequest, 400,
				fmt.Sprintf("Input validation failed: session.session_status is longer than %d bytes", maxStatusLen))
			return
		}
		orderText, _ := order.Text()
		stText, _ := st.Text()
		ev.typ = subjects.TypeSession
		ev.status = praxis.NormalizeStatus(stText)
		ev.subject = orderText
		key = append(key, ":s:"...)
		key = appendBoundedPart(key, orderText)
		key = append(key, ':')
		key = appendBoundedPart(key, ev.status)
	default:
		s.rejectField(w, c, "transaction", tx.Kind, praxis.KindObject)
		return
	}
	key = append(key, ':')
	ev.key = appendBodyDigest(key, c.body)
	s.publishOnce(w, r, c, ev)
}

func (s *Server) handleSubscription(w http.ResponseWriter, r *http.Request, c *call) {
	ex := c.ex
	evName, subID := c.vals[ex.at("event")], c.vals[ex.at("subscription_id")]
	if evName.Kind != praxis.KindString {
		s.rejectField(w, c, "event", evName.Kind, praxis.KindString)
		return
	}
	if subID.Kind != praxis.KindString {
		s.rejectField(w, c, "subscription_id", subID.Kind, praxis.KindString)
		return
	}
	if len(evName.Raw) > maxStatusLen+2 {
		s.reject(w, c, ReasonMistypedField, http.StatusBadRequest, 400,
			fmt.Sprintf("Input validation failed: event is longer than %d bytes", maxStatusLen))
		return
	}
	name, _ := evName.Text()
	id, _ := subID.Text()
	var keyBuf [256]byte
	key := appendKeyApp(keyBuf[:0], c.app.Name)
	key = append(key, ":sub:"...)
	key = appendBoundedPart(key, id)
	key = append(key, ':')
	key = appendBoundedPart(key, name)
	key = append(key, ':')
	key = appendBodyDigest(key, c.body)
	s.publishOnce(w, r, c, event{key: key, typ: subjects.TypeSubscription, status: subjects.Token(name), subject: id, dataSchema: dataSchemaSubscription})
}

// publishOnce is the two-phase path every asynchronous webhook takes:
// claim the dedup key, publish with Nats-Msg-Id = key, wait for the PubAck,
// mark the key done, and only then answer status 0. A failure releases the
// claim and answers -1 so Praxis resends. A key held by a concurrent
// request is published too: the stream's duplicate window stores it once,
// and both requests may truthfully answer 0 after their PubAck.
func (s *Server) publishOnce(w http.ResponseWriter, r *http.Request, c *call, ev event) {
	key := string(ev.key)
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.PublishTimeout)
	defer cancel()

	claim, err := s.claimKey(ctx, c.kind, key)
	if err != nil {
		s.fail(w, c, "dedup store unavailable", err)
		return
	}
	if claim.State == idempotency.Done {
		s.finish(w, c, OutcomeDuplicate)
		return
	}

	var subjBuf [128]byte
	subj := subjects.AppendEvent(subjBuf[:0], c.app.Name, ev.typ, ev.status)
	envBuf := s.bodies.Get().(*[]byte)
	defer func() {
		if cap(*envBuf) <= 64<<10 {
			s.bodies.Put(envBuf)
		}
	}()
	data := cloudevent.Append((*envBuf)[:0], cloudevent.Fields{
		ID:          key,
		Source:      c.app.source,
		Type:        "praxis." + ev.typ + "." + ev.status,
		Subject:     ev.subject,
		Time:        c.start,
		RawMerchant: c.vals[c.ex.merchant].Raw,
		Application: c.app.Name,
		Processor:   ev.proc,
		DataSchema:  ev.dataSchema,
		Data:        c.body,

		RawTID:               ev.attrs.tid,
		Status:               ev.status,
		RawAmount:            ev.attrs.amount,
		RawCurrency:          ev.attrs.currency,
		RawProcessedAmount:   ev.attrs.processedAmount,
		RawProcessedCurrency: ev.attrs.processedCurrency,
		RawOrderID:           ev.attrs.orderID,
	})
	*envBuf = data[:0]
	msg := &nats.Msg{Subject: string(subj), Data: data, Header: nats.Header{headerMsgID: []string{key}}}
	if err := s.publishClaimed(ctx, r, claim, msg, c.origin()); err != nil {
		s.fail(w, c, "event not stored", err)
		return
	}
	s.finish(w, c, OutcomeAccepted)
}

// origin names, in log lines, the request a dedup step serves: the kind
// (a bounded metric label too), the application, the caller's request id
// (made up when a line needs one, then shared by every line of the
// request) and the provider's id of the object under idField. Never a
// body value.
type origin struct {
	kind, app, idField, id string
	reqID                  *string
}

// origin is the call's log identity (the tid as "tid").
func (c *call) origin() origin {
	return origin{kind: c.kind, app: c.app.Name, idField: "tid", id: c.tid, reqID: &c.reqID}
}

// requestID returns o's request id, making one up on first use.
func (s *Server) requestIDOf(o origin) string {
	if *o.reqID == "" {
		*o.reqID = s.nextRequestID()
	}
	return *o.reqID
}

// claimKey claims key for one publish, the first phase of the path every
// asynchronous event takes, whatever its provider: Done means the event is
// already in the stream (answer success without publishing), Busy that
// another request holds it (publish anyway: the stream's duplicate window
// stores it once, and both may answer success after their PubAck).
func (s *Server) claimKey(ctx context.Context, kind, key string) (idempotency.Claim, error) {
	claim, err := s.deps.Store.Claim(ctx, key, s.cfg.ClaimTTL)
	if err != nil {
		return claim, err
	}
	switch claim.State {
	case idempotency.Done:
		s.metrics.DedupHits.WithLabelValues(kind, "done").Inc()
	case idempotency.Busy:
		s.metrics.DedupHits.WithLabelValues(kind, "busy").Inc()
	}
	return claim, nil
}

// publishClaimed is the second phase: publish msg (its Nats-Msg-Id is the
// claimed key) to the events stream and wait for the PubAck. A failure
// releases the claim, so the provider's resend is handled, and is returned:
// the caller answers a non-success. Success schedules marking the key done
// and returns nil: the event is durable and the caller may answer success.
// The span (or the caller's traceparent) goes onto the message.
func (s *Server) publishClaimed(ctx context.Context, r *http.Request, claim idempotency.Claim, msg *nats.Msg, o origin) error {
	var span trace.Span
	if s.tracing {
		ctx, span = s.tracer.Start(ctx, "publish "+msg.Subject, trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(attribute.String("messaging.system", "nats"), attribute.String("messaging.destination.name", msg.Subject)))
		telemetry.InjectNATS(ctx, msg.Header)
	} else if tp := r.Header.Get(headerTraceparent); tp != "" {
		msg.Header[headerTraceparent] = []string{tp}
		if ts := r.Header.Get(headerTracestate); ts != "" {
			msg.Header[headerTracestate] = []string{ts}
		}
	}
	pubStart := time.Now()
	inProcess, err := s.publishAcked(ctx, msg)
	if span != nil {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "publish failed")
		}
		span.End()
	}
	s.metrics.PublishDuration.WithLabelValues(o.kind).Observe(time.Since(pubStart).Seconds())
	if err != nil {
		// A copy "in process" is being stored by the stream right now:
		// releasing the claim would let a resend race it, so the claim is
		// kept (it expires, or the other request marks the key done).
		if claim.State == idempotency.Acquired && !inProcess {
			s.settle(func(ctx context.Context) error { return s.deps.Store.Release(ctx, claim) }, o, "release")
			s.metrics.ClaimsReleased.WithLabelValues(o.kind).Inc()
		}
		return err
	}
	// The event is durable: the provider may hear success now. Marking the
	// key done is bookkeeping and runs off the reply path (the store
	// pipelines it with others). Until it lands, a duplicate finds the key
	// busy, is published again and absorbed by the stream's duplicate
	// window, exactly like a concurrent duplicate. A Busy request marks it
	// done too, once the holder finished or its claim expired: every
	// acknowledged key ends done, whoever held the claim (a killed ingress,
	// an orphan claim left by a store call that ran after we gave up on it).
	s.completeLater(claim, o)
	return nil
}

// errCodeDuplicateInProcess is nats-server's (2.10+) answer to a publish
// whose Nats-Msg-Id another publish is storing at this moment:
// JSStreamDuplicateMessageConflict, HTTP-like code 409.
const errCodeDuplicateInProcess jetstream.ErrorCode = 10158

// isDuplicateInProcess reports the stream's 10158 answer.
func isDuplicateInProcess(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeDuplicateInProcess
}

// publishAcked publishes msg to the events stream and waits for its PubAck.
// A "duplicate message id is in process" answer means another copy of the
// same event is being stored right now: the publish is repeated, briefly
// backing off, until the stream answers with the (duplicate) PubAck or ctx
// ends. inProcess reports that such an answer was seen.
func (s *Server) publishAcked(ctx context.Context, msg *nats.Msg) (inProcess bool, err error) {
	wait := 5 * time.Millisecond
	for {
		_, err = s.deps.JS.PublishMsg(ctx, msg, jetstream.WithExpectStream(subjects.StreamEvents))
		if err == nil || !isDuplicateInProcess(err) {
			return inProcess, err
		}
		inProcess = true
		s.metrics.InProcessRetries.Inc()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return true, fmt.Errorf("another copy was still being stored at the publish deadline: %w", err)
		case <-t.C:
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// completeLater marks a published key done in the background; Drain waits
// for these before shutdown.
func (s *Server) completeLater(claim idempotency.Claim, o origin) {
	reqID := *o.reqID // the request's own copy may be reused once it returns
	o.reqID = &reqID
	s.pending.Add(1)
	go func() {
		defer s.pending.Done()
		if err := s.ensureDone(claim); err != nil {
			s.metrics.CompleteErrors.Inc()
			s.log.Warn().Err(err).Str("request_id", s.requestIDOf(o)).Str("kind", o.kind).Str("app", o.app).Str(o.idField, o.id).
				Msg("dedup complete failed; the claim expires and the stream's duplicate window covers it")
		}
	}()
}

// ensureDone marks the key of an acknowledged publish done. The holder
// completes its claim, retrying store errors; a request that found the key
// busy (or whose claim was taken over) claims it again until the key is
// done or it acquires it, then completes. Bounded by a few claim TTLs, so
// a live holder always finishes or expires first.
func (s *Server) ensureDone(claim idempotency.Claim) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*s.cfg.ClaimTTL+s.cfg.PublishTimeout)
	defer cancel()
	wait := 20 * time.Millisecond
	var err error
	for {
		if claim.State == idempotency.Acquired {
			err = s.storeCall(ctx, func(ctx context.Context) error {
				return s.deps.Store.Complete(ctx, claim, nil, s.cfg.DoneTTL)
			})
			if err == nil {
				return nil
			}
			if errors.Is(err, idempotency.ErrNotHolder) {
				claim.State = idempotency.Busy // taken over: find out by whom
			}
		}
		if claim.State != idempotency.Acquired {
			var next idempotency.Claim
			err = s.storeCall(ctx, func(ctx context.Context) (err error) {
				next, err = s.deps.Store.Claim(ctx, claim.Key, s.cfg.ClaimTTL)
				return err
			})
			if err == nil {
				switch next.State {
				case idempotency.Done:
					return nil
				case idempotency.Acquired:
					claim = next
					continue
				}
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if err == nil {
				err = errors.New("the key stayed claimed by another request")
			}
			return fmt.Errorf("mark %q done: %w", claim.Key, err)
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}

// storeCall runs one store operation bounded by the publish timeout.
func (s *Server) storeCall(ctx context.Context, op func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
	defer cancel()
	return op(ctx)
}

// Drain waits until every background completion has finished, or ctx ends.
func (s *Server) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.pending.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ingress: dedup completions still running: %w", ctx.Err())
	}
}

// settle runs a store call that must happen even if the caller hung up.
func (s *Server) settle(op func(context.Context) error, o origin, what string) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.PublishTimeout)
	defer cancel()
	err := op(ctx)
	if err != nil {
		s.log.Warn().Err(err).Str("request_id", s.requestIDOf(o)).Str("kind", o.kind).Str("app", o.app).Str(o.idField, o.id).Msg("dedup " + what + " failed")
	}
	return err
}

// fail answers status -1 (Praxis resends in about five minutes) after an
// internal failure, signed like any reply, and logs why.
func (s *Server) fail(w http.ResponseWriter, c *call, what string, err error) {
	s.log.Error().Err(err).Str("request_id", c.requestID()).Str("kind", c.kind).Str("app", c.app.Name).Str("tid", c.tid).
		Msg(what + "; answered -1 so Praxis resends")
	s.metrics.Requests.WithLabelValues(c.kind, c.app.Name, OutcomeFailed).Inc()
	s.metrics.Duration.WithLabelValues(c.kind).Observe(time.Since(c.start).Seconds())
	s.replyStatus(w, c, -1, "Temporary failure: "+what+"; please resend")
}

// finish answers status 0.
func (s *Server) finish(w http.ResponseWriter, c *call, outcome string) {
	if e := s.log.Debug(); e.Enabled() {
		e.Str("request_id", c.requestID()).Str("kind", c.kind).Str("app", c.app.Name).Str("tid", c.tid).Str("outcome", outcome).Msg("webhook accepted")
	}
	s.metrics.Requests.WithLabelValues(c.kind, c.app.Name, outcome).Inc()
	s.metrics.Duration.WithLabelValues(c.kind).Observe(time.Since(c.start).Seconds())
	s.replyStatus(w, c, 0, "Ok")
}

// intern returns the text of a string value without allocating when it is
// one of the values Praxis sends all the time (switch on string(b) does not
// copy); anything else is decoded normally.
func intern(v praxis.Value) string {
	if v.Kind != praxis.KindString || len(v.Raw) < 2 {
		return ""
	}
	switch b := v.Raw[1 : len(v.Raw)-1]; string(b) {
	case "approved":
		return "approved"
	case "pending":
		return "pending"
	case "rejected":
		return "rejected"
	case "cancelled":
		return "cancelled"
	case "initialized":
		return "initialized"
	case "authorized":
		return "authorized"
	case "requested":
		return "requested"
	case "sale":
		return "sale"
	case "payout":
		return "payout"
	case "refund":
		return "refund"
	case "authorization":
		return "authorization"
	case "payment":
		return "payment"
	case "withdrawal":
		return "withdrawal"
	case "EUR":
		return "EUR"
	case "USD":
		return "USD"
	case "GBP":
		return "GBP"
	}
	t, _ := v.Text()
	return t
}

// appendKeyPart appends s to a dedup key, percent-escaping ':' '%' and
// every byte outside printable ASCII, so keys are unambiguous and safe as
// NATS header values.
func appendKeyPart(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == ':' || c == '%' {
			dst = append(dst, '%', hex[c>>4], hex[c&0xF])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// numberToken is a number value's token, or nil.
func numberToken(v praxis.Value) []byte {
	if v.Kind == praxis.KindNumber {
		return v.Raw
	}
	return nil
}

// stringToken is a string value's token (quotes included), or nil.
func stringToken(v praxis.Value) []byte {
	if v.Kind == praxis.KindString {
		return v.Raw
	}
	return nil
}

// Dedup keys. A key is readable parts (application, tid or order id or
// subscription id, status or event) followed by a digest of the whole
// verified body: any byte a forger changes (a case-folded or repeated key,
// digits shifted between signed fields, an edited status, an extra field)
// gives another key, so a forged copy can never take the genuine copy's
// key and have the genuine one answered as a duplicate. A resend that is
// byte-identical is deduplicated; one that differs (e.g. a fresh timestamp)
// is published again, and consumers deduplicate it by tid and status (the
// ledger does, per money movement). Every part is bounded, so a key always
// fits the store and a NATS header.

// maxKeyPart bounds one readable part of a dedup key, escaped.
const maxKeyPart = 64

// bodyDigestBytes is how much of the body's SHA-256 the key keeps (128
// bits: a second preimage stays out of reach).
const bodyDigestBytes = 16

// appendBodyDigest appends the hex SHA-256 (first 128 bits) of body.
// NotificationKey is the dedup key (= CloudEvents id = Nats-Msg-Id) the
// ingress gives a transaction notification of app with this tid and
// normalised status and exactly these body bytes, for tools that check the
// stream from outside (the chaos suite) and tests.
func NotificationKey(app string, tid int64, status string, body []byte) string {
	key := appendKeyApp(nil, app)
	key = append(key, ":t:"...)
	key = strconv.AppendInt(key, tid, 10)
	key = append(key, ':')
	key = appendBoundedPart(key, status)
	key = append(key, ':')
	return string(appendBodyDigest(key, body))
}

func appendBodyDigest(dst, body []byte) []byte {
	sum := sha256.Sum256(body)
	return hex.AppendEncode(dst, sum[:bodyDigestBytes])
}

// appendBoundedPart appends s escaped (appendKeyPart) when that fits
// maxKeyPart, else "~" and the hex of the first 8 bytes of its SHA-256.
func appendBoundedPart(dst []byte, s string) []byte {
	start := len(dst)
	dst = appendKeyPart(dst, s)
	if len(dst)-start <= maxKeyPart {
		return dst
	}
	sum := sha256.Sum256([]byte(s))
	dst = append(dst[:start], '~')
	return hex.AppendEncode(dst, sum[:8])
}

// appendKeyApp appends the application name, bounded like any part.
func appendKeyApp(dst []byte, app string) []byte { return appendBoundedPart(dst, app) }
