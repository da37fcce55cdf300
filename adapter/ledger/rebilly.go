package ledger

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/adapter/lifecycle"
	"github.com/praxis-adapter/praxis-adapter/adapter/money"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// CloudEvents types of Rebilly events (the ingress's contract, HELPERS.md):
// which of Rebilly's bodies data is.
const (
	RebillyTransactionEvent   = cloudevent.TypeRebillyTransaction
	RebillyPayoutRequestEvent = cloudevent.TypeRebillyPayoutRequest
)

// ProviderRebilly is Instruction.Provider of Rebilly's instructions.
const ProviderRebilly = string(subjects.Rebilly)

// Rebilly payout debit stages (config.RebillyApplication.PayoutDebitOn).
const (
	RebillyDebitOnRequested = config.RebillyDebitOnRequested
	RebillyDebitOnApproved  = config.RebillyDebitOnApproved
)

// RebillyApp is what the ledger needs of one Rebilly application.
type RebillyApp struct {
	// PayoutDebitOn is requested (default: the payout request exists) or
	// approved (its credit transaction is approved).
	PayoutDebitOn string
}

// RebillyAppsOf lists the Rebilly applications with their debit stage,
// for Config.RebillyApps.
func RebillyAppsOf(apps []config.Application) map[string]RebillyApp {
	m := map[string]RebillyApp{}
	for _, a := range apps {
		if a.IsRebilly() {
			m[a.Name] = RebillyApp{PayoutDebitOn: a.Rebilly.PayoutDebitOn}
		}
	}
	return m
}

func validRebillyDebitOn(stage string) bool {
	return stage == "" || stage == RebillyDebitOnRequested || stage == RebillyDebitOnApproved
}

// RebillyConsumerConfig is the second durable consumer every replica
// shares when Config.Rebilly is set: rebilly.events.> on the same events
// stream. A consumer of its own rather than FilterSubjects on the Praxis
// one, so the Praxis consumer (and its position) is unchanged on NATS 2.9
// and when Rebilly is turned on or off.
func RebillyConsumerConfig(c Config) jetstream.ConsumerConfig {
	cc := ConsumerConfig(c)
	cc.Durable = subjects.Rebilly.LedgerConsumer()
	cc.Description = "praxis-adapter lifecycle tracker (Rebilly): one ledger instruction per money movement"
	cc.FilterSubject = subjects.Rebilly.AllEvents()
	return cc
}

// rebillyEvent is one Rebilly event, decoded: data is the provider's own
// GET (the ingress published it byte for byte), so nothing is looked up.
type rebillyEvent struct {
	eventID string
	time    time.Time
	anchor  string
	tx      *rebilly.Transaction   // a transaction event
	req     *rebilly.PayoutRequest // a payout request event
}

// parseRebilly reads a Rebilly event into a job. Types without money
// (authorizations, anything the ingress does not name) are skipped; data
// that does not decode strictly, or that contradicts its subject or
// envelope, is unusable (terminated, counted, never booked).
func (s *Service) parseRebilly(ctx context.Context, msg jetstream.Msg) job {
	j := job{msg: msg}
	ev, skip, err := parseRebillyEvent(msg.Subject(), msg.Data(), s.currencies())
	j.p.app, j.skip, j.err = ev.app, skip, err
	if err != nil || skip {
		return j
	}
	if err := s.resolveCredit(ctx, ev.app, &ev.rebillyEvent); err != nil {
		j.err = s.fail("credit_link", err)
	}
	j.rb, j.anchor, j.p.typ = &ev.rebillyEvent, ev.anchor, ev.typ
	return j
}

func (s *Service) currencies() money.Currencies {
	if s.cfg.Currencies != nil {
		return *s.cfg.Currencies
	}
	cur, _ := money.NewCurrencies(nil)
	return cur
}

type parsedRebilly struct {
	app, typ string
	rebillyEvent
}

