package praxis

import "github.com/praxis-adapter/praxis-adapter/adapter/money"

// Currencies maps an ISO 4217 code to its factor: how many minor units make
// one major unit. Praxis amounts are integers in minor units everywhere, and
// the factor is needed only to show or convert amounts, never to book them.
// The table is provider-neutral (adapter/money); this alias keeps the
// Praxis-side name.
type Currencies = money.Currencies

// DefaultFactor applies to every currency not in the table (API.md §3).
const DefaultFactor = money.DefaultFactor

// DefaultCurrencyFactors is API.md §3's table. JPY, CLP, KRW and VND are
// confirmed as 1. The three-decimal currencies (BHD, IQD, JOD, LYD, OMR,
// TND, KWD) are UNCONFIRMED: ISO says 1000, Praxis' wording may mean 1. We
// default to ISO and let config override each one.
func DefaultCurrencyFactors() map[string]int64 { return money.DefaultFactors() }

// NewCurrencies builds the table from the defaults plus overrides. A code
// that is not three upper-case letters, or a factor that is not a positive
// power of ten, is an error naming the entry.
func NewCurrencies(overrides map[string]int64) (Currencies, error) {
	return money.NewCurrencies(overrides)
}

// IsCurrencyCode reports whether code looks like an ISO 4217 code.
func IsCurrencyCode(code string) bool { return money.IsCurrencyCode(code) }

// KnownCurrency reports whether code is an active ISO 4217 currency code
// (or one of the three-letter crypto codes Praxis cashiers commonly offer),
// so a command in an unknown currency is refused before it reaches Praxis.
func KnownCurrency(code string) bool { return money.KnownCurrency(code) }
