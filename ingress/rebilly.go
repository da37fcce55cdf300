package ingress

// Rebilly calls the merchant two ways (../shared/rebilly/API.md §6, §7;
// adapter/rebilly/doc.go), and both are triggers only:
//
//   - the cashier's notificationUrl, GET or POST
//     /rebilly/<app>/notification?id=<transaction id>&result=<result>: no
//     credential is documented, so anyone can call it. Only the id is read
//     (rebilly.NotificationID); the result and any body are ignored.
//   - webhooks, POST /rebilly/<app>/webhook, with a Basic or Digest
//     credential checked in constant time. The body is read with the one
//     strict decoder only to learn which transaction or payout request to
//     look up; its embedded copies are never read for anything else.
//
// The ingress then GETs the object with the application's own client and
// publishes the GET's raw body as a CloudEvent (adapter/cloudevent's
// Rebilly envelope) on rebilly.events.<app>.<type>.<status>, deduplicated
// on rebilly:<organization>:t:<id>:<revision> (payout requests:
// :p:<id>:<updatedTime>) by the same claim, publish, PubAck and done steps
// as Praxis events (claimKey, publishClaimed). Rebilly hears 2xx only after
// the PubAck; every internal failure is a non-2xx, so Rebilly calls again.
//
// A GET answered 404 (an id this organization does not have: forged,
// mistyped, or not yet visible) publishes nothing and is answered 404: it
// is the truth, and a non-2xx, so a genuine transaction that was not yet
// visible is delivered again by Rebilly's retries (any non-2xx is retried,
// API.md §6), while a forger learns nothing it could not learn by asking.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/nats-io/nats.go"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/provider"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/contracts"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// HTTP paths Rebilly is configured to call; {app} is the application's
// name. The notificationUrl given to cashiers is
// <ingress>/rebilly/<app>/notification?id={id}&result={result}.
const (
	PathRebillyNotification = "/rebilly/{app}/notification"
	PathRebillyWebhook      = "/rebilly/{app}/webhook"
)

// Kinds of Rebilly call, the `kind` label of the ingress metrics.
const (
	KindRebillyNotification = "rebilly_notification"
	KindRebillyWebhook      = "rebilly_webhook"
)

// OutcomeNotFound: the GET answered 404, nothing was published (the
// `outcome` label).
const OutcomeNotFound = "not_found"

// Reasons a Rebilly call is refused (the `reason` label), besides the
// shared ones (unknown_application, body_too_large).
const (
	ReasonBadQuery           = "bad_query"
	ReasonBadBody            = "bad_body"
	ReasonCredentialMissing  = "credential_missing"
	ReasonCredentialMismatch = "credential_mismatch"
)

// RebillyAuth is how an application's webhooks authenticate.
type RebillyAuth string

// Webhook credential schemes (API.md §7: Rebilly signs nothing).
const (
	// RebillyAuthNone accepts any webhook: still only a trigger, confirmed
	// by a GET, like the notificationUrl call.
	RebillyAuthNone RebillyAuth = "none"
	// RebillyAuthBasic checks Basic (Basic).
	RebillyAuthBasic RebillyAuth = "basic"
	// RebillyAuthDigest checks Digest (Digest), answering 401 with a
	// challenge first.
	RebillyAuthDigest RebillyAuth = "digest"
)

// RebillyApplication is one Rebilly application as the ingress sees it.
type RebillyApplication struct {
	// Name is the <app> token of the paths and subjects.
	Name string
	// OrganizationID is the organization Client is scoped to; it names the
	// events' source and dedup keys.
	OrganizationID string
	// Client confirms every trigger (GET /transactions/{id}, GET
	// /payout-requests/{id}) with the application's secret key.
	Client *rebilly.Client
	// Auth says which of Basic and Digest checks webhooks.
	Auth   RebillyAuth
	Basic  rebilly.BasicAuth
	Digest rebilly.DigestAuth
}

