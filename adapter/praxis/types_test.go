package praxis

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeNotificationV3(t *testing.T) {
	v3 := loadVectors(t)[2]
	n, err := Decode[Notification]([]byte(v3.Body))
	require.NoError(t, err)
	assert.Equal(t, "Test-Integration-Merchant", n.MerchantID)
	assert.Equal(t, []byte(v3.Body), n.Raw, "the raw body is kept for signature checks")
	require.NotNil(t, n.Transaction)
	assert.Equal(t, int64(1234567), n.Transaction.TID)
	assert.Equal(t, FlexString("1.000000"), n.Transaction.ConversionRate, "decimal text is kept, never re-formatted")
	require.NotNil(t, n.Transaction.Amount)
	assert.Equal(t, int64(100), *n.Transaction.Amount)
	assert.Equal(t, "TestCardProcessor", n.Transaction.PaymentProcessor)
	assert.Equal(t, FlexString("1.3"), n.Version)
}

func TestDecodeKeepsUnknownFields(t *testing.T) {
	body := `{"merchant_id":"m","application_key":"a","timestamp":1,"version":1.3,
		"brand_new":{"x":1},"transaction":{"tid":5,"transaction_status":"on_hold","created_by":"agent7"}}`
	n, err := Decode[Notification]([]byte(body))
	require.NoError(t, err)
	assert.JSONEq(t, `{"x":1}`, string(n.Extra["brand_new"]))
	assert.Equal(t, "on_hold", n.Transaction.TransactionStatus, "unknown statuses are kept")
	assert.JSONEq(t, `"agent7"`, string(n.Transaction.Extra["created_by"]))
	assert.Equal(t, FlexString("1.3"), n.Version, "a numeric version is accepted")

	out, err := json.Marshal(n)
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, json.Unmarshal(out, &back))
	assert.Equal(t, map[string]any{"x": float64(1)}, back["brand_new"], "extra fields survive re-encoding")
	assert.Equal(t, "agent7", back["transaction"].(map[string]any)["created_by"])
}

func TestDecodeRejectsMistypedFields(t *testing.T) {
	_, err := Decode[Notification]([]byte(`{"transaction":{"tid":"abc"}}`))
	assert.Error(t, err)
	_, err = Decode[Notification]([]byte(`{"transaction":{"tid":1,"amount":1.5}}`))
	assert.Error(t, err, "amounts are integers in minor units")
}

func TestSessionRequestExtraIsSent(t *testing.T) {
	req := SessionRequest{Auth: Auth{MerchantID: "m", ApplicationKey: "a", Version: Version, Timestamp: 1},
		Intent: IntentPayment, Currency: "EUR", CID: "c1", Locale: "en-GB", NotificationURL: "n", ReturnURL: "r", OrderID: "o",
		Extra: Extra{"new_praxis_field": json.RawMessage(`"x"`)}}
	b, err := json.Marshal(req)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, "x", m["new_praxis_field"])
	assert.Equal(t, "m", m["merchant_id"], "embedded auth fields are flattened")
	assert.NotContains(t, m, "amount", "null amount (customer chooses) is omitted")
}

func TestCurrencies(t *testing.T) {
	c, err := NewCurrencies(map[string]int64{"KWD": 1, "ISK": 1})
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
		{"KWD", 1, 1234, "1234"}, // overridden
		{"ISK", 1, 7, "7"},
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
	_, err = c.ParseMajor("1.234", "USD")
	assert.ErrorContains(t, err, "USD has 2 decimals")
	_, err = NewCurrencies(map[string]int64{"usd": 100})
	assert.ErrorContains(t, err, "currencies.usd")
	_, err = NewCurrencies(map[string]int64{"USD": 3})
	assert.ErrorContains(t, err, "must be 1, 10, 100 or 1000")
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"approved": "approved", "Approved": "approved", "canceled": "cancelled", "CANCELLED": "cancelled",
		"in progress": "in_progress", "pending_async": "pending_async", "On Hold": "on_hold",
	} {
		assert.Equal(t, want, NormalizeStatus(in), in)
	}
	assert.Equal(t, "authorization", NormalizeType("authorize"))
	assert.Equal(t, "sale", NormalizeType("Sale"))
	assert.True(t, KnownStatus("in_progress"))
	assert.False(t, KnownStatus("on_hold"))
}

func TestKnownCurrency(t *testing.T) {
	for _, c := range []string{"USD", "EUR", "JPY", "KWD", "BTC", "ZWG"} {
		assert.True(t, KnownCurrency(c), c)
	}
	for _, c := range []string{"XXX", "usd", "EU", "EURO", "", "SD ", "SDT", "SDC", "TH"} {
		assert.False(t, KnownCurrency(c), c)
	}
}

