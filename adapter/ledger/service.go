package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/praxis-adapter/praxis-adapter/adapter/lifecycle"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/internal/graceful"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Service is the lifecycle tracker: events in, ledger instructions out.
type Service struct {
	cfg     Config
	deps    Deps
	log     zerolog.Logger
	metrics *Metrics
	links   *RefundLinks
	lookups *lookups
}

// New validates cfg and builds the service.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.JS == nil || deps.Records == nil || deps.Registry == nil {
		return nil, errors.New("ledger: JetStream, records and a metrics registry are required")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := NewMetrics(deps.Registry)
	if err != nil {
		return nil, err
	}
	links, err := NewRefundLinks(deps.Records, cfg.KeyPrefix)
	if err != nil {
		return nil, err
	}
	svc := &Service{cfg: cfg, deps: deps, log: deps.Log.With().Str("component", "ledger").Logger(), metrics: m, links: links,
		lookups: newLookups(deps.Lookup, cfg)}
	if deps.Lookup == nil {
		svc.log.Warn().Msg("no Praxis lookup configured: only trust_signature applications are booked; every other notification becomes a suspect record")
	}
	return svc, nil
}

// Links returns the service's refund links (same store and prefix), for
// the worker to record a refund's deposit before calling Praxis.
func (s *Service) Links() *RefundLinks { return s.links }

// StateKey is the record key of an anchor's state, for operators and tests.
func (s *Service) StateKey(app string, anchor int64) string {
	return s.cfg.KeyPrefix + app + ":tx:" + strconv.FormatInt(anchor, 10)
}

// job is one delivery on its way to a lane.
type job struct {
	msg  jetstream.Msg
	p    parsed
	skip bool
	err  error
	// anchor is the anchor's id (Praxis: the anchor tid in decimal), so
	// one anchor's events share a lane.
	anchor string
	// rb is a Rebilly event (nil: a Praxis one, in p).
	rb *rebillyEvent
}

// source is one durable consumer of events and how its deliveries are read.
type source struct {
	stream string
	cfg    jetstream.ConsumerConfig
	parse  func(ctx context.Context, msg jetstream.Msg) job
}

// sources are the consumers Run pulls from.
func (s *Service) sources() []source {
	out := []source{{stream: subjects.StreamEvents, cfg: ConsumerConfig(s.cfg), parse: s.parsePraxis}}
	if s.cfg.Rebilly {
		out = append(out, source{stream: subjects.StreamEvents, cfg: RebillyConsumerConfig(s.cfg), parse: s.parseRebilly})
	}
	return out
}

// parsePraxis reads a Praxis event and, for a refund, finds its deposit.
func (s *Service) parsePraxis(ctx context.Context, msg jetstream.Msg) job {
	j := job{msg: msg}
	j.p, j.skip, j.err = parse(msg.Subject(), msg.Data(), s.cfg.Processors)
	if j.err == nil && !j.skip {
		// Before choosing the lane, so a linked refund queues
		// behind its deposit's earlier events.
		if err := s.resolveRefund(ctx, j.p.app, &j.p.in); err != nil {
			j.err = s.fail("refund_link", err)
		}
		j.anchor = strconv.FormatInt(lifecycle.Anchor(j.p.in), 10)
	}
	return j
}