// rebillyRetryAfter is the Retry-After of a 503 when Rebilly's own
// rate-limit answer said nothing longer: a hint (Rebilly's retry schedule
// is UNCONFIRMED, API.md §7).
const (
	rebillyRetryAfter    = 5 * time.Second
	rebillyMaxRetryAfter = time.Hour
)

// The dataschema of each kind of Rebilly event.
const (
	dataSchemaRebillyTransaction   = contracts.SchemaIDBase + "rebilly.transaction.json"
	dataSchemaRebillyPayoutRequest = contracts.SchemaIDBase + "rebilly.payout_request.json"
)

// newRebillyApps validates the Rebilly applications.
func newRebillyApps(list []RebillyApplication) (map[string]*RebillyApplication, error) {
	out := make(map[string]*RebillyApplication, len(list))
	for i, a := range list {
		where := fmt.Sprintf("ingress: rebilly application %d (%s)", i, subjects.Token(a.Name))
		switch {
		case a.Name == "" || subjects.Token(a.Name) != a.Name:
			return nil, fmt.Errorf("%s: name must be non-empty lower-case letters, digits, - or _", where)
		case out[a.Name] != nil:
			return nil, fmt.Errorf("%s: name is configured twice", where)
		case !rebilly.ValidID(a.OrganizationID):
			return nil, fmt.Errorf("%s: organization_id must be at most 50 letters, digits or -_.@~", where)
		case a.Client == nil:
			return nil, fmt.Errorf("%s: a Rebilly client is required to confirm notifications", where)
		}
		switch a.Auth {
		case RebillyAuthNone:
		case RebillyAuthBasic:
			if a.Basic.Username == "" || a.Basic.Password == "" {
				return nil, fmt.Errorf("%s: basic auth needs a username and a password", where)
			}
		case RebillyAuthDigest:
			if a.Digest.Username == "" || a.Digest.Password == "" {
				return nil, fmt.Errorf("%s: digest auth needs a username and a password", where)
			}
			if a.Digest.Realm == "" {
				a.Digest.Realm = "rebilly-" + a.Name
			}
			if len(a.Digest.Key) == 0 {
				// Every replica derives the same nonce key from the shared
				// password, so a nonce one replica issued verifies on any
				// other; forging a nonce needs the password, which already
				// authenticates.
				k := sha256.Sum256([]byte("praxis-adapter rebilly digest nonce\x00" + a.Digest.Password))
				a.Digest.Key = k[:]
			} else if len(a.Digest.Key) < 16 {
				return nil, fmt.Errorf("%s: digest nonce key must be at least 16 bytes", where)
			}
		default:
			return nil, fmt.Errorf("%s: auth must be %s, %s or %s", where, RebillyAuthNone, RebillyAuthBasic, RebillyAuthDigest)
		}
		out[a.Name] = &a
	}
	return out, nil
}

// rebillyRoutes mounts the Rebilly paths (only when applications are
// configured, so a Praxis-only ingress serves exactly what it did).
func (s *Server) rebillyRoutes(r chi.Router) {
	if len(s.rebilly) == 0 {
		return
	}
	notif, hook := http.HandlerFunc(s.handleRebillyNotification), http.HandlerFunc(s.handleRebillyWebhook)
	if s.tracing {
		notif, hook = s.traced(KindRebillyNotification, notif), s.traced(KindRebillyWebhook, hook)
	}
	r.Get(PathRebillyNotification, notif)
	r.Post(PathRebillyNotification, notif)
	r.Post(PathRebillyWebhook, hook)
}

// rebillyCall is one Rebilly call on its way through a handler.
type rebillyCall struct {
	kind  string
	app   *RebillyApplication
	reqID string
	id    string // the transaction or payout request id, once read
	start time.Time
}

func (rc *rebillyCall) appName() string {
	if rc.app == nil {
		return AppUnknown
	}
	return rc.app.Name
}

// origin is the call's log identity (the Rebilly id as "rebilly_id").
func (rc *rebillyCall) origin() origin {
	return origin{kind: rc.kind, app: rc.appName(), idField: "rebilly_id", id: rc.id, reqID: &rc.reqID}
}