// FuzzDecodeNotification checks that typed decoding never panics and that
// Extra holds exactly the keys the struct does not name.
func FuzzDecodeNotification(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add([]byte(v.Body))
	}
	f.Add([]byte(`{"merchant_id":"m","x\u0079":1,"transaction":{"tid":1,"new":[1,2]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := Decode[Notification](body)
		if err != nil {
			return
		}
		for k := range n.Extra {
			if _, known := notificationKeys[k]; known {
				t.Fatalf("known key %q landed in Extra", k)
			}
		}
		if n.Transaction != nil {
			for k := range n.Transaction.Extra {
				if _, known := transactionKeys[k]; known {
					t.Fatalf("known transaction key %q landed in Extra", k)
				}
			}
		}
	})
}

// TestDecodeIsStrict is the regression test for issue #10 cause 1: Decode
// went through encoding/json, which read "TID", "AMOUNT", Unicode folds and
// repeated keys that the ingress's case-sensitive scanner never verified.
// Each body below decoded before (to values the ingress did not see); each
// is refused now, with an error naming the key.
func TestDecodeIsStrict(t *testing.T) {
	v3 := compactBody(t, loadVectors(t)[2].Body)
	with := func(old, new string) string {
		require.Contains(t, v3, old)
		return strings.Replace(v3, old, new, 1)
	}
	tests := []struct {
		name, body string
		err        error
		path       string
	}{
		{"upper-case TID next to tid", with(`"tid":1234567`, `"tid":1234567,"TID":7654321`), ErrAmbiguousKey, "transaction.TID"},
		{"upper-case TID alone", with(`"tid":1234567`, `"TID":7654321`), ErrAmbiguousKey, "transaction.TID"},
		{"upper-case AMOUNT", with(`"amount":100,"conversion_rate":"1.000000","processed_currency":"USD","processed_amount":100,"fee"`,
			`"amount":100,"AMOUNT":999999,"conversion_rate":"1.000000","processed_currency":"USD","processed_amount":100,"fee"`), ErrAmbiguousKey, "transaction.AMOUNT"},
		{"long s folds to s", with(`"session":{`, `"ſession":{"order_id":"x"},"session":{`), ErrAmbiguousKey, `\u017fession`},
		{"Kelvin sign folds to k", with(`"application_key"`, `"application_\u212aey"`), ErrAmbiguousKey, `application_\u212aey`},
		{"repeated tid", with(`"tid":1234567`, `"tid":1234567,"tid":7654321`), ErrAmbiguousKey, "transaction.tid"},
		{"repeated transaction object", with(`"version":"1.3"`, `"transaction":{"tid":1,"amount":5},"version":"1.3"`), ErrAmbiguousKey, "transaction"},
		{"repeated key in an unknown nested object", with(`"version":"1.3"`, `"extra":{"a":[{"x":1,"X":2}]},"version":"1.3"`), ErrAmbiguousKey, "extra.a.X"},
		{"invalid UTF-8 in an unsigned field", with(`"John"`, "\"Jo\xffhn\""), ErrNotJSON, ""},
		{"lower-case currency", with(`"transaction_id":"psp-abc-001","currency":"USD"`, `"transaction_id":"psp-abc-001","currency":"usd"`), ErrFieldFormat, "transaction.currency"},
		{"decimal amount", with(`"transaction_id":"psp-abc-001","currency":"USD","amount":100`, `"transaction_id":"psp-abc-001","currency":"USD","amount":100.0`), ErrFieldFormat, "transaction.amount"},
		{"negative amount", with(`"transaction_id":"psp-abc-001","currency":"USD","amount":100`, `"transaction_id":"psp-abc-001","currency":"USD","amount":-100`), ErrFieldFormat, "transaction.amount"},
		{"negative tid", with(`"tid":1234567`, `"tid":-1234567`), ErrFieldFormat, "transaction.tid"},
		{"19-digit tid", with(`"tid":1234567`, `"tid":1234567890123456789`), ErrFieldFormat, "transaction.tid"},
		{"exponent conversion rate", with(`"conversion_rate":"1.000000","processed_currency":"USD","processed_amount":100,"fee"`, `"conversion_rate":1e0,"processed_currency":"USD","processed_amount":100,"fee"`), ErrFieldFormat, "transaction.conversion_rate"},
		{"leading zero in the rate (digits moved from amount)", with(`"amount":100,"conversion_rate":"1.000000","processed_currency":"USD","processed_amount":100,"fee"`, `"amount":10,"conversion_rate":"01.000000","processed_currency":"USD","processed_amount":100,"fee"`), ErrFieldFormat, "transaction.conversion_rate"},
		{"string timestamp", with(`"timestamp":1590611640`, `"timestamp":"1590611640"`), ErrFieldFormat, "timestamp"},
		{"decimal timestamp", with(`"timestamp":1590611640`, `"timestamp":1590611640.5`), ErrFieldFormat, "timestamp"},
		{"mistyped unsigned field", with(`"avs_alert":0`, `"avs_alert":"0"`), ErrFieldFormat, "customer.avs_alert"},
		{"array where an object belongs", with(`"card":null`, `"card":[]`), ErrFieldFormat, "transaction.card"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode[Notification]([]byte(tc.body))
			require.ErrorIs(t, err, tc.err)
			if tc.path != "" {
				var ke *KeyError
				require.ErrorAs(t, err, &ke)
				assert.Equal(t, tc.path, ke.Path)
			}
		})
	}
}

func TestStrictFormatsAccept(t *testing.T) {
	v3 := compactBody(t, loadVectors(t)[2].Body)
	for _, body := range []string{
		v3,
		strings.Replace(v3, `"conversion_rate":"1.000000","processed_currency"`, `"conversion_rate":1.000000,"processed_currency"`, 1),
		strings.Replace(v3, `"processed_currency":"USD","processed_amount":100,"fee"`, `"processed_currency":null,"processed_amount":null,"fee"`, 1),
		strings.Replace(v3, `"transaction":{`, `"transaction":{"brand_new_field":{"nested":[1,{"a":"b"}]},`, 1),
		strings.Replace(v3, `"John"`, `"J\u00f6hn \ud83d\ude00"`, 1),
	} {
		_, err := Decode[Notification]([]byte(body))
		assert.NoError(t, err)
	}
}

func compactBody(t testing.TB, body string) string {
	var b bytes.Buffer
	require.NoError(t, json.Compact(&b, []byte(body)))
	return b.String()
}
