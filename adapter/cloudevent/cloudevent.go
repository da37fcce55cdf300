// Package cloudevent is the envelope of everything the adapter publishes
// about a provider: CloudEvents 1.0 in structured JSON mode, with the
// provider's body embedded verbatim as `data` (Praxis: the signed webhook,
// so a consumer can re-verify the signature from the exact bytes Praxis
// sent; Rebilly: the body of the GET that confirmed a notification). Building is append-only and
// allocation-free for the ingress hot path; decoding is plain encoding/json.
package cloudevent

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// SpecVersion is the CloudEvents version spoken here.
const SpecVersion = "1.0"

// ContentType is the NATS/HTTP content type of a structured CloudEvent.
const ContentType = "application/cloudevents+json"

// Event is a decoded envelope. Extension attributes are lower-case
// alphanumeric, as CloudEvents requires.
type Event struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Subject         string    `json:"subject,omitempty"`
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype,omitempty"`
	DataSchema      string    `json:"dataschema,omitempty"`
	Merchant        string    `json:"praxismerchant,omitempty"`
	Application     string    `json:"praxisapplication,omitempty"`
	Processor       string    `json:"praxisprocessor,omitempty"`
	// The verified key fields of a notification (see Fields), so a consumer
	// need not parse Data. Numbers are decimal strings.
	TID               string          `json:"praxistid,omitempty"`
	Status            string          `json:"praxisstatus,omitempty"`
	Amount            string          `json:"praxisamount,omitempty"`
	Currency          string          `json:"praxiscurrency,omitempty"`
	ProcessedAmount   string          `json:"praxisprocamount,omitempty"`
	ProcessedCurrency string          `json:"praxisproccurrency,omitempty"`
	OrderID           string          `json:"praxisorderid,omitempty"`
	Data              json.RawMessage `json:"data"`
}

// Fields are what Append writes. String fields are plain text (escaped on
// write); RawMerchant, when set, is an already-valid JSON string token (as
// read from the Praxis body) and is written verbatim.
type Fields struct {
	ID          string
	Source      string
	Type        string
	Subject     string
	Time        time.Time
	Merchant    string
	RawMerchant []byte
	Application string
	Processor   string
	// DataSchema is the URI of the JSON Schema data follows (a
	// contracts.SchemaID), so a consumer knows the contract and its version
	// without guessing from the type.
	DataSchema string
	// Key fields of the verified Praxis body, carried as extension
	// attributes so a consumer in any language reads them without parsing
	// Data: praxistid, praxisstatus, praxisamount, praxiscurrency,
	// praxisprocamount, praxisproccurrency, praxisorderid. Each Raw* is the
	// token as the strict scanner read it from the body: numbers (written
	// as JSON strings, since CloudEvents integers are 32-bit) or valid JSON
	// strings (written verbatim). Empty means absent. Status is plain text
	// (the normalised status of the subject).
	RawTID               []byte
	Status               string
	RawAmount            []byte
	RawCurrency          []byte
	RawProcessedAmount   []byte
	RawProcessedCurrency []byte
	RawOrderID           []byte
	// Extensions are further extension attributes, written as JSON strings
	// after the Praxis ones, in order: how another provider's events carry
	// their key fields (rebillyid, rebillyrevision, ...) without a field
	// per provider here. Names must be lower-case alphanumeric, at most 20
	// characters (CloudEvents), and distinct from the attributes above;
	// nil writes nothing, so Praxis events are byte for byte unchanged.
	Extensions []Extension
	// Data must be one valid JSON value; it is embedded without re-encoding.
	Data []byte
}

// Extension is one extension attribute with a string value.
type Extension struct {
	Name  string
	Value string
}

// Append writes the structured JSON envelope to dst.
func Append(dst []byte, f Fields) []byte {
	dst = append(dst, `{"specversion":"1.0","id":`...)
	dst = AppendString(dst, f.ID)
	dst = append(dst, `,"source":`...)
	dst = AppendString(dst, f.Source)
	dst = append(dst, `,"type":`...)
	dst = AppendString(dst, f.Type)
	if f.Subject != "" {
		dst = append(dst, `,"subject":`...)
		dst = AppendString(dst, f.Subject)
	}
	dst = append(dst, `,"time":"`...)
	dst = f.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","datacontenttype":"application/json"`...)
	if f.DataSchema != "" {
		dst = append(dst, `,"dataschema":`...)
		dst = AppendString(dst, f.DataSchema)
	}
	switch {
	case len(f.RawMerchant) > 0:
		dst = append(dst, `,"praxismerchant":`...)
		dst = append(dst, f.RawMerchant...)
	case f.Merchant != "":
		dst = append(dst, `,"praxismerchant":`...)
		dst = AppendString(dst, f.Merchant)
	}
	if f.Application != "" {
		dst = append(dst, `,"praxisapplication":`...)
		dst = AppendString(dst, f.Application)
	}
	if f.Processor != "" {
		dst = append(dst, `,"praxisprocessor":`...)
		dst = AppendString(dst, f.Processor)
	}
	dst = appendNumberAttr(dst, `,"praxistid":`, f.RawTID)
	if f.Status != "" {
		dst = append(dst, `,"praxisstatus":`...)
		dst = AppendString(dst, f.Status)
	}
	dst = appendNumberAttr(dst, `,"praxisamount":`, f.RawAmount)
	dst = appendStringAttr(dst, `,"praxiscurrency":`, f.RawCurrency)
	dst = appendNumberAttr(dst, `,"praxisprocamount":`, f.RawProcessedAmount)
	dst = appendStringAttr(dst, `,"praxisproccurrency":`, f.RawProcessedCurrency)
	dst = appendStringAttr(dst, `,"praxisorderid":`, f.RawOrderID)
	for _, x := range f.Extensions {
		dst = append(dst, ',')
		dst = AppendString(dst, x.Name)
		dst = append(dst, ':')
		dst = AppendString(dst, x.Value)
	}
	dst = append(dst, `,"data":`...)
	dst = append(dst, f.Data...)
	return append(dst, '}')
}

// appendNumberAttr writes a number token as a JSON string attribute.
func appendNumberAttr(dst []byte, name string, tok []byte) []byte {
	if len(tok) == 0 {
		return dst
	}
	dst = append(dst, name...)
	dst = append(dst, '"')
	dst = append(dst, tok...)
	return append(dst, '"')
}

// appendStringAttr writes a JSON string token verbatim.
func appendStringAttr(dst []byte, name string, tok []byte) []byte {
	if len(tok) < 2 || tok[0] != '"' {
		return dst
	}
	dst = append(dst, name...)
	return append(dst, tok...)
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does, so the output is always valid JSON.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Decode parses an envelope.
func Decode(b []byte) (*Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	return &e, nil
}
