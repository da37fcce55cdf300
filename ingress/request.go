package ingress

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

// extractor reads, in one pass, a webhook's signed fields plus the fields
// the handler needs, and knows which of them the signature covers.
type extractor struct {
	paths    *praxis.Paths
	names    []string
	sigIdx   []int
	index    map[string]int
	merchant int
	appKey   int
	ts       int
}

// newExtractor builds the one-pass reader of a webhook: schema adds the
// message's strict checks (repeated or case-variant keys, types, formats of
// signed fields), the same ones praxis.Decode applies for the ledger.
func newExtractor(schema *praxis.Schema, sig praxis.FieldList, extra ...string) *extractor {
	e := &extractor{index: make(map[string]int)}
	add := func(name string) int {
		if i, ok := e.index[name]; ok {
			return i
		}
		e.index[name] = len(e.names)
		e.names = append(e.names, name)
		return len(e.names) - 1
	}
	for _, f := range sig.Fields() {
		e.sigIdx = append(e.sigIdx, add(f))
	}
	e.merchant = add("merchant_id")
	e.appKey = add("application_key")
	e.ts = add("timestamp")
	for _, f := range extra {
		add(f)
	}
	e.paths = schema.CompilePaths(e.names...)
	return e
}

// at returns the position of a field the extractor was built with; asking
// for another is a programming error.
func (e *extractor) at(name string) int {
	i, ok := e.index[name]
	if !ok {
		panic("ingress: field not extracted: " + name)
	}
	return i
}

// maxFields bounds the values array kept on the stack.
const maxFields = 32

// call is one verified webhook on its way through a handler.
type call struct {
	kind      string
	ex        *extractor
	reqID     string // X-Request-Id as received (see requestID)
	srv       *Server
	tid       string // the transaction's tid (or order id), once known
	app       *app
	body      []byte
	vals      [maxFields]praxis.Value
	secretIdx int
	timestamp int64
	start     time.Time
	buf       *[]byte
}

// errRejected means the request was refused and the answer already written.
var errRejected = errors.New("rejected")

