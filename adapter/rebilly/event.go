package rebilly

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
)

// Event types a confirmed transaction is published as (the <type> token of
// an event subject; the same words as Praxis events use).
const (
	EventDeposit       = "deposit"
	EventAuthorization = "authorization"
	EventRefund        = "refund"
	EventPayout        = "payout"
	EventOther         = "other"
	// EventWithdrawal is a payout request itself (the customer's request
	// to be paid), published from GET /payout-requests/{id}.
	EventWithdrawal = "withdrawal"
)

// EventType names what a confirmed transaction is, for the event subject
// (the contract between the ingress and the ledger): sale and capture are
// deposits, a credit is a payout (POST /payouts and a payout request's
// credit alike pay the customer out), anything else, a void included, is
// "other" (kept, never dropped).
func EventType(t *Transaction) string {
	switch t.Type {
	case TypeSale, TypeCapture:
		return EventDeposit
	case TypeAuthorize:
		return EventAuthorization
	case TypeRefund:
		return EventRefund
	case TypeCredit:
		return EventPayout
	}
	return EventOther
}

// EventKey is the dedup key (and Nats-Msg-Id) of a confirmed transaction,
// rebilly:<organization>:t:<id>:<revision> of the GET that confirmed it, so
// the same state published twice is one event and every change is a new
// one. A transaction without a revision (the spec has one; tolerated) is
// keyed by its updatedTime and result instead (rebilly:<org>:t:<id>:u<time>:
// <result>), so its changes are not merged.
func EventKey(organizationID string, t *Transaction) string {
	if t.Revision == 0 {
		return "rebilly:" + organizationID + ":t:" + t.ID + ":u" + keyTime(t.UpdatedTime) + ":" + keyTime(t.Result)
	}
	return "rebilly:" + organizationID + ":t:" + t.ID + ":" + strconv.FormatInt(t.Revision, 10)
}

// PayoutEventKey is the dedup key (and Nats-Msg-Id) of a confirmed payout
// request, rebilly:<organization>:p:<id>:<updatedTime>: a payout request
// has no revision, and every change moves its updatedTime. Without an
// updatedTime (tolerated) the status stands in (…:p:<id>:s<status>).
func PayoutEventKey(organizationID string, p *PayoutRequest) string {
	if p.UpdatedTime == "" {
		return "rebilly:" + organizationID + ":p:" + p.ID + ":s" + keyTime(p.Status)
	}
	return "rebilly:" + organizationID + ":p:" + p.ID + ":" + keyTime(p.UpdatedTime)
}

// maxKeyPart bounds a provider-chosen part of a key (a time or a status),
// so a key always fits a NATS header and the idempotency store.
const maxKeyPart = 64

// keyTime returns a provider-chosen key part as it is when it is at most
// maxKeyPart printable ASCII bytes, else "~" and the hex of the first 8
// bytes of its SHA-256: keys stay bounded and header-safe, and distinct
// values stay distinct.
func keyTime(s string) string {
	ok := len(s) <= maxKeyPart
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] > ' ' && s[i] < 0x7f
	}
	if ok {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "~" + hex.EncodeToString(sum[:8])
}

// ErrBadNotification means a notificationUrl call names no usable
// transaction id.
var ErrBadNotification = errors.New("rebilly notification names no valid transaction id")

// NotificationID reads the transaction id of a notificationUrl call
// registered as ...?id={id}&result={result} (API.md §6). The result is
// deliberately not returned: it is untrusted, and the GET that confirms
// the id says what happened. Exactly one id parameter is accepted, so a
// crafted URL cannot name two.
func NotificationID(r *http.Request) (string, error) {
	ids := r.URL.Query()["id"]
	if len(ids) != 1 || !ValidID(ids[0]) {
		return "", ErrBadNotification
	}
	return ids[0], nil
}
