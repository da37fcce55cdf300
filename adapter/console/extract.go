package console

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/praxis-adapter/praxis-adapter/adapter/deadletter"
	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Search key kinds: what the timeline can be searched by.
const (
	KeyTID     = "tid"   // a Praxis tid (also a refund's reference, a withdrawal request)
	KeyOrder   = "order" // an order id
	KeyCID     = "cid"   // a customer id
	KeyCommand = "cmd"   // a command id
)

// Families of messages on the timeline.
const (
	FamilyEvent      = "event"
	FamilyCommand    = "command"
	FamilyResult     = "result"
	FamilyDeadLetter = "dead letter"
	FamilyLedger     = "ledger"
	FamilyAudit      = "audit"
	FamilyOther      = "other"
)

// Key is one search key of a message.
type Key struct {
	Kind  string `json:"k"`
	Value string `json:"v"`
}

// Extracted is what the indexer keeps of a message: its family, the keys
// it is found by, and a few key fields to show. Never a body: Fields hold
// only identifiers, statuses, amounts and reasons (no customer data).
type Extracted struct {
	Family string
	Label  string
	Keys   []Key
	Fields map[string]string
}

// Extractor reads one family of messages. Subject, headers and body are
// the message's; it returns ok=false for a message it cannot read (the
// message is then indexed by the generic walk alone).
type Extractor func(subject string, h nats.Header, body []byte) (Extracted, bool)

// DefaultExtractors maps a subject prefix to the family's extractor; the
// longest matching prefix wins. New families (held or suspect ledger
// records, say) plug in here; anything else is read by the generic walk,
// which already finds tid, order_id, cid and reference fields.
func DefaultExtractors() map[string]Extractor {
	return map[string]Extractor{
		subjects.Root + ".events.":   extractEvent,
		subjects.Root + ".commands.": extractCommand,
		subjects.Root + ".results.":  extractResult,
		subjects.Root + ".dlq.":      extractDeadLetter,
		subjects.Root + ".ledger.":   extractLedger,
		// Every provider's instructions share one schema (provider says whose).
		subjects.Rebilly.String() + ".ledger.": extractLedger,
		subjects.Root + ".audit.":              extractAudit,
	}
}

// extract runs the matching extractor and the generic walk.
func extract(exs map[string]Extractor, subject string, h nats.Header, body []byte) Extracted {
	best := ""
	for p := range exs {
		if strings.HasPrefix(subject, p) && len(p) > len(best) {
			best = p
		}
	}
	var x Extracted
	ok := false
	if best != "" {
		x, ok = exs[best](subject, h, body)
	}
	if !ok {
		x = Extracted{Family: FamilyOther, Label: subject}
	}
	if x.Fields == nil {
		x.Fields = map[string]string{}
	}
	var doc any
	if json.Unmarshal(body, &doc) == nil {
		if m, ok := doc.(map[string]any); ok && x.Family == FamilyEvent {
			// An event's data is the provider's body: only the ingress's
			// strict decoder reads it. Its verified key fields are the
			// envelope's extension attributes (praxistid, praxisorderid).
			delete(m, "data")
		}
		walkKeys(doc, 0, &x)
	}
	x.Keys = dedupKeys(x.Keys)
	return x
}

// piiSubtrees are never walked: they hold customer data, not identifiers.
var piiSubtrees = map[string]bool{"customer_data": true, "customer": true, "card": true, "wallet": true,
	"billing_address": true, "billing_info": true}

// walkKeys finds identifier fields anywhere (depth ≤ 4): tid, references,
// order ids, customer ids, and the decoder's praxistid extension.
func walkKeys(v any, depth int, x *Extracted) {
	if depth > 4 {
		return
	}
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			switch k {
			case "tid", "reference_id", "reference_tid", "withdrawal_request_id", "praxistid":
				if s := scalar(c); s != "" && s != "0" {
					x.Keys = append(x.Keys, Key{KeyTID, s})
				}
			case "order_id", "praxisorderid":
				if s := scalar(c); s != "" {
					x.Keys = append(x.Keys, Key{KeyOrder, s})
				}
			case "cid", "praxiscid":
				if s := scalar(c); s != "" {
					x.Keys = append(x.Keys, Key{KeyCID, s})
				}
			default:
				if !piiSubtrees[k] {
					walkKeys(c, depth+1, x)
				}
			}
		}
	case []any:
		for i, c := range t {
			if i >= 20 {
				return
			}
			walkKeys(c, depth+1, x)
		}
	}
}

// scalar renders a JSON string or number as text ("" for anything else).
func scalar(v any) string {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case json.Number:
		return t.String()
	}
	return ""
}

func dedupKeys(keys []Key) []Key {
	seen := map[Key]bool{}
	out := keys[:0]
	for _, k := range keys {
		if k.Value == "" || len(k.Value) > 200 || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, k)
	}
	return out
}

// object decodes a JSON object loosely (numbers as float64).
func object(body []byte) map[string]any {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	return m
}

