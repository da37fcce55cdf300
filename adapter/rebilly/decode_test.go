package rebilly

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/money"
)

func iso(t testing.TB) money.Currencies {
	c, err := money.NewCurrencies(nil)
	require.NoError(t, err)
	return c
}

// txnBody is API.md §9's confirmation read.
const txnBody = `{"id":"txn_0YVDTQJ8YWDGQACV2N2N5SPWQ0","type":"sale","status":"completed","result":"approved",
 "amount":50.00,"currency":"USD","requestAmount":50.00,"requestCurrency":"USD",
 "customerId":"cus_0YV7DDSDD1C8DA64KHH2W33CPF","websiteId":"web_0YV7DE4Z26DQSA1AC92FBJ7SEG",
 "depositRequestId":"dep_req_01K2HMPNTBDS92TA6W4EX3VJPM","payoutRequestId":null,"requestId":null,
 "gatewayName":"TestProcessor","gatewayTransactionId":"GAT123","revision":3,
 "processedTime":"2026-08-21T14:05:12Z","_links":[{"rel":"self","href":"..."}]}`

func TestDecodeTransaction(t *testing.T) {
	tx, err := Decode[Transaction]([]byte(txnBody), iso(t))
	require.NoError(t, err)
	assert.Equal(t, "txn_0YVDTQJ8YWDGQACV2N2N5SPWQ0", tx.ID)
	assert.Equal(t, int64(5000), tx.AmountMinor)
	assert.Equal(t, Decimal("50.00"), tx.Amount)
	assert.Equal(t, int64(3), tx.Revision)
	assert.Equal(t, ResultApproved, tx.Result)
	assert.Equal(t, "", tx.PayoutRequestID, "null reads as absent")
	assert.Equal(t, "...", tx.Link("self"))
}

func TestDecodeCashier(t *testing.T) {
	body := `{"id":"cashier_0YV7DE4Z26DQSA1AC92FBJ7SEG","customerId":"cus_0YV7DDSDD1C8DA64KHH2W33CPF",
 "websiteId":"web_0YV7DE4Z26DQSA1AC92FBJ7SEG","currency":"USD",
 "redirectUrl":"https://merchant.example/cashier/done",
 "notificationUrl":"https://ingress.example/rebilly/notify/k3y?id={id}&result={result}",
 "expirationTime":"2026-08-21T15:00:00Z","balance":1500.00,"bonusBalance":0,"pendingPayoutTotal":100.00,
 "canWithdraw":true,"lastDepositRequestId":"dep_req_01K2HMPNTBDS92TA6W4EX3VJPM","cashierToken":"eyJhbGciOi...",
 "createdTime":"2026-08-21T14:00:00Z","updatedTime":"2026-08-21T14:00:00Z",
 "_links":[{"rel":"self","href":"https://api-sandbox.rebilly.com/organizations/org_0YVDM8RC7GDADADSBSMW124JA8/cashiers/cashier_0YV7DE4Z26DQSA1AC92FBJ7SEG"}]}`
	c, err := Decode[Cashier]([]byte(body), iso(t))
	require.NoError(t, err)
	assert.Equal(t, int64(150000), c.BalanceMinor)
	assert.Equal(t, int64(0), c.BonusBalanceMinor)
	assert.Equal(t, int64(10000), c.PendingPayoutTotalMinor)
	assert.True(t, c.CanWithdraw)
	assert.Equal(t, "eyJhbGciOi...", c.CashierToken)
}

