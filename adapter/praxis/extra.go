package praxis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Extra keeps the fields of a Praxis object that our structs do not name, so
// a field Praxis adds tomorrow survives decoding and re-encoding.
type Extra map[string]json.RawMessage

// FlexString accepts a JSON string or number and keeps its text. Praxis
// documents some fields as strings but its own examples print them as
// numbers (conversion_rate, phone, the subscription webhook's version).
type FlexString string

// UnmarshalJSON accepts a string, a number (kept as its token text) or null.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return fmt.Errorf("empty value")
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexString(s)
	case string(b) == "null":
		*f = ""
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = FlexString(n)
	default:
		return fmt.Errorf("want a string or a number, got %s", b)
	}
	return nil
}

// keySet holds the JSON field names of one struct type. Each set is built
// once, at package initialisation, and only read afterwards.
type keySet map[string]struct{}

// Key sets of every type that keeps extra fields (read-only lookup tables).
var (
	customerKeys            = jsonKeys(reflect.TypeOf(Customer{}))
	customerDataKeys        = jsonKeys(reflect.TypeOf(CustomerData{}))
	sessionKeys             = jsonKeys(reflect.TypeOf(Session{}))
	transactionKeys         = jsonKeys(reflect.TypeOf(Transaction{}))
	cardKeys                = jsonKeys(reflect.TypeOf(Card{}))
	walletKeys              = jsonKeys(reflect.TypeOf(Wallet{}))
	mitKeys                 = jsonKeys(reflect.TypeOf(MIT{}))
	transactionAttemptKeys  = jsonKeys(reflect.TypeOf(TransactionAttempt{}))
	sessionRequestKeys      = jsonKeys(reflect.TypeOf(SessionRequest{}))
	sessionResponseKeys     = jsonKeys(reflect.TypeOf(SessionResponse{}))
	transactionResponseKeys = jsonKeys(reflect.TypeOf(TransactionResponse{}))
	notificationKeys        = jsonKeys(reflect.TypeOf(Notification{}))
	validationRequestKeys   = jsonKeys(reflect.TypeOf(ValidationRequest{}))
	customerSyncRequestKeys = jsonKeys(reflect.TypeOf(CustomerSyncRequest{}))
	customerSyncReplyKeys   = jsonKeys(reflect.TypeOf(CustomerSyncReply{}))
	subscriptionKeys        = jsonKeys(reflect.TypeOf(SubscriptionNotification{}))
)

// unmarshalKeep decodes b into v (a method-free alias of the real type) and
// collects the keys that are not in known into extra; nested, when set, is
// called with each known key's raw value so nested objects can collect
// theirs. Unknown keys are found with the scanner, so no map of the whole
// object is built.
func unmarshalKeep(b []byte, v any, known keySet, extra *Extra, nested func(key string, value []byte) error) error {
	if err := json.Unmarshal(b, v); err != nil {
		return err
	}
	return collectExtra(b, known, extra, nested)
}

// collectExtra walks b's top-level keys once: unknown ones go to extra,
// known ones holding an object go to nested.
func collectExtra(b []byte, known keySet, extra *Extra, nested func(key string, value []byte) error) error {
	*extra = nil
	var firstErr error
	err := forEachKey(b, func(key, value []byte) {
		name := key[1 : len(key)-1]
		k, isKnown := "", false
		if bytes.IndexByte(name, '\\') >= 0 {
			if json.Unmarshal(key, &k) != nil {
				return
			}
			_, isKnown = known[k]
		} else if _, isKnown = known[string(name)]; isKnown && nested != nil && len(value) > 0 && value[0] == '{' {
			k = string(name)
		}
		if isKnown {
			if nested != nil && k != "" && len(value) > 0 && value[0] == '{' {
				if err := nested(k, value); err != nil && firstErr == nil {
					firstErr = err
				}
			}
			return
		}
		if k == "" {
			k = string(name)
		}
		if *extra == nil {
			*extra = make(Extra)
		}
		(*extra)[k] = append(json.RawMessage(nil), value...)
	})
	if err != nil {
		return err
	}
	return firstErr
}

// marshalKeep encodes v and appends the extra keys (sorted, for stable
// output) that v does not already carry.
func marshalKeep(v any, known keySet, extra Extra) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if _, ok := known[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return b, nil
	}
	var out bytes.Buffer
	out.Write(b[:len(b)-1]) // drop the closing brace
	first := len(b) == 2    // "{}"
	for _, k := range keys {
		if !first {
			out.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		out.Write(kb)
		out.WriteByte(':')
		out.Write(extra[k])
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

func jsonKeys(t reflect.Type) keySet {
	keys := make(keySet, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k := range jsonKeys(f.Type) {
				keys[k] = struct{}{}
			}
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		keys[name] = struct{}{}
	}
	return keys
}