// accept runs every check common to the four webhooks: method and content
// type (the router already enforced POST), body size, JSON shape,
// application, signature and timestamp. On failure it writes the specific
// answer, counts it, and returns errRejected.
func (s *Server) accept(w http.ResponseWriter, r *http.Request, kind string, ex *extractor, c *call) error {
	c.kind, c.ex, c.start = kind, ex, s.cfg.Now()
	// A caller's request id is echoed; one is made up only when a log line
	// needs it (see call.requestID).
	if id := r.Header.Get(headerRequestID); id != "" && len(id) <= 128 {
		c.reqID = id
		w.Header()[headerRequestID] = []string{id}
	}
	c.srv = s
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != praxis.ContentType && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "text/json") {
			return s.reject(w, c, ReasonContentType, http.StatusUnsupportedMediaType, 400,
				fmt.Sprintf("Content-Type %q is not application/json", ct))
		}
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return s.reject(w, c, ReasonBodyTooLarge, http.StatusRequestEntityTooLarge, 400,
			fmt.Sprintf("body of %d bytes is larger than the limit of %d bytes", r.ContentLength, s.cfg.MaxBodyBytes))
	}
	c.buf = s.bodies.Get().(*[]byte)
	body, err := readBody(r.Body, (*c.buf)[:0], s.cfg.MaxBodyBytes)
	*c.buf = body[:0]
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return s.reject(w, c, ReasonBodyTooLarge, http.StatusRequestEntityTooLarge, 400,
				fmt.Sprintf("body is larger than the limit of %d bytes", s.cfg.MaxBodyBytes))
		}
		return s.reject(w, c, ReasonNotJSON, http.StatusBadRequest, 400, "could not read the body: "+err.Error())
	}
	c.body = body
	vals := c.vals[:len(ex.names)]
	if err := ex.paths.Extract(body, vals); err != nil {
		switch {
		case errors.Is(err, praxis.ErrNotObject):
			return s.reject(w, c, ReasonNotObject, http.StatusBadRequest, 400, "Bad request: "+err.Error())
		case errors.Is(err, praxis.ErrAmbiguousKey):
			return s.reject(w, c, ReasonAmbiguousKey, http.StatusBadRequest, 400, "Input validation failed: "+err.Error())
		case errors.Is(err, praxis.ErrFieldFormat):
			return s.reject(w, c, ReasonMistypedField, http.StatusBadRequest, 400, "Input validation failed: "+err.Error())
		}
		return s.reject(w, c, ReasonNotJSON, http.StatusBadRequest, 400, "Bad request: "+err.Error())
	}
	m, k := vals[ex.merchant], vals[ex.appKey]
	if m.Kind != praxis.KindString || k.Kind != praxis.KindString {
		return s.rejectField(w, c, "merchant_id and application_key", m.Kind, k.Kind)
	}
	var keyBuf [256]byte
	key, err := m.AppendText(keyBuf[:0])
	if err == nil {
		key = append(key, 0)
		key, err = k.AppendText(key)
	}
	a, ok := s.apps[string(key)]
	if err != nil || !ok {
		// Possibly our own misconfiguration: -1 makes Praxis resend once
		// the application is configured, so nothing is lost.
		return s.reject(w, c, ReasonUnknownApp, http.StatusUnauthorized, -1,
			"Website not found: no application is configured for this merchant_id and application_key")
	}
	c.app = a

	var textBuf [512]byte
	sigVals := c.sigVals(ex)
	text, err := praxis.AppendSigningText(textBuf[:0], sigVals, nil)
	if err != nil {
		return s.reject(w, c, ReasonMistypedField, http.StatusBadRequest, 400, "Input validation failed: a signed field "+err.Error())
	}
	idx, err := praxis.MatchSecret(text, r.Header.Get(praxis.HeaderSignature), a.Secrets...)
	if err != nil {
		// -1 as well: a genuine message signed with a secret we do not hold
		// yet (a rotation) must be resent, not lost.
		if errors.Is(err, praxis.ErrSignatureMissing) {
			return s.reject(w, c, ReasonSignatureMissing, http.StatusUnauthorized, -1, "GT-Authentication header is missing")
		}
		return s.reject(w, c, ReasonSignatureMismatch, http.StatusUnauthorized, -1, "Invalid signature")
	}
	c.secretIdx = idx

	ts := vals[ex.ts]
	if ts.Kind != praxis.KindNumber {
		return s.rejectField(w, c, "timestamp", ts.Kind, praxis.KindNumber)
	}
	c.timestamp, err = ts.Int()
	if err != nil {
		return s.reject(w, c, ReasonMistypedField, http.StatusBadRequest, 400, "Input validation failed: timestamp: "+err.Error())
	}
	return s.checkTimestamp(w, c)
}

// checkTimestamp refuses a webhook whose timestamp is further in the
// future than the allowed clock skew, or older than its kind's window:
// validation and customer sync are synchronous and never resent, so their
// window is minutes; notifications are resent by Praxis, so theirs is the
// (configurable, UNCONFIRMED) resend horizon. A negative window is off.
func (s *Server) checkTimestamp(w http.ResponseWriter, c *call) error {
	age := c.start.Sub(time.Unix(c.timestamp, 0))
	if skew := s.cfg.MaxTimestampSkew; skew >= 0 && age < -skew {
		return s.reject(w, c, ReasonTimestamp, http.StatusBadRequest, 400,
			fmt.Sprintf("Timestamp cannot be greater than current time: %s ahead, at most %s allowed", (-age).Truncate(time.Second), skew))
	}
	max := s.cfg.MaxTimestampAge
	if c.kind == KindValidation || c.kind == KindCustomerSync {
		max = s.cfg.SyncMaxTimestampAge
	}
	if max >= 0 && age > max {
		return s.reject(w, c, ReasonTimestamp, http.StatusBadRequest, 400,
			fmt.Sprintf("Timestamp expired: %s old, at most %s allowed", age.Truncate(time.Second), max))
	}
	return nil
}

func (c *call) sigVals(ex *extractor) []praxis.Value {
	var out [maxFields]praxis.Value
	for i, idx := range ex.sigIdx {
		out[i] = c.vals[idx]
	}
	return out[:len(ex.sigIdx)]
}

// release returns the call's body buffer to the pool once nothing refers
// to it any more (the publish has copied it).
func (s *Server) release(c *call) {
	if c.buf != nil {
		if cap(*c.buf) <= 64<<10 {
			s.bodies.Put(c.buf)
		}
		c.buf = nil
	}
	c.body = nil
}

