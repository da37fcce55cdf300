package praxis

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Kind tells what JSON value was found at a path, so callers can tell a
// missing field from a null one and reject mistyped fields precisely.
type Kind uint8

// The kinds a Value can have. KindMissing is the zero value: the path was not
// present in the body (or a parent on the path was not an object).
const (
	KindMissing Kind = iota
	KindNull
	KindString
	KindNumber
	KindBool
	KindObject
	KindArray
)

// String names the kind the way an error message for a user should.
func (k Kind) String() string {
	switch k {
	case KindMissing:
		return "missing value"
	case KindNull:
		return "null"
	case KindString:
		return "string"
	case KindNumber:
		return "number"
	case KindBool:
		return "boolean"
	case KindObject:
		return "object"
	case KindArray:
		return "array"
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Value is the raw JSON token found at one dot path. Raw aliases the body
// that was scanned, so a Value is valid only as long as that body is.
type Value struct {
	Kind Kind
	// Raw is the exact token text; strings keep their quotes and escapes.
	Raw []byte
}

// Present reports whether the path holds a non-null value: the signing rules
// skip null and absent values alike.
func (v Value) Present() bool { return v.Kind != KindMissing && v.Kind != KindNull }

// AppendText appends the value as the signing rules render it (SIGNATURE.md
// §2): a string's decoded content, a number's exact token text. Objects,
// arrays and booleans are in no documented list and are refused.
func (v Value) AppendText(dst []byte) ([]byte, error) {
	switch v.Kind {
	case KindMissing, KindNull:
		return dst, nil
	case KindNumber:
		return append(dst, v.Raw...), nil
	case KindString:
		return appendUnquoted(dst, v.Raw)
	default:
		return dst, fmt.Errorf("%w: a %s cannot be signed", ErrUnsignableValue, v.Kind)
	}
}

// Text is AppendText for callers outside hot paths.
func (v Value) Text() (string, error) {
	b, err := v.AppendText(nil)
	return string(b), err
}

// Int parses an integer token (amount, tid, timestamp, status). Decimals,
// exponents and strings are refused: amounts are integers end to end.
func (v Value) Int() (int64, error) {
	if v.Kind != KindNumber {
		return 0, fmt.Errorf("want an integer, got a %s", v.Kind)
	}
	return parseInt(v.Raw)
}

func parseInt(raw []byte) (int64, error) {
	neg := len(raw) > 0 && raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		return 0, fmt.Errorf("want an integer of at most 18 digits, got %q", raw)
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("want an integer, got %q", raw)
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

// Errors returned while scanning a body. Callers branch on them to answer
// Praxis with the right status.
var (
	// ErrNotJSON means the body is not well-formed JSON.
	ErrNotJSON = errors.New("body is not valid JSON")
	// ErrNotObject means the body is JSON but not a JSON object.
	ErrNotObject = errors.New("body is not a JSON object")
	// ErrUnsignableValue means a signed field holds an object, array or boolean.
	ErrUnsignableValue = errors.New("signed field holds an unsignable value")
)

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 256

// Paths is a compiled, immutable set of dot paths ("transaction.tid") that
// Extract finds in one pass over a body, without decoding it into maps.
type Paths struct {
	names []string
	root  *pathNode
	// schema, when set, adds the message's strict checks (see Schema).
	schema *schemaNode
}

type pathNode struct {
	leaf     int // index into Paths.names, or -1
	children []pathChild
	subtree  []int // every leaf index at or below this node
}

type pathChild struct {
	key  string
	node *pathNode
}

// CompilePaths builds a Paths; path i's value lands in out[i] of Extract.
// Empty paths or empty segments are programming errors and panic at start.
func CompilePaths(paths ...string) *Paths {
	p := &Paths{names: append([]string(nil), paths...), root: &pathNode{leaf: -1}}
	for i, path := range paths {
		if path == "" {
			panic("praxis: empty path")
		}
		n := p.root
		for _, seg := range strings.Split(path, ".") {
			if seg == "" {
				panic("praxis: empty segment in path " + path)
			}
			n.subtree = append(n.subtree, i)
			n = n.child(seg, true)
		}
		n.subtree = append(n.subtree, i)
		if n.leaf >= 0 {
			panic("praxis: duplicate path " + path)
		}
		n.leaf = i
	}
	return p
}

// Len is the number of paths, i.e. the length Extract's out must have.
func (p *Paths) Len() int { return len(p.names) }

// Names returns the dot paths in order.
func (p *Paths) Names() []string { return append([]string(nil), p.names...) }

func (n *pathNode) child(key string, create bool) *pathNode {
	for _, c := range n.children {
		if c.key == key {
			return c.node
		}
	}
	if !create {
		return nil
	}
	c := &pathNode{leaf: -1}
	n.children = append(n.children, pathChild{key: key, node: c})
	return c
}

func (n *pathNode) lookup(key []byte) *pathNode {
	for _, c := range n.children {
		if c.key == string(key) {
			return c.node
		}
	}
	return nil
}

// Extract validates that body is one well-formed JSON object and fills out[i]
// with the value at path i (KindMissing where absent). It refuses invalid
// UTF-8 and lone surrogate escapes (ErrNotJSON), and a key that repeats in
// one object under case folding, at any depth (ErrAmbiguousKey); Paths
// compiled by a Schema also refuse case variants of known fields and
// mistyped known fields (see Schema). It does not allocate on success.
func (p *Paths) Extract(body []byte, out []Value) error {
	if len(out) < len(p.names) {
		return fmt.Errorf("praxis: Extract needs %d values, got %d", len(p.names), len(out))
	}
	for i := range out[:len(p.names)] {
		out[i] = Value{}
	}
	s := scanner{data: body}
	s.ws()
	if s.i >= len(s.data) {
		return fmt.Errorf("%w: empty body", ErrNotJSON)
	}
	kind, err := s.value(p.root, p.schema, out, 0)
	if err != nil {
		return err
	}
	s.ws()
	if s.i != len(s.data) {
		return fmt.Errorf("%w: unexpected data after the top-level value at offset %d", ErrNotJSON, s.i)
	}
	if kind != KindObject {
		return fmt.Errorf("%w (it is a %s)", ErrNotObject, kind)
	}
	return nil
}

type scanner struct {
	data []byte
	i    int
}

func (s *scanner) ws() {
	data, i := s.data, s.i
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			s.i = i
			return
		}
	}
	s.i = i
}

func (s *scanner) errf(what string) error {
	if s.i >= len(s.data) {
		return fmt.Errorf("%w: unexpected end of input, want %s", ErrNotJSON, what)
	}
	return fmt.Errorf("%w: unexpected %q at offset %d, want %s", ErrNotJSON, s.data[s.i], s.i, what)
}

// value scans the value at s.i. n, when not nil, is the path node the value
// sits at, sch the schema node; only objects descend into them.
func (s *scanner) value(n *pathNode, sch *schemaNode, out []Value, depth int) (Kind, error) {
	if s.i >= len(s.data) {
		return 0, s.errf("a value")
	}
	switch c := s.data[s.i]; {
	case c == '{':
		return KindObject, s.object(n, sch, out, depth+1)
	case c == '[':
		return KindArray, s.array(depth + 1)
	case c == '"':
		_, _, err := s.str()
		return KindString, err
	case c == 't':
		return KindBool, s.literal("true")
	case c == 'f':
		return KindBool, s.literal("false")
	case c == 'n':
		return KindNull, s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return KindNumber, s.number()
	default:
		return 0, s.errf("a value")
	}
}

func (s *scanner) object(n *pathNode, sch *schemaNode, out []Value, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nesting deeper than %d", ErrNotJSON, maxDepth)
	}
	s.i++ // {
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == '}' {
		s.i++
		return nil
	}
	var seen seenKeys
	for {
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] != '"' {
			return s.errf("an object key")
		}
		key, escaped, err := s.str()
		if err != nil {
			return err
		}
		name := key[1 : len(key)-1]
		if escaped {
			var k string
			if err := json.Unmarshal(key, &k); err != nil {
				return fmt.Errorf("%w: %v", ErrNotJSON, err)
			}
			name = []byte(k)
		}
		field, err := seen.checkKey(sch, name)
		if err != nil {
			return err
		}
		var child *pathNode
		if n != nil && len(n.children) > 0 {
			child = n.lookup(name)
		}
		var childSchema *schemaNode
		if field != nil {
			childSchema = field.child
		}
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			return s.errf("':' after an object key")
		}
		s.i++
		s.ws()
		start := s.i
		kind, err := s.value(child, childSchema, out, depth)
		if err != nil {
			return prefixKey(err, name)
		}
		if field != nil {
			if err := field.checkValue(kind, s.data[start:s.i]); err != nil {
				return err
			}
		}
		if child != nil && child.leaf >= 0 {
			out[child.leaf] = Value{Kind: kind, Raw: s.data[start:s.i]}
		}
		s.ws()
		if s.i >= len(s.data) {
			return s.errf("',' or '}'")
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.errf("',' or '}'")
		}
	}
}