// Run consumes events until ctx ends, then stops pulling, lets in-flight
// events finish within DrainTimeout, and leaves the rest to redelivery.
// Events of one anchor go to one lane, so a process handles them in
// stream order.
func (s *Service) Run(ctx context.Context) error {
	srcs := s.sources()
	conses := make([]jetstream.Consumer, len(srcs))
	for i, src := range srcs {
		cons, err := s.deps.JS.CreateOrUpdateConsumer(ctx, src.stream, src.cfg)
		if err != nil {
			return fmt.Errorf("ledger: ensure consumer %s: %w", src.cfg.Durable, err)
		}
		conses[i] = cons
	}
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	lanes := make([]chan job, s.cfg.MaxInFlight)
	var wg sync.WaitGroup
	for i := range lanes {
		lanes[i] = make(chan job, 1)
		wg.Add(1)
		go func(ch <-chan job) {
			defer wg.Done()
			for j := range ch {
				s.handle(hctx, j)
			}
		}(lanes[i])
	}
	s.log.Info().Int("lanes", len(lanes)).Int("consumers", len(srcs)).Msg("ledger started")
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.runReview(ctx); err != nil {
			s.log.Error().Err(err).Msg("operators' decisions are not consumed")
		}
	}()

	var pullers sync.WaitGroup
	for i, src := range srcs {
		pullers.Add(1)
		go func() {
			defer pullers.Done()
			s.pull(ctx, hctx, conses[i], src.parse, lanes)
		}()
	}
	pullers.Wait()

	s.log.Info().Msg("ledger stopping: no more pulls; finishing in-flight events")
	for _, ch := range lanes {
		close(ch)
	}
	if graceful.Wait(&wg, s.cfg.DrainTimeout, hcancel) {
		s.log.Warn().Dur("drain_timeout", s.cfg.DrainTimeout).Msg("in-flight events did not finish in time; they were cancelled (and are redelivered)")
	}
	s.log.Info().Msg("ledger stopped")
	return nil
}

// pull fetches from one consumer until ctx ends and hands each delivery,
// read by parse, to its anchor's lane.
func (s *Service) pull(ctx, hctx context.Context, cons jetstream.Consumer, parse func(context.Context, jetstream.Msg) job, lanes []chan job) {
	fails := 0
	for ctx.Err() == nil {
		batch, err := cons.Fetch(len(lanes), jetstream.FetchMaxWait(s.cfg.PullWait))
		if err != nil {
			if ctx.Err() == nil {
				fails++
				s.fetchFailed(ctx, "fetch events", err, fails)
			}
			continue
		}
		for msg := range batch.Messages() {
			j := parse(hctx, msg)
			lane := lanes[s.lane(j)]
			select {
			case lane <- j:
			case <-ctx.Done():
				// Stopping: hand it back at once rather than after AckWait.
				_ = msg.Nak()
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			fails++
			s.fetchFailed(ctx, "fetch events", err, fails)
			continue
		}
		fails = 0
	}
}

// lane picks the lane of an anchor, so one process handles an anchor's
// events in stream order (replicas still race; compare-and-set keeps that
// correct, and the lifecycle does not depend on order).
func (s *Service) lane(j job) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(j.p.app))
	if j.err == nil && !j.skip {
		_, _ = h.Write([]byte(j.anchor))
	}
	return int(h.Sum32() % uint32(s.cfg.MaxInFlight))
}

// appLabel bounds the application metric label: only configured
// applications are named (an event's application token comes from its
// subject, which anyone who can publish may invent).
func (s *Service) appLabel(app string) string {
	if _, ok := s.cfg.DebitOn[app]; ok {
		return app
	}
	if _, ok := s.cfg.RebillyApps[app]; ok {
		return app
	}
	return "unknown"
}

func (s *Service) policy(app string) lifecycle.Policy {
	if stage, ok := s.cfg.DebitOn[app]; ok && stage != "" {
		return lifecycle.Policy{DebitOn: stage}
	}
	return lifecycle.Policy{DebitOn: s.cfg.DefaultDebitOn}
}

