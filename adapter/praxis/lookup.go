package praxis

import (
	"errors"
	"strings"
)

// LookupVerdict is what a find-transaction or find-order answer proves. A
// lookup has three answers, not two: only Praxis' explicit "not found" says
// nothing exists; an error of any other kind says nothing at all. The
// worker (reconciling a call whose outcome is unknown) and the ledger
// (confirming a notification) both read lookups through this one place.
type LookupVerdict int

// The three verdicts of a lookup.
const (
	// LookupUnknown: the answer proves nothing (a transport error, a
	// timeout, a generic or unsigned error, "Agent API disabled", an HTTP
	// 4xx without a Praxis envelope, a bad signature, an answer about
	// another tid). Retry later; never act on it.
	LookupUnknown LookupVerdict = iota
	// LookupFound: a signed success answer; the response says what exists.
	LookupFound
	// LookupNotFound: Praxis said explicitly that no such transaction or
	// order exists (see IsNotFound).
	LookupNotFound
)

// String names the verdict as logs and metrics spell it.
func (v LookupVerdict) String() string {
	switch v {
	case LookupFound:
		return "found"
	case LookupNotFound:
		return "not_found"
	}
	return "unknown"
}

// ClassifyLookup reads the error of a find-transaction or find-order call
// (nil for a signed success) as one of the three verdicts.
func ClassifyLookup(err error) LookupVerdict {
	if err == nil {
		return LookupFound
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.Outcome != OutcomeRejected || pe.Status <= 0 {
		return LookupUnknown
	}
	if IsNotFound(pe.Description) {
		return LookupNotFound
	}
	return LookupUnknown
}

// IsNotFound reports whether a Praxis error description is an explicit
// "no such transaction", matched case-insensitively as a prefix: API.md
// §5.5 and §9 document "Transaction not found!" (status 400).
// find-order's own wording is UNCONFIRMED; "Order not found" is accepted
// as its likely form. "Account not found", "Website not found" and "User
// not found" are authentication errors, not answers.
func IsNotFound(description string) bool {
	d := strings.ToLower(strings.TrimSpace(description))
	return strings.HasPrefix(d, "transaction not found") || strings.HasPrefix(d, "order not found")
}

// ReadFindTransaction classifies FindTransaction's answer for tid: found
// only when the verified response carries a transaction with that very tid.
func ReadFindTransaction(tid int64, resp *TransactionResponse, err error) LookupVerdict {
	switch v := ClassifyLookup(err); {
	case v != LookupFound:
		return v
	case resp == nil, resp.Transaction == nil, resp.Transaction.TID != tid:
		return LookupUnknown
	}
	return LookupFound
}
