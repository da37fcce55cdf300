package ingress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/telemetry"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// validationFields are what the validation handler reads besides the
// signed fields.
func validationFields() []string {
	return []string{"transaction_attempt", "transaction_attempt.intent", "transaction_attempt.amount",
		"transaction_attempt.currency", "transaction_attempt.attempted_amount", "transaction_attempt.attempted_currency",
		"transaction_attempt.withdrawal_request_id", "session.order_id", "session.cid", "session.intent"}
}

// customerSyncFields are what the customer sync handler reads besides the
// signed fields.
func customerSyncFields() []string { return []string{"cid", "order_id"} }

// ValidationAttempt is what a validation rule sees of an attempt.
type ValidationAttempt struct {
	OrderID           string
	CID               string
	Intent            string
	Currency          string
	Amount            *int64
	AttemptedCurrency string
	AttemptedAmount   *int64
}

// ValidationRules decides a validation callback without a round trip to
// the CRM when a configured rule applies (e.g. the session's command fixed
// the amount). ok=false means no rule applies and the CRM is asked.
type ValidationRules interface {
	Decide(ctx context.Context, app string, attempt ValidationAttempt) (reply praxis.Reply, ok bool, err error)
}

// Decision sources, in the audit event.
const (
	sourceCRM     = "crm"
	sourceDefault = "default"
	sourceRule    = "rule"
)

func (s *Server) handleValidation(w http.ResponseWriter, r *http.Request, c *call) {
	ex := c.ex
	v := func(name string) praxis.Value { return c.vals[ex.at(name)] }
	if k := v("transaction_attempt").Kind; k != praxis.KindObject {
		s.rejectField(w, c, "transaction_attempt", k, praxis.KindObject)
		return
	}
	order := v("session.order_id")
	if order.Kind != praxis.KindString {
		s.rejectField(w, c, "session.order_id", order.Kind, praxis.KindString)
		return
	}
	var att ValidationAttempt
	att.OrderID, _ = order.Text()
	att.CID, _ = v("session.cid").Text()
	att.Intent, _ = v("transaction_attempt.intent").Text()
	if att.Intent == "" {
		att.Intent, _ = v("session.intent").Text()
	}
	att.Currency, _ = v("transaction_attempt.currency").Text()
	att.AttemptedCurrency, _ = v("transaction_attempt.attempted_currency").Text()
	for _, f := range []struct {
		name string
		dst  **int64
	}{{"transaction_attempt.amount", &att.Amount}, {"transaction_attempt.attempted_amount", &att.AttemptedAmount}} {
		val := v(f.name)
		if !val.Present() {
			continue
		}
		n, err := val.Int()
		if err != nil {
			s.reject(w, c, ReasonMistypedField, http.StatusBadRequest, 400, "Input validation failed: "+f.name+": "+err.Error())
			return
		}
		*f.dst = &n
	}

	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	reply, source, reason := s.decideValidation(ctx, r, c, att)
	outcome := OutcomeAnswered
	switch source {
	case sourceDefault:
		outcome = OutcomeDefaulted
	case sourceRule:
		outcome = OutcomeRuled
	}
	s.auditValidation(c, att, reply, source, reason)
	s.metrics.Requests.WithLabelValues(c.kind, c.app.Name, outcome).Inc()
	s.metrics.Duration.WithLabelValues(c.kind).Observe(time.Since(c.start).Seconds())
	s.replyStatus(w, c, reply.Status, reply.Description)
}

// decideValidation applies a rule, or asks the CRM, or falls back to the
// configured default. It returns the reply, its source, and why a default
// was used.
func (s *Server) decideValidation(ctx context.Context, r *http.Request, c *call, att ValidationAttempt) (praxis.Reply, string, string) {
	if s.cfg.Rules != nil {
		reply, ok, err := s.cfg.Rules.Decide(ctx, c.app.Name, att)
		switch {
		case err != nil:
			s.log.Warn().Err(err).Str("app", c.app.Name).Msg("validation rule lookup failed; asking the CRM")
		case ok:
			return reply, sourceRule, ""
		}
	}
	raw, reason := s.askCRM(ctx, r, c, subjects.RequestValidation, "praxis.validation.requested", att.OrderID)
	if reason != "" {
		return s.cfg.ValidationDefault, sourceDefault, reason
	}
	reply, err := parseReply(s.replyPaths, raw)
	if err != nil {
		s.crmFallback(c, "malformed", err)
		return s.cfg.ValidationDefault, sourceDefault, "malformed"
	}
	return reply, sourceCRM, ""
}

