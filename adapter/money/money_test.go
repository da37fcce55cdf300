package money

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMajor(t *testing.T) {
	c, err := NewCurrencies(map[string]int64{"ISK": 1})
	require.NoError(t, err)
	tests := []struct {
		in, code string
		want     int64
		err      error
	}{
		{"0.1", "EUR", 10, nil},
		{"97.97", "USD", 9797, nil},
		{"10.50", "EUR", 1050, nil},
		{"10.500", "EUR", 1050, nil}, // trailing zeros are not decimals
		{"10.005", "EUR", 0, ErrTooManyDecimals},
		{"0.001", "EUR", 0, ErrTooManyDecimals},
		{"1.234", "KWD", 1234, nil},
		{"1.2345", "KWD", 0, ErrTooManyDecimals},
		{"1000", "JPY", 1000, nil},
		{"1000.5", "JPY", 0, ErrTooManyDecimals},
		{"7", "ISK", 7, nil}, // overridden to no decimals
		{"1e2", "EUR", 10000, nil},
		{"1E2", "EUR", 10000, nil},
		{"1.5e-1", "EUR", 15, nil},
		{"1.5E+1", "EUR", 1500, nil},
		{"1e-3", "EUR", 0, ErrTooManyDecimals},
		{"1e-3", "KWD", 1, nil},
		{"0", "EUR", 0, nil},
		{"-0", "EUR", 0, nil},
		{"0e999999999", "EUR", 0, nil},
		{"0.000000000000000000000", "EUR", 0, nil},
		{"-12.34", "USD", -1234, nil},
		{"-0.05", "EUR", -5, nil},
		{"9999999999999999.99", "USD", 999999999999999999, nil},
		{"99999999999999999.99", "USD", 0, ErrOutOfRange},
		{"1e16", "USD", 0, ErrOutOfRange},
		{"1e999999999", "USD", 0, ErrOutOfRange},
		{"1e-999999999", "USD", 0, ErrTooManyDecimals},
		{"1" + strings.Repeat("0", 400), "USD", 0, ErrOutOfRange},
		{"0." + strings.Repeat("0", 400) + "1", "USD", 0, ErrTooManyDecimals},
		{"", "EUR", 0, ErrNotNumber},
		{"-", "EUR", 0, ErrNotNumber},
		{"+1", "EUR", 0, ErrNotNumber},
		{"01", "EUR", 0, ErrNotNumber},
		{"1.", "EUR", 0, ErrNotNumber},
		{".5", "EUR", 0, ErrNotNumber},
		{"1e", "EUR", 0, ErrNotNumber},
		{"1e+", "EUR", 0, ErrNotNumber},
		{"1,5", "EUR", 0, ErrNotNumber},
		{" 1", "EUR", 0, ErrNotNumber},
		{"NaN", "EUR", 0, ErrNotNumber},
		{"Infinity", "EUR", 0, ErrNotNumber},
		{"0x10", "EUR", 0, ErrNotNumber},
		{`"1"`, "EUR", 0, ErrNotNumber},
	}
	for _, tc := range tests {
		t.Run(tc.code+" "+tc.in, func(t *testing.T) {
			got, err := c.ParseMajor(tc.in, tc.code)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				if len(tc.in) > 1 {
					assert.NotContains(t, err.Error(), tc.in, "errors never repeat the amount")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestFormatRoundTrip(t *testing.T) {
	c, err := NewCurrencies(map[string]int64{"KWD": 1})
	require.NoError(t, err)
	tests := []struct {
		code   string
		factor int64
		amount int64
		text   string
	}{
		{"USD", 100, 1234, "12.34"},
		{"EUR", 100, -5, "-0.05"},
		{"JPY", 1, 1234, "1234"},
		{"BHD", 1000, 1234, "1.234"},
		{"KWD", 1, 1234, "1234"},
		{"XYZ", DefaultFactor, 1, "0.01"},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			assert.Equal(t, tc.factor, c.Factor(tc.code))
			assert.Equal(t, tc.text, c.Format(tc.amount, tc.code))
			back, err := c.ParseMajor(tc.text, tc.code)
			require.NoError(t, err)
			assert.Equal(t, tc.amount, back)
		})
	}
}

func TestNewCurrenciesErrors(t *testing.T) {
	_, err := NewCurrencies(map[string]int64{"usd": 100})
	assert.ErrorContains(t, err, "currencies.usd")
	_, err = NewCurrencies(map[string]int64{"USD": 3})
	assert.ErrorContains(t, err, "must be 1, 10, 100 or 1000")
}

func TestKnownCurrency(t *testing.T) {
	for _, c := range []string{"USD", "EUR", "JPY", "KWD", "BTC", "ZWG"} {
		assert.True(t, KnownCurrency(c), c)
	}
	for _, c := range []string{"XXX", "usd", "EU", "EURO", "", "SD ", "SDT", "SDC", "TH"} {
		assert.False(t, KnownCurrency(c), c)
	}
}

// FuzzToMinor checks that the conversion never panics and that what it
// accepts formats back to the same value.
func FuzzToMinor(f *testing.F) {
	for _, s := range []string{"0.1", "10.005", "1e2", "-12.34", "1e-999", "99999999999999999.99"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, decimals int) {
		if decimals < 0 || decimals > 3 {
			return
		}
		n, err := ToMinor(s, decimals)
		if err != nil {
			return
		}
		c := Currencies{factors: map[string]int64{"AAA": []int64{1, 10, 100, 1000}[decimals]}}
		back, err := c.ParseMajor(c.Format(n, "AAA"), "AAA")
		if err != nil || back != n {
			t.Fatalf("%d formats to something that reads back as %d (%v)", n, back, err)
		}
	})
}
