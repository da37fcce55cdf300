package rebilly

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"time"
)

// ReverseSelection is what a reverse withdrawal cancels.
type ReverseSelection struct {
	// Cancel lists the payout requests to cancel, oldest first.
	Cancel []PayoutRequest
	// Total is their sum in minor units (≤ the amount asked for).
	Total int64
	// Pending is the sum of every eligible request: the most a reverse
	// withdrawal could give back (Cashier.pendingPayoutTotal).
	Pending int64
}

// SelectReverse picks the payout requests a reverse withdrawal of up to
// limit minor units cancels. It mirrors Rebilly's storefront operation
// (API.md §4: "cancels oldest first up to that amount"; no amount cancels
// all): only requests of currency in status pending are eligible, they are
// taken oldest first (createdTime, then id, so equal times are stable), and
// the walk stops at the first request that would overshoot — a younger,
// smaller request is never cancelled ahead of an older one, and a request is
// cancelled whole or not at all. limit ≤ 0 means everything pending.
//
// It is a pure function: the caller lists the requests
// (Client.PendingPayoutRequests), cancels each selected one by id, and,
// because a cancel whose outcome is unknown is settled by reading the
// request again, can rerun the selection on a fresh list at any time.
func SelectReverse(requests []PayoutRequest, currency string, limit int64) ReverseSelection {
	eligible := make([]PayoutRequest, 0, len(requests))
	seen := map[string]bool{}
	for _, p := range requests {
		if p.Status != PayoutPending || p.Currency != currency || p.AmountMinor <= 0 || seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		eligible = append(eligible, p)
	}
	sort.SliceStable(eligible, func(i, j int) bool {
		a, b := eligible[i], eligible[j]
		if c := compareTimes(a.CreatedTime, b.CreatedTime); c != 0 {
			return c < 0
		}
		return a.ID < b.ID
	})
	var out ReverseSelection
	stopped := false
	for _, p := range eligible {
		out.Pending += p.AmountMinor
		if stopped {
			continue
		}
		if limit > 0 && out.Total+p.AmountMinor > limit {
			stopped = true
			continue
		}
		out.Cancel = append(out.Cancel, p)
		out.Total += p.AmountMinor
	}
	return out
}

// compareTimes orders two RFC 3339 timestamps by instant (offsets and
// fractions differ in spelling); one that does not parse sorts as text.
func compareTimes(a, b string) int {
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	if errA != nil || errB != nil {
		return strings.Compare(a, b)
	}
	return ta.Compare(tb)
}

// RequestIDFor derives the requestId of a command from its id, the same on
// every attempt, so Rebilly dedupes a repeated create (API.md §8: at most
// 50 characters of ^[\-\w]+$). An id that already fits, and does not start
// with the "x-" reserved here, is used as it is (operators can match it);
// any other becomes "x-" and 48 hex digits of its SHA-256.
func RequestIDFor(commandID string) string {
	if len(commandID) <= maxIDLength && commandID != "" && !(len(commandID) >= 2 && commandID[:2] == "x-") && requestIDChars(commandID) {
		return commandID
	}
	sum := sha256.Sum256([]byte(commandID))
	return "x-" + hex.EncodeToString(sum[:24])
}

// ValidRequestID reports whether id may be sent as a requestId (API.md
// §3.2: at most 50 characters of ^[\-\w]+$).
func ValidRequestID(id string) bool {
	return id != "" && len(id) <= maxIDLength && requestIDChars(id)
}

func requestIDChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// RefundsOf settles a refund whose outcome is unknown without repeating it
// (API.md §8: "re-read the parent's childTransactions"): it reads the
// parent and each child, and returns the children of type refund. A caller
// compares them with what it knew before the call.
func (c *Client) RefundsOf(ctx context.Context, parentID string) ([]*Response[Transaction], error) {
	parent, err := c.GetTransaction(ctx, parentID)
	if err != nil {
		return nil, err
	}
	var out []*Response[Transaction]
	for _, id := range parent.Value.ChildTransactions {
		child, err := c.GetTransaction(ctx, id)
		if err != nil {
			return nil, err
		}
		if child.Value.Type == TypeRefund && child.Value.ParentTransactionID == parentID {
			out = append(out, child)
		}
	}
	return out, nil
}
