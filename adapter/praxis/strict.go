package praxis

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Strict reading. Every reader of a Praxis body (the ingress's scanner,
// Decode for the ledger, the CLI and the client) goes through the same
// scanner, which refuses what two JSON parsers could read differently:
//
//   - a key that repeats in one object, at any depth, where "repeats" means
//     equal under Unicode case folding (strings.EqualFold), so `"tid"` twice
//     and `"tid"` with `"TID"` are both refused;
//   - a key that is not byte-identical to a field the message's schema
//     knows at that level but equals one under case folding (`"TID"`,
//     `"AMOUNT"`, `"ſession"`, `"\u212Aey"`): encoding/json would read it as
//     that field, a case-sensitive reader would not;
//   - invalid UTF-8 anywhere, and \u escapes that are lone surrogates;
//   - a known field whose JSON kind its Go type cannot hold (so a body the
//     scanner accepts always decodes), and a signed field that breaks its
//     strict format (currency, integer amounts, tid, decimal rate,
//     timestamp).

// Errors of strict reading, wrapped by a *KeyError that names the key.
var (
	// ErrAmbiguousKey means a key repeats or differs from a known field
	// only in case, so parsers could disagree on the value.
	ErrAmbiguousKey = errors.New("ambiguous key")
	// ErrFieldFormat means a known field holds a value of the wrong kind or
	// format.
	ErrFieldFormat = errors.New("field has the wrong type or format")
)

// KeyError names the dot path of the key that strict reading refused and
// says why. It never quotes a field's value (values may be PII).
type KeyError struct {
	// Path is the dot path of the key as it appears in the body.
	Path string
	// Problem says what is wrong, in words for the sender.
	Problem string
	// Err is ErrAmbiguousKey or ErrFieldFormat.
	Err error
}

func (e *KeyError) Error() string { return e.Path + ": " + e.Problem }

// Unwrap lets callers branch with errors.Is.
func (e *KeyError) Unwrap() error { return e.Err }

// maxKeyInError bounds how much of a hostile key an error repeats.
const maxKeyInError = 64

// keyForError renders a key for an error message: bounded, and with
// anything outside printable ASCII escaped.
func keyForError(k []byte) string {
	s := string(k)
	if len(s) > maxKeyInError {
		s = s[:maxKeyInError] + "…"
	}
	q := fmt.Sprintf("%+q", s)
	return q[1 : len(q)-1]
}

// prefixKey prepends a parent key to a KeyError's path as it bubbles up.
func prefixKey(err error, key []byte) error {
	var ke *KeyError
	if errors.As(err, &ke) {
		ke.Path = keyForError(key) + "." + ke.Path
	}
	return err
}

// Format is the strict format a signed field's value must have.
type Format uint8

// The formats. FormatNone checks only the JSON kind the Go type needs.
const (
	FormatNone Format = iota
	// FormatCurrency is an ISO 4217 code: ^[A-Z]{3}$.
	FormatCurrency
	// FormatID is a positive integer of at most 18 digits (tid).
	FormatID
	// FormatDecimal is a non-negative decimal, as a string or a number,
	// without leading zeros: ^(0|[1-9][0-9]*)(\.[0-9]+)?$ (conversion_rate).
	// Refusing "01.5" stops digits moving from amount into the rate.
	FormatDecimal
	// FormatTimestamp is a positive integer number of Unix seconds.
	FormatTimestamp
	// FormatNonNegative is an integer >= 0 of at most 18 digits (amounts,
	// withdrawal_request_id): the ledger refuses negative ones.
	FormatNonNegative
)

// kindSet is a bit set of Kinds.
type kindSet uint8

func kinds(ks ...Kind) kindSet {
	var s kindSet
	for _, k := range ks {
		s |= 1 << k
	}
	return s
}

func (s kindSet) has(k Kind) bool { return s&(1<<k) != 0 }

// Schema is the set of fields a message type knows, level by level, built
// once from the Go struct's json tags. It is immutable and safe for
// concurrent use.
type Schema struct {
	name  string
	root  *schemaNode
	check *Paths // no paths: Check's reader
}

type schemaNode struct {
	fields map[string]*schemaField // exact key
	n      int
	// byLen and foldedByLen index the fields by key length for the
	// scanner's hot path (a map lookup per key cost more than the scan).
	byLen       [][]fieldEntry
	foldedByLen [][]foldedName
}

// fieldEntry is a field with the first 8 bytes of its name as a word, so
// a lookup compares one integer before any bytes.
type fieldEntry struct {
	prefix uint64
	f      *schemaField
}

// prefixWord loads up to the first 8 bytes of b, zero-padded.
func prefixWord(b []byte) uint64 {
	if len(b) >= 8 {
		return binary.LittleEndian.Uint64(b)
	}
	var w uint64
	for i, c := range b {
		w |= uint64(c) << (8 * i)
	}
	return w
}

type foldedName struct {
	folded, exact string
}

// field finds the field named exactly key, or nil.
func (n *schemaNode) field(key []byte) *schemaField {
	if len(key) >= len(n.byLen) {
		return nil
	}
	bucket := n.byLen[len(key)]
	if len(bucket) == 0 {
		return nil
	}
	p := prefixWord(key)
	for _, e := range bucket {
		if e.prefix == p && (len(key) <= 8 || e.f.name[8:] == string(key[8:])) {
			return e.f
		}
	}
	return nil
}

// foldMatch returns the exact name of the field whose folded name is
// folded, or "".
func (n *schemaNode) foldMatch(folded []byte) string {
	if len(folded) >= len(n.foldedByLen) {
		return ""
	}
	for _, f := range n.foldedByLen[len(folded)] {
		if f.folded == string(folded) {
			return f.exact
		}
	}
	return ""
}

type schemaField struct {
	name    string
	idx     int // position within its node, for duplicate detection
	accept  kindSet
	integer bool // a number must be an integer of at most 18 digits
	format  Format
	child   *schemaNode // object fields: the nested struct's schema
	isArray bool
}

// maxSchemaFields bounds the fields of one object so duplicate detection
// fits in one word.
const maxSchemaFields = 64

var (
	rawMessageType = reflect.TypeOf(json.RawMessage(nil))
	flexStringType = reflect.TypeOf(FlexString(""))
)

// NewSchema builds the schema of a struct type (or pointer to one) from its
// json tags, and applies formats to dot paths. An unknown path or a type
// the builder does not understand is a programming error and panics.
func NewSchema(name string, t reflect.Type, formats map[string]Format) *Schema {
	s := &Schema{name: name, root: buildNode(t, 0)}
	s.check = s.CompilePaths()
	for path, f := range formats {
		n := s.root
		segs := strings.Split(path, ".")
		for i, seg := range segs {
			fld, ok := n.fields[seg]
			if !ok {
				panic("praxis: schema " + name + " has no field " + path)
			}
			if i == len(segs)-1 {
				fld.format = f
				break
			}
			if fld.child == nil {
				panic("praxis: schema " + name + ": " + path + " crosses a non-object")
			}
			n = fld.child
		}
	}
	return s
}

func buildNode(t reflect.Type, depth int) *schemaNode {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || depth > 8 {
		panic("praxis: schema of non-struct " + t.String())
	}
	n := &schemaNode{fields: map[string]*schemaField{}}
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				add(f.Type)
				continue
			}
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fld := &schemaField{name: name, idx: n.n}
			n.n++
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch {
			case ft == rawMessageType:
				fld.accept = ^kindSet(0)
			case ft == flexStringType:
				fld.accept = kinds(KindString, KindNumber)
			case ft.Kind() == reflect.String:
				fld.accept = kinds(KindString)
			case ft.Kind() == reflect.Bool:
				fld.accept = kinds(KindBool)
			case ft.Kind() >= reflect.Int && ft.Kind() <= reflect.Int64:
				fld.accept, fld.integer = kinds(KindNumber), true
			case ft.Kind() == reflect.Struct:
				fld.accept, fld.child = kinds(KindObject), buildNode(ft, depth+1)
			case ft.Kind() == reflect.Slice:
				fld.accept, fld.isArray = kinds(KindArray), true
			default:
				panic("praxis: schema: unsupported type " + ft.String() + " of " + name)
			}
			fld.accept |= kinds(KindNull) // null decodes into anything
			n.fields[name] = fld
		}
	}
	add(t)
	for name, fld := range n.fields {
		folded := string(foldKey(nil, []byte(name)))
		for len(n.byLen) <= len(name) {
			n.byLen = append(n.byLen, nil)
		}
		for len(n.foldedByLen) <= len(folded) {
			n.foldedByLen = append(n.foldedByLen, nil)
		}
		n.byLen[len(name)] = append(n.byLen[len(name)], fieldEntry{prefixWord([]byte(name)), fld})
		n.foldedByLen[len(folded)] = append(n.foldedByLen[len(folded)], foldedName{folded, name})
	}
	if n.n > maxSchemaFields {
		panic("praxis: schema of " + t.String() + " has more than 64 fields")
	}
	return n
}