func parseRebillyEvent(subject string, data []byte, cur money.Currencies) (out parsedRebilly, skip bool, err error) {
	p, app, typ, _, ok := subjects.ParseEvent(subject)
	if !ok || p != subjects.Rebilly {
		return out, false, fmt.Errorf("%w: subject %q is not rebilly.events.<app>.<type>.<status>", errUnusable, subject)
	}
	out.app, out.typ = app, typ
	switch typ {
	case rebilly.EventDeposit, rebilly.EventRefund, rebilly.EventPayout, rebilly.EventOther, subjects.TypeWithdrawal:
	default:
		return out, true, nil // authorizations hold money, they do not move it
	}
	ev, err := cloudevent.Decode(data)
	if err != nil {
		return out, false, fmt.Errorf("%w: not a CloudEvent: %v", errUnusable, err)
	}
	if ev.ID == "" {
		return out, false, fmt.Errorf("%w: CloudEvent without an id", errUnusable)
	}
	out.eventID, out.time = ev.ID, ev.Time.UTC()
	wantType := RebillyTransactionEvent
	if typ == subjects.TypeWithdrawal {
		wantType = RebillyPayoutRequestEvent
	}
	if ev.Type != wantType {
		return out, false, fmt.Errorf("%w: event %s: CloudEvent type %q on a %s subject (want %s)", errUnusable, ev.ID, ev.Type, typ, wantType)
	}
	if wantType == RebillyPayoutRequestEvent {
		req, err := rebilly.Decode[rebilly.PayoutRequest](ev.Data, cur)
		if err != nil {
			return out, false, fmt.Errorf("%w: event %s: data is not a Rebilly payout request: %v", errUnusable, ev.ID, err)
		}
		if ev.Subject != "" && ev.Subject != req.ID {
			return out, false, fmt.Errorf("%w: event %s: CloudEvent subject does not name the payout request in data", errUnusable, ev.ID)
		}
		out.req, out.anchor = &req, req.ID
		return out, false, nil
	}
	tx, err := rebilly.Decode[rebilly.Transaction](ev.Data, cur)
	if err != nil {
		return out, false, fmt.Errorf("%w: event %s: data is not a Rebilly transaction: %v", errUnusable, ev.ID, err)
	}
	switch {
	case ev.Subject != "" && ev.Subject != tx.ID:
		return out, false, fmt.Errorf("%w: event %s: CloudEvent subject does not name the transaction in data", errUnusable, ev.ID)
	case rebilly.EventType(&tx) != typ:
		return out, false, fmt.Errorf("%w: event %s: a %s transaction on a %s subject", errUnusable, ev.ID, rebilly.EventType(&tx), typ)
	}
	out.tx = &tx
	switch tx.Type {
	case rebilly.TypeSale, rebilly.TypeCapture:
		out.anchor = tx.ID
	case rebilly.TypeCredit:
		out.anchor = tx.ID
		if tx.PayoutRequestID != "" {
			out.anchor = tx.PayoutRequestID
		}
	case rebilly.TypeRefund, rebilly.TypeVoid:
		if tx.ParentTransactionID == "" {
			return out, false, fmt.Errorf("%w: event %s: a %s without parentTransactionId", errUnusable, ev.ID, tx.Type)
		}
		out.anchor = tx.ParentTransactionID
	default:
		return out, true, nil // setup, 3ds-authentication, ...: no money
	}
	return out, false, nil
}

// creditKey is the record linking a credit transaction to the payout
// request it pays, so a refund or void of the credit (whose parent is the
// credit) is booked on the request's anchor.
func (s *Service) creditKey(app, creditID string) string {
	return s.cfg.KeyPrefix + app + ":rebilly-credit:" + creditID
}

