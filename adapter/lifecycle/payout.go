package lifecycle

import (
	"strconv"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

// Payout stages (LEGACY_PLATFORM.md §4.1): how far a withdrawal request
// got. Each implies the ones before it.
const (
	stageRequested  = 1
	stageAuthorized = 2
	stageInProgress = 3
	stageApproved   = 4
	stageReversed   = 5
)

// payoutStage maps a non-failure status to its stage. The withdrawal
// request's own statuses follow §4.1 (its request states partial_payout,
// payment and split mean payouts are under way); a payout tid exists only
// once the request is being paid, so all its open statuses are in_progress.
func payoutStage(request bool, status string) (int, bool) {
	switch status {
	case praxis.StatusApproved:
		return stageApproved, true
	case praxis.StatusReversed:
		return stageReversed, true
	}
	if !request {
		switch status {
		case praxis.StatusInitialized, praxis.StatusPending, praxis.StatusPendingAsync, praxis.StatusInProgress,
			praxis.StatusAuthorized, praxis.StatusRequested:
			return stageInProgress, true
		}
		return 0, false
	}
	switch status {
	case praxis.StatusInitialized:
		return 0, true
	case praxis.StatusRequested:
		return stageRequested, true
	case praxis.StatusAuthorized:
		return stageAuthorized, true
	case praxis.StatusInProgress, praxis.StatusPending, praxis.StatusPendingAsync,
		praxis.StatusPartialPayout, praxis.StatusPayment, praxis.StatusSplit:
		return stageInProgress, true
	}
	return 0, false
}

// payout applies a status of a withdrawal request, or of a payout tid that
// pays one (or of a lone payout).
func (m *machine) payout() {
	st, in := &m.st, m.in
	if in.TID != st.Anchor && !m.dup && m.payoutTids() > 1 {
		m.flag(FlagMultiplePayouts)
	}
	fail := isFailure(in.Status)
	stage := 0
	if !fail {
		var ok bool
		if stage, ok = payoutStage(st.Request && in.TID == st.Anchor, in.Status); !ok {
			m.unexpected()
			return
		}
	}
	if (fail && st.Stage >= stageApproved) || (!fail && stage >= stageApproved && st.Failure != "") {
		m.conflict()
		return
	}

	// The freshest amount: from the newest point of the flow. A failure is
	// newer than any stage; a stage after a failure is a late report.
	fresh := st.Current == nil || (fail && st.Failure == "") || (!fail && st.Failure == "" && stage >= st.Stage)
	if fresh {
		if mon := m.money(); mon != nil {
			st.Current = mon
		}
	}
	m.outcome = OutcomeApplied
	switch {
	case fail && st.Failure == "":
		st.Failure = in.Status
	case fail:
		m.outcome = OutcomeRegression
	case stage > st.Stage:
		st.Stage, st.Status = stage, in.Status
	case stage < st.Stage || st.Failure != "":
		m.outcome = OutcomeRegression
	}
	m.settlePayout()
}

// payoutTids counts the payout tids (other than the request) on the anchor.
func (m *machine) payoutTids() int {
	n := 0
	for tid := range m.st.Txs {
		if tid != m.st.Anchor {
			n++
		}
	}
	return n
}

// settlePayout emits what a payout owes and has not emitted: the debit once
// the debit stage is reached, an adjustment when the amount or fee moved,
// the release after a failure, the reversal after a reversed approval.
func (m *machine) settlePayout() {
	st := &m.st
	src := m.source()
	if st.Debited == nil && st.Stage >= m.pol.debitStage() {
		if st.Current == nil {
			m.flag(FlagMissingAmount)
			return
		}
		st.Debited = st.Current.clone()
		m.emit(PayoutDebited, PayoutDebited, *st.Debited, src)
	}
	if st.Debited == nil {
		return
	}
	if st.Current != nil && !st.Released && !st.PayoutReversed && !st.Current.sameAs(*st.Debited) {
		st.Adjustments++
		prev := *st.Debited
		st.Debited = st.Current.clone()
		delta := st.Debited.Amount - prev.Amount
		ins := m.emit(PayoutAdjusted, PayoutAdjusted+":"+strconv.Itoa(st.Adjustments), *st.Debited, src)
		ins.PreviousAmount, ins.PreviousFee, ins.Delta = &prev.Amount, copyInt(prev.Fee), &delta
	}
	if st.Failure == praxis.StatusError && !st.Released {
		// API.md: after `error` the funds may have been sent. Hold the
		// release for a person (or a later decision), never book it here.
		ins := m.build(PayoutReleased, PayoutReleased, *st.Debited, src)
		ins.Reason = st.Failure
		m.holdOnce(Hold{Ref: "hold:" + HoldPayoutError, Reason: HoldPayoutError, TID: src.TID, Proposed: &ins, ProposedRef: ins.Ref,
			Detail: "the payout ended in error: Praxis says the funds may have been sent; release the debit only once the processor confirms nothing was paid"})
	} else if st.Failure != "" && !st.Released {
		st.Released = true
		ins := m.emit(PayoutReleased, PayoutReleased, *st.Debited, src)
		ins.Reason = st.Failure
	}
	if st.Stage >= stageReversed && !st.PayoutReversed {
		st.PayoutReversed = true
		ins := m.emit(PayoutReversed, PayoutReversed, *st.Debited, src)
		ins.Reason = praxis.StatusReversed
	}
}
