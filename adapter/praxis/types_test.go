package praxis

import (
	"encoding/json"
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
