package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/internal/simkit"
)

// Delivery kinds.
const (
	KindNotification = "notification"
	KindValidation   = "validation"
)

// GenericValidationError is what the customer sees when the validation
// callback times out or answers something that is not a reply envelope.
const GenericValidationError = "Transaction validation failed, please try again later"

// maxReplyBytes bounds what is read from a merchant's webhook reply.
const maxReplyBytes = 64 << 10

// Delivery records one webhook attempt: a notification (re)send or a
// validation callback.
type Delivery struct {
	Seq            int64  `json:"seq"`
	Kind           string `json:"kind"`
	ApplicationKey string `json:"application_key"`
	// TID is 0 for a session-expiry notification and a validation callback.
	TID     int64  `json:"tid,omitempty"`
	OrderID string `json:"order_id"`
	// Status is the transaction status notified, the session status of an
	// expiry notification, or the attempt's intent for a validation.
	Status  string `json:"status"`
	URL     string `json:"url"`
	Attempt int    `json:"attempt"`
	// Duplicate marks an extra delivery made by the duplicate fault;
	// OutOfOrder one held back by the out-of-order fault.
	Duplicate  bool `json:"duplicate,omitempty"`
	OutOfOrder bool `json:"out_of_order,omitempty"`
	// Timestamp and Signature are those of the body sent.
	Timestamp   int64  `json:"timestamp"`
	Signature   string `json:"signature"`
	HTTPStatus  int    `json:"http_status"`
	ReplyStatus *int   `json:"reply_status"`
	// ReplyDescription is the merchant's description (for a validation
	// decline, what the customer is shown).
	ReplyDescription string `json:"reply_description,omitempty"`
	// ReplySignatureOK is nil when the reply carried no signature.
	ReplySignatureOK *bool         `json:"reply_signature_ok"`
	Error            string        `json:"error,omitempty"`
	Duration         time.Duration `json:"-"`
	DurationMS       float64       `json:"duration_ms"`
	// WillResend tells whether another attempt of this notification follows.
	WillResend bool `json:"will_resend"`
	// Forged marks a crafted, altered or replayed copy sent by Forge; Alteration says how.
	Forged     bool      `json:"forged,omitempty"`
	Alteration string    `json:"alteration,omitempty"`
	At         time.Time `json:"at"`
}

// Deliveries returns the delivery log, oldest first (at most
// Config.DeliveryLogLimit entries).
func (s *Simulator) Deliveries() []Delivery { return s.deliv.Log() }

// record logs d unless it is a delivery of the state before a Reset.
func (s *Simulator) record(gen uint64, d Delivery) {
	d.DurationMS = float64(d.Duration) / float64(time.Millisecond)
	s.deliv.Record(gen, d)
}

// outbound is one notification waiting in its lane.
type outbound struct {
	app    Application
	url    string
	tid    int64
	order  string
	status string
	final  bool
	note   wireNotification
	body   []byte
	sig    string
}

// lane is the queue of one tid's (or, for expiry, one session's)
// notifications; one goroutine drains it, so they go out in order.
type lane struct {
	q    []*outbound
	wake chan struct{}
}

// notifyLocked queues t's current state as a notification. s.mu is held, so
// the snapshot is consistent.
func (s *Simulator) notifyLocked(t *tx) {
	se := t.sess
	if se.notificationURL == "" || s.cfg.NoNotifications {
		return
	}
	rate := conversionRate
	o := &outbound{
		app: se.app.app, url: se.notificationURL, tid: t.tid, order: se.orderID, status: t.status,
		final: finalStatus(t.status),
		note: wireNotification{
			MerchantID: se.app.app.MerchantID, ApplicationKey: se.app.app.ApplicationKey, ConversionRate: &rate,
			Customer: se.wireCustomer(), Session: se.wireSession(), Transaction: t.wireTransaction(), Version: praxis.Version,
		},
	}
	s.enqueue("tid:"+strconv.FormatInt(t.tid, 10), o)
}

// notifySessionLocked queues the transaction-less notification of an expired
// session (SIGNATURE.md V7).
func (s *Simulator) notifySessionLocked(se *session) {
	if se.notificationURL == "" || s.cfg.NoNotifications {
		return
	}
	o := &outbound{
		app: se.app.app, url: se.notificationURL, order: se.orderID, status: se.status, final: true,
		note: wireNotification{
			MerchantID: se.app.app.MerchantID, ApplicationKey: se.app.app.ApplicationKey,
			Customer: se.wireCustomer(), Session: se.wireSession(), Version: praxis.Version,
		},
	}
	s.enqueue("session:"+se.token, o)
}