// rejectField answers a missing or mistyped required field.
func (s *Server) rejectField(w http.ResponseWriter, c *call, name string, got, want praxis.Kind) error {
	if got == praxis.KindMissing || got == praxis.KindNull {
		return s.reject(w, c, ReasonMissingField, http.StatusBadRequest, 400, "Input validation failed: "+name+" is missing")
	}
	return s.reject(w, c, ReasonMistypedField, http.StatusBadRequest, 400,
		fmt.Sprintf("Input validation failed: %s must be a %s, got a %s", name, want, got))
}

// reject writes an unsigned error answer (Praxis' own error replies carry no
// signature), counts it by reason and logs it, rate-limited, with the
// reason only: never the body nor the description, which may quote what
// the caller sent (a Content-Type, a numeric token).
func (s *Server) reject(w http.ResponseWriter, c *call, reason string, httpStatus, status int, desc string) error {
	s.metrics.Rejected.WithLabelValues(c.kind, reason).Inc()
	appName := AppUnknown
	if c.app != nil {
		appName = c.app.Name
	}
	s.metrics.Requests.WithLabelValues(c.kind, appName, OutcomeRejected).Inc()
	if e := s.rejects.event(&s.log); e != nil {
		e.Str("request_id", c.requestID()).Str("kind", c.kind).Str("app", appName).Str("reason", reason).Int("status", status).
			Int("http_status", httpStatus).Msg("webhook rejected")
	}
	writeError(w, httpStatus, status, desc)
	return errRejected
}

// headerRequestID correlates a webhook's log lines with the caller's.
const headerRequestID = "X-Request-Id"

// requestID is the caller's X-Request-Id, or one made up for a log line.
func (c *call) requestID() string {
	if c.reqID == "" {
		c.reqID = c.srv.nextRequestID()
	}
	return c.reqID
}

// nextRequestID makes a request id cheaply: a per-process prefix and a counter.
func (s *Server) nextRequestID() string {
	return s.idPrefix + strconv.FormatUint(s.reqSeq.Add(1), 36)
}

// errTooLarge is readBody's answer to a body over the limit.
var errTooLarge = errors.New("body too large")

// readBody reads at most limit bytes into buf.
func readBody(r io.Reader, buf []byte, limit int64) ([]byte, error) {
	for {
		if int64(len(buf)) > limit {
			return buf, errTooLarge
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				return buf, errTooLarge
			}
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// writeError writes an unsigned JSON error envelope.
func writeError(w http.ResponseWriter, httpStatus, status int, desc string) {
	b := make([]byte, 0, 128+len(desc))
	b = appendEnvelope(b, status, desc, time.Now().Unix())
	w.Header().Set("Content-Type", praxis.ContentType)
	w.WriteHeader(httpStatus)
	_, _ = w.Write(b)
}

// appendEnvelope writes {"status":..,"description":..,"version":"1.3","timestamp":..}.
func appendEnvelope(b []byte, status int, desc string, ts int64) []byte {
	b = append(b, `{"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"description":`...)
	b = cloudevent.AppendString(b, desc)
	b = append(b, `,"version":"`+praxis.Version+`","timestamp":`...)
	b = strconv.AppendInt(b, ts, 10)
	return append(b, '}')
}

// writeSigned writes HTTP 200 with body signed under list by the secret the
// request was verified with, in every configured reply header.
func (s *Server) writeSigned(w http.ResponseWriter, c *call, list praxis.ListName, body []byte) {
	h := w.Header()
	h["Content-Type"] = s.ctJSON
	sig, err := s.cfg.Lists.Get(list).Sign(body, c.app.Secrets[c.secretIdx])
	if err != nil {
		// Our own body always signs; this is a bug, not bad input.
		s.log.Error().Err(err).Str("kind", c.kind).Msg("sign reply")
	} else {
		v := []string{sig.String()}
		for _, name := range s.cfg.ReplySignatureHeaders {
			h[http.CanonicalHeaderKey(name)] = v
		}
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// replyStatus writes a signed envelope reply.
func (s *Server) replyStatus(w http.ResponseWriter, c *call, status int, desc string) {
	var buf [256]byte
	b := appendEnvelope(buf[:0], status, desc, s.cfg.Now().Unix())
	s.writeSigned(w, c, praxis.ListWebhookReply, b)
}