// beginRebilly starts a call: the caller's request id, and the
// application named in the path (404 when none is configured).
func (s *Server) beginRebilly(w http.ResponseWriter, r *http.Request, kind string) (*rebillyCall, bool) {
	rc := &rebillyCall{kind: kind, start: s.cfg.Now()}
	if id := r.Header.Get(headerRequestID); id != "" && len(id) <= 128 {
		rc.reqID = id
		w.Header()[headerRequestID] = []string{id}
	}
	rc.app = s.rebilly[chi.URLParam(r, "app")]
	if rc.app == nil {
		s.rebillyReject(w, rc, ReasonUnknownApp, http.StatusNotFound, "no Rebilly application is configured under this path")
		return nil, false
	}
	return rc, true
}

// handleRebillyNotification serves the notificationUrl call: the id in
// the query is the only thing read.
func (s *Server) handleRebillyNotification(w http.ResponseWriter, r *http.Request) {
	rc, ok := s.beginRebilly(w, r, KindRebillyNotification)
	if !ok {
		return
	}
	id, err := rebilly.NotificationID(r)
	if err != nil {
		s.rebillyReject(w, rc, ReasonBadQuery, http.StatusBadRequest,
			"the query must carry exactly one id parameter: a transaction id of at most 50 letters, digits or -_.@~")
		return
	}
	s.confirmRebilly(w, r, rc, []rebillyTarget{{transaction: id}})
}

// rebillyTrigger is what the ingress reads of a webhook: which objects to
// look up. Rebilly's default payloads (API.md §4, §7) carry transactionId
// or payoutRequestId; refund and void events embed the child transaction,
// whose id is one more trigger. Nothing else of the body is read, and the
// ids are only looked up, never believed.
type rebillyTrigger struct {
	TransactionID   string `json:"transactionId"`
	PayoutRequestID string `json:"payoutRequestId"`
	// EventType is not used; modelling it makes the strict reader refuse
	// a case variant or a repeat of it, like any known key.
	EventType string `json:"eventType"`
	Embedded  *struct {
		ChildTransaction *struct {
			ID string `json:"id"`
		} `json:"childTransaction"`
	} `json:"_embedded"`
}

// rebillyTarget is one object to confirm: a transaction or a payout request.
type rebillyTarget struct {
	transaction, payoutRequest string
}

// handleRebillyWebhook serves a webhook: credential, then the body's ids.
func (s *Server) handleRebillyWebhook(w http.ResponseWriter, r *http.Request) {
	rc, ok := s.beginRebilly(w, r, KindRebillyWebhook)
	if !ok || !s.rebillyAuthorized(w, r, rc) {
		return
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		s.rebillyReject(w, rc, ReasonBodyTooLarge, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("body of %d bytes is larger than the limit of %d bytes", r.ContentLength, s.cfg.MaxBodyBytes))
		return
	}
	buf := s.bodies.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= 64<<10 {
			s.bodies.Put(buf)
		}
	}()
	body, err := readBody(r.Body, (*buf)[:0], s.cfg.MaxBodyBytes)
	*buf = body[:0]
	if err != nil {
		if errors.Is(err, errTooLarge) {
			s.rebillyReject(w, rc, ReasonBodyTooLarge, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("body is larger than the limit of %d bytes", s.cfg.MaxBodyBytes))
			return
		}
		s.rebillyReject(w, rc, ReasonBadBody, http.StatusBadRequest, "could not read the body")
		return
	}
	trig, err := rebilly.Decode[rebillyTrigger](body, rc.app.Client.Currencies())
	if err != nil {
		// Decode's messages name a JSON path and the fault, never a value.
		s.rebillyReject(w, rc, ReasonBadBody, http.StatusBadRequest, "webhook body: "+err.Error())
		return
	}
	var targets []rebillyTarget
	switch {
	case trig.TransactionID != "" && trig.PayoutRequestID != "":
		s.rebillyReject(w, rc, ReasonBadBody, http.StatusBadRequest, "webhook body names both transactionId and payoutRequestId")
		return
	case trig.TransactionID != "":
		targets = append(targets, rebillyTarget{transaction: trig.TransactionID})
		if e := trig.Embedded; e != nil && e.ChildTransaction != nil && e.ChildTransaction.ID != "" && e.ChildTransaction.ID != trig.TransactionID {
			targets = append(targets, rebillyTarget{transaction: e.ChildTransaction.ID})
		}
	case trig.PayoutRequestID != "":
		targets = append(targets, rebillyTarget{payoutRequest: trig.PayoutRequestID})
	default:
		s.rebillyReject(w, rc, ReasonBadBody, http.StatusBadRequest,
			"webhook body names neither transactionId nor payoutRequestId: subscribe this webhook to transaction and payout-request events with the default payload")
		return
	}
	for _, t := range targets {
		if !rebilly.ValidID(t.transaction + t.payoutRequest) {
			s.rebillyReject(w, rc, ReasonBadBody, http.StatusBadRequest,
				"webhook body: an id must be at most 50 letters, digits or -_.@~")
			return
		}
	}
	s.confirmRebilly(w, r, rc, targets)
}

