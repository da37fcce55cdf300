package praxis

import "strings"

// Transaction types, normalised (API.md §6): `authorize` (3.x) becomes
// authorization.
const (
	TypeSale          = "sale"
	TypePayout        = "payout"
	TypeRefund        = "refund"
	TypeAuthorization = "authorization"
)

// Transaction statuses, normalised by NormalizeStatus. The set is open:
// unknown statuses are kept as they come (lower-cased, spaces as '_').
const (
	StatusInitialized   = "initialized"
	StatusPending       = "pending"
	StatusPendingAsync  = "pending_async"
	StatusAuthorized    = "authorized"
	StatusRequested     = "requested"
	StatusInProgress    = "in_progress"
	StatusApproved      = "approved"
	StatusRejected      = "rejected"
	StatusDeclined      = "declined"
	StatusCancelled     = "cancelled"
	StatusError         = "error"
	StatusRefund        = "refund"
	StatusPartialRefund = "partial_refund"
	StatusChargeback    = "chargeback"
	StatusReversed      = "reversed"
	StatusDuplicated    = "duplicated"
	StatusPartialPayout = "partial_payout"
	StatusPayment       = "payment"
	StatusSplit         = "split"
)

// NormalizeStatus maps a status case-insensitively to one spelling:
// lower case, spaces and dashes as '_', and `canceled` as `cancelled`
// (both spellings appear in Praxis' documentation).
func NormalizeStatus(s string) string {
	s = normalizeToken(s)
	if s == "canceled" {
		return StatusCancelled
	}
	return s
}

// NormalizeType maps a transaction type to one spelling; `authorize` (docs
// 3.3/3.4) becomes `authorization`.
func NormalizeType(s string) string {
	s = normalizeToken(s)
	if s == "authorize" {
		return TypeAuthorization
	}
	return s
}

func normalizeToken(s string) string {
	s = strings.TrimSpace(s)
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c >= 'A' && c <= 'Z') || c == ' ' || c == '-' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if c == ' ' || c == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}

// KnownStatus reports whether a normalised status is one API.md §6 lists, so
// callers can flag (never drop) the others.
func KnownStatus(s string) bool {
	switch s {
	case StatusInitialized, StatusPending, StatusPendingAsync, StatusAuthorized, StatusRequested,
		StatusInProgress, StatusApproved, StatusRejected, StatusDeclined, StatusCancelled, StatusError,
		StatusRefund, StatusPartialRefund, StatusChargeback, StatusReversed, StatusDuplicated,
		StatusPartialPayout, StatusPayment, StatusSplit:
		return true
	}
	return false
}
