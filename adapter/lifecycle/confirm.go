package lifecycle

import "github.com/praxis-adapter/praxis-adapter/adapter/praxis"

// Confirms reports whether Praxis' current status of a transaction (truth,
// from a lookup) is consistent with a notification having reported claimed
// earlier: the same status, or a later point of the same documented flow
// (approved confirms pending; chargeback confirms approved; a failure
// confirms an earlier open status). A claim further along than the truth
// (approved while Praxis says pending), a failure Praxis does not report,
// another transaction type, or an unknown status that differs, does not.
// typ is the transaction type both must share; request marks the
// withdrawal request itself (its statuses rank differently from a payout's).
func Confirms(claimedType, truthType string, request bool, claimed, truth string) bool {
	claimedType, truthType = praxis.NormalizeType(claimedType), praxis.NormalizeType(truthType)
	claimed, truth = praxis.NormalizeStatus(claimed), praxis.NormalizeStatus(truth)
	if claimedType != truthType {
		return false
	}
	if claimed == truth {
		return true
	}
	cf, tf := isFailure(claimed), isFailure(truth)
	if cf {
		return tf // a failure is confirmed by a failure (cancelled vs rejected: both return nothing)
	}
	rc, okc := confirmRank(truthType, request, claimed)
	if !okc {
		return false
	}
	if tf {
		return rc < approvedRank(truthType)
	}
	rt, okt := confirmRank(truthType, request, truth)
	return okt && rt >= rc
}

func confirmRank(typ string, request bool, status string) (int, bool) {
	switch typ {
	case praxis.TypeSale, praxis.TypeAuthorization:
		return depositRank(status)
	case praxis.TypeRefund:
		return refundRank(status)
	case praxis.TypePayout:
		st, ok := payoutStage(request, status)
		if ok && status == praxis.StatusInitialized {
			return 0, true
		}
		return st, ok
	}
	return 0, false
}

func approvedRank(typ string) int {
	if typ == praxis.TypePayout {
		return stageApproved
	}
	return depApproved
}