// Name says which message the schema describes.
func (s *Schema) Name() string { return s.name }

// Check reads body strictly against the schema: one JSON object, valid
// UTF-8, no repeated or case-variant key, every known field of the kind and
// format it must have.
func (s *Schema) Check(body []byte) error {
	return s.check.Extract(body, nil)
}

// CompilePaths is CompilePaths with the schema's strict checks: Extract
// refuses what Check refuses, in the same pass.
func (s *Schema) CompilePaths(paths ...string) *Paths {
	p := CompilePaths(paths...)
	p.schema = s.root
	return p
}

// checkValue checks a known field's value against its type and format.
func (f *schemaField) checkValue(kind Kind, raw []byte) error {
	if !f.accept.has(kind) {
		return &KeyError{Path: f.name, Err: ErrFieldFormat, Problem: fmt.Sprintf("must be %s, got a %s", f.want(), kind)}
	}
	if kind == KindNull {
		return nil
	}
	bad := func(want string) error {
		return &KeyError{Path: f.name, Err: ErrFieldFormat, Problem: "must be " + want}
	}
	if f.integer && kind == KindNumber && !isInteger(raw, 18) {
		return bad("an integer of at most 18 digits")
	}
	switch f.format {
	case FormatCurrency:
		if len(raw) != 5 || !isUpper(raw[1]) || !isUpper(raw[2]) || !isUpper(raw[3]) {
			return bad("a 3-letter upper-case ISO 4217 code")
		}
	case FormatID:
		if !isInteger(raw, 18) || raw[0] == '-' || string(raw) == "0" {
			return bad("a positive integer of at most 18 digits")
		}
	case FormatNonNegative:
		if !isInteger(raw, 18) || raw[0] == '-' {
			return bad("a non-negative integer of at most 18 digits")
		}
	case FormatTimestamp:
		if !isInteger(raw, 12) || raw[0] == '-' || string(raw) == "0" {
			return bad("a positive integer number of Unix seconds")
		}
	case FormatDecimal:
		d := raw
		if kind == KindString {
			d = raw[1 : len(raw)-1]
		}
		if !isDecimal(d) {
			return bad("a decimal such as 1.000000")
		}
	}
	return nil
}