// handle ends every delivery: ack, term (unusable), or nak with backoff.
func (s *Service) handle(ctx context.Context, j job) {
	start := s.cfg.Now()
	defer func() { s.metrics.Duration.Observe(s.cfg.Now().Sub(start).Seconds()) }()
	msg := j.msg
	meta, merr := msg.Metadata()
	log := s.log.With().Str("subject", msg.Subject()).Logger()
	if merr == nil {
		log = log.With().Uint64("seq", meta.Sequence.Stream).Logger()
	}
	label := s.appLabel(j.p.app)
	switch {
	case merr != nil:
		j.err = fmt.Errorf("%w: no JetStream metadata: %v", errUnusable, merr)
	case j.skip:
		s.metrics.Events.WithLabelValues(label, "skipped").Inc()
		s.ack(msg, log)
		return
	}
	switch {
	case j.err == nil && j.rb != nil:
		j.err = s.bookRebilly(ctx, j.p.app, j.rb, log)
	case j.err == nil:
		j.err = s.book(ctx, j.p, meta, log)
	}
	var again *recheckError
	switch {
	case j.err == nil:
		s.ack(msg, log)
	case errors.As(j.err, &again):
		log.Info().Str("reason", again.reason).Dur("recheck_in", again.delay).Msg("notification not confirmed by Praxis yet; it will be looked up again")
		if err := msg.NakWithDelay(again.delay); err != nil {
			log.Warn().Err(err).Msg("nak event; AckWait will redeliver it")
		}
	case errors.Is(j.err, errUnusable):
		s.metrics.Events.WithLabelValues(label, "invalid").Inc()
		log.Error().Err(j.err).Msg("event cannot be booked; terminated (it stays in " + subjects.StreamEvents + " for an operator)")
		if err := msg.Term(); err != nil {
			log.Warn().Err(err).Msg("term event")
		}
	default:
		var delivered uint64 = 1
		if merr == nil {
			delivered = meta.NumDelivered
		}
		delay := s.backoff(int(delivered))
		s.metrics.Events.WithLabelValues(label, "retried").Inc()
		log.Warn().Err(j.err).Dur("retry_in", delay).Uint64("deliveries", delivered).Msg("event will be retried")
		if err := msg.NakWithDelay(delay); err != nil {
			log.Warn().Err(err).Msg("nak event; AckWait will redeliver it")
		}
	}
}

func (s *Service) ack(msg jetstream.Msg, log zerolog.Logger) {
	if err := msg.Ack(); err != nil {
		log.Warn().Err(err).Msg("ack event; its redelivery will find it applied")
	}
}

// recheckError asks for the event to be looked up again after delay.
type recheckError struct {
	reason string
	delay  time.Duration
}

func (e *recheckError) Error() string {
	return "not confirmed by Praxis (" + e.reason + "); re-check in " + e.delay.String()
}

// book confirms one event with Praxis and books what Praxis says (see
// confirm): the event is acked once confirmed, re-checked later while
// Praxis does not confirm it, and past the horizon turned into a suspect
// record.
func (s *Service) book(ctx context.Context, p parsed, meta *jetstream.MsgMetadata, log zerolog.Logger) error {
	var stored time.Time
	if meta != nil {
		stored = meta.Timestamp
	}
	v, err := s.confirm(ctx, p, stored, log)
	if err != nil {
		return s.fail("lookup", err)
	}
	label := s.appLabel(p.app)
	if v.found {
		q := p
		q.in = v.in
		if v.outcome != trusted {
			q.badFee = v.badFee
			if err := s.resolveRefund(ctx, q.app, &q.in); err != nil {
				return s.fail("refund_link", err)
			}
		}
		if err := s.process(ctx, q, meta, log); err != nil {
			return err
		}
	}
	if v.outcome != recheck {
		s.metrics.Confirmations.WithLabelValues(label, v.outcome).Inc()
		return nil
	}
	n := 1
	if meta != nil {
		n = int(meta.NumDelivered)
	}
	if s.cfg.Now().Sub(stored) < s.cfg.RecheckHorizon || n < s.cfg.MinRechecks {
		s.metrics.Confirmations.WithLabelValues(label, recheck).Inc()
		return &recheckError{reason: v.reason, delay: s.recheckDelay(n)}
	}
	if err := s.publishSuspect(ctx, p, v, meta, log); err != nil {
		return s.fail("publish", err)
	}
	s.metrics.Confirmations.WithLabelValues(label, suspect).Inc()
	return nil
}

// stepError names the step that failed, for the retries metric.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func (s *Service) fail(step string, err error) error {
	s.metrics.Retries.WithLabelValues(step).Inc()
	return &stepError{step: step, err: err}
}