func sub(m map[string]any, key string) map[string]any {
	s, _ := m[key].(map[string]any)
	return s
}

func str(m map[string]any, key string) string {
	if m == nil {
		return ""
	}
	return scalar(m[key])
}

// setIf copies non-empty values into fields.
func setIf(f map[string]string, kv ...string) {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			f[kv[i]] = kv[i+1]
		}
	}
}

// tail returns the subject after prefix and the <app> token (e.g.
// praxis.results.sandbox.refund.create → "refund.create").
func tail(subject, prefix string) string {
	rest := strings.TrimPrefix(subject, prefix)
	if _, after, ok := strings.Cut(rest, "."); ok {
		return after
	}
	return rest
}

func extractEvent(subject string, _ nats.Header, body []byte) (Extracted, bool) {
	m := object(body)
	if m == nil {
		return Extracted{}, false
	}
	// The envelope only: the verified key fields ride as extension
	// attributes, so the provider's body (data) is never parsed here.
	x := Extracted{Family: FamilyEvent, Label: tail(subject, subjects.Root+".events."), Fields: map[string]string{}}
	setIf(x.Fields, "event_id", str(m, "id"), "status", str(m, "praxisstatus"),
		"amount", str(m, "praxisamount"), "currency", str(m, "praxiscurrency"), "processor", str(m, "praxisprocessor"))
	return x, true
}

func extractCommand(subject string, h nats.Header, body []byte) (Extracted, bool) {
	m := object(body)
	if m == nil {
		return Extracted{}, false
	}
	x := Extracted{Family: FamilyCommand, Label: tail(subject, subjects.Root+".commands."), Fields: map[string]string{}}
	if id := str(m, "id"); id != "" {
		x.Keys = append(x.Keys, Key{KeyCommand, id})
	}
	setIf(x.Fields, "amount", str(m, "amount"), "currency", str(m, "currency"), "intent", str(m, "intent"),
		"replayed_from_dead_letter", h.Get(deadletter.HeaderReplayedFrom))
	return x, true
}

func extractResult(subject string, _ nats.Header, body []byte) (Extracted, bool) {
	m := object(body)
	if m == nil {
		return Extracted{}, false
	}
	x := Extracted{Family: FamilyResult, Label: tail(subject, subjects.Root+".results."), Fields: map[string]string{}}
	if id := str(m, "id"); id != "" {
		x.Keys = append(x.Keys, Key{KeyCommand, id})
	}
	if p := sub(m, "praxis"); p != nil {
		setIf(x.Fields, "praxis_status", str(p, "status"))
	}
	setIf(x.Fields, "outcome", str(m, "outcome"), "reason", str(m, "reason"), "status", str(m, "transaction_status"),
		"amount", str(m, "amount"), "currency", str(m, "currency"))
	for _, flag := range []string{"replayed", "reconciled"} {
		if b, _ := m[flag].(bool); b {
			x.Fields[flag] = "yes"
		}
	}
	return x, true
}

func extractDeadLetter(subject string, h nats.Header, body []byte) (Extracted, bool) {
	x := Extracted{Family: FamilyDeadLetter, Label: tail(subject, subjects.Root+".dlq."), Fields: map[string]string{}}
	if id := h.Get(worker.HeaderDLQCommandID); id != "" {
		x.Keys = append(x.Keys, Key{KeyCommand, id})
	} else if id := str(object(body), "id"); id != "" {
		x.Keys = append(x.Keys, Key{KeyCommand, id})
	}
	setIf(x.Fields, "outcome", h.Get(worker.HeaderDLQOutcome), "reason", h.Get(worker.HeaderDLQReason),
		"attempts", h.Get(worker.HeaderDLQAttempts))
	return x, true
}

func extractLedger(subject string, _ nats.Header, body []byte) (Extracted, bool) {
	m := object(body)
	if m == nil {
		return Extracted{}, false
	}
	prefix, _, _ := strings.Cut(subject, ".")
	x := Extracted{Family: FamilyLedger, Label: tail(subject, prefix+".ledger."), Fields: map[string]string{}}
	setIf(x.Fields, "instruction_id", str(m, "id"), "amount", str(m, "amount"), "currency", str(m, "currency"),
		"fee", str(m, "fee"), "praxis_status", str(m, "praxis_status"), "review", str(m, "review"), "reason", str(m, "reason"),
		"provider", str(m, "provider"), "transaction_id", str(m, "transaction_id"), "provider_status", str(m, "provider_status"))
	return x, true
}

func extractAudit(subject string, _ nats.Header, body []byte) (Extracted, bool) {
	m := object(body)
	if m == nil {
		return Extracted{}, false
	}
	x := Extracted{Family: FamilyAudit, Label: str(m, "action"), Fields: map[string]string{}}
	if id := str(m, "command_id"); id != "" {
		x.Keys = append(x.Keys, Key{KeyCommand, id})
	}
	setIf(x.Fields, "who", str(m, "who"), "why", str(m, "why"), "outcome", str(m, "outcome"), "detail", str(m, "detail"))
	return x, true
}
