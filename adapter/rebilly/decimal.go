package rebilly

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/praxis-adapter/praxis-adapter/adapter/money"
)

// Decimal is a Rebilly amount as it travels: a JSON number in major units
// (97.97), kept as its exact token text so no float ever touches it. The
// zero value is an absent (or null) amount. Convert it with Minor.
type Decimal string

// DecimalError says which amount field is not a usable number, never its
// value.
type DecimalError struct {
	Field  string
	Reason string
}

// Error reads like "amount: must be a JSON number, not a string".
func (e *DecimalError) Error() string { return e.Field + ": " + e.Reason }

// UnmarshalJSON accepts a JSON number or null; a string, even "12.34", is
// refused (the spec says number, and a second spelling is a second reader).
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*d = ""
		return nil
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		if _, err := money.ToMinor(string(b), 3); errors.Is(err, money.ErrNotNumber) {
			return &DecimalError{"amount", "is not a JSON number"}
		}
		*d = Decimal(b)
		return nil
	}
	return &DecimalError{"amount", "must be a JSON number in major units, not a string or other value"}
}

// MarshalJSON writes the number token as it is (null when absent).
func (d Decimal) MarshalJSON() ([]byte, error) {
	if d == "" {
		return []byte("null"), nil
	}
	return []byte(d), nil
}

// IsZero reports whether the amount is absent, so omitempty-like encoding
// can skip it.
func (d Decimal) IsZero() bool { return d == "" }

// Minor converts the amount to minor units of code exactly, refusing
// decimals below the minor unit, out-of-range values and, unless negative
// is allowed, values below zero. field names the amount in the error.
func (d Decimal) Minor(cur money.Currencies, code, field string, negative bool) (int64, error) {
	if d == "" {
		return 0, &DecimalError{field, "is missing"}
	}
	n, err := cur.ParseMajor(string(d), code)
	switch {
	case errors.Is(err, money.ErrTooManyDecimals):
		return 0, &DecimalError{field, fmt.Sprintf("has more decimals than %s allows (%d)", code, cur.Decimals(code))}
	case errors.Is(err, money.ErrOutOfRange):
		return 0, &DecimalError{field, "is out of range"}
	case err != nil:
		return 0, &DecimalError{field, "is not a JSON number"}
	case n < 0 && !negative:
		return 0, &DecimalError{field, "must not be negative"}
	}
	return n, nil
}

// FromMinor writes a minor-unit amount of code as the major-unit number
// Rebilly expects (1050 EUR → 10.50).
func FromMinor(cur money.Currencies, amount int64, code string) Decimal {
	return Decimal(cur.Format(amount, code))
}

var _ json.Marshaler = Decimal("")