// process books one event: the outbox loop of the package doc.
func (s *Service) process(ctx context.Context, p parsed, meta *jetstream.MsgMetadata, log zerolog.Logger) error {
	in := p.in
	label := s.appLabel(p.app)
	if p.badFee != "" {
		s.metrics.Flags.WithLabelValues(label, "unparsed_fee").Inc()
		// The fee's value is a field of Praxis' body: log its length only.
		log.Warn().Int64("tid", in.TID).Int("fee_len", len(p.badFee)).Msg("fee is not an integer in minor units; instructions carry no fee")
	}
	anchor := lifecycle.Anchor(in)
	key := s.StateKey(p.app, anchor)
	log = log.With().Str("app", p.app).Int64("anchor", anchor).Int64("tid", in.TID).Str("status", in.Status).Logger()
	return s.update(ctx, key, log, func(rec record) (lifecycle.Result, []outboxEntry, bool, error) {
		res, err := lifecycle.Apply(rec.State, in, s.policy(p.app))
		if err != nil {
			return res, nil, false, fmt.Errorf("%w: %v", errUnusable, err)
		}
		if res.Outcome == lifecycle.OutcomeAlreadyApplied {
			s.metrics.Events.WithLabelValues(label, string(res.Outcome)).Inc()
			return res, nil, false, nil
		}
		if err := s.awaitLinkedRefund(ctx, p.app, anchor, res, meta); err != nil {
			return res, nil, false, err
		}
		var extra []outboxEntry
		for _, h := range res.Holds {
			r := heldRecord(p.app, anchor, h)
			extra = append(extra, outboxEntry{Review: &r})
		}
		return res, extra, true, nil
	}, func(res lifecycle.Result) { s.observe(label, p.typ, in, res, log) })
}

// awaitLinkedRefund keeps a chargeback from being held as "partly refunded
// by refunds not linked to the deposit" while a refund that IS linked to it
// has simply not reached the ledger yet (a ledger running behind sees the
// deposit's chargeback first): within the re-check horizon the event is
// looked up again later, by then with the refund booked, and the chargeback
// reverses what the refund left. Past the horizon it is held as before.
func (s *Service) awaitLinkedRefund(ctx context.Context, app string, anchor int64, res lifecycle.Result, meta *jetstream.MsgMetadata) error {
	for _, h := range res.Holds {
		if h.Reason != lifecycle.HoldChargebackRemainder {
			continue
		}
		n, stored := 1, s.cfg.Now()
		if meta != nil {
			n, stored = int(meta.NumDelivered), meta.Timestamp
		}
		if s.cfg.Now().Sub(stored) >= s.cfg.RecheckHorizon && n >= s.cfg.MinRechecks {
			return nil
		}
		linked, err := s.links.HasLinkedRefund(ctx, app, anchor)
		if err != nil {
			return s.fail("refund_link", err)
		}
		if linked {
			return &recheckError{reason: "linked_refund_not_seen", delay: s.recheckDelay(n)}
		}
	}
	return nil
}

// update is updateRecord for a Praxis anchor: step runs the lifecycle on
// the anchor's state, and the instructions it owes are staged under their
// deterministic ids. staged, when set, runs once the new state is stored.
func (s *Service) update(ctx context.Context, key string, log zerolog.Logger,
	step func(rec record) (res lifecycle.Result, extra []outboxEntry, changed bool, err error), staged ...func(lifecycle.Result)) error {
	app := appOfKey(key, s.cfg.KeyPrefix)
	var res lifecycle.Result
	return updateRecord(ctx, s, key, log, func(st lifecycle.State, outbox []outboxEntry) (lifecycle.State, []outboxEntry, bool, error) {
		var extra []outboxEntry
		var changed bool
		var err error
		res, extra, changed, err = step(record{State: st, Outbox: outbox})
		if err != nil || !changed {
			return st, nil, changed, err
		}
		entries := make([]outboxEntry, 0, len(res.Instructions)+len(extra))
		for _, ins := range res.Instructions {
			entries = append(entries, outboxEntry{Instruction: Instruction{
				ID: instructionID(app, res.State.Anchor, ins.Ref), Application: app, Instruction: ins.WithProviderFields(),
			}})
		}
		return res.State, append(entries, extra...), true, nil
	}, func() {
		for _, f := range staged {
			f(res)
		}
	})
}

