package rebilly

import (
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
)

// EventType names what a confirmed transaction is, for the event subject:
// sale and capture are deposits, a credit paying a payout request is a
// payout, anything undocumented is "other" (kept, never dropped).
func EventType(t *Transaction) string {
	switch t.Type {
	case TypeSale, TypeCapture:
		return EventDeposit
	case TypeAuthorize:
		return EventAuthorization
	case TypeRefund:
		return EventRefund
	case TypeCredit:
		if t.PayoutRequestID != "" {
			return EventPayout
		}
	}
	return EventOther
}

// EventKey is the dedup key (and Nats-Msg-Id) of a confirmed transaction:
// organization, id and revision of the GET that confirmed it, so the same
// state published twice is one event and every change is a new one. A
// transaction without a revision (the spec has one; tolerated) is keyed by
// its updatedTime and result instead, so its changes are not merged.
func EventKey(organizationID string, t *Transaction) string {
	if t.Revision == 0 {
		return "rebilly:" + organizationID + ":" + t.ID + ":t" + t.UpdatedTime + ":" + t.Result
	}
	return "rebilly:" + organizationID + ":" + t.ID + ":" + strconv.FormatInt(t.Revision, 10)
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
