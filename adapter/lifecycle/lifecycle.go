package lifecycle

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

// Instruction kinds: the <kind> of praxis.ledger.<app>.<kind>.
const (
	DepositCredited = "deposit.credited"
	DepositReversed = "deposit.reversed"
	PayoutDebited   = "payout.debited"
	PayoutAdjusted  = "payout.adjusted"
	PayoutReleased  = "payout.released"
	PayoutReversed  = "payout.reversed"
)

// Kinds lists every instruction kind, so metrics and stream filters can be
// declared up front.
func Kinds() []string {
	return []string{DepositCredited, DepositReversed, PayoutDebited, PayoutAdjusted, PayoutReleased, PayoutReversed}
}

// Debit stages: "payout debited upon event" (LEGACY_PLATFORM.md §4.3).
const (
	DebitOnRequested  = "requested"
	DebitOnAuthorized = "authorized"
	DebitOnInProgress = "in_progress"
	// DefaultDebitOn is Praxis' recommendation and default.
	DefaultDebitOn = DebitOnInProgress
)

// Families of anchors.
const (
	FamilyDeposit = "deposit" // a sale or authorization, with its linked refunds
	FamilyRefund  = "refund"  // a refund tid whose deposit is not known
	FamilyPayout  = "payout"  // a withdrawal request with its payouts, or a lone payout
	FamilyOther   = "other"   // a transaction type Praxis has not documented
)

// Outcome classifies what one input did, for the caller's metrics.
type Outcome string

// Outcomes.
const (
	// OutcomeApplied: the input moved the state on (it may still emit nothing, like pending).
	OutcomeApplied Outcome = "applied"
	// OutcomeDuplicate: this tid already had this status.
	OutcomeDuplicate Outcome = "duplicate"
	// OutcomeRegression: an older status than the state's (pending after approved).
	OutcomeRegression Outcome = "regression"
	// OutcomeConflict: a final status contradicting an earlier final.
	OutcomeConflict Outcome = "conflict"
	// OutcomeUnknownStatus: a status API.md §6 does not list; kept and flagged.
	OutcomeUnknownStatus Outcome = "unknown_status"
	// OutcomeUnexpected: a known status that does not apply to this family.
	OutcomeUnexpected Outcome = "unexpected_status"
	// OutcomeUnknownType: a transaction type Praxis has not documented.
	OutcomeUnknownType Outcome = "unknown_type"
	// OutcomeMismatch: the anchor's state belongs to another family.
	OutcomeMismatch Outcome = "family_mismatch"
	// OutcomeAlreadyApplied: this event id was applied before (a redelivery);
	// the state is returned unchanged.
	OutcomeAlreadyApplied Outcome = "already_applied"
)

// Flags ask a person to look; the caller counts and logs them.
const (
	FlagUnknownStatus    = "unknown_status"
	FlagUnknownType      = "unknown_type"
	FlagUnexpectedStatus = "unexpected_status"
	FlagConflict         = "conflict"
	FlagFamilyMismatch   = "family_mismatch"
	// FlagMissingAmount: a movement is owed but no notification carried its
	// amount yet; it is emitted when one does.
	FlagMissingAmount = "missing_amount"
	// FlagAbsorbedRefund: a linked refund exceeded what was still credited.
	FlagAbsorbedRefund = "absorbed_refund"
	// FlagUncertainAmount: the instruction's amount may be wrong (Review says why).
	FlagUncertainAmount = "uncertain_amount"
	// FlagMultiplePayouts: a withdrawal request has more than one payout
	// tid; partial payouts are not modelled (UNCONFIRMED in Praxis).
	FlagMultiplePayouts = "multiple_payouts"
)

// Bounds on what a State remembers.
const (
	maxHistory = 100
	maxApplied = 100
	maxSeen    = 16
)

// Policy is the per-application configuration of the state machine.
type Policy struct {
	// DebitOn is the payout debit stage; "" means DefaultDebitOn.
	DebitOn string
}

// Validate reports a debit stage the machine does not know.
func (p Policy) Validate() error {
	switch p.DebitOn {
	case "", DebitOnRequested, DebitOnAuthorized, DebitOnInProgress:
		return nil
	}
	return fmt.Errorf("lifecycle: payout debit stage %q is not requested, authorized or in_progress", p.DebitOn)
}