// updateRecord is the outbox loop of the package doc for one anchor's
// record, whatever the provider's state S: flush a left-over outbox, let
// step compute the new state and the entries it owes (changed=false:
// nothing to write), stage both with one compare-and-set, publish, and
// compare-and-set the outbox empty. staged runs once the new state is
// stored.
func updateRecord[S any](ctx context.Context, s *Service, key string, log zerolog.Logger,
	step func(st S, outbox []outboxEntry) (next S, owed []outboxEntry, changed bool, err error), staged func()) error {
	for round := range s.cfg.MaxCASRounds {
		if round > 0 {
			s.metrics.Conflicts.Inc()
		}
		rec, ver, err := load[S](ctx, s, key)
		if err != nil {
			return s.fail("load_state", err)
		}
		if len(rec.Outbox) > 0 {
			if err := s.publish(ctx, rec.Outbox, log); err != nil {
				return s.fail("publish", err)
			}
			rec.Outbox = nil
			if ver, err = store(ctx, s, key, rec, ver); err != nil {
				if errors.Is(err, idempotency.ErrVersionConflict) {
					continue
				}
				return s.fail("store_state", err)
			}
		}
		next, owed, changed, err := step(rec.State, rec.Outbox)
		if err != nil || !changed {
			return err
		}
		rec.State = next
		now := s.cfg.Now().UTC()
		for _, e := range owed {
			e.StagedAt = now
			rec.Outbox = append(rec.Outbox, e)
		}
		if ver, err = store(ctx, s, key, rec, ver); err != nil {
			if errors.Is(err, idempotency.ErrVersionConflict) {
				continue
			}
			return s.fail("store_state", err)
		}
		if staged != nil {
			staged()
		}
		if len(rec.Outbox) == 0 {
			return nil
		}
		if err := s.publish(ctx, rec.Outbox, log); err != nil {
			return s.fail("publish", err)
		}
		rec.Outbox = nil
		if _, err := store(ctx, s, key, rec, ver); err != nil {
			if errors.Is(err, idempotency.ErrVersionConflict) {
				continue // the next round publishes what is left (deduplicated) and finds the event applied
			}
			return s.fail("store_state", err)
		}
		return nil
	}
	return s.fail("cas_rounds", fmt.Errorf("state %s: %d compare-and-set rounds lost to concurrent updates", key, s.cfg.MaxCASRounds))
}

// appOfKey is the application of a state key (<prefix><app>:tx:<anchor>).
func appOfKey(key, prefix string) string {
	app, _, _ := strings.Cut(strings.TrimPrefix(key, prefix), ":tx:")
	return app
}

