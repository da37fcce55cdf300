// Package money holds what every provider needs to turn a provider's amount
// into the adapter's one representation, an integer of minor units: the ISO
// 4217 currency table (minor units per major unit, with configured
// overrides) and an exact decimal-to-minor-unit conversion that never goes
// through floating point. Praxis sends minor units already and uses the
// table only to show amounts; Rebilly sends major units as JSON numbers
// (97.97) and needs the conversion on every amount it reports.
package money

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Currencies maps an ISO 4217 code to its factor: how many minor units make
// one major unit. The table is immutable once built, so it can be shared by
// every goroutine without a lock.
type Currencies struct {
	factors map[string]int64
}

// DefaultFactor applies to every currency not in the table (two decimals,
// the ISO default).
const DefaultFactor = 100

// DefaultFactors is the table of currencies whose minor unit is not a
// hundredth: JPY, CLP, KRW and VND have none; BHD, IQD, JOD, LYD, OMR, TND
// and KWD have three decimals (ISO 4217). A provider whose reading differs
// (Praxis' three-decimal currencies are UNCONFIRMED) overrides entries in
// configuration.
func DefaultFactors() map[string]int64 {
	return map[string]int64{
		"JPY": 1, "CLP": 1, "KRW": 1, "VND": 1,
		"BHD": 1000, "IQD": 1000, "JOD": 1000, "LYD": 1000, "OMR": 1000, "TND": 1000, "KWD": 1000,
	}
}

// NewCurrencies builds the table from the defaults plus overrides. A code
// that is not three upper-case letters, or a factor that is not 1, 10, 100
// or 1000, is an error naming the entry.
func NewCurrencies(overrides map[string]int64) (Currencies, error) {
	c := Currencies{factors: DefaultFactors()}
	codes := make([]string, 0, len(overrides))
	for code := range overrides {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		f := overrides[code]
		if !IsCurrencyCode(code) {
			return Currencies{}, fmt.Errorf("currencies.%s: not an ISO 4217 code (three upper-case letters)", code)
		}
		if decimalsOf(f) < 0 {
			return Currencies{}, fmt.Errorf("currencies.%s: factor %d must be 1, 10, 100 or 1000", code, f)
		}
		c.factors[code] = f
	}
	return c, nil
}

// decimalsOf returns log10(f) for the factors a table may hold, -1 otherwise.
func decimalsOf(f int64) int {
	switch f {
	case 1:
		return 0
	case 10:
		return 1
	case 100:
		return 2
	case 1000:
		return 3
	}
	return -1
}

// IsCurrencyCode reports whether code looks like an ISO 4217 code.
func IsCurrencyCode(code string) bool {
	if len(code) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if code[i] < 'A' || code[i] > 'Z' {
			return false
		}
	}
	return true
}

// Factor returns the minor units per major unit of code.
func (c Currencies) Factor(code string) int64 {
	if f, ok := c.factors[code]; ok {
		return f
	}
	return DefaultFactor
}

// Decimals returns how many decimals a major-unit amount of code may have.
func (c Currencies) Decimals(code string) int { return decimalsOf(c.Factor(code)) }

// Format renders a minor-unit amount as a decimal string ("12.34") for
// humans and for providers that take major units; it never goes through
// floating point.
func (c Currencies) Format(amount int64, code string) string {
	f := c.Factor(code)
	if f == 1 {
		return strconv.FormatInt(amount, 10)
	}
	sign := ""
	u := uint64(amount)
	if amount < 0 {
		sign, u = "-", uint64(-(amount+1))+1 // safe for math.MinInt64
	}
	return fmt.Sprintf("%s%d.%0*d", sign, u/uint64(f), decimalsOf(f), u%uint64(f))
}

// Errors of the conversion; callers branch on them with errors.Is. Their
// messages never repeat the amount, which came from a provider body.
var (
	// ErrNotNumber means the text is not a JSON number (RFC 8259 §6).
	ErrNotNumber = errors.New("not a decimal number")
	// ErrTooManyDecimals means the value has a non-zero digit below the
	// currency's minor unit: converting it would round money.
	ErrTooManyDecimals = errors.New("more decimals than the currency has")
	// ErrOutOfRange means the value in minor units does not fit 18 digits.
	ErrOutOfRange = errors.New("amount out of range")
)

