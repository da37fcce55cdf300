package lifecycle

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Hold reasons: a movement the machine will not book on its own because
// Praxis' statuses do not say what happened to the money.
const (
	// HoldPayoutError: a payout ended in `error`; API.md says the funds may
	// have been sent. Releasing the debit could pay the customer twice.
	HoldPayoutError = "payout_error"
	// HoldChargebackRemainder: a deposit was charged back after a partial
	// refund by refund tids not linked to it, so what the chargeback took
	// (the unrefunded remainder) is not known here.
	HoldChargebackRemainder = "chargeback_remainder"
	// HoldAmountChanged: an approved, credited deposit is reported later
	// with another amount or currency.
	HoldAmountChanged = "amount_changed"
)

// Decision actions on a hold.
const (
	// ActionBook books the proposed instruction (with Amount, if given).
	ActionBook = "book"
	// ActionDismiss books nothing and closes the hold.
	ActionDismiss = "dismiss"
)

// Hold is a doubtful movement waiting for a person: it is kept in the
// anchor's state and announced once; nothing is booked until Resolve.
type Hold struct {
	// Ref names the hold uniquely within its anchor ("hold:payout_error").
	Ref    string `json:"ref"`
	Reason string `json:"reason"`
	// Detail says, without personal data, what is doubtful.
	Detail string `json:"detail"`
	TID    int64  `json:"tid"`
	// Proposed is what ActionBook books (nil: nothing can be proposed,
	// such as a changed deposit amount; book then needs an operator amount
	// only where Kind is set). ProposedRef is its movement ref.
	Proposed    *Instruction `json:"proposed,omitempty"`
	ProposedRef string       `json:"proposed_ref,omitempty"`
	HeldAt      time.Time    `json:"held_at"`
	// Resolution is "", ActionBook or ActionDismiss; By and Why are the
	// operator's name and reason, for the audit trail.
	Resolution string    `json:"resolution,omitempty"`
	By         string    `json:"by,omitempty"`
	Why        string    `json:"why,omitempty"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
}

// Decision is an operator's ruling on one hold.
type Decision struct {
	// ID identifies the decision (its command id): applying it twice changes nothing.
	ID     string
	Ref    string
	Action string
	// Amount overrides the proposed amount when booking (minor units, > 0).
	Amount *int64
	By     string
	Why    string
	At     time.Time
}

// Errors of Resolve.
var (
	// ErrNoHold: the anchor has no hold with that ref.
	ErrNoHold = errors.New("lifecycle: no such hold")
	// ErrResolved: the hold was already resolved by another decision.
	ErrResolved = errors.New("lifecycle: hold already resolved")
	// ErrBadDecision: the decision cannot be applied as given.
	ErrBadDecision = errors.New("lifecycle: bad decision")
)

func (s State) hold(ref string) *Hold {
	for _, h := range s.Holds {
		if h.Ref == ref {
			return h
		}
	}
	return nil
}

// holdOnce records a hold unless one with the same ref exists.
func (m *machine) holdOnce(h Hold) bool {
	if m.st.hold(h.Ref) != nil {
		return false
	}
	h.HeldAt = m.in.Time
	m.st.Holds = append(m.st.Holds, &h)
	m.holds = append(m.holds, h)
	return true
}

// Open returns the holds not yet resolved.
func (s State) Open() []Hold {
	var out []Hold
	for _, h := range s.Holds {
		if h.Resolution == "" {
			out = append(out, *h)
		}
	}
	return out
}

// Resolve applies an operator's decision to the hold d.Ref of st. Booking
// emits the proposed instruction (at d.Amount if given) once; dismissing
// emits nothing. A decision id already applied returns OutcomeAlreadyApplied.
func Resolve(st State, d Decision) (Result, error) {
	if d.ID == "" || d.Ref == "" || d.By == "" || d.Why == "" {
		return Result{}, fmt.Errorf("%w: id, ref, by and why are required", ErrBadDecision)
	}
	if slices.Contains(st.Applied, "decision:"+d.ID) {
		return Result{State: st, Outcome: OutcomeAlreadyApplied}, nil
	}
	h := st.hold(d.Ref)
	if h == nil {
		return Result{}, fmt.Errorf("%w: %s on anchor %d", ErrNoHold, d.Ref, st.Anchor)
	}
	if h.Resolution != "" {
		return Result{}, fmt.Errorf("%w: %s was %s by %s", ErrResolved, d.Ref, h.Resolution, h.By)
	}
	switch d.Action {
	case ActionDismiss:
	case ActionBook:
		if h.Proposed == nil {
			return Result{}, fmt.Errorf("%w: hold %s proposes no instruction; dismiss it and book by hand", ErrBadDecision, d.Ref)
		}
		if d.Amount != nil && *d.Amount <= 0 {
			return Result{}, fmt.Errorf("%w: amount %d must be positive", ErrBadDecision, *d.Amount)
		}
	default:
		return Result{}, fmt.Errorf("%w: action %q is not %s or %s", ErrBadDecision, d.Action, ActionBook, ActionDismiss)
	}
	m := &machine{st: st.clone(), in: Input{EventID: "decision:" + d.ID, TID: h.TID, Status: "resolved:" + d.Action, Time: d.At}}
	h = m.st.hold(d.Ref)
	h.Resolution, h.By, h.Why, h.ResolvedAt = d.Action, d.By, d.Why, d.At
	m.outcome = OutcomeApplied
	if d.Action == ActionBook {
		ins := *h.Proposed
		ins.Ref = h.ProposedRef
		ins.Fee = copyInt(ins.Fee)
		if d.Amount != nil {
			ins.Amount = *d.Amount
		}
		ins.Review = "booked by " + d.By + " after review: " + d.Why
		switch h.Reason {
		case HoldPayoutError:
			m.st.Released = true
		case HoldChargebackRemainder:
			m.st.Reversed += ins.Amount
		}
		m.out = append(m.out, ins)
	}
	m.record()
	return Result{State: m.st, Instructions: m.out, Outcome: m.outcome}, nil
}