// rebillyAuthorized checks the webhook's credential; a failure is
// answered 401 with the scheme's challenge.
func (s *Server) rebillyAuthorized(w http.ResponseWriter, r *http.Request, rc *rebillyCall) bool {
	a := rc.app
	var err error
	switch a.Auth {
	case RebillyAuthNone:
		return true
	case RebillyAuthBasic:
		err = a.Basic.Verify(r)
	case RebillyAuthDigest:
		err = a.Digest.Verify(r, s.cfg.Now())
	}
	if err == nil {
		return true
	}
	reason := ReasonCredentialMismatch
	if r.Header.Get("Authorization") == "" {
		reason = ReasonCredentialMissing // Digest's first leg, or a stranger
	}
	if a.Auth == RebillyAuthDigest {
		w.Header().Set("WWW-Authenticate", a.Digest.Challenge(s.cfg.Now()))
	} else {
		w.Header().Set("WWW-Authenticate", `Basic realm="rebilly", charset="UTF-8"`)
	}
	s.rebillyReject(w, rc, reason, http.StatusUnauthorized, "the webhook credential does not verify")
	return false
}

// rebillyEvent is one confirmed object, ready to publish: its envelope
// (whose ID is the dedup key) and subject.
type rebillyEvent struct {
	fields  cloudevent.Fields
	subject string
}

// confirmRebilly looks every target up and publishes what the lookups
// say, answering 2xx only once every event is in the stream.
func (s *Server) confirmRebilly(w http.ResponseWriter, r *http.Request, rc *rebillyCall, targets []rebillyTarget) {
	outcome := OutcomeDuplicate
	for _, t := range targets {
		ev, ok := s.lookupRebilly(w, r, rc, t)
		if !ok {
			return
		}
		o, ok := s.publishRebilly(w, r, rc, ev)
		if !ok {
			return
		}
		if o == OutcomeAccepted {
			outcome = OutcomeAccepted
		}
	}
	if e := s.log.Debug(); e.Enabled() {
		e.Str("request_id", s.requestIDOf(rc.origin())).Str("kind", rc.kind).Str("app", rc.app.Name).Str("rebilly_id", rc.id).
			Str("outcome", outcome).Msg("rebilly call confirmed")
	}
	s.metrics.Requests.WithLabelValues(rc.kind, rc.app.Name, outcome).Inc()
	s.metrics.Duration.WithLabelValues(rc.kind).Observe(time.Since(rc.start).Seconds())
	writeRebillyJSON(w, http.StatusOK, "result", outcome, "")
}