// resolveCredit moves a refund or void of a payout request's credit to
// the request's anchor, before the lane is chosen.
func (s *Service) resolveCredit(ctx context.Context, app string, ev *rebillyEvent) error {
	if ev.tx == nil || (ev.tx.Type != rebilly.TypeRefund && ev.tx.Type != rebilly.TypeVoid) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	raw, _, err := s.deps.Records.GetRecord(ctx, s.creditKey(app, ev.anchor))
	switch {
	case errors.Is(err, idempotency.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	if id := string(raw); rebilly.ValidID(id) {
		ev.anchor = id
	}
	return nil
}

// linkCredit records which payout request a credit pays (idempotent).
func (s *Service) linkCredit(ctx context.Context, app string, tx *rebilly.Transaction) error {
	if tx.Type != rebilly.TypeCredit || tx.PayoutRequestID == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	_, err := s.deps.Records.PutRecord(ctx, s.creditKey(app, tx.ID), []byte(tx.PayoutRequestID), 0, s.cfg.StateTTL)
	if errors.Is(err, idempotency.ErrVersionConflict) {
		return nil // linked before (a credit pays one request for ever)
	}
	return err
}

// RebillyStateKey is the record key of a Rebilly anchor's state.
func (s *Service) RebillyStateKey(app, anchor string) string {
	return s.cfg.KeyPrefix + app + ":rebilly:" + anchor
}

// RebillyInstructionID is the id (and Nats-Msg-Id) of a Rebilly movement:
// <app>:rebilly:<anchor>:<movement>.
func RebillyInstructionID(app, anchor, ref string) string {
	return app + ":rebilly:" + anchor + ":" + ref
}

func (s *Service) rebillyPolicy(app string) string {
	if a, ok := s.cfg.RebillyApps[app]; ok && a.PayoutDebitOn != "" {
		return a.PayoutDebitOn
	}
	return RebillyDebitOnRequested
}

// bookRebilly runs one Rebilly event through the anchor's outbox.
func (s *Service) bookRebilly(ctx context.Context, app string, ev *rebillyEvent, log zerolog.Logger) error {
	if ev.tx != nil {
		if err := s.linkCredit(ctx, app, ev.tx); err != nil {
			return s.fail("credit_link", err)
		}
	}
	label := s.appLabel(app)
	key := s.RebillyStateKey(app, ev.anchor)
	log = log.With().Str("app", app).Str("anchor", ev.anchor).Logger()
	var res rebillyResult
	err := updateRecord(ctx, s, key, log, func(st rebillyState, _ []outboxEntry) (rebillyState, []outboxEntry, bool, error) {
		res = applyRebilly(st, ev, s.rebillyPolicy(app))
		if !res.changed {
			return st, nil, false, nil
		}
		owed := make([]outboxEntry, 0, len(res.out))
		for _, ins := range res.out {
			owed = append(owed, outboxEntry{Instruction: Instruction{ID: RebillyInstructionID(app, ev.anchor, ins.Ref), Application: app, Instruction: ins}})
		}
		return res.state, owed, true, nil
	}, nil)
	if err != nil {
		return err
	}
	s.metrics.Events.WithLabelValues(label, res.outcome).Inc()
	for _, f := range res.flags {
		s.metrics.Flags.WithLabelValues(label, f).Inc()
	}
	if len(res.flags) > 0 {
		log.Warn().Strs("flags", res.flags).Msg("Rebilly event flagged for review; nothing more was booked for it")
	}
	return nil
}

// Rebilly anchor families.
const (
	rebillyDeposit = "deposit"
	rebillyPayout  = "payout"
)

// Outcomes of a Rebilly event (metric praxis_ledger_events_total).
const (
	rebillyApplied     = "applied"
	rebillyNoMovement  = "no_movement"
	rebillyAlreadySeen = string(lifecycle.OutcomeAlreadyApplied)
)

// maxRebillyApplied bounds the event ids a Rebilly state remembers.
const maxRebillyApplied = 100

// rebillySource is the transaction or payout request a movement books.
type rebillySource struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	EventID   string    `json:"event_id"`
	OrderID   string    `json:"order_id,omitempty"`
	CID       string    `json:"cid,omitempty"`
	Processor string    `json:"processor,omitempty"`
	Time      time.Time `json:"time"`
}

// rebillyReversal is a refund or void of the anchor, booked once.
type rebillyReversal struct {
	Kind   string          `json:"kind"` // refund or void
	Money  lifecycle.Money `json:"money"`
	Source rebillySource   `json:"source"`
	Booked bool            `json:"booked,omitempty"`
}

// rebillyState is one Rebilly anchor: a deposit (sale or capture) with its
// refunds and voids, or a payout request (or a lone credit) with its
// credit. Every movement is a milestone booked once; a repeat, an older
// revision or another replica's copy finds it booked.
type rebillyState struct {
	Anchor string `json:"anchor,omitempty"`
	Family string `json:"family,omitempty"`
	// Request: the anchor is a payout request (not a lone credit).
	Request bool `json:"request,omitempty"`

	Credited *lifecycle.Money `json:"credited,omitempty"`
	// Reversals are refunds and voids by child transaction id.
	Reversals map[string]*rebillyReversal `json:"reversals,omitempty"`
	Reversed  int64                       `json:"reversed,omitempty"`

	// Payouts: the milestones reached, the freshest amount and its source,
	// and what was booked.
	Requested  bool             `json:"requested,omitempty"`
	Approved   bool             `json:"approved,omitempty"`
	Canceled   bool             `json:"canceled,omitempty"`
	Current    *lifecycle.Money `json:"current,omitempty"`
	Source     *rebillySource   `json:"source,omitempty"`
	CancelSrc  *rebillySource   `json:"cancel_source,omitempty"`
	Debited    *lifecycle.Money `json:"debited,omitempty"`
	Released   bool             `json:"released,omitempty"`
	Issued     int              `json:"issued,omitempty"`
	Applied    []string         `json:"applied,omitempty"`
	CustomerID string           `json:"customer_id,omitempty"`
}

type rebillyResult struct {
	state   rebillyState
	out     []lifecycle.Instruction
	outcome string
	flags   []string
	changed bool
}

// applyRebilly feeds one event to an anchor's state (st is not modified)
// and returns what it owes. debitOn is the application's payout stage.
func applyRebilly(st rebillyState, ev *rebillyEvent, debitOn string) rebillyResult {
	if slices.Contains(st.Applied, ev.eventID) {
		return rebillyResult{state: st, outcome: rebillyAlreadySeen}
	}
	m := &rebillyMachine{st: st.clone(), ev: ev, debitOn: debitOn}
	m.st.Anchor = ev.anchor
	var moved bool
	switch {
	case ev.req != nil:
		moved = m.payoutRequest()
	case ev.tx.Type == rebilly.TypeSale || ev.tx.Type == rebilly.TypeCapture:
		moved = m.deposit()
	case ev.tx.Type == rebilly.TypeCredit:
		moved = m.credit()
	default:
		moved = m.reversal()
	}
	if !moved && len(m.flags) == 0 {
		return rebillyResult{state: st, outcome: rebillyNoMovement}
	}
	m.settle()
	m.st.Issued += len(m.out)
	m.st.Applied = append(m.st.Applied, ev.eventID)
	if n := len(m.st.Applied); n > maxRebillyApplied {
		m.st.Applied = slices.Clone(m.st.Applied[n-maxRebillyApplied:])
	}
	return rebillyResult{state: m.st, out: m.out, outcome: rebillyApplied, flags: m.flags, changed: true}
}

type rebillyMachine struct {
	st      rebillyState
	ev      *rebillyEvent
	debitOn string
	out     []lifecycle.Instruction
	flags   []string
}

func (m *rebillyMachine) flag(f string) {
	if !slices.Contains(m.flags, f) {
		m.flags = append(m.flags, f)
	}
}

// family sets the anchor's family, or flags an event of another family.
func (m *rebillyMachine) family(f string) bool {
	if m.st.Family == "" {
		m.st.Family = f
	}
	if m.st.Family != f {
		m.flag(lifecycle.FlagFamilyMismatch)
		return false
	}
	return true
}

// txSource is the source of a movement booked from the event's transaction.
func (m *rebillyMachine) txSource() rebillySource {
	tx := m.ev.tx
	order := tx.DepositRequestID
	if order == "" {
		order = tx.RequestID
	}
	if tx.Type == rebilly.TypeCredit && tx.PayoutRequestID != "" {
		order = tx.PayoutRequestID
	}
	return rebillySource{ID: tx.ID, Status: tx.Result, EventID: m.ev.eventID, OrderID: order, CID: tx.CustomerID,
		Processor: tx.GatewayName, Time: reportedAt(m.ev.time, tx.ProcessedTime, tx.UpdatedTime)}
}

func (m *rebillyMachine) reqSource() rebillySource {
	r := m.ev.req
	return rebillySource{ID: r.ID, Status: r.Status, EventID: m.ev.eventID, OrderID: r.ID, CID: r.CustomerID,
		Time: reportedAt(m.ev.time, r.UpdatedTime, r.CreatedTime)}
}

// reportedAt is the first of Rebilly's times that parses, else the event's.
func reportedAt(fallback time.Time, times ...string) time.Time {
	for _, t := range times {
		if v, err := time.Parse(time.RFC3339Nano, t); err == nil {
			return v.UTC()
		}
	}
	return fallback
}

func txMoney(tx *rebilly.Transaction) lifecycle.Money {
	return lifecycle.Money{Amount: tx.AmountMinor, Currency: tx.Currency}
}

// deposit: an approved sale or capture is credited once.
func (m *rebillyMachine) deposit() bool {
	tx := m.ev.tx
	if tx.Result != rebilly.ResultApproved {
		return false // declined, canceled, abandoned, unknown: no money moved
	}
	if !m.family(rebillyDeposit) {
		return true
	}
	mon := txMoney(tx)
	if m.st.Credited != nil {
		if m.st.Credited.Amount != mon.Amount || m.st.Credited.Currency != mon.Currency {
			m.flag(lifecycle.FlagUncertainAmount) // a later revision with another amount: a person looks
			return true
		}
		return false // a newer revision of a credited deposit (refunded, ...)
	}
	m.st.Credited = &mon
	m.emit(lifecycle.DepositCredited, lifecycle.DepositCredited, mon, m.txSource(), "")
	return true
}

// reversal: an approved refund or void of the anchor, booked once per
// child when its parent is credited (or debited, for a payout's credit).
func (m *rebillyMachine) reversal() bool {
	tx := m.ev.tx
	if tx.Result != rebilly.ResultApproved {
		return false
	}
	if r := m.st.Reversals[tx.ID]; r != nil {
		return false
	}
	if m.st.Reversals == nil {
		m.st.Reversals = map[string]*rebillyReversal{}
	}
	m.st.Reversals[tx.ID] = &rebillyReversal{Kind: tx.Type, Money: txMoney(tx), Source: m.txSource()}
	return true
}

// credit: a credit transaction (of a payout request, or a lone payout).
func (m *rebillyMachine) credit() bool {
	tx := m.ev.tx
	if tx.Result != rebilly.ResultApproved {
		return false // a declined credit leaves the request as it was
	}
	if !m.family(rebillyPayout) {
		return true
	}
	if tx.PayoutRequestID != "" {
		m.st.Request = true
	}
	if m.st.Approved {
		return false
	}
	m.st.Requested, m.st.Approved = true, true
	if m.st.CustomerID == "" {
		m.st.CustomerID = tx.CustomerID
	}
	mon, src := txMoney(tx), m.txSource()
	if m.st.Debited != nil && (m.st.Debited.Amount != mon.Amount || m.st.Debited.Currency != mon.Currency) {
		m.flag(lifecycle.FlagUncertainAmount) // paid another amount than was debited: a person looks
	}
	m.st.Current, m.st.Source = &mon, &src
	return true
}

// payoutRequest: a payout request's status.
func (m *rebillyMachine) payoutRequest() bool {
	r := m.ev.req
	if !m.family(rebillyPayout) {
		return true
	}
	m.st.Request = true
	if m.st.CustomerID == "" {
		m.st.CustomerID = r.CustomerID
	}
	before := m.st
	switch r.Status {
	case rebilly.PayoutPending, rebilly.PayoutReady, rebilly.PayoutApproved, rebilly.PayoutInProgress:
		m.st.Requested = true
	case rebilly.PayoutFulfilled:
		m.st.Requested, m.st.Approved = true, true
	case rebilly.PayoutCanceled:
		if m.st.Approved {
			m.flag(lifecycle.FlagConflict) // paid, then canceled: a person decides
			return true
		}
		if !m.st.Canceled {
			src := m.reqSource()
			m.st.Requested, m.st.Canceled, m.st.CancelSrc = true, true, &src
		}
	default:
		m.flag(lifecycle.FlagUnexpectedStatus) // split, merged, or unlisted: not modelled
		return true
	}
	if m.st.Current == nil {
		mon := lifecycle.Money{Amount: r.AmountMinor, Currency: r.Currency}
		src := m.reqSource()
		m.st.Current, m.st.Source = &mon, &src
	}
	return before.Requested != m.st.Requested || before.Approved != m.st.Approved || before.Canceled != m.st.Canceled
}

// settle emits what the anchor owes and has not emitted.
func (m *rebillyMachine) settle() {
	st := &m.st
	if st.Family == rebillyPayout {
		reached := st.Requested
		if m.debitOn == RebillyDebitOnApproved {
			reached = st.Approved
		}
		if st.Debited == nil && reached && st.Current != nil {
			d := *st.Current
			st.Debited = &d
			m.emit(lifecycle.PayoutDebited, lifecycle.PayoutDebited, d, *st.Source, "")
		}
		if st.Debited != nil && st.Canceled && !st.Released && !st.Approved {
			st.Released = true
			m.emit(lifecycle.PayoutReleased, lifecycle.PayoutReleased, *st.Debited, *st.CancelSrc, rebilly.PayoutCanceled)
		}
	}
	var left int64
	kind := lifecycle.DepositReversed
	switch {
	case st.Family == rebillyDeposit && st.Credited != nil:
		left = st.Credited.Amount - st.Reversed
	case st.Family == rebillyPayout && st.Debited != nil && st.Approved:
		left, kind = st.Debited.Amount-st.Reversed, lifecycle.PayoutReversed
	default:
		return // reversals wait for what they reverse
	}
	for _, id := range slices.Sorted(maps.Keys(st.Reversals)) {
		r := st.Reversals[id]
		if r.Booked {
			continue
		}
		r.Booked = true
		amt := min(r.Money.Amount, left)
		if amt < r.Money.Amount {
			m.flag(lifecycle.FlagAbsorbedRefund)
		}
		if amt <= 0 {
			continue
		}
		left -= amt
		st.Reversed += amt
		mon := r.Money
		mon.Amount = amt
		ins := m.emit(kind, kind+":"+id, mon, r.Source, r.Kind)
		ins.ReferenceID = st.Anchor
	}
}

// emit owes one Rebilly instruction booked from src.
func (m *rebillyMachine) emit(kind, ref string, mon lifecycle.Money, src rebillySource, reason string) *lifecycle.Instruction {
	ins := lifecycle.Instruction{
		Kind: kind, Ref: ref, OrderID: src.OrderID, CID: src.CID, Amount: mon.Amount, Currency: mon.Currency,
		Reason: reason, Processor: src.Processor, EventID: src.EventID, OccurredAt: src.Time,
		Provider: ProviderRebilly, TransactionID: src.ID, ProviderStatus: src.Status,
	}
	if ins.CID == "" {
		ins.CID = m.st.CustomerID
	}
	if m.st.Family == rebillyPayout && m.st.Request {
		ins.WithdrawalID = m.st.Anchor
		ins.OrderID = m.st.Anchor
	}
	m.out = append(m.out, ins)
	return &m.out[len(m.out)-1]
}

func (s rebillyState) clone() rebillyState {
	c := s
	if s.Reversals != nil {
		c.Reversals = make(map[string]*rebillyReversal, len(s.Reversals))
		for k, v := range s.Reversals {
			r := *v
			c.Reversals[k] = &r
		}
	}
	for _, p := range []**lifecycle.Money{&c.Credited, &c.Current, &c.Debited} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	for _, p := range []**rebillySource{&c.Source, &c.CancelSrc} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	c.Applied = slices.Clone(s.Applied)
	return c
}