func (s *Simulator) enqueue(key string, o *outbound) {
	s.deliv.Lock()
	defer s.deliv.Unlock()
	l := s.lanes[key]
	if l == nil {
		l = &lane{wake: make(chan struct{}, 1)}
		if !s.deliv.GoLocked(func(ctx context.Context, gen uint64) { s.runLane(ctx, gen, key, l) }) {
			return // closed
		}
		s.lanes[key] = l
	}
	l.q = append(l.q, o)
	s.deliv.AddPending(1)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// PendingNotifications is how many notifications are queued or being
// delivered (resend waits included), so tests and benchmarks can wait until
// the simulator is quiet.
func (s *Simulator) PendingNotifications() int { return s.deliv.Pending() }

// pop takes the lane's next notification; on an empty lane it retires the
// lane (under the same lock enqueue takes, so nothing is lost).
func (s *Simulator) pop(key string, l *lane, retire bool) *outbound {
	s.deliv.Lock()
	defer s.deliv.Unlock()
	if len(l.q) == 0 {
		if retire && s.lanes[key] == l {
			delete(s.lanes, key)
		}
		return nil
	}
	o := l.q[0]
	l.q[0] = nil
	l.q = l.q[1:]
	return o
}

// popWait waits up to hold for the lane's next notification.
func (s *Simulator) popWait(ctx context.Context, key string, l *lane, hold time.Duration) *outbound {
	timer := time.NewTimer(hold)
	defer timer.Stop()
	for {
		if o := s.pop(key, l, false); o != nil {
			return o
		}
		select {
		case <-l.wake:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

func (s *Simulator) runLane(ctx context.Context, gen uint64, key string, l *lane) {
	defer func() {
		// Stopped by Close or Reset: what is still queued is dropped.
		s.deliv.Lock()
		s.deliv.AddPending(-int64(len(l.q)))
		l.q = nil
		if s.lanes[key] == l {
			delete(s.lanes, key)
		}
		s.deliv.Unlock()
	}()
	for ctx.Err() == nil {
		o := s.pop(key, l, true)
		if o == nil {
			return
		}
		f := s.faults.Load()
		if !o.final && s.rng.Hit(f.OutOfOrderRate) {
			if next := s.popWait(ctx, key, l, f.OutOfOrderHold); next != nil {
				s.deliver(ctx, gen, next, false)
				s.deliver(ctx, gen, o, true)
				continue
			}
		}
		s.deliver(ctx, gen, o, false)
	}
}

// sign marshals the notification with a timestamp of now and signs it.
func (s *Simulator) sign(o *outbound) error {
	o.note.Timestamp = s.now().Unix()
	body, err := json.Marshal(o.note)
	if err != nil {
		return fmt.Errorf("encode notification: %w", err)
	}
	sig, err := s.lists.Get(praxis.ListNotificationRequest).Sign(body, o.app.Secrets[0])
	if err != nil {
		return fmt.Errorf("sign notification: %w", err)
	}
	o.body, o.sig = body, sig.String()
	return nil
}

// deliver sends o until it is acknowledged, its attempts are used up, or
// the simulator stops; then, under the duplicate fault, once more.
func (s *Simulator) deliver(ctx context.Context, gen uint64, o *outbound, outOfOrder bool) {
	defer s.deliv.AddPending(-1)
	for attempt := 1; ; attempt++ {
		if o.body == nil || s.cfg.FreshResendTimestamp {
			if err := s.sign(o); err != nil {
				s.log.Error().Err(err).Int64("tid", o.tid).Msg("notification dropped")
				return
			}
		}
		if o.tid != 0 {
			s.remember(gen, o)
		}
		res := s.post(ctx, true, o.url, o.body, o.sig, o.app.Secrets)
		d := s.deliveryRecord(o, attempt, res)
		d.OutOfOrder = outOfOrder
		d.WillResend = res.retry && attempt < s.cfg.MaxDeliveries && ctx.Err() == nil
		s.record(gen, d)
		if !res.retry {
			break
		}
		if !d.WillResend {
			if ctx.Err() == nil {
				s.log.Warn().Int64("tid", o.tid).Str("status", o.status).Int("attempts", attempt).
					Str("error", res.errText()).Msg("notification not acknowledged; giving up")
			}
			return
		}
		s.log.Debug().Int64("tid", o.tid).Str("status", o.status).Int("attempt", attempt).
			Str("error", res.errText()).Dur("resend_in", s.cfg.ResendDelay).Msg("notification will be resent")
		if !simkit.Sleep(ctx, s.cfg.ResendDelay) {
			return
		}
	}
	if s.rng.Hit(s.faults.Load().DuplicateRate) && ctx.Err() == nil {
		res := s.post(ctx, true, o.url, o.body, o.sig, o.app.Secrets)
		d := s.deliveryRecord(o, 0, res)
		d.Duplicate, d.OutOfOrder = true, outOfOrder
		s.record(gen, d)
	}
}

func (s *Simulator) deliveryRecord(o *outbound, attempt int, res postResult) Delivery {
	return Delivery{
		Kind: KindNotification, ApplicationKey: o.app.ApplicationKey, TID: o.tid, OrderID: o.order,
		Status: o.status, URL: o.url, Attempt: attempt, Timestamp: o.note.Timestamp, Signature: o.sig,
		HTTPStatus: res.httpStatus, ReplyStatus: res.status, ReplyDescription: res.description,
		ReplySignatureOK: res.sigOK, Error: res.errText(), Duration: res.took, At: res.at,
	}
}

// postResult is what one webhook call came back with.
type postResult struct {
	httpStatus  int
	status      *int
	description string
	sigOK       *bool
	err         error
	took        time.Duration
	at          time.Time
	// retry: no answer, not 200, not a reply envelope, or a negative status.
	retry bool
}

func (r postResult) errText() string {
	if r.err == nil {
		return ""
	}
	return r.err.Error()
}

var errNotEnvelope = errors.New("reply is not a JSON envelope with an integer status and a string description")

// post sends one signed webhook and reads the merchant's reply. Notifications
// take one of the MaxConcurrentDeliveries slots; a validation callback does
// not, because a customer is waiting on it.
func (s *Simulator) post(ctx context.Context, limited bool, url string, body []byte, sig string, secrets []string, header ...string) postResult {
	res := postResult{retry: true}
	if limited {
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		case <-ctx.Done():
			res.err = ctx.Err()
			return res
		}
	}
	res.at = s.now()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		res.err = fmt.Errorf("build request: %w", err)
		res.took = time.Since(start)
		return res
	}
	req.Header.Set("Content-Type", praxis.ContentType)
	req.Header.Set(praxis.HeaderSignature, sig)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		res.err = err
		res.took = time.Since(start)
		return res
	}
	defer resp.Body.Close()
	res.httpStatus = resp.StatusCode
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	res.took = time.Since(start)
	if err != nil {
		res.err = fmt.Errorf("read reply: %w", err)
		return res
	}
	if resp.StatusCode != http.StatusOK {
		res.err = fmt.Errorf("HTTP %d", resp.StatusCode)
		return res
	}
	var vals [2]praxis.Value
	if err := s.reply.Extract(raw, vals[:]); err != nil {
		res.err = fmt.Errorf("%w: %w", errNotEnvelope, err)
		return res
	}
	status, err := vals[0].Int()
	if err != nil || vals[1].Kind != praxis.KindString {
		res.err = errNotEnvelope
		return res
	}
	desc, _ := vals[1].Text()
	st := int(status)
	res.status, res.description = &st, desc
	if h := resp.Header.Get(praxis.HeaderSignature); h != "" {
		ok := s.lists.Get(praxis.ListWebhookReply).Verify(raw, h, secrets...) == nil
		res.sigOK = &ok
	}
	res.retry = st < 0
	return res
}

// validationVerdict is the outcome of a validation callback.
type validationVerdict struct {
	ok     bool
	reason string
}

// validate sends the validation callback for an attempt and waits for the
// merchant's verdict. s.mu must not be held: it is an HTTP call.
func (s *Simulator) validate(ctx context.Context, app Application, url string, v wireValidation) validationVerdict {
	gen := s.deliv.Gen()
	v.Timestamp = s.now().Unix()
	d := Delivery{
		Kind: KindValidation, ApplicationKey: app.ApplicationKey, OrderID: v.Session.OrderID,
		Status: v.TransactionAttempt.Intent, URL: url, Attempt: 1, Timestamp: v.Timestamp,
	}
	body, err := json.Marshal(v)
	if err == nil {
		var sig praxis.Signature
		if sig, err = s.lists.Get(praxis.ListValidationRequest).Sign(body, app.Secrets[0]); err == nil {
			d.Signature = sig.String()
		}
	}
	if err != nil {
		d.Error = fmt.Sprintf("build validation request: %v", err)
		s.record(gen, d)
		return validationVerdict{reason: GenericValidationError}
	}
	res := s.post(ctx, false, url, body, d.Signature, app.Secrets)
	d.HTTPStatus, d.ReplyStatus, d.ReplyDescription = res.httpStatus, res.status, res.description
	d.ReplySignatureOK, d.Error, d.Duration, d.At = res.sigOK, res.errText(), res.took, res.at
	s.record(gen, d)
	switch {
	case res.status == nil:
		return validationVerdict{reason: GenericValidationError}
	case *res.status == 0:
		return validationVerdict{ok: true}
	case res.description == "":
		return validationVerdict{reason: GenericValidationError}
	default:
		return validationVerdict{reason: res.description}
	}
}