func (p Policy) debitStage() int {
	switch p.DebitOn {
	case DebitOnRequested:
		return stageRequested
	case DebitOnAuthorized:
		return stageAuthorized
	}
	return stageInProgress
}

// Input is one parsed notification.
type Input struct {
	// EventID is the CloudEvents id (the ingress dedup key); Apply ignores
	// an id it has already applied, which makes redeliveries harmless.
	EventID string
	// ApplyKey, when set, is what Apply remembers instead of EventID: the
	// ledger books Praxis' answer to a lookup triggered by the event, and
	// a re-check that finds news must not count as a redelivery.
	ApplyKey string
	// Time is when the status was reported.
	Time time.Time
	// Type and Status are Praxis' transaction_type and transaction_status;
	// Apply normalises them.
	Type   string
	Status string
	TID    int64
	// WithdrawalRequestID is the request a payout (or refund) pays; 0 if none.
	WithdrawalRequestID int64
	// Request marks the withdrawal request itself: a payout-type tid of a
	// withdrawal session without withdrawal_request_id.
	Request bool
	// ReferenceTID is, for a refund, the deposit it refunds, when known.
	ReferenceTID int64
	// Amount and Fee are in minor units; nil when absent.
	Amount   *int64
	Currency string
	Fee      *int64
	OrderID  string
	CID      string
	// Processor is the platform's processor name (already mapped).
	Processor     string
	PaymentMethod string
}

// Instruction is one money movement for the ledger. Amounts are minor
// units and positive; Signed gives the direction.
type Instruction struct {
	Kind string `json:"kind"`
	// Ref names the movement uniquely within its anchor (e.g.
	// "payout.debited", "deposit.reversed:refund:123"); with the application
	// and anchor it makes a deterministic instruction id.
	Ref string `json:"-"`
	// TID is the Praxis transaction whose notification this books (0 and
	// absent for other providers: TransactionID names theirs).
	TID int64 `json:"tid,omitempty"`
	// WithdrawalRequestID is set on payouts of a withdrawal request.
	WithdrawalRequestID int64 `json:"withdrawal_request_id,omitempty"`
	// ReferenceTID is, on a refund's reversal, the deposit refunded.
	ReferenceTID int64  `json:"reference_tid,omitempty"`
	OrderID      string `json:"order_id"`
	CID          string `json:"cid"`
	Amount       int64  `json:"amount"`
	Currency     string `json:"currency"`
	Fee          *int64 `json:"fee,omitempty"`
	// PreviousAmount, PreviousFee and Delta (Amount − PreviousAmount) are
	// set on payout.adjusted.
	PreviousAmount *int64 `json:"previous_amount,omitempty"`
	PreviousFee    *int64 `json:"previous_fee,omitempty"`
	Delta          *int64 `json:"delta,omitempty"`
	// Reason says which status caused a reversal or release (refund,
	// chargeback, reversed, cancelled, rejected, declined, error).
	Reason        string `json:"reason,omitempty"`
	Processor     string `json:"processor,omitempty"`
	PaymentMethod string `json:"payment_method,omitempty"`
	// PraxisStatus is Praxis' status (absent for other providers; kept
	// for consumers written before ProviderStatus).
	PraxisStatus string    `json:"praxis_status,omitempty"`
	EventID      string    `json:"event_id"`
	OccurredAt   time.Time `json:"occurred_at"`
	// Review is set when the amount needs a person's check, and says why.
	Review string `json:"review,omitempty"`
	// Provider, TransactionID and ProviderStatus make one schema serve
	// every provider, so a downstream ledger reads Praxis and Rebilly
	// instructions alike: the provider ("praxis" or "rebilly"), its id of
	// the transaction booked (Praxis: the tid in decimal; Rebilly: the
	// transaction id, or the payout request id for a movement of the
	// request itself) and its status that caused the movement (Praxis: as
	// praxis_status; Rebilly: the transaction's result or the payout
	// request's status).
	Provider       string `json:"provider"`
	TransactionID  string `json:"transaction_id"`
	ProviderStatus string `json:"provider_status"`
	// ReferenceID is, on a refund's (or void's) reversal, the provider's id
	// of the deposit refunded (Praxis: reference_tid in decimal);
	// WithdrawalID is, on a payout, the provider's id of the withdrawal or
	// payout request (Praxis: withdrawal_request_id in decimal).
	ReferenceID  string `json:"reference_id,omitempty"`
	WithdrawalID string `json:"withdrawal_id,omitempty"`
}

