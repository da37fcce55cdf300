package lifecycle

import (
	"fmt"
	"slices"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

// Deposit ranks: how far a sale or authorization got. Everything from
// depApproved on proves the deposit was approved.
const (
	depInitialized = 1
	depPending     = 2
	depAuthorized  = 3
	depApproved    = 4
	depRefunded    = 5 // partial_refund, duplicated
	depFullRefund  = 6
	depChargeback  = 7 // chargeback, reversed
)

func depositRank(status string) (int, bool) {
	switch status {
	case praxis.StatusInitialized:
		return depInitialized, true
	case praxis.StatusPending, praxis.StatusPendingAsync:
		return depPending, true
	case praxis.StatusAuthorized:
		return depAuthorized, true
	case praxis.StatusApproved:
		return depApproved, true
	case praxis.StatusPartialRefund, praxis.StatusDuplicated:
		return depRefunded, true
	case praxis.StatusRefund:
		return depFullRefund, true
	case praxis.StatusChargeback, praxis.StatusReversed:
		return depChargeback, true
	}
	return 0, false
}

// refundRank: a refund tid's own flow (API.md §5.9: a new transaction,
// approved or not like any other).
func refundRank(status string) (int, bool) {
	switch status {
	case praxis.StatusInitialized:
		return depInitialized, true
	case praxis.StatusPending, praxis.StatusPendingAsync:
		return depPending, true
	case praxis.StatusApproved:
		return depApproved, true
	}
	return 0, false
}

func (m *machine) conflict() {
	m.outcome = OutcomeConflict
	m.flag(FlagConflict)
}

func (m *machine) unexpected() {
	m.outcome = OutcomeUnexpected
	m.flag(FlagUnexpectedStatus)
}

// deposit applies a status of the sale or authorization itself.
func (m *machine) deposit() {
	st, in := &m.st, m.in
	if isFailure(in.Status) {
		switch {
		case st.Approval != nil || st.Stage >= depApproved:
			m.conflict()
		case st.Failure != "":
			m.outcome = OutcomeRegression
		default:
			st.Failure = in.Status
			m.outcome = OutcomeApplied
		}
		return
	}
	rank, ok := depositRank(in.Status)
	if !ok {
		m.unexpected()
		return
	}
	if st.Failure != "" {
		if rank >= depApproved {
			m.conflict()
		} else {
			m.outcome = OutcomeRegression
		}
		return
	}
	if rank >= depApproved {
		if st.Approval == nil {
			if mon := m.money(); mon != nil {
				src := m.source()
				st.Approval, st.ApprovalSource = mon, &src
			}
		} else if mon := m.money(); mon != nil && (mon.Amount != st.Approval.Amount || mon.Currency != st.Approval.Currency) {
			// An approved deposit does not change amount; if Praxis says it
			// did, a person decides (nothing is booked).
			m.holdOnce(Hold{Ref: fmt.Sprintf("hold:%s:%d:%s", HoldAmountChanged, mon.Amount, mon.Currency), Reason: HoldAmountChanged, TID: m.in.TID,
				Detail: fmt.Sprintf("deposit %d was approved for %d %s and is now reported as %d %s; nothing is booked for the difference", st.Anchor, st.Approval.Amount, st.Approval.Currency, mon.Amount, mon.Currency)})
		}
		switch in.Status {
		case praxis.StatusRefund:
			st.RefundStatus = praxis.StatusRefund
		case praxis.StatusPartialRefund:
			if st.RefundStatus == "" {
				st.RefundStatus = praxis.StatusPartialRefund
			}
		case praxis.StatusChargeback, praxis.StatusReversed:
			if st.ChargebackStatus == "" {
				st.ChargebackStatus = in.Status
				src := m.source()
				st.ChargebackSource = &src
			}
		}
	}
	m.outcome = OutcomeApplied
	if rank > st.Stage {
		st.Stage, st.Status = rank, in.Status
	} else if rank < st.Stage {
		m.outcome = OutcomeRegression
	}
	m.settleDeposit()
}

// refundStatus applies a status of a refund tid to its record.
func (m *machine) refundStatus(r *Refund) {
	in := m.in
	if isFailure(in.Status) {
		switch {
		case r.Approved:
			m.conflict()
		case r.Failure != "":
			m.outcome = OutcomeRegression
		default:
			r.Failure, r.Status = in.Status, in.Status
			m.outcome = OutcomeApplied
		}
		return
	}
	rank, ok := refundRank(in.Status)
	switch {
	case !ok:
		m.unexpected()
	case rank == depApproved && r.Failure != "":
		m.conflict()
	case rank == depApproved && !r.Approved:
		r.Approved, r.Status, r.Source, r.Money = true, in.Status, m.source(), m.money()
		m.outcome = OutcomeApplied
	case rank == depApproved:
		if r.Money == nil && !r.Booked {
			r.Money = m.money() // a repeat may carry the amount the first lacked
		}
		m.outcome = OutcomeRegression
	case r.Approved || r.Failure != "":
		m.outcome = OutcomeRegression
	default:
		r.Status = in.Status
		m.outcome = OutcomeApplied
	}
	if r.Approved && r.Money == nil {
		m.flag(FlagMissingAmount)
	}
}

func (m *machine) refund() *Refund {
	if m.st.Refunds == nil {
		m.st.Refunds = map[int64]*Refund{}
	}
	r := m.st.Refunds[m.in.TID]
	if r == nil {
		r = &Refund{Source: m.source()}
		m.st.Refunds[m.in.TID] = r
	}
	return r
}

// linkedRefund applies a refund tid's status on its deposit's anchor.
func (m *machine) linkedRefund() {
	r := m.refund()
	m.refundStatus(r)
	if m.outcome == OutcomeApplied && r.Approved && m.st.Failure != "" {
		// A refund of a deposit that failed: nothing was credited to reverse.
		m.conflict()
		return
	}
	m.settleDeposit()
}

// ownRefund applies a status of a refund tid whose deposit is not known:
// its approval reverses its own amount, once.
func (m *machine) ownRefund() {
	r := m.refund()
	m.refundStatus(r)
	m.st.Status = r.Status
	if !r.Approved || r.Booked || r.Money == nil {
		return
	}
	r.Booked = true
	m.st.Reversed += r.Money.Amount
	ins := m.emit(DepositReversed, refundRef(m.in.TID), *r.Money, r.Source)
	ins.Reason = praxis.StatusRefund
}

func refundRef(tid int64) string { return DepositReversed + ":refund:" + itoa(tid) }

// settleDeposit emits what a deposit owes and has not emitted: the credit,
// then linked refunds in tid order, then a chargeback's remainder.
func (m *machine) settleDeposit() {
	st := &m.st
	if st.Failure != "" {
		return
	}
	if st.Credited == nil {
		if st.Approval == nil {
			if st.Stage >= depApproved {
				m.flag(FlagMissingAmount)
			}
			return // linked refunds and chargebacks wait for the credit
		}
		st.Credited = st.Approval.clone()
		m.emit(DepositCredited, DepositCredited, *st.Credited, *st.ApprovalSource)
	}
	tids := make([]int64, 0, len(st.Refunds))
	for tid := range st.Refunds {
		tids = append(tids, tid)
	}
	slices.Sort(tids)
	for _, tid := range tids {
		if r := st.Refunds[tid]; r.Approved && !r.Booked && r.Money != nil {
			m.bookLinkedRefund(tid, r)
		}
	}
	if st.ChargebackStatus != "" && !st.ChargebackBooked {
		m.bookChargeback()
	}
	if h := st.hold("hold:" + HoldChargebackRemainder); h != nil && h.Resolution == "" && h.Proposed != nil {
		// The proposal follows what linked refunds leave.
		h.Proposed.Amount = max(0, st.Credited.Amount-st.Reversed)
	}
}

func (m *machine) bookLinkedRefund(tid int64, r *Refund) {
	st := &m.st
	r.Booked = true
	avail := max(0, st.Credited.Amount-st.Reversed)
	amount := min(r.Money.Amount, avail)
	review := ""
	if amount < r.Money.Amount {
		m.flag(FlagAbsorbedRefund)
		review = fmt.Sprintf("refund tid %d of %d exceeds the %d still credited on deposit %d (a chargeback or reversal took it first); only %d is reversed for it",
			tid, r.Money.Amount, avail, st.Anchor, amount)
	}
	if amount == 0 {
		return
	}
	st.Reversed += amount
	ins := m.emit(DepositReversed, refundRef(tid), Money{Amount: amount, Currency: r.Money.Currency, Fee: copyInt(r.Money.Fee)}, r.Source)
	ins.ReferenceTID, ins.Reason, ins.Review = st.Anchor, praxis.StatusRefund, review
}

func (m *machine) bookChargeback() {
	st := &m.st
	st.ChargebackBooked = true
	remainder := st.Credited.Amount - st.Reversed
	if st.RefundStatus == praxis.StatusRefund {
		remainder = 0 // fully refunded: the refund tids book it all
	}
	if remainder <= 0 {
		return
	}
	src := m.source()
	if st.ChargebackSource != nil {
		src = *st.ChargebackSource
	}
	money := Money{Amount: remainder, Currency: st.Credited.Currency}
	if st.RefundStatus == praxis.StatusPartialRefund && !st.anyApprovedRefund() {
		// Refund tids not linked to the deposit took part of it: the
		// chargeback took only what they left, which is not known here.
		m.flag(FlagUncertainAmount)
		ins := m.build(DepositReversed, DepositReversed+":"+st.ChargebackStatus, money, src)
		ins.Reason = st.ChargebackStatus
		m.holdOnce(Hold{Ref: "hold:" + HoldChargebackRemainder, Reason: HoldChargebackRemainder, TID: src.TID, Proposed: &ins, ProposedRef: ins.Ref,
			Detail: fmt.Sprintf("deposit %d was partly refunded by refund tids not linked to it, then charged back; the proposal reverses the %d not reversed on the deposit, which includes the refunded part: book the true remainder (amount) or dismiss", st.Anchor, remainder)})
		return
	}
	st.Reversed += remainder
	ins := m.emit(DepositReversed, DepositReversed+":"+st.ChargebackStatus, money, src)
	ins.Reason = st.ChargebackStatus
}

func (s *State) anyApprovedRefund() bool {
	for _, r := range s.Refunds {
		if r.Approved {
			return true
		}
	}
	return false
}
