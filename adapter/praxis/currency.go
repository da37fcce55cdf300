package praxis

import (
	"fmt"
	"sort"
	"strings"
)

// Currencies maps an ISO 4217 code to its factor: how many minor units make
// one major unit. Praxis amounts are integers in minor units everywhere, and
// the factor is needed only to show or convert amounts, never to book them.
// The table is immutable once built.
type Currencies struct {
	factors map[string]int64
}

// DefaultFactor applies to every currency not in the table (API.md §3).
const DefaultFactor = 100

// DefaultCurrencyFactors is API.md §3's table. JPY, CLP, KRW and VND are
// confirmed as 1. The three-decimal currencies (BHD, IQD, JOD, LYD, OMR,
// TND, KWD) are UNCONFIRMED: ISO says 1000, Praxis' wording may mean 1. We
// default to ISO and let config override each one.
func DefaultCurrencyFactors() map[string]int64 {
	return map[string]int64{
		"JPY": 1, "CLP": 1, "KRW": 1, "VND": 1,
		"BHD": 1000, "IQD": 1000, "JOD": 1000, "LYD": 1000, "OMR": 1000, "TND": 1000, "KWD": 1000,
	}
}

// NewCurrencies builds the table from the defaults plus overrides. A code
// that is not three upper-case letters, or a factor that is not a positive
// power of ten, is an error naming the entry.
func NewCurrencies(overrides map[string]int64) (Currencies, error) {
	c := Currencies{factors: DefaultCurrencyFactors()}
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
		if !isPowerOfTen(f) {
			return Currencies{}, fmt.Errorf("currencies.%s: factor %d must be 1, 10, 100 or 1000", code, f)
		}
		c.factors[code] = f
	}
	return c, nil
}

func isPowerOfTen(f int64) bool {
	switch f {
	case 1, 10, 100, 1000:
		return true
	}
	return false
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

// Format renders a minor-unit amount as a decimal string ("12.34") for
// humans; it never goes through floating point.
func (c Currencies) Format(amount int64, code string) string {
	f := c.Factor(code)
	if f == 1 {
		return fmt.Sprintf("%d", amount)
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	decimals := len(fmt.Sprint(f)) - 1
	return fmt.Sprintf("%s%d.%0*d", sign, amount/f, decimals, amount%f)
}

// ParseMajor converts a decimal string in major units ("12.34") to minor
// units, refusing more decimals than the currency has.
func (c Currencies) ParseMajor(s, code string) (int64, error) {
	f := c.Factor(code)
	decimals := len(fmt.Sprint(f)) - 1
	whole, frac, hasFrac := strings.Cut(s, ".")
	if hasFrac && len(frac) > decimals {
		return 0, fmt.Errorf("%s has %d decimals, %q has %d", code, decimals, s, len(frac))
	}
	for len(frac) < decimals {
		frac += "0"
	}
	n, err := parseInt([]byte(whole + frac))
	if err != nil || whole == "" || whole == "-" {
		return 0, fmt.Errorf("not a decimal amount: %q", s)
	}
	return n, nil
}

// KnownCurrency reports whether code is an active ISO 4217 currency code
// (or one of the three-letter crypto codes Praxis cashiers commonly offer),
// so a command in an unknown currency is refused before it reaches Praxis.
func KnownCurrency(code string) bool {
	if !IsCurrencyCode(code) {
		return false
	}
	return strings.Contains(iso4217, " "+code+" ")
}

// iso4217 lists active ISO 4217 alphabetic codes plus BTC, ETH and LTC
// (Praxis processes crypto via CryptoCompare rates, API.md §3), each
// between spaces so a lookup can never match across two codes.
const iso4217 = " AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD " +
	"CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF " +
	"GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP " +
	"LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB " +
	"PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL " +
	"THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG " +
	"BTC ETH LTC "