// ProviderPraxis is Instruction.Provider of Praxis' instructions.
const ProviderPraxis = "praxis"

// WithProviderFields fills the provider-neutral fields of a Praxis
// instruction from its Praxis fields (Provider empty: built by this
// package, or staged in an outbox before they existed), so every copy of
// one movement carries the same bytes.
func (i Instruction) WithProviderFields() Instruction {
	if i.Provider != "" {
		return i
	}
	i.Provider, i.TransactionID, i.ProviderStatus = ProviderPraxis, itoa(i.TID), i.PraxisStatus
	if i.ReferenceTID > 0 {
		i.ReferenceID = itoa(i.ReferenceTID)
	}
	if i.WithdrawalRequestID > 0 {
		i.WithdrawalID = itoa(i.WithdrawalRequestID)
	}
	return i
}

// Signed is the movement of the customer's balance in minor units, fees
// excluded: what a per-customer sum compares with the platform's books.
func (i Instruction) Signed() int64 {
	switch i.Kind {
	case DepositCredited, PayoutReleased, PayoutReversed:
		return i.Amount
	case DepositReversed, PayoutDebited:
		return -i.Amount
	case PayoutAdjusted:
		if i.Delta != nil {
			return -*i.Delta
		}
	}
	return 0
}

// Money is an amount with its currency and fee, kept together because a
// payout's fee is debited, adjusted and released with its amount.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Fee      *int64 `json:"fee,omitempty"`
}

func (m Money) sameAs(o Money) bool {
	if m.Amount != o.Amount {
		return false
	}
	if (m.Fee == nil) != (o.Fee == nil) {
		return false
	}
	return m.Fee == nil || *m.Fee == *o.Fee
}

// Source is where a deferred movement came from, so its instruction names
// its own notification rather than the one that released it.
type Source struct {
	TID           int64     `json:"tid"`
	Status        string    `json:"status"`
	EventID       string    `json:"event_id"`
	OrderID       string    `json:"order_id,omitempty"`
	CID           string    `json:"cid,omitempty"`
	Processor     string    `json:"processor,omitempty"`
	PaymentMethod string    `json:"payment_method,omitempty"`
	Time          time.Time `json:"time"`
}

// Refund is a refund tid as its anchor remembers it, so each refund is
// booked once and a chargeback knows what was already refunded.
type Refund struct {
	Status   string `json:"status"`
	Failure  string `json:"failure,omitempty"`
	Approved bool   `json:"approved,omitempty"`
	Money    *Money `json:"money,omitempty"`
	Source   Source `json:"source"`
	Booked   bool   `json:"booked,omitempty"`
}

// Tx is what the anchor remembers of one tid: the statuses it already
// had, which is how a repeat is told from news.
type Tx struct {
	Type string   `json:"type"`
	Seen []string `json:"seen"`
}

// Entry is one input in the anchor's history, kept so an operator can see
// every status that arrived, including repeats, regressions and unknowns.
type Entry struct {
	EventID string    `json:"event_id"`
	TID     int64     `json:"tid"`
	Status  string    `json:"status"`
	Outcome Outcome   `json:"outcome"`
	Issued  int       `json:"issued,omitempty"`
	At      time.Time `json:"at"`
}