func (s *scanner) array(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nesting deeper than %d", ErrNotJSON, maxDepth)
	}
	s.i++ // [
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if _, err := s.value(nil, nil, nil, depth); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.data) {
			return s.errf("',' or ']'")
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.errf("',' or ']'")
		}
	}
}

// strStop marks the bytes that end str's fast path: control characters,
// the quote, the backslash and the start of a multi-byte UTF-8 sequence.
// A read-only table, built once.
var strStop = func() (t [256]bool) {
	for c := range t {
		t[c] = c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf
	}
	return t
}()

// str scans a string token and returns it with its quotes, and whether it
// holds escapes (which callers must decode before comparing).
func (s *scanner) str() (tok []byte, escaped bool, err error) {
	data := s.data
	start := s.i
	i := start + 1 // past the opening quote
	for i < len(data) {
		// Fast path: plain characters, the overwhelming majority. Locals
		// rather than s.i keep the index in a register.
		for i < len(data) {
			if strStop[data[i]] {
				break
			}
			i++
		}
		if i >= len(data) {
			break
		}
		switch c := data[i]; {
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size <= 1 {
				s.i = i
				return nil, false, fmt.Errorf("%w: invalid UTF-8 at offset %d", ErrNotJSON, i)
			}
			i += size
		case c == '"':
			s.i = i + 1
			return data[start:s.i], escaped, nil
		case c == '\\':
			escaped = true
			i++
			if i >= len(data) {
				s.i = i
				return nil, false, s.errf("an escape")
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				r, ok := hex4(data, i)
				if !ok {
					s.i = i
					return nil, false, s.errf("four hex digits after \\u")
				}
				i += 4
				switch {
				case r >= 0xDC00 && r <= 0xDFFF:
					s.i = i
					return nil, false, fmt.Errorf("%w: lone low surrogate escape at offset %d", ErrNotJSON, i-6)
				case r >= 0xD800 && r <= 0xDBFF:
					lo, ok := hex4(data, i+2)
					if i+1 >= len(data) || data[i] != '\\' || data[i+1] != 'u' || !ok || lo < 0xDC00 || lo > 0xDFFF {
						s.i = i
						return nil, false, fmt.Errorf("%w: lone high surrogate escape at offset %d", ErrNotJSON, i-6)
					}
					i += 6
				}
			default:
				s.i = i
				return nil, false, s.errf("a valid escape")
			}
		default: // a control character
			s.i = i
			return nil, false, s.errf("no control character inside a string")
		}
	}
	s.i = i
	return nil, false, s.errf("a closing quote")
}

