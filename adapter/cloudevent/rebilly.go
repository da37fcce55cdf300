package cloudevent

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
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

// RebillyTransaction is the envelope of a transaction confirmed by GET
// /transactions/{id}: raw is that GET's body (Response.Raw), embedded byte
// for byte; the id is rebilly.EventKey (also the Nats-Msg-Id); at is when
// the triggering call arrived; dataSchema names data's contract. The
// ingress publishes it, and tests of consumers build the same bytes.
func RebillyTransaction(organizationID string, tx *rebilly.Transaction, raw []byte, at time.Time, dataSchema string) Fields {
	ext := make([]Extension, 0, 7)
	ext = append(ext, Extension{AttrRebillyID, tx.ID})
	if tx.Revision > 0 {
		ext = append(ext, Extension{AttrRebillyRevision, strconv.FormatInt(tx.Revision, 10)})
	}
	ext = append(ext,
		Extension{AttrRebillyResult, tx.Result},
		Extension{AttrRebillyStatus, tx.Status},
		Extension{AttrRebillyAmount, strconv.FormatInt(tx.AmountMinor, 10)},
		Extension{AttrRebillyCurrency, tx.Currency},
		Extension{AttrRebillyType, tx.Type},
	)
	return Fields{ID: rebilly.EventKey(organizationID, tx), Source: RebillySource(organizationID), Type: TypeRebillyTransaction,
		Subject: tx.ID, Time: at, DataSchema: dataSchema, Extensions: ext, Data: raw}
}

// RebillyPayoutRequest is the envelope of a payout request confirmed by
// GET /payout-requests/{id}, as RebillyTransaction (id: rebilly.PayoutEventKey).
func RebillyPayoutRequest(organizationID string, p *rebilly.PayoutRequest, raw []byte, at time.Time, dataSchema string) Fields {
	return Fields{ID: rebilly.PayoutEventKey(organizationID, p), Source: RebillySource(organizationID), Type: TypeRebillyPayoutRequest,
		Subject: p.ID, Time: at, DataSchema: dataSchema, Data: raw,
		Extensions: []Extension{
			{AttrRebillyID, p.ID},
			{AttrRebillyStatus, p.Status},
			{AttrRebillyAmount, strconv.FormatInt(p.AmountMinor, 10)},
			{AttrRebillyCurrency, p.Currency},
		}}
}