// requestDataSchema is the dataschema of a request to the CRM of kind.
func requestDataSchema(kind string) string {
	if kind == subjects.RequestCustomerSync {
		return dataSchemaCustomerSync
	}
	return dataSchemaValidation
}

// askCRM sends a synchronous callback to the CRM and returns its raw answer,
// or the reason it has none (timeout, no_responders, error), already counted.
func (s *Server) askCRM(ctx context.Context, r *http.Request, c *call, kind, ceType, subject string) ([]byte, string) {
	id := c.app.Name + ":" + kind + ":" + subject + ":" + strconv.FormatInt(c.timestamp, 10)
	data := cloudevent.Append(make([]byte, 0, len(c.body)+512), cloudevent.Fields{
		ID: id, Source: c.app.source, Type: ceType, Subject: subject, Time: c.start,
		RawMerchant: c.vals[c.ex.merchant].Raw, Application: c.app.Name, Data: c.body,
		DataSchema: requestDataSchema(kind),
	})
	msg := &nats.Msg{Subject: subjects.Request(c.app.Name, kind), Data: data, Header: nats.Header{}}
	if s.tracing {
		telemetry.InjectNATS(ctx, msg.Header)
	} else if tp := r.Header.Get(headerTraceparent); tp != "" {
		msg.Header.Set(headerTraceparent, tp)
	}
	start := time.Now()
	resp, err := s.deps.NC.RequestMsgWithContext(ctx, msg)
	s.metrics.CRMDuration.WithLabelValues(c.kind).Observe(time.Since(start).Seconds())
	if err != nil {
		reason := "error"
		switch {
		case errors.Is(err, nats.ErrNoResponders):
			reason = "no_responders"
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
			reason = "timeout"
		}
		s.crmFallback(c, reason, err)
		return nil, reason
	}
	return resp.Data, ""
}

func (s *Server) crmFallback(c *call, reason string, err error) {
	s.metrics.CRMFallbacks.WithLabelValues(c.kind, reason).Inc()
	s.log.Warn().Err(err).Str("request_id", c.requestID()).Str("kind", c.kind).Str("app", c.app.Name).Str("reason", reason).
		Msg("CRM did not answer usably; using the configured default")
}

// replyFields are what parseReply reads of a CRM answer.
func replyFields() *praxis.Paths { return praxis.CompilePaths("status", "description") }

// parseReply checks a CRM answer: a JSON object with an integer status and
// a string description, as Praxis itself requires of our reply.
func parseReply(paths *praxis.Paths, raw []byte) (praxis.Reply, error) {
	var vals [2]praxis.Value
	if err := paths.Extract(raw, vals[:]); err != nil {
		return praxis.Reply{}, err
	}
	if vals[0].Kind != praxis.KindNumber {
		return praxis.Reply{}, fmt.Errorf("status must be an integer, got a %s", vals[0].Kind)
	}
	status, err := vals[0].Int()
	if err != nil {
		return praxis.Reply{}, fmt.Errorf("status: %w", err)
	}
	if vals[1].Kind != praxis.KindString {
		return praxis.Reply{}, fmt.Errorf("description must be a string, got a %s", vals[1].Kind)
	}
	desc, _ := vals[1].Text()
	if len(desc) > 256 {
		desc = desc[:256] // Praxis' varchar(256)
	}
	return praxis.Reply{Status: int(status), Description: desc}, nil
}

// validationAudit is the audit event's data: the verified request exactly
// as received, and the decision taken.
type validationAudit struct {
	Request  json.RawMessage `json:"request"`
	Decision struct {
		Status      int    `json:"status"`
		Description string `json:"description"`
		Source      string `json:"source"`
		Reason      string `json:"reason,omitempty"`
	} `json:"decision"`
}