// maxDigits bounds a minor-unit amount: every 18-digit integer fits int64.
const maxDigits = 18

// ParseMajor converts a number in major units, written as a JSON number
// ("12.34", "-0.05", "1e2", "1.5E-1"), to minor units of code. It is exact:
// the text is read as decimal digits and a power of ten, never as a float,
// and a value with a non-zero digit below the minor unit (10.005 EUR) is
// refused rather than rounded. Trailing zeros are not decimals ("10.50" and
// "10.500" are both 1050 cents). Values beyond 18 digits of minor units are
// refused.
func (c Currencies) ParseMajor(s, code string) (int64, error) {
	n, err := ToMinor(s, c.Decimals(code))
	if errors.Is(err, ErrTooManyDecimals) {
		return 0, fmt.Errorf("%s has %d decimals, the amount has more: %w", code, c.Decimals(code), err)
	}
	return n, err
}

// ToMinor is ParseMajor for a currency with the given number of decimals.
func ToMinor(s string, decimals int) (int64, error) {
	neg, digits, scale, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	// digits × 10^(−scale) major units = digits × 10^(decimals−scale) minor.
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return 0, nil // any spelling of zero, whatever its exponent
	}
	shift := decimals - scale
	if shift < 0 {
		cut := -shift
		if cut > len(digits) || strings.TrimRight(digits[len(digits)-cut:], "0") != "" {
			return 0, ErrTooManyDecimals
		}
		digits, shift = digits[:len(digits)-cut], 0
	}
	if len(digits)+shift > maxDigits {
		return 0, ErrOutOfRange
	}
	n, err := strconv.ParseInt(digits+strings.Repeat("0", shift), 10, 64)
	if err != nil {
		return 0, ErrOutOfRange
	}
	if neg {
		n = -n
	}
	return n, nil
}

// maxExponent bounds the exponent read: any larger one either overflows or
// has more decimals than a currency, so it is refused before it is used.
const maxExponent = 1000

// splitNumber checks s against the JSON number grammar
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and returns its sign, its
// significant digits (integer then fraction part) and how many of them are
// decimals (fraction length minus exponent; negative for 1e2).
func splitNumber(s string) (neg bool, digits string, scale int, err error) {
	i := 0
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[start:i]
	if intPart == "" || (len(intPart) > 1 && intPart[0] == '0') {
		return false, "", 0, ErrNotNumber
	}
	var frac string
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if frac = s[fs:i]; frac == "" {
			return false, "", 0, ErrNotNumber
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		expNeg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		es := i
		for i < len(s) && isDigit(s[i]) {
			if exp < maxExponent*10 {
				exp = exp*10 + int(s[i]-'0')
			}
			i++
		}
		if i == es {
			return false, "", 0, ErrNotNumber
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != len(s) {
		return false, "", 0, ErrNotNumber
	}
	digits = intPart + frac
	if strings.TrimLeft(digits, "0") == "" {
		return neg, "", 0, nil
	}
	if exp > maxExponent {
		return false, "", 0, ErrOutOfRange
	}
	if exp < -maxExponent {
		return false, "", 0, ErrTooManyDecimals
	}
	return neg, digits, len(frac) - exp, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// KnownCurrency reports whether code is an active ISO 4217 currency code
// (or one of the three-letter crypto codes payment cashiers commonly offer),
// so a command in an unknown currency is refused before it reaches a
// provider.
func KnownCurrency(code string) bool {
	if !IsCurrencyCode(code) {
		return false
	}
	return strings.Contains(iso4217, " "+code+" ")
}

// iso4217 lists active ISO 4217 alphabetic codes plus BTC, ETH and LTC
// (Praxis processes crypto via CryptoCompare rates), each between spaces so
// a lookup can never match across two codes.
const iso4217 = " AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD " +
	"CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF " +
	"GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP " +
	"LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB " +
	"PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL " +
	"THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG " +
	"BTC ETH LTC "