// State is one anchor's lifecycle, stored by the caller as JSON between
// inputs. The zero State is a new anchor.
type State struct {
	Anchor   int64  `json:"anchor,omitempty"`
	Family   string `json:"family,omitempty"`
	Request  bool   `json:"request,omitempty"` // payouts: the anchor is a withdrawal request
	CID      string `json:"cid,omitempty"`
	OrderID  string `json:"order_id,omitempty"`
	Currency string `json:"currency,omitempty"`

	// Stage is the furthest point of the flow reached, Status the status
	// that reached it; Failure the first failed final (rejected, ...).
	Stage   int    `json:"stage,omitempty"`
	Status  string `json:"status,omitempty"`
	Failure string `json:"failure,omitempty"`

	Txs map[int64]*Tx `json:"txs,omitempty"`

	// Deposits. Approval is the money of the first notification proving
	// approval; RefundStatus the deposit's partial_refund/refund;
	// ChargebackStatus its chargeback/reversed; Reversed the total reversed.
	Approval         *Money            `json:"approval,omitempty"`
	ApprovalSource   *Source           `json:"approval_source,omitempty"`
	Credited         *Money            `json:"credited,omitempty"`
	RefundStatus     string            `json:"refund_status,omitempty"`
	ChargebackStatus string            `json:"chargeback_status,omitempty"`
	ChargebackSource *Source           `json:"chargeback_source,omitempty"`
	ChargebackBooked bool              `json:"chargeback_booked,omitempty"`
	Reversed         int64             `json:"reversed,omitempty"`
	Refunds          map[int64]*Refund `json:"refunds,omitempty"`

	// Payouts. Current is the freshest amount and fee; Debited what the
	// customer is debited now (adjustments included).
	Current        *Money `json:"current,omitempty"`
	Debited        *Money `json:"debited,omitempty"`
	Adjustments    int    `json:"adjustments,omitempty"`
	Released       bool   `json:"released,omitempty"`
	PayoutReversed bool   `json:"payout_reversed,omitempty"`

	// Holds are doubtful movements waiting for an operator (see Hold).
	Holds []*Hold `json:"holds,omitempty"`

	// Issued counts instructions emitted; History and Applied are bounded.
	Issued  int      `json:"issued,omitempty"`
	History []Entry  `json:"history,omitempty"`
	Applied []string `json:"applied,omitempty"`
}

// Result is Apply's answer.
type Result struct {
	State        State
	Instructions []Instruction
	Outcome      Outcome
	// Flags ask a person to look (see the Flag constants).
	Flags []string
	// Holds are the holds this input opened (announced once).
	Holds []Hold
}

// Errors for input Apply cannot use at all.
var (
	// ErrBadInput: the input lacks what every notification must have.
	ErrBadInput = errors.New("lifecycle: bad input")
	// ErrWrongAnchor: the input does not belong to the given state.
	ErrWrongAnchor = errors.New("lifecycle: input belongs to another anchor")
)

// Anchor returns the tid whose State in updates (see the package doc).
func Anchor(in Input) int64 {
	switch praxis.NormalizeType(in.Type) {
	case praxis.TypePayout:
		if in.WithdrawalRequestID > 0 {
			return in.WithdrawalRequestID
		}
	case praxis.TypeRefund:
		if in.WithdrawalRequestID > 0 {
			return in.WithdrawalRequestID
		}
		if in.ReferenceTID > 0 {
			return in.ReferenceTID
		}
	}
	return in.TID
}

func familyOf(in Input) string {
	switch praxis.NormalizeType(in.Type) {
	case praxis.TypeSale, praxis.TypeAuthorization:
		return FamilyDeposit
	case praxis.TypePayout:
		return FamilyPayout
	case praxis.TypeRefund:
		switch {
		case in.WithdrawalRequestID > 0:
			return FamilyPayout
		case in.ReferenceTID > 0:
			return FamilyDeposit
		}
		return FamilyRefund
	}
	return FamilyOther
}