// auditValidation publishes the decision on
// praxis.events.<app>.validation.<approved|declined> without delaying the
// answer to Praxis; a failure is logged and counted.
func (s *Server) auditValidation(c *call, att ValidationAttempt, reply praxis.Reply, source, reason string) {
	var a validationAudit
	a.Request = append(json.RawMessage(nil), c.body...)
	a.Decision.Status, a.Decision.Description, a.Decision.Source, a.Decision.Reason = reply.Status, reply.Description, source, reason
	data, err := json.Marshal(a)
	if err != nil {
		s.log.Error().Err(err).Msg("encode validation audit")
		return
	}
	verdict := "approved"
	if reply.Status != 0 {
		verdict = "declined"
	}
	id := c.app.Name + ":v:" + att.OrderID + ":" + strconv.FormatInt(c.timestamp, 10) + ":" + strconv.FormatInt(c.start.UnixNano(), 10)
	env := cloudevent.Append(nil, cloudevent.Fields{
		ID: id, Source: c.app.source, Type: "praxis.validation." + verdict, Subject: att.OrderID, Time: c.start,
		RawMerchant: append([]byte(nil), c.vals[c.ex.merchant].Raw...), Application: c.app.Name, Data: data,
		DataSchema: dataSchemaValidationAudit,
	})
	msg := &nats.Msg{Subject: subjects.Event(c.app.Name, subjects.TypeValidation, verdict), Data: env,
		Header: nats.Header{headerMsgID: []string{id}}}
	fut, err := s.deps.JS.PublishMsgAsync(msg, jetstream.WithExpectStream(subjects.StreamEvents))
	if err != nil {
		s.log.Warn().Err(err).Str("app", c.app.Name).Msg("validation audit event not published")
		return
	}
	go func() {
		select {
		case <-fut.Ok():
		case err := <-fut.Err():
			s.log.Warn().Err(err).Str("app", c.app.Name).Msg("validation audit event not stored")
		case <-time.After(s.cfg.PublishTimeout):
			s.log.Warn().Str("app", c.app.Name).Msg("validation audit event: no PubAck in time")
		}
	}()
}

func (s *Server) handleCustomerSync(w http.ResponseWriter, r *http.Request, c *call) {
	ex := c.ex
	cid := c.vals[ex.at("cid")]
	if cid.Kind != praxis.KindString {
		s.rejectField(w, c, "cid", cid.Kind, praxis.KindString)
		return
	}
	cidText, _ := cid.Text()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()

	outcome := OutcomeAnswered
	var reply praxis.CustomerSyncReply
	raw, reason := s.askCRM(ctx, r, c, subjects.RequestCustomerSync, "praxis.customer_sync.requested", cidText)
	if reason == "" {
		var err error
		if reply, err = parseCustomerSyncReply(s.replyPaths, raw); err != nil {
			s.crmFallback(c, "malformed", err)
			reason = "malformed"
		}
	}
	if reason != "" {
		outcome = OutcomeDefaulted
		reply = praxis.CustomerSyncReply{Envelope: praxis.Envelope{Status: -1, Description: "Customer data is temporarily unavailable"}}
	}
	reply.Version = praxis.Version
	reply.Timestamp = s.cfg.Now().Unix()
	body, err := json.Marshal(reply)
	if err != nil {
		s.fail(w, c, "encode customer sync reply", err)
		return
	}
	s.metrics.Requests.WithLabelValues(c.kind, c.app.Name, outcome).Inc()
	s.metrics.Duration.WithLabelValues(c.kind).Observe(time.Since(c.start).Seconds())
	s.writeSigned(w, c, praxis.ListCustomerSyncReply, body)
}

// parseCustomerSyncReply checks the CRM's customer sync answer field by
// field: typed decoding refuses a mistyped customer field, and a successful
// answer must carry the balance. Error texts never quote the values (PII).
func parseCustomerSyncReply(paths *praxis.Paths, raw []byte) (praxis.CustomerSyncReply, error) {
	env, err := parseReply(paths, raw)
	if err != nil {
		return praxis.CustomerSyncReply{}, err
	}
	var reply praxis.CustomerSyncReply
	if err := json.Unmarshal(raw, &reply); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return praxis.CustomerSyncReply{}, fmt.Errorf("field %s must be a %s", te.Field, te.Type)
		}
		return praxis.CustomerSyncReply{}, errors.New("customer sync answer does not decode")
	}
	reply.Status, reply.Description = env.Status, env.Description
	if reply.Status == 0 && reply.Balance == nil {
		return praxis.CustomerSyncReply{}, errors.New("balance is required when status is 0")
	}
	if reply.Currency != "" && !praxis.IsCurrencyCode(reply.Currency) {
		return praxis.CustomerSyncReply{}, errors.New("currency must be an ISO 4217 code")
	}
	return reply, nil
}
