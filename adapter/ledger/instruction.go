package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/lifecycle"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/processor"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Instruction is the JSON payload on praxis.ledger.<app>.<kind>: the
// lifecycle's instruction with its id and application. ID is
// deterministic (<app>:<anchor>:<movement>) and is the Nats-Msg-Id, so a
// consumer can also drop a copy by id.
type Instruction struct {
	ID          string `json:"id"`
	Application string `json:"application"`
	lifecycle.Instruction
}

// outboxEntry is an Instruction as the state record keeps it, with when it
// was staged (to spot outboxes older than the duplicate window).
type outboxEntry struct {
	Instruction
	StagedAt time.Time `json:"staged_at"`
	// Review, when set, is a review record (a hold's announcement or a
	// decision's audit) staged instead of an instruction.
	Review *Review `json:"review,omitempty"`
}

// stateRecord is what the service stores per anchor: the provider's
// state of the anchor and its outbox.
type stateRecord[S any] struct {
	State  S             `json:"state"`
	Outbox []outboxEntry `json:"outbox,omitempty"`
}

// record is a Praxis anchor's record.
type record = stateRecord[lifecycle.State]

// errUnusable marks an event the ledger can never book: it is terminated
// (kept in PRAXIS_EVENTS for an operator), not retried.
var errUnusable = errors.New("unusable event")

// parsed is one event, decoded.
type parsed struct {
	app    string // application name (subject token)
	typ    string // event <type> token
	in     lifecycle.Input
	order  string // the session's order id (refund links)
	badFee string // a fee that is not an integer (kept out of the instruction)
}

// moneyTypes are the event types the ledger books.
func moneyType(typ string) bool {
	switch typ {
	case subjects.TypeDeposit, subjects.TypePayout, subjects.TypeRefund, subjects.TypeAuthorization,
		subjects.TypeWithdrawal, subjects.TypeOther:
		return true
	}
	return false
}

// eventTokens splits praxis.events.<app>.<type>.<status>.
func eventTokens(subject string) (app, typ string, ok bool) {
	rest, ok := strings.CutPrefix(subject, subjects.Root+".events.")
	if !ok {
		return "", "", false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// parse decodes an event into a lifecycle input. skip is true for events
// that carry no money; an error wraps errUnusable.
func parse(subject string, data []byte, mapper *processor.Mapper) (p parsed, skip bool, err error) {
	app, typ, ok := eventTokens(subject)
	if !ok {
		return p, false, fmt.Errorf("%w: subject %q is not praxis.events.<app>.<type>.<status>", errUnusable, subject)
	}
	p.app, p.typ = app, typ
	if !moneyType(typ) {
		return p, true, nil
	}
	ev, err := cloudevent.Decode(data)
	if err != nil {
		return p, false, fmt.Errorf("%w: not a CloudEvent: %v", errUnusable, err)
	}
	if ev.ID == "" {
		return p, false, fmt.Errorf("%w: CloudEvent without an id", errUnusable)
	}
	if ev.Application != "" && subjects.AppName(ev.Application) != app {
		return p, false, fmt.Errorf("%w: CloudEvent application %q does not match the subject's %q", errUnusable, ev.Application, app)
	}
	n, err := praxis.Decode[praxis.Notification]([]byte(ev.Data))
	if err != nil {
		return p, false, fmt.Errorf("%w: event %s: data is not a Praxis notification: %v", errUnusable, ev.ID, err)
	}
	tx := n.Transaction
	if tx == nil {
		return p, true, nil // a session-level notification: no money
	}
	sess := n.Session
	if sess == nil {
		sess = &praxis.Session{}
	}
	in, badFee := transactionInput(tx, sess, mapper)
	in.EventID, in.Time, p.badFee = ev.ID, ev.Time, badFee
	if n.Timestamp > 0 {
		in.Time = time.Unix(n.Timestamp, 0).UTC()
	}
	if ev.Processor != "" {
		in.Processor = ev.Processor
	}
	if in.TID <= 0 {
		return p, false, fmt.Errorf("%w: event %s: transaction.tid %d is not a positive integer", errUnusable, ev.ID, in.TID)
	}
	p.in, p.order = in, sess.OrderID
	return p, false, nil
}

// transactionInput is the lifecycle input a Praxis transaction and its
// session say, read the same way from a notification and from a lookup
// (the event id, time and apply key are the caller's): a fee that is not
// an integer is returned as badFee and left out.
func transactionInput(tx *praxis.Transaction, sess *praxis.Session, mapper *processor.Mapper) (in lifecycle.Input, badFee string) {
	in = lifecycle.Input{
		Type: tx.TransactionType, Status: tx.TransactionStatus, TID: tx.TID, Amount: tx.Amount, Currency: tx.Currency,
		OrderID: sess.OrderID, CID: sess.CID, PaymentMethod: tx.PaymentMethod,
	}
	if tx.WithdrawalRequestID != nil {
		in.WithdrawalRequestID = *tx.WithdrawalRequestID
	}
	in.Request = subjects.EventType(tx.TransactionType, sess.Intent, tx.WithdrawalRequestID != nil, true) == subjects.TypeWithdrawal
	if raw, ok := tx.Extra["reference_id"]; ok {
		// UNCONFIRMED: Praxis documents reference_id on the refund request only.
		var ref int64
		if json.Unmarshal(raw, &ref) == nil && ref > 0 {
			in.ReferenceTID = ref
		}
	}
	if fee := strings.TrimSpace(string(tx.Fee)); fee != "" {
		if v, err := strconv.ParseInt(fee, 10, 64); err == nil {
			in.Fee = &v
		} else {
			badFee = fee
		}
	}
	name := tx.PaymentProcessor
	if name == "" {
		name = tx.Gateway
	}
	in.Processor = mapper.Name(name)
	return in, badFee
}