// lookupRebilly GETs a target with the application's client: the
// confirmed state, or an answer already written.
func (s *Server) lookupRebilly(w http.ResponseWriter, r *http.Request, rc *rebillyCall, t rebillyTarget) (rebillyEvent, bool) {
	a := rc.app
	if t.payoutRequest != "" {
		rc.id = t.payoutRequest
		resp, err := a.Client.GetPayoutRequest(r.Context(), t.payoutRequest)
		if err != nil {
			s.rebillyLookupFailed(w, rc, "payout_request", err)
			return rebillyEvent{}, false
		}
		p := &resp.Value
		if p.ID != t.payoutRequest {
			s.rebillyMismatch(w, rc, "payout_request")
			return rebillyEvent{}, false
		}
		s.metrics.RebillyLookups.WithLabelValues(a.Name, "payout_request", "success").Inc()
		return rebillyEvent{
			fields:  cloudevent.RebillyPayoutRequest(a.OrganizationID, p, resp.Raw, rc.start, dataSchemaRebillyPayoutRequest),
			subject: subjects.Rebilly.Event(a.Name, rebilly.EventWithdrawal, p.Status),
		}, true
	}
	rc.id = t.transaction
	resp, err := a.Client.GetTransaction(r.Context(), t.transaction)
	if err != nil {
		s.rebillyLookupFailed(w, rc, "transaction", err)
		return rebillyEvent{}, false
	}
	tx := &resp.Value
	if tx.ID != t.transaction || (tx.OrganizationID != "" && tx.OrganizationID != a.OrganizationID) {
		s.rebillyMismatch(w, rc, "transaction")
		return rebillyEvent{}, false
	}
	s.metrics.RebillyLookups.WithLabelValues(a.Name, "transaction", "success").Inc()
	return rebillyEvent{
		fields:  cloudevent.RebillyTransaction(a.OrganizationID, tx, resp.Raw, rc.start, dataSchemaRebillyTransaction),
		subject: subjects.Rebilly.Event(a.Name, rebilly.EventType(tx), tx.Result),
	}, true
}

// publishRebilly publishes one confirmed event once (claimKey,
// publishClaimed): the outcome, or false with the answer written.
func (s *Server) publishRebilly(w http.ResponseWriter, r *http.Request, rc *rebillyCall, ev rebillyEvent) (string, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.PublishTimeout)
	defer cancel()
	key := ev.fields.ID
	claim, err := s.claimKey(ctx, rc.kind, key)
	if err != nil {
		s.rebillyFail(w, rc, http.StatusServiceUnavailable, 0, "dedup store unavailable", err)
		return "", false
	}
	if claim.State == idempotency.Done {
		return OutcomeDuplicate, true
	}
	data := cloudevent.Append(make([]byte, 0, len(ev.fields.Data)+512), ev.fields)
	msg := &nats.Msg{Subject: ev.subject, Data: data, Header: nats.Header{headerMsgID: []string{key}}}
	if err := s.publishClaimed(ctx, r, claim, msg, rc.origin()); err != nil {
		s.rebillyFail(w, rc, http.StatusServiceUnavailable, 0, "event not stored", err)
		return "", false
	}
	return OutcomeAccepted, true
}

// rebillyLookupFailed answers a GET that did not confirm: 404 for an id
// the organization does not have (nothing published; Rebilly's retries
// deliver a genuine one again once it is visible), 503 with Retry-After
// for a transient failure, 502 for any other provider failure.
func (s *Server) rebillyLookupFailed(w http.ResponseWriter, rc *rebillyCall, object string, err error) {
	var rl rebilly.RateLimit
	var re *rebilly.Error
	if errors.As(err, &re) {
		rl = re.RateLimit
	}
	switch {
	case errors.Is(err, rebilly.ErrNotFound):
		s.metrics.RebillyLookups.WithLabelValues(rc.app.Name, object, OutcomeNotFound).Inc()
		s.metrics.Requests.WithLabelValues(rc.kind, rc.app.Name, OutcomeNotFound).Inc()
		s.metrics.Duration.WithLabelValues(rc.kind).Observe(time.Since(rc.start).Seconds())
		// Rate-limited and without the id: anyone can make the ingress
		// look up a made-up id.
		if e := s.rejects.event(&s.log); e != nil {
			e.Str("request_id", s.requestIDOf(rc.origin())).Str("kind", rc.kind).Str("app", rc.app.Name).Str("object", object).
				Msg("rebilly lookup found nothing; nothing published")
		}
		writeRebillyJSON(w, http.StatusNotFound, "error", OutcomeNotFound,
			"the application's Rebilly organization has no such "+object+"; nothing was published")
	case rebilly.Classify(err) == provider.Transient:
		s.metrics.RebillyLookups.WithLabelValues(rc.app.Name, object, "transient").Inc()
		s.rebillyFail(w, rc, http.StatusServiceUnavailable, rl.RetryAfter(s.cfg.Now()), "Rebilly lookup failed (transient)", err)
	default:
		s.metrics.RebillyLookups.WithLabelValues(rc.app.Name, object, rebilly.Classify(err).String()).Inc()
		s.rebillyFail(w, rc, http.StatusBadGateway, 0, "Rebilly lookup failed", err)
	}
}