func TestDecodeStrict(t *testing.T) {
	secret := "john@example.com"
	tests := []struct {
		name, body, want string
	}{
		{"duplicate known key", `{"id":"t1","amount":1,"amount":1000,"currency":"USD"}`, `key "amount" appears twice`},
		{"duplicate by escape", `{"id":"t1","amount":1,"\u0061mount":1000,"currency":"USD"}`, `key "amount" appears twice`},
		{"duplicate unknown key", `{"id":"t1","amount":1,"currency":"USD","x":"` + secret + `","x":1}`, "a key appears twice"},
		{"duplicate nested", `{"id":"t1","amount":1,"currency":"USD","gateway":{"response":{"code":"a","code":"b"}}}`, `gateway.response: key "code" appears twice`},
		{"case folded", `{"id":"t1","Amount":1000,"amount":1,"currency":"USD"}`, `differs only in case from "amount"`},
		{"unicode fold", `{"id":"t1","amount":1,"currency":"USD","\u017Ftatus":"completed"}`, `differs only in case from "status"`},
		{"amount as string", `{"id":"t1","amount":"10.00","currency":"USD"}`, "amount must be a JSON number"},
		{"amount too precise", `{"id":"t1","amount":10.005,"currency":"EUR"}`, "amount: has more decimals than EUR allows (2)"},
		{"negative amount", `{"id":"t1","amount":-1,"currency":"EUR"}`, "amount: must not be negative"},
		{"huge amount", `{"id":"t1","amount":1e300,"currency":"EUR"}`, "amount: is out of range"},
		{"missing amount", `{"id":"t1","currency":"EUR"}`, "amount: is missing"},
		{"bad currency", `{"id":"t1","amount":1,"currency":"eur"}`, "currency is not an ISO 4217 code"},
		{"missing id", `{"amount":1,"currency":"EUR"}`, "id is missing"},
		{"wrong type", `{"id":"t1","amount":1,"currency":"EUR","revision":"` + secret + `"}`, "revision must be an integer, got a JSON string"},
		{"trailing data", `{"id":"t1","amount":1,"currency":"EUR"} {}`, "data after the JSON value"},
		{"not JSON", `{"id":"t1",`, "ends too early"},
		{"array", `[1]`, "must be an object"},
		{"deep", strings.Repeat(`{"x":`, 100) + "1" + strings.Repeat("}", 100), "nested deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode[Transaction]([]byte(tc.body), iso(t))
			require.ErrorIs(t, err, ErrDecode)
			assert.ErrorContains(t, err, tc.want)
			assert.NotContains(t, err.Error(), secret, "errors never echo values")
		})
	}
}

func TestDecodeAmounts(t *testing.T) {
	tests := []struct {
		amount, currency string
		want             int64
		ok               bool
	}{
		{"0.1", "EUR", 10, true},
		{"10.005", "EUR", 0, false},
		{"1.234", "KWD", 1234, true},
		{"1.2345", "KWD", 0, false},
		{"1e2", "EUR", 10000, true},
		{"1.5E-1", "USD", 15, true},
		{"1000", "JPY", 1000, true},
		{"0.5", "JPY", 0, false},
		{"-0.01", "EUR", 0, false},
		{"99999999999999999999", "USD", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.currency+" "+tc.amount, func(t *testing.T) {
			body := `{"id":"t","amount":` + tc.amount + `,"currency":"` + tc.currency + `"}`
			tx, err := Decode[Transaction]([]byte(body), iso(t))
			if !tc.ok {
				require.ErrorIs(t, err, ErrDecode)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, tx.AmountMinor)
		})
	}
}

func TestDecodeToleratesUnknownKeys(t *testing.T) {
	body := `{"id":"t","amount":1,"currency":"EUR","brandNew":{"nested":[1,2]},"3ds":{"flow":"challenge"}}`
	tx, err := Decode[Transaction]([]byte(body), iso(t))
	require.NoError(t, err)
	assert.Equal(t, int64(100), tx.AmountMinor)
}

func TestDecodeWebhook(t *testing.T) {
	body := `{"transactionId":"txn_1","eventType":"transaction-processed","_embedded":{"transaction":` + txnBody + `},"_links":[{"rel":"transaction","href":"x"}]}`
	w, err := Decode[TransactionWebhook]([]byte(body), iso(t))
	require.NoError(t, err)
	assert.Equal(t, int64(5000), w.Embedded.Transaction.AmountMinor)
	_, err = Decode[TransactionWebhook]([]byte(`{"transactionId":"t","eventType":"x","_embedded":{"transaction":{"id":"t","amount":1,"Amount":2,"currency":"EUR"}}}`), iso(t))
	assert.ErrorContains(t, err, `_embedded.transaction: a key differs only in case from "amount"`)
}

// FuzzDecode checks that the strict reader never panics, and that what it
// accepts has no key a second, lenient reader could resolve differently:
// decoding the re-encoded value gives the same minor-unit amount.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{txnBody, `{"id":"t","amount":1e2,"currency":"EUR"}`, `{"id":"t","amount":1,"amount":2}`,
		`{"transactionId":"t","eventType":"e","_embedded":{"transaction":{"id":"t","amount":0.1,"currency":"KWD"}}}`} {
		f.Add([]byte(s))
	}
	cur, _ := money.NewCurrencies(nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		tx, err := Decode[Transaction](body, cur)
		if err == nil {
			again, err := Decode[Transaction](mustJSON(t, tx), cur)
			if err != nil || again.AmountMinor != tx.AmountMinor || again.ID != tx.ID || again.Revision != tx.Revision {
				t.Fatalf("re-encoded transaction reads differently: %v", err)
			}
		}
		_, _ = Decode[TransactionWebhook](body, cur)
		_, _ = Decode[Cashier](body, cur)
		_, _ = Decode[PayoutRequests](body, cur)
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}
