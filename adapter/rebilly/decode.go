package rebilly

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/praxis-adapter/praxis-adapter/adapter/money"
)

// ErrDecode is what every decoding failure matches with errors.Is. Its
// messages name the JSON path and what is wrong, never a value: a provider
// body may carry customer data.
var ErrDecode = errors.New("rebilly body does not decode")

// maxDepth bounds the nesting the strict reader accepts.
const maxDepth = 64

// Decode is the one reader of every Rebilly body (API answers, webhooks,
// what the ingress publishes and what the ledger books): the same bytes are
// always read by the same code. It is strict where encoding/json is lenient:
//
//   - keys match exactly: a key that differs from a known field only in
//     case ("Amount", "AMOUNT", Unicode folds) is refused, not matched;
//   - a key that appears twice in one object is refused (encoding/json keeps
//     the last, so a forged copy could hide behind a genuine one);
//   - exactly one JSON value, nothing after it;
//   - money fields are JSON numbers (Decimal), converted to minor units of
//     the body's currency with cur, exactly, or refused (see money.ToMinor).
//
// Keys this package does not model are tolerated and ignored: Rebilly marks
// cashiers and payout requests "Experimental" and adds fields.
func Decode[T any](body []byte, cur money.Currencies) (T, error) {
	var out T
	sch := schemaOf(reflect.TypeFor[T]())
	if err := checkStrict(body, sch); err != nil {
		return out, err
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return out, fmt.Errorf("%w: %s", ErrDecode, describeJSONError(err))
	}
	if s, ok := any(&out).(settler); ok {
		if err := s.settle(cur); err != nil {
			return out, fmt.Errorf("%w: %w", ErrDecode, err)
		}
	}
	return out, nil
}

// settler is implemented by decoded types that derive fields (minor-unit
// amounts) and check invariants once the body is read.
type settler interface {
	settle(cur money.Currencies) error
}

// describeJSONError turns encoding/json's error into one that names the
// field and the expected type, without the offending value.
func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "the body"
		}
		return fmt.Sprintf("%s must be %s, got a JSON %s", field, typeName(te.Type), te.Value)
	}
	var de *DecimalError
	if errors.As(err, &de) {
		return de.Error()
	}
	return "not a JSON object of the expected shape"
}

func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a " + t.Kind().String()
}

// schema is what the strict reader knows of one JSON value: the fields of
// an object (by exact JSON name) or the element of an array. nil knows
// nothing (any value; only duplicate keys are checked inside it).
type schema struct {
	fields  map[string]*schema
	elem    *schema
	decimal bool // a money amount: a JSON number or null
}

// decimalSchema marks a Decimal field.
var decimalSchema = &schema{decimal: true}

// schemaOf returns the prebuilt schema of one of this package's body types
// (knownSchemas, read-only after initialisation) or builds one.
func schemaOf(t reflect.Type) *schema {
	if s, ok := knownSchemas[t]; ok {
		return s
	}
	return buildSchema(t, map[reflect.Type]*schema{})
}

// schemasFor builds the schema of each type once, at initialisation.
func schemasFor(types ...reflect.Type) map[reflect.Type]*schema {
	out := make(map[reflect.Type]*schema, len(types))
	for _, t := range types {
		out[t] = buildSchema(t, map[reflect.Type]*schema{})
	}
	return out
}

func buildSchema(t reflect.Type, seen map[reflect.Type]*schema) *schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[Decimal]():
		return decimalSchema
	case reflect.TypeFor[json.RawMessage]():
		return nil
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if e := buildSchema(t.Elem(), seen); e != nil {
			return &schema{elem: e}
		}
		return nil
	case reflect.Struct:
		if s, ok := seen[t]; ok {
			return s
		}
		s := &schema{fields: map[string]*schema{}}
		seen[t] = s
		addFields(s, t, seen)
		return s
	}
	return nil
}

func addFields(s *schema, t reflect.Type, seen map[reflect.Type]*schema) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			addFields(s, f.Type, seen)
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s.fields[name] = buildSchema(f.Type, seen)
	}
}

// checkStrict walks body once with the standard tokenizer and refuses
// duplicate keys, case-folded matches of known keys, and trailing data.
func checkStrict(body []byte, sch *schema) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	w := walker{dec: dec}
	if err := w.value(sch, "", 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the JSON value", ErrDecode)
	}
	return nil
}

type walker struct{ dec *json.Decoder }

func (w *walker) token() (json.Token, error) {
	t, err := w.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the body ends too early", ErrDecode)
		}
		return nil, fmt.Errorf("%w: not valid JSON", ErrDecode)
	}
	return t, nil
}

func (w *walker) value(sch *schema, path string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested deeper than %d levels", ErrDecode, maxDepth)
	}
	t, err := w.token()
	if err != nil {
		return err
	}
	d, ok := t.(json.Delim)
	if sch != nil && sch.decimal {
		if _, num := t.(json.Number); !num && t != nil {
			return fmt.Errorf("%w: %s must be a JSON number in major units (or null)", ErrDecode, at(path))
		}
	}
	if !ok {
		return nil
	}
	switch d {
	case '{':
		return w.object(sch, path, depth)
	case '[':
		var elem *schema
		if sch != nil {
			elem = sch.elem
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(elem, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		_, err := w.token() // ']'
		return err
	}
	return fmt.Errorf("%w: not valid JSON", ErrDecode)
}

func (w *walker) object(sch *schema, path string, depth int) error {
	seen := map[string]bool{}
	for w.dec.More() {
		t, err := w.token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		var child *schema
		known := false
		if sch != nil && sch.fields != nil {
			child, known = sch.fields[key]
			if !known {
				for name := range sch.fields {
					if strings.EqualFold(name, key) {
						return fmt.Errorf("%w: %s: a key differs only in case from %q", ErrDecode, at(path), name)
					}
				}
			}
		}
		if seen[key] {
			if known {
				return fmt.Errorf("%w: %s: key %q appears twice", ErrDecode, at(path), key)
			}
			return fmt.Errorf("%w: %s: a key appears twice", ErrDecode, at(path))
		}
		seen[key] = true
		next := path + "." + key
		if !known {
			next = path + ".?"
		}
		if err := w.value(child, next, depth+1); err != nil {
			return err
		}
	}
	_, err := w.token() // '}'
	return err
}

func at(path string) string {
	if path == "" {
		return "top level"
	}
	return strings.TrimPrefix(path, ".")
}