// hex4 reads four hex digits at data[i:].
func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func (s *scanner) literal(lit string) error {
	if len(s.data)-s.i < len(lit) || string(s.data[s.i:s.i+len(lit)]) != lit {
		return s.errf(lit)
	}
	s.i += len(lit)
	return nil
}

// number accepts exactly the JSON number grammar (RFC 8259 §6).
func (s *scanner) number() error {
	if s.data[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.data) {
		return s.errf("a digit")
	}
	switch c := s.data[s.i]; {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return s.errf("a digit")
	}
	if s.i < len(s.data) && s.data[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return s.errf("a digit after '.'")
		}
	}
	if s.i < len(s.data) && (s.data[s.i] == 'e' || s.data[s.i] == 'E') {
		s.i++
		if s.i < len(s.data) && (s.data[s.i] == '+' || s.data[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return s.errf("a digit in the exponent")
		}
	}
	return nil
}

func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.data) && s.data[s.i] >= '0' && s.data[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

// forEachKey calls f with each top-level key of a JSON object (raw token,
// quotes included) and its raw value. Extra-field detection uses it, so
// decoding never builds a map of the whole object.
func forEachKey(body []byte, f func(key, value []byte)) error {
	s := scanner{data: body}
	s.ws()
	if s.i >= len(s.data) || s.data[s.i] != '{' {
		return ErrNotObject
	}
	s.i++
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == '}' {
		return nil
	}
	for {
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] != '"' {
			return s.errf("an object key")
		}
		key, _, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			return s.errf("':'")
		}
		s.i++
		s.ws()
		start := s.i
		if _, err := s.value(nil, nil, nil, 1); err != nil {
			return err
		}
		f(key, s.data[start:s.i])
		s.ws()
		if s.i >= len(s.data) {
			return s.errf("',' or '}'")
		}
		if s.data[s.i] == '}' {
			return nil
		}
		if s.data[s.i] != ',' {
			return s.errf("',' or '}'")
		}
		s.i++
	}
}

// appendUnquoted appends the decoded content of a string token. The common
// case (no escapes, valid UTF-8) is a plain copy; anything else goes through
// encoding/json so the result matches what a decoder would produce.
func appendUnquoted(dst, tok []byte) ([]byte, error) {
	if len(tok) < 2 || tok[0] != '"' || tok[len(tok)-1] != '"' {
		return dst, fmt.Errorf("%w: malformed string token", ErrNotJSON)
	}
	inner := tok[1 : len(tok)-1]
	plain := true
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain || (!containsByte(inner, '\\') && utf8.Valid(inner)) {
		return append(dst, inner...), nil
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return dst, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	return append(dst, s...), nil
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}