// Apply feeds one notification to an anchor's state. It returns the new
// state and the instructions it owes, in booking order; st is not modified.
// An error means the input is unusable (no tid, no status, negative
// amount, another anchor's input) and the state is unchanged.
func Apply(st State, in Input, p Policy) (Result, error) {
	if err := p.Validate(); err != nil {
		return Result{}, err
	}
	in.Type = praxis.NormalizeType(in.Type)
	in.Status = praxis.NormalizeStatus(in.Status)
	if err := checkInput(in); err != nil {
		return Result{}, err
	}
	anchor := Anchor(in)
	if st.Anchor != 0 && st.Anchor != anchor {
		return Result{}, fmt.Errorf("%w: tid %d anchors at %d, the state is %d's", ErrWrongAnchor, in.TID, anchor, st.Anchor)
	}
	if slices.Contains(st.Applied, in.applyKey()) {
		return Result{State: st, Outcome: OutcomeAlreadyApplied}, nil
	}

	m := &machine{st: st.clone(), in: in, pol: p}
	if m.st.Anchor == 0 {
		m.st.Anchor = anchor
		m.st.Family = familyOf(in)
	}
	if in.WithdrawalRequestID > 0 || (in.Request && in.TID == anchor) {
		m.st.Request = true
	}
	m.fillCustomer()
	m.dup = m.seen()

	switch {
	case m.st.Family != familyOf(in):
		m.outcome = OutcomeMismatch
		m.flag(FlagFamilyMismatch)
	case m.st.Family == FamilyOther:
		m.outcome = OutcomeUnknownType
		m.flag(FlagUnknownType)
	case !praxis.KnownStatus(in.Status):
		m.outcome = OutcomeUnknownStatus
		m.flag(FlagUnknownStatus)
	case m.st.Family == FamilyDeposit && in.TID != anchor:
		m.linkedRefund()
	case m.st.Family == FamilyDeposit:
		m.deposit()
	case m.st.Family == FamilyRefund:
		m.ownRefund()
	case m.st.Family == FamilyPayout:
		m.payout()
	}
	if m.dup && len(m.out) == 0 && (m.outcome == OutcomeApplied || m.outcome == OutcomeRegression) {
		m.outcome = OutcomeDuplicate
	}
	m.record()
	return Result{State: m.st, Instructions: m.out, Outcome: m.outcome, Flags: m.flags, Holds: m.holds}, nil
}

func (in Input) applyKey() string {
	if in.ApplyKey != "" {
		return in.ApplyKey
	}
	return in.EventID
}

func checkInput(in Input) error {
	switch {
	case in.EventID == "":
		return fmt.Errorf("%w: no event id", ErrBadInput)
	case in.TID <= 0:
		return fmt.Errorf("%w: tid %d is not a positive integer", ErrBadInput, in.TID)
	case in.Status == "":
		return fmt.Errorf("%w: tid %d has no transaction_status", ErrBadInput, in.TID)
	case in.Amount != nil && *in.Amount < 0:
		return fmt.Errorf("%w: tid %d has a negative amount %d", ErrBadInput, in.TID, *in.Amount)
	case in.WithdrawalRequestID < 0 || in.ReferenceTID < 0:
		return fmt.Errorf("%w: tid %d has a negative withdrawal_request_id or reference", ErrBadInput, in.TID)
	}
	return nil
}

// machine is one Apply call's working set.
type machine struct {
	st      State
	in      Input
	pol     Policy
	dup     bool
	outcome Outcome
	flags   []string
	out     []Instruction
	holds   []Hold
}

func (m *machine) flag(f string) {
	if !slices.Contains(m.flags, f) {
		m.flags = append(m.flags, f)
	}
}

func (m *machine) fillCustomer() {
	if m.st.CID == "" {
		m.st.CID = m.in.CID
	}
	if m.st.OrderID == "" && m.in.TID == m.st.Anchor {
		m.st.OrderID = m.in.OrderID
	}
	if m.st.Currency == "" {
		m.st.Currency = m.in.Currency
	}
}

// seen reports whether this tid already had this status, and remembers it.
func (m *machine) seen() bool {
	if m.st.Txs == nil {
		m.st.Txs = map[int64]*Tx{}
	}
	tx := m.st.Txs[m.in.TID]
	if tx == nil {
		tx = &Tx{Type: m.in.Type}
		m.st.Txs[m.in.TID] = tx
	}
	if slices.Contains(tx.Seen, m.in.Status) {
		return true
	}
	if len(tx.Seen) < maxSeen {
		tx.Seen = append(tx.Seen, m.in.Status)
	}
	return false
}

