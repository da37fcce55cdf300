package praxis

import (
	"errors"
	"strings"
)

// LookupVerdict is what a find-transaction or find-order answer proves about
// the transaction asked for. Only an explicit "not found" from Praxis means
// Praxis does not know it; anything else that is not a verified answer
// about that very transaction is unknown, to be asked again later.
type LookupVerdict int

// The three verdicts of a lookup.
const (
	// LookupUnknown: no trustworthy answer (transport failure, timeout,
	// unsigned or mis-signed response, a rejection other than "not found",
	// such as "Agent API disabled", or an answer about another tid).
	LookupUnknown LookupVerdict = iota
	// LookupFound: a verified success that carries the transaction asked for.
	LookupFound
	// LookupNotFound: Praxis answered, with a business error, that it does
	// not know the tid or order.
	LookupNotFound
)

// String names the verdict as metrics spell it.
func (v LookupVerdict) String() string {
	switch v {
	case LookupFound:
		return "found"
	case LookupNotFound:
		return "not_found"
	}
	return "unknown"
}

// IsNotFound reports whether err is Praxis' business answer that the tid,
// order or reference does not exist ("Transaction not found!" and its
// kin). Other rejections are not evidence of absence.
func IsNotFound(err error) bool {
	var pe *Error
	if !errors.As(err, &pe) || pe.Outcome != OutcomeRejected {
		return false
	}
	return strings.Contains(strings.ToLower(pe.Description), "not found")
}

// ReadFindTransaction classifies FindTransaction's answer for tid: found
// only when the verified response carries a transaction with that tid.
func ReadFindTransaction(tid int64, resp *TransactionResponse, err error) LookupVerdict {
	switch {
	case IsNotFound(err):
		return LookupNotFound
	case err != nil, resp == nil, resp.Transaction == nil, resp.Transaction.TID != tid:
		return LookupUnknown
	}
	return LookupFound
}