// rebillyMismatch answers a GET whose answer is about another object (or
// organization) than the one asked for: nothing is published.
func (s *Server) rebillyMismatch(w http.ResponseWriter, rc *rebillyCall, object string) {
	s.metrics.RebillyLookups.WithLabelValues(rc.app.Name, object, "mismatch").Inc()
	s.rebillyFail(w, rc, http.StatusBadGateway, 0, "Rebilly lookup answered for another "+object+" or organization",
		errors.New("the confirmed id or organization differs from the one looked up"))
}

// rebillyFail answers an internal or provider failure with a non-2xx, so
// Rebilly calls again, and logs why (errors name operations, statuses and
// key digests, never a body or a secret).
func (s *Server) rebillyFail(w http.ResponseWriter, rc *rebillyCall, httpStatus int, retryAfter time.Duration, what string, err error) {
	o := rc.origin()
	s.log.Error().Err(err).Str("request_id", s.requestIDOf(o)).Str("kind", rc.kind).Str("app", rc.app.Name).Str(o.idField, rc.id).
		Int("http_status", httpStatus).Msg(what + "; answered non-2xx so Rebilly calls again")
	s.metrics.Requests.WithLabelValues(rc.kind, rc.app.Name, OutcomeFailed).Inc()
	s.metrics.Duration.WithLabelValues(rc.kind).Observe(time.Since(rc.start).Seconds())
	if httpStatus == http.StatusServiceUnavailable {
		retryAfter = min(max(retryAfter, rebillyRetryAfter), rebillyMaxRetryAfter)
		w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
	writeRebillyJSON(w, httpStatus, "error", "temporary_failure", what+"; please call again")
}

// rebillyReject answers bad input with a specific error, counts it by
// reason and logs it, rate-limited, with the reason only.
func (s *Server) rebillyReject(w http.ResponseWriter, rc *rebillyCall, reason string, httpStatus int, desc string) {
	s.metrics.Rejected.WithLabelValues(rc.kind, reason).Inc()
	s.metrics.Requests.WithLabelValues(rc.kind, rc.appName(), OutcomeRejected).Inc()
	if e := s.rejects.event(&s.log); e != nil {
		e.Str("request_id", s.requestIDOf(rc.origin())).Str("kind", rc.kind).Str("app", rc.appName()).Str("reason", reason).
			Int("http_status", httpStatus).Msg("rebilly call rejected")
	}
	writeRebillyJSON(w, httpStatus, "error", reason, desc)
}

// writeRebillyJSON writes {"<field>":"<value>"[,"description":"..."]}.
func writeRebillyJSON(w http.ResponseWriter, httpStatus int, field, value, desc string) {
	b := make([]byte, 0, 64+len(desc))
	b = append(b, '{')
	b = cloudevent.AppendString(b, field)
	b = append(b, ':')
	b = cloudevent.AppendString(b, value)
	if desc != "" {
		b = append(b, `,"description":`...)
		b = cloudevent.AppendString(b, desc)
	}
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(b)
}
