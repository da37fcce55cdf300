package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/praxis-adapter/praxis-adapter/adapter/lifecycle"
	"github.com/praxis-adapter/praxis-adapter/internal/graceful"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Decision is an operator's ruling on a held movement, published on
// praxis.review.<app>.resolve (praxis-adapter review resolve). ID is the
// idempotency key: the same id is one decision, however often it is sent.
type Decision struct {
	ID     string `json:"id"`
	Anchor int64  `json:"anchor"`
	Ref    string `json:"ref"`
	// Action is book (the proposed instruction, at Amount if given) or dismiss.
	Action string `json:"action"`
	Amount *int64 `json:"amount,omitempty"`
	// By and Why are who decided and why: both required, both audited.
	By  string `json:"by"`
	Why string `json:"why"`
}

// Audit outcomes of a decision.
const (
	DecisionApplied = "applied"
	DecisionRefused = "refused"
)

// DecodeDecision reads a decision strictly (unknown fields refused) and
// checks that it is complete.
func DecodeDecision(data []byte) (Decision, error) {
	var d Decision
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, fmt.Errorf("decision is not valid JSON of the documented shape: %w", err)
	}
	if dec.More() {
		return d, errors.New("decision has trailing data")
	}
	switch {
	case d.ID == "":
		return d, errors.New("decision: id is required")
	case d.Anchor <= 0:
		return d, errors.New("decision: anchor (the hold's anchor tid) is required")
	case d.Ref == "":
		return d, errors.New("decision: ref (the hold's ref) is required")
	case d.Action != lifecycle.ActionBook && d.Action != lifecycle.ActionDismiss:
		return d, fmt.Errorf("decision: action must be %s or %s", lifecycle.ActionBook, lifecycle.ActionDismiss)
	case strings.TrimSpace(d.By) == "" || strings.TrimSpace(d.Why) == "":
		return d, errors.New("decision: by and why are required (the audit trail)")
	case d.Amount != nil && *d.Amount <= 0:
		return d, errors.New("decision: amount must be a positive integer in minor units")
	}
	return d, nil
}

// PublishDecision sends an operator's decision d on a hold of app to the
// ledger (the CLI's `review resolve` and the console both use it). d.ID is
// the Nats-Msg-Id, so the same decision sent twice is one decision. It is
// checked as the ledger will check it before it is sent.
func PublishDecision(ctx context.Context, js jetstream.JetStream, app string, d Decision) error {
	body, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if _, err := DecodeDecision(body); err != nil {
		return err
	}
	msg := &nats.Msg{Subject: subjects.Review(app, subjects.ReviewResolve), Data: body, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, d.ID)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(pctx, msg, jetstream.WithExpectStream(subjects.StreamReview)); err != nil {
		return fmt.Errorf("publish %s: %w", msg.Subject, err)
	}
	return nil
}

// DecideHeld sends an operator's decision (book or dismiss) on the held
// record stored at seq of stream, as `praxis-adapter review resolve` does
// but naming the record instead of its anchor and ref: the operator
// console's resolve action. It returns the decision sent; its outcome is
// audited by the ledger on praxis.review.<app>.resolved.
func DecideHeld(ctx context.Context, js jetstream.JetStream, stream string, seq uint64, action, by, why string) (Decision, error) {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return Decision{}, fmt.Errorf("stream %s: %w", stream, err)
	}
	m, err := st.GetMsg(ctx, seq)
	if err != nil {
		return Decision{}, fmt.Errorf("held record %d: %w", seq, err)
	}
	var held Review
	if err := json.Unmarshal(m.Data, &held); err != nil || held.Kind != subjects.ReviewHeld || held.Ref == "" {
		return Decision{}, fmt.Errorf("message %d of %s is not a held movement", seq, stream)
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	d := Decision{ID: "console-" + hex.EncodeToString(id[:]), Anchor: held.Anchor, Ref: held.Ref, Action: action, By: by, Why: why}
	return d, PublishDecision(ctx, js, held.Application, d)
}

// AuditID is the id (and Nats-Msg-Id) of a decision's audit record.
func AuditID(decisionID string) string { return "resolved:" + decisionID }

// publishReview stores one review record on PRAXIS_REVIEW under its id.
// It reports whether the stream already had it.
func (s *Service) publishReview(ctx context.Context, r Review) error {
	_, err := s.publishReviewDup(ctx, r)
	return err
}

func (s *Service) publishReviewDup(ctx context.Context, r Review) (bool, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return false, fmt.Errorf("encode review record %s: %w", r.ID, err)
	}
	msg := &nats.Msg{Subject: subjects.Review(r.Application, r.Kind), Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, r.ID)
	ack, err := s.publishMsg(ctx, msg, subjects.StreamReview)
	if err != nil {
		return false, err
	}
	return ack.Duplicate, nil
}

// heldRecord is the review record announcing hold h of an anchor.
func heldRecord(app string, anchor int64, h lifecycle.Hold) Review {
	r := Review{
		ID: "held:" + app + ":" + strconv.FormatInt(anchor, 10) + ":" + h.Ref, Kind: subjects.ReviewHeld, Application: app,
		Anchor: anchor, TID: h.TID, Reason: h.Reason, Detail: h.Detail, Ref: h.Ref, At: h.HeldAt,
	}
	if h.Proposed != nil {
		r.Proposed = &Proposed{ID: instructionID(app, anchor, h.ProposedRef), Instruction: h.Proposed.WithProviderFields()}
	}
	return r
}

func instructionID(app string, anchor int64, ref string) string {
	return app + ":" + strconv.FormatInt(anchor, 10) + ":" + ref
}