func (m *machine) record() {
	m.st.Issued += len(m.out)
	m.st.History = append(m.st.History, Entry{
		EventID: m.in.EventID, TID: m.in.TID, Status: m.in.Status, Outcome: m.outcome, Issued: len(m.out), At: m.in.Time,
	})
	if n := len(m.st.History); n > maxHistory {
		m.st.History = append([]Entry(nil), m.st.History[n-maxHistory:]...)
	}
	m.st.Applied = append(m.st.Applied, m.in.applyKey())
	if n := len(m.st.Applied); n > maxApplied {
		m.st.Applied = append([]string(nil), m.st.Applied[n-maxApplied:]...)
	}
}

// money is the input's amount, currency and fee, if it has an amount.
func (m *machine) money() *Money {
	if m.in.Amount == nil {
		return nil
	}
	cur := m.in.Currency
	if cur == "" {
		cur = m.st.Currency
	}
	return &Money{Amount: *m.in.Amount, Currency: cur, Fee: copyInt(m.in.Fee)}
}

func (m *machine) source() Source {
	return Source{
		TID: m.in.TID, Status: m.in.Status, EventID: m.in.EventID, OrderID: m.in.OrderID, CID: m.in.CID,
		Processor: m.in.Processor, PaymentMethod: m.in.PaymentMethod, Time: m.in.Time,
	}
}

// emit builds an instruction in the context of src (the notification it
// books), falling back to the anchor's customer and order, and owes it.
func (m *machine) emit(kind, ref string, money Money, src Source) *Instruction {
	m.out = append(m.out, m.build(kind, ref, money, src))
	return &m.out[len(m.out)-1]
}

// build is emit without owing the instruction (a hold's proposal).
func (m *machine) build(kind, ref string, money Money, src Source) Instruction {
	ins := Instruction{
		Kind: kind, Ref: ref, TID: src.TID, OrderID: src.OrderID, CID: src.CID,
		Amount: money.Amount, Currency: money.Currency, Fee: copyInt(money.Fee),
		Processor: src.Processor, PaymentMethod: src.PaymentMethod, PraxisStatus: src.Status,
		EventID: src.EventID, OccurredAt: src.Time,
	}
	if ins.OrderID == "" {
		ins.OrderID = m.st.OrderID
	}
	if ins.CID == "" {
		ins.CID = m.st.CID
	}
	if ins.Currency == "" {
		ins.Currency = m.st.Currency
	}
	if m.st.Family == FamilyPayout && m.st.Request {
		ins.WithdrawalRequestID = m.st.Anchor
	}
	return ins
}

func (s State) clone() State {
	c := s
	c.Txs = make(map[int64]*Tx, len(s.Txs))
	for k, v := range s.Txs {
		t := *v
		t.Seen = slices.Clone(v.Seen)
		c.Txs[k] = &t
	}
	if s.Refunds != nil {
		c.Refunds = make(map[int64]*Refund, len(s.Refunds))
		for k, v := range s.Refunds {
			r := *v
			r.Money = v.Money.clone()
			c.Refunds[k] = &r
		}
	}
	c.Approval, c.Credited, c.Current, c.Debited = s.Approval.clone(), s.Credited.clone(), s.Current.clone(), s.Debited.clone()
	if s.ApprovalSource != nil {
		src := *s.ApprovalSource
		c.ApprovalSource = &src
	}
	if s.ChargebackSource != nil {
		src := *s.ChargebackSource
		c.ChargebackSource = &src
	}
	if s.Holds != nil {
		c.Holds = make([]*Hold, len(s.Holds))
		for i, h := range s.Holds {
			hc := *h
			if h.Proposed != nil {
				p := *h.Proposed
				p.Fee = copyInt(h.Proposed.Fee)
				hc.Proposed = &p
			}
			c.Holds[i] = &hc
		}
	}
	c.History = slices.Clone(s.History)
	c.Applied = slices.Clone(s.Applied)
	return c
}

func (m *Money) clone() *Money {
	if m == nil {
		return nil
	}
	c := *m
	c.Fee = copyInt(m.Fee)
	return &c
}

func copyInt(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func isFailure(status string) bool {
	switch status {
	case praxis.StatusRejected, praxis.StatusDeclined, praxis.StatusCancelled, praxis.StatusError:
		return true
	}
	return false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
