package cloudevent

import (
	"encoding/json"
	"time"
)

// CloudEvents types of the Rebilly events the ingress publishes: data is
// the body of GET /transactions/{id} or GET /payout-requests/{id}.
const (
	TypeRebillyTransaction   = "com.rebilly.transaction"
	TypeRebillyPayoutRequest = "com.rebilly.payout_request"
)

// Extension attributes of a Rebilly event (the contract between the
// ingress and the ledger). They are read from the GET that confirmed the
// event, the one source of truth; still, money is booked from data
// (rebilly.Decode), never from these.
const (
	AttrRebillyID       = "rebillyid"       // transaction or payout request id
	AttrRebillyRevision = "rebillyrevision" // transaction revision, decimal
	AttrRebillyResult   = "rebillyresult"   // transaction result
	AttrRebillyStatus   = "rebillystatus"   // transaction or payout request status
	AttrRebillyAmount   = "rebillyamount"   // amount in minor units, decimal
	AttrRebillyCurrency = "rebillycurrency" // ISO 4217
	AttrRebillyType     = "rebillytype"     // transaction type (sale, refund, credit, ...)
)

// RebillySource is the CloudEvents source of an organization's events.
func RebillySource(organizationID string) string { return "rebilly/" + organizationID }

// RebillyEvent is a decoded Rebilly envelope (contracts/schemas/
// cloudevent.rebilly.json). Numbers are decimal strings, as CloudEvents
// integers are 32-bit. Revision, Result and TxType are absent on payout
// request events.
type RebillyEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	DataSchema      string          `json:"dataschema"`
	RebillyID       string          `json:"rebillyid"`
	Revision        string          `json:"rebillyrevision,omitempty"`
	Result          string          `json:"rebillyresult,omitempty"`
	Status          string          `json:"rebillystatus"`
	Amount          string          `json:"rebillyamount"`
	Currency        string          `json:"rebillycurrency"`
	TxType          string          `json:"rebillytype,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// DecodeRebilly parses a Rebilly envelope. Its data is still to be read
// with rebilly.Decode, the one reader of Rebilly bodies.
func DecodeRebilly(b []byte) (*RebillyEvent, error) {
	var e RebillyEvent
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	return &e, nil
}