func (f *schemaField) want() string {
	switch {
	case f.child != nil:
		return "an object"
	case f.isArray:
		return "an array"
	case f.integer:
		return "an integer"
	case f.accept.has(KindString) && f.accept.has(KindNumber):
		return "a string or a number"
	case f.accept.has(KindString):
		return "a string"
	case f.accept.has(KindBool):
		return "true or false"
	}
	return "a JSON value"
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// isInteger reports whether a number token is an integer (optionally
// negative) of at most max digits.
func isInteger(raw []byte, max int) bool {
	d := raw
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > max {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isDecimal(d []byte) bool {
	i := 0
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	if i == 0 || i > 18 || (i > 1 && d[0] == '0') {
		return false
	}
	if i == len(d) {
		return true
	}
	if d[i] != '.' {
		return false
	}
	j := i + 1
	for j < len(d) && d[j] >= '0' && d[j] <= '9' {
		j++
	}
	return j > i+1 && j == len(d) && j-i-1 <= 18
}

// foldKey appends the case-folding canonical form of key: every rune
// replaced by the smallest rune of its unicode.SimpleFold orbit, so two
// keys are strings.EqualFold exactly when their canonical forms are equal.
func foldKey(dst, key []byte) []byte {
	for i := 0; i < len(key); {
		c := key[i]
		if c < utf8.RuneSelf {
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(key[i:])
		i += size
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		dst = utf8.AppendRune(dst, min)
	}
	return dst
}

// seenKeys detects repeated keys (under case folding) within one object.
// Known fields are tracked by index; other keys by a 64-bit hash of their
// folded form. Two different keys with the same hash are refused as a
// repeat: harmless, since only a crafted body can collide, and it is refused.
type seenKeys struct {
	known uint64
	// Room for the unknown keys of any genuine Praxis object without
	// allocating; more holds the rest.
	hashes [32]uint64
	n      int
	more   []uint64
}

// addUnknown records the hash of an unknown key's folded form and reports
// whether it was already there.
func (s *seenKeys) addUnknown(hash uint64) bool {
	for _, h := range s.hashes[:min(s.n, len(s.hashes))] {
		if h == hash {
			return true
		}
	}
	for _, h := range s.more {
		if h == hash {
			return true
		}
	}
	if s.n < len(s.hashes) {
		s.hashes[s.n] = hash
	} else {
		s.more = append(s.more, hash)
	}
	s.n++
	return false
}

// isASCII reports whether b is plain ASCII.
func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldHash hashes a key's folded form 8 bytes at a time. With ascii set,
// b is a plain ASCII key and is folded on the fly (a-z to A-Z, in SWAR);
// otherwise b is already folded (foldKey). Both give the same hash for
// the same folded bytes.
func foldHash(b []byte, ascii bool) uint64 {
	h := uint64(len(b)) * 0x9E3779B97F4A7C15
	for len(b) > 0 {
		var w uint64
		if len(b) >= 8 {
			w = binary.LittleEndian.Uint64(b)
			b = b[8:]
		} else {
			for i, c := range b {
				w |= uint64(c) << (8 * i)
			}
			b = nil
		}
		if ascii {
			// Bytes in 'a'..'z' lose 0x20: c+0x1f sets the high bit for
			// c >= 'a', c+0x05 for c > 'z'; no byte carries (c < 0x80).
			lower := (w + 0x1f1f1f1f1f1f1f1f) &^ (w + 0x0505050505050505) & 0x8080808080808080
			w -= lower >> 2
		}
		h = (h ^ w) * 0xff51afd7ed558ccd
		h ^= h >> 33
	}
	return h
}

// checkKey runs the key checks of one object member: it returns the known
// field the key names (nil for an unknown key) or an error naming the key.
func (s *seenKeys) checkKey(n *schemaNode, key []byte) (*schemaField, error) {
	if n != nil {
		if f := n.field(key); f != nil {
			bit := uint64(1) << f.idx
			if s.known&bit != 0 {
				return nil, &KeyError{Path: keyForError(key), Err: ErrAmbiguousKey, Problem: "the key appears more than once"}
			}
			s.known |= bit
			return f, nil
		}
	}
	var hash uint64
	if n != nil || !isASCII(key) {
		var buf [64]byte
		folded := foldKey(buf[:0], key)
		if n != nil {
			if exact := n.foldMatch(folded); exact != "" {
				return nil, &KeyError{Path: keyForError(key), Err: ErrAmbiguousKey,
					Problem: fmt.Sprintf("keys are case-sensitive: this is not the field %q", exact)}
			}
		}
		hash = foldHash(folded, false)
	} else {
		hash = foldHash(key, true)
	}
	if s.addUnknown(hash) {
		return nil, &KeyError{Path: keyForError(key), Err: ErrAmbiguousKey, Problem: "the key appears more than once (keys that differ only in case count as the same)"}
	}
	return nil, nil
}

// Schemas of the messages Praxis sends, with the strict formats of their
// signed fields (SIGNATURE.md §4). Built once at package initialisation,
// read-only afterwards.
var (
	notificationSchema = NewSchema("notification", reflect.TypeOf(Notification{}), map[string]Format{
		"timestamp": FormatTimestamp, "transaction.tid": FormatID,
		"transaction.currency": FormatCurrency, "transaction.processed_currency": FormatCurrency,
		"transaction.conversion_rate": FormatDecimal,
		"transaction.amount":          FormatNonNegative, "transaction.processed_amount": FormatNonNegative,
		"transaction.withdrawal_request_id": FormatNonNegative,
	})
	validationSchema = NewSchema("validation", reflect.TypeOf(ValidationRequest{}), map[string]Format{
		"timestamp":                    FormatTimestamp,
		"transaction_attempt.currency": FormatCurrency, "transaction_attempt.attempted_currency": FormatCurrency,
		"transaction_attempt.conversion_rate": FormatDecimal,
	})
	customerSyncSchema = NewSchema("customer sync", reflect.TypeOf(CustomerSyncRequest{}), map[string]Format{
		"timestamp": FormatTimestamp,
	})
	subscriptionSchema = NewSchema("subscription", reflect.TypeOf(SubscriptionNotification{}), map[string]Format{
		"timestamp": FormatTimestamp,
	})
	transactionResponseSchema = NewSchema("transaction response", reflect.TypeOf(TransactionResponse{}), nil)
	sessionResponseSchema     = NewSchema("session response", reflect.TypeOf(SessionResponse{}), nil)
)

// NotificationSchema is the payment notification's schema (API.md §7.1).
func NotificationSchema() *Schema { return notificationSchema }

// ValidationSchema is the validation callback's schema (API.md §7.2).
func ValidationSchema() *Schema { return validationSchema }

// CustomerSyncSchema is the customer sync callback's schema (API.md §7.3).
func CustomerSyncSchema() *Schema { return customerSyncSchema }

// SubscriptionSchema is the subscription notification's schema (API.md §7.4).
func SubscriptionSchema() *Schema { return subscriptionSchema }

// TransactionResponseSchema is the schema of Agent/Direct API answers.
func TransactionResponseSchema() *Schema { return transactionResponseSchema }