// runReview consumes operators' decisions until ctx ends, one at a time
// (they are rare), each applied exactly once to its anchor's state.
func (s *Service) runReview(ctx context.Context) error {
	cons, err := s.deps.JS.CreateOrUpdateConsumer(ctx, subjects.StreamReview, ReviewConsumerConfig(s.cfg))
	if err != nil {
		return fmt.Errorf("ledger: ensure consumer %s: %w", subjects.ConsumerReview, err)
	}
	fails := 0
	for ctx.Err() == nil {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(s.cfg.PullWait))
		if err == nil {
			for msg := range batch.Messages() {
				s.decide(ctx, msg)
			}
			err = batch.Error()
		}
		if err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			fails++
			s.fetchFailed(ctx, "fetch decisions", err, fails)
			continue
		}
		fails = 0
	}
	return nil
}

// decide applies one decision message and acks it, or naks it on an outage.
func (s *Service) decide(ctx context.Context, msg jetstream.Msg) {
	app, _, _ := strings.Cut(strings.TrimPrefix(msg.Subject(), subjects.Root+".review."), ".")
	log := s.log.With().Str("subject", msg.Subject()).Logger()
	d, err := DecodeDecision(msg.Data())
	if err != nil {
		log.Error().Err(err).Msg("operator decision refused")
		s.metrics.Resolutions.WithLabelValues(s.appLabel(app), DecisionRefused).Inc()
		id := d.ID
		if id == "" {
			id = "unidentified:" + strconv.FormatUint(seqOf(msg), 10)
		}
		if perr := s.publishReview(ctx, Review{ID: AuditID(id), Kind: subjects.ReviewResolved, Application: app, Anchor: d.Anchor, Ref: d.Ref,
			Outcome: DecisionRefused, Error: err.Error(), At: s.cfg.Now().UTC()}); perr != nil {
			log.Warn().Err(perr).Msg("publish refusal; the decision will be retried")
			_ = msg.NakWithDelay(s.cfg.RetryMax)
			return
		}
		_ = msg.Term()
		return
	}
	log = log.With().Str("decision", d.ID).Int64("anchor", d.Anchor).Str("ref", d.Ref).Str("action", d.Action).Logger()
	if err := s.applyDecision(ctx, app, d, log); err != nil {
		log.Warn().Err(err).Msg("decision will be retried")
		_ = msg.NakWithDelay(s.backoff(1))
		return
	}
	_ = msg.Ack()
}

func seqOf(msg jetstream.Msg) uint64 {
	if meta, err := msg.Metadata(); err == nil {
		return meta.Sequence.Stream
	}
	return 0
}

// applyDecision runs lifecycle.Resolve through the anchor's outbox: the
// booked instruction and the audit record are staged with the new state,
// then published, like any event's.
func (s *Service) applyDecision(ctx context.Context, app string, d Decision, log zerolog.Logger) error {
	key := s.StateKey(app, d.Anchor)
	var refusal error
	repeat := false
	err := s.update(ctx, key, log, func(rec record) (lifecycle.Result, []outboxEntry, bool, error) {
		if rec.State.Anchor == 0 {
			refusal = fmt.Errorf("%w: anchor %d has no state", lifecycle.ErrNoHold, d.Anchor)
			return lifecycle.Result{}, nil, false, nil
		}
		res, err := lifecycle.Resolve(rec.State, lifecycle.Decision{ID: d.ID, Ref: d.Ref, Action: d.Action, Amount: d.Amount,
			By: d.By, Why: d.Why, At: s.cfg.Now().UTC()})
		if err != nil {
			refusal = err
			return lifecycle.Result{}, nil, false, nil
		}
		if res.Outcome == lifecycle.OutcomeAlreadyApplied {
			repeat = true
			return res, nil, false, nil
		}
		audit := Review{ID: AuditID(d.ID), Kind: subjects.ReviewResolved, Application: app, Anchor: d.Anchor, Ref: d.Ref,
			Decision: &d, Outcome: DecisionApplied, At: s.cfg.Now().UTC()}
		for _, h := range res.State.Holds {
			if h.Ref == d.Ref {
				audit.TID, audit.Reason, audit.Detail = h.TID, h.Reason, h.Detail
			}
		}
		for _, ins := range res.Instructions {
			audit.Booked = append(audit.Booked, instructionID(app, d.Anchor, ins.Ref))
		}
		return res, []outboxEntry{{Review: &audit}}, true, nil
	})
	if err != nil {
		return err
	}
	label := s.appLabel(app)
	if refusal != nil {
		s.metrics.Resolutions.WithLabelValues(label, DecisionRefused).Inc()
		log.Warn().Err(refusal).Msg("operator decision refused")
		return s.publishReview(ctx, Review{ID: AuditID(d.ID), Kind: subjects.ReviewResolved, Application: app, Anchor: d.Anchor, Ref: d.Ref,
			Decision: &d, Outcome: DecisionRefused, Error: refusal.Error(), At: s.cfg.Now().UTC()})
	}
	if repeat {
		log.Info().Msg("operator decision already applied; nothing more to do")
		return nil
	}
	s.metrics.Resolutions.WithLabelValues(label, d.Action).Inc()
	log.Info().Msg("operator decision applied")
	return nil
}

// fetchFailed logs a failed fetch and waits, longer each time in a row
// (a leader election must not turn into thousands of warnings a second).
func (s *Service) fetchFailed(ctx context.Context, what string, err error, n int) {
	s.metrics.FetchErrors.Inc()
	if n == 1 || n%20 == 0 {
		s.log.Warn().Err(err).Int("in_a_row", n).Msg(what)
	}
	d := 100 * time.Millisecond
	for i := 1; i < n && d < 5*time.Second; i++ {
		d *= 2
	}
	graceful.Sleep(ctx, min(d, 5*time.Second))
}