// resolveRefund books a refund on its deposit when the link is known and
// the refund has no state of its own yet (the choice is sticky).
func (s *Service) resolveRefund(ctx context.Context, app string, in *lifecycle.Input) error {
	if praxis.NormalizeType(in.Type) != praxis.TypeRefund || lifecycle.Anchor(*in) != in.TID {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	if _, _, err := s.deps.Records.GetRecord(ctx, s.StateKey(app, in.TID)); err == nil {
		return nil // already booked on its own
	} else if !errors.Is(err, idempotency.ErrNotFound) {
		return err
	}
	dep, ok, err := s.links.Lookup(ctx, app, in.OrderID)
	if err != nil || !ok {
		return err
	}
	in.ReferenceTID = dep
	return nil
}

func load[S any](ctx context.Context, s *Service, key string) (stateRecord[S], uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	raw, ver, err := s.deps.Records.GetRecord(ctx, key)
	if errors.Is(err, idempotency.ErrNotFound) {
		return stateRecord[S]{}, 0, nil
	}
	if err != nil {
		return stateRecord[S]{}, 0, err
	}
	var rec stateRecord[S]
	if err := json.Unmarshal(raw, &rec); err != nil {
		return stateRecord[S]{}, 0, fmt.Errorf("state %s does not decode: %w", key, err)
	}
	return rec, ver, nil
}

func store[S any](ctx context.Context, s *Service, key string, rec stateRecord[S], ver uint64) (uint64, error) {
	raw, err := json.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("encode state %s: %w", key, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	return s.deps.Records.PutRecord(ctx, key, raw, ver, s.cfg.StateTTL)
}

// publish stores each instruction in PRAXIS_LEDGER under its id; a copy
// of one already stored is dropped by the stream and only counted.
func (s *Service) publish(ctx context.Context, outbox []outboxEntry, log zerolog.Logger) error {
	now := s.cfg.Now()
	for _, e := range outbox {
		if e.Review != nil {
			dup, err := s.publishReviewDup(ctx, *e.Review)
			if err != nil {
				return err
			}
			if !dup && e.Review.Kind == subjects.ReviewHeld {
				s.metrics.Holds.WithLabelValues(s.appLabel(e.Review.Application), e.Review.Reason).Inc()
				log.Error().Str("held", e.Review.ID).Str("reason", e.Review.Reason).Msg("movement held for an operator's decision (praxis-adapter review resolve)")
			}
			continue
		}
		if now.Sub(e.StagedAt) >= s.cfg.DuplicateWindow {
			s.metrics.StaleOutbox.Inc()
			log.Error().Str("instruction", e.ID).Time("staged_at", e.StagedAt).
				Msg("publishing an instruction staged before the duplicate window; if it was published then, the ledger consumer must drop the copy by id")
		}
		// An entry staged before the provider fields existed gets them now.
		e.Instruction.Instruction = e.Instruction.Instruction.WithProviderFields()
		data, err := json.Marshal(e.Instruction)
		if err != nil {
			return fmt.Errorf("encode instruction %s: %w", e.ID, err)
		}
		prov, ok := subjects.ParseProvider(e.Provider)
		if !ok {
			return fmt.Errorf("instruction %s names an unknown provider", e.ID)
		}
		subj := prov.Ledger(e.Application, e.Kind)
		msg := &nats.Msg{Subject: subj, Data: data, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, e.ID)
		ack, err := s.publishMsg(ctx, msg, subjects.StreamLedger)
		if err != nil {
			return err
		}
		if ack.Duplicate {
			s.metrics.DuplicatesAbsorbed.Inc()
			continue
		}
		s.metrics.Instructions.WithLabelValues(s.appLabel(e.Application), e.Kind).Inc()
		log.Info().Str("instruction", e.ID).Str("kind", e.Kind).Int64("amount", e.Amount).Str("currency", e.Currency).Msg("ledger instruction")
	}
	return nil
}

// jsErrDuplicateInProcess is nats-server's answer (2.10+) to a publish
// whose Nats-Msg-Id another publish is storing at that moment.
const jsErrDuplicateInProcess jetstream.ErrorCode = 10158

// publishMsg publishes msg to stream within OpTimeout. Error 10158
// ("duplicate message id is in process": another replica is storing the
// same id) means the other copy is being stored: wait briefly and publish
// again, a bounded number of times, to get the duplicate PubAck.
func (s *Service) publishMsg(ctx context.Context, msg *nats.Msg, stream string) (*jetstream.PubAck, error) {
	wait := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
		ack, err := s.deps.JS.PublishMsg(pctx, msg, jetstream.WithExpectStream(stream))
		cancel()
		var apiErr *jetstream.APIError
		if err != nil && errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrDuplicateInProcess && attempt < 8 && ctx.Err() == nil {
			s.metrics.DuplicatesInProcess.Inc()
			graceful.Sleep(ctx, wait)
			wait = min(2*wait, time.Second)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("publish %s: %w", msg.Subject, err)
		}
		return ack, nil
	}
}

// observe counts and logs what the lifecycle said, once per applied event.
func (s *Service) observe(label, typ string, in lifecycle.Input, res lifecycle.Result, log zerolog.Logger) {
	s.metrics.Events.WithLabelValues(label, string(res.Outcome)).Inc()
	switch res.Outcome {
	case lifecycle.OutcomeDuplicate, lifecycle.OutcomeRegression:
		s.metrics.Ignored.WithLabelValues(label, string(res.Outcome)).Inc()
		log.Debug().Str("outcome", string(res.Outcome)).Msg("status recorded; nothing to book")
	case lifecycle.OutcomeUnknownStatus:
		s.metrics.UnknownStatuses.WithLabelValues(label, typ).Inc()
	}
	for _, f := range res.Flags {
		s.metrics.Flags.WithLabelValues(label, f).Inc()
	}
	if len(res.Flags) > 0 {
		log.Warn().Strs("flags", res.Flags).Str("type", in.Type).Str("outcome", string(res.Outcome)).
			Msg("lifecycle flagged this event for review; it is kept in the state")
	}
}

// backoff is the redelivery delay after the n-th delivery failed:
// RetryBase·2^(n-1) capped at RetryMax, with jitter in [50%, 100%].
func (s *Service) backoff(n int) time.Duration {
	d := s.cfg.RetryBase
	for i := 1; i < n && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.RetryMax)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}
