package praxis

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const vectorSecret = "MerchantSecretKey"

// vector is one computed test vector of SIGNATURE.md §6, extracted verbatim
// into testdata/vectors.json so the tests do not depend on ../shared.
type vector struct {
	ID     string   `json:"id"`
	List   ListName `json:"list"`
	Fields []string `json:"fields"`
	Body   string   `json:"body"`
	Concat string   `json:"concat"`
	SHA384 string   `json:"sha384"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	require.NoError(t, err)
	var vs []vector
	require.NoError(t, json.Unmarshal(raw, &vs))
	require.Len(t, vs, 14, "V1–V14 are expected in testdata/vectors.json")
	return vs
}

func TestSignatureVectors(t *testing.T) {
	lists := DefaultLists()
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			fl := lists.Get(v.List)
			assert.Equal(t, v.Fields, fl.Fields(), "default list %s must equal the vector's documented fields", v.List)

			text, err := fl.SigningText(nil, []byte(v.Body))
			require.NoError(t, err)
			assert.Equal(t, v.Concat, string(text), "concatenated values")

			sig, err := fl.Sign([]byte(v.Body), vectorSecret)
			require.NoError(t, err)
			assert.Equal(t, v.SHA384, sig.String())

			assert.NoError(t, fl.Verify([]byte(v.Body), v.SHA384, vectorSecret))
			assert.NoError(t, fl.Verify([]byte(v.Body), strings.ToUpper(v.SHA384), vectorSecret), "hex case is not guaranteed")
			assert.NoError(t, fl.Verify([]byte(v.Body), v.SHA384, "old-secret", vectorSecret), "rotation: any secret may match")
		})
	}
}

func TestSignaturePitfalls(t *testing.T) {
	var v3 vector
	for _, v := range loadVectors(t) {
		if v.ID == "V3" {
			v3 = v
		}
	}
	sig, err := DefaultLists().Get(ListNotificationRequest).Sign([]byte(v3.Body), vectorSecret)
	require.NoError(t, err)
	for _, tc := range []struct{ id, wrong string }{
		{"P1 float64 conversion_rate", "dbb7bf60caf875c8328b24b1a7e69da7107d17453cce9ce124921763180de0c90579ce1e5c7a098baeaeec05aa33802f"},
		{"P2 HMAC", "62d89ee8518ac90cbeeb69b292de29a27caec31a58f67dae593daace682400ec32f85f03947daafb89108346785ff8f6"},
		{"P3 secret prepended", "25961b9cac00d5de41231b8133e50f36e7ff3e4c49b0c43927bdefa9fb524c0b1f7698e17c57b1516a1a3131c2d20d29"},
	} {
		t.Run(tc.id, func(t *testing.T) {
			assert.NotEqual(t, tc.wrong, sig.String())
			assert.ErrorIs(t, DefaultLists().Get(ListNotificationRequest).Verify([]byte(v3.Body), tc.wrong, vectorSecret), ErrSignatureMismatch)
		})
	}
}

func TestSignatureV15UTF8(t *testing.T) {
	body := `{"merchant_id":"Test-Integration-Merchant","application_key":"Sandbox","intent":"payment",` +
		`"cid":"клиент-42","order_id":"test-1560610955","version":"1.3","timestamp":1590611635}`
	const want = "a7f417403aaf13f208fd06a6dbe8b883a74957a142d6b0e6bf7dcb43c73d28beb33d9f46c1b0172024c569807abb6445"
	fl := DefaultLists().Get(ListCashierRequest)
	sig, err := fl.Sign([]byte(body), vectorSecret)
	require.NoError(t, err)
	assert.Equal(t, want, sig.String())

	// The same cid written with \u escapes must sign identically: values are
	// decoded before hashing.
	escaped := strings.Replace(body, "клиент", `\u043a\u043b\u0438\u0435\u043d\u0442`, 1)
	sig2, err := fl.Sign([]byte(escaped), vectorSecret)
	require.NoError(t, err)
	assert.Equal(t, want, sig2.String())
}

// legacyConcat is the API 1.1/1.2 body-signature rule (keys sorted, values
// concatenated): enough to recompute E3/E4 from their published bodies.
func legacyConcat(t *testing.T, body string) string {
	d := json.NewDecoder(strings.NewReader(body))
	d.UseNumber()
	var m map[string]any
	require.NoError(t, d.Decode(&m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			b.WriteString(v)
		case json.Number:
			b.WriteString(v.String())
		}
	}
	return b.String()
}

func TestDigestPublishedExamples(t *testing.T) {
	for _, tc := range []struct{ id, concat, want string }{
		{"E1", "Integration TEST USDTest-Integration-Merchant15688553921.1ABCDEF", "c8d9b1824601bb6e11342afc36cb7281892daead2fbae257ea2d2ff8aa4908d66d5863a429e247d47155c01a0592e482"},
		{"E2", "Integration TEST USDTest-Integration-Merchant15598253737528561.1", "c1eb4464bce78dd099501fbdbc6c9b9979070b4d82ef47fbbfbf9535104934d4abd77bfd9480685b317d60db5339097b"},
		{"E3", legacyConcat(t, `{"frontend":"Integration TEST USD","merchant_id":"Test-Integration-Merchant","timestamp":1568763244,"trace_id":752856,"version":"1.1"}`),
			"d055969f7069799fd0efec97a731b230396ce16f9a40a3dbe2f2b814948ba3d871d4ca021b986c18bf23a05377b24f2f"},
		{"E4", legacyConcat(t, `{"application_key":"Sandbox","merchant_id":"Test-Integration-Merchant","timestamp":1578879941,"trace_id":752856,"version":"1.2"}`),
			"68d044bf60b52684f0abe0a0d1e9050bf6a5472b0b33073c4aef744c2f527321b5a260462f338b0381d9eeef3eec7e0b"},
	} {
		t.Run(tc.id, func(t *testing.T) {
			assert.Equal(t, tc.want, Digest([]byte(tc.concat), vectorSecret).String())
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	vs := loadVectors(t)
	v3 := vs[2]
	require.Equal(t, "V3", v3.ID)
	fl := DefaultLists().Get(ListNotificationRequest)
	body := []byte(v3.Body)
	oneOff := []byte(v3.SHA384)
	oneOff[10] ^= 1 // still hex, one character different

	tests := []struct {
		name    string
		body    []byte
		header  string
		secrets []string
		want    error
	}{
		{"missing header", body, "", []string{vectorSecret}, ErrSignatureMissing},
		{"one character different", body, string(oneOff), []string{vectorSecret}, ErrSignatureMismatch},
		{"truncated", body, v3.SHA384[:95], []string{vectorSecret}, ErrSignatureMismatch},
		{"wrong secret", body, v3.SHA384, []string{"other"}, ErrSignatureMismatch},
		{"no secrets configured", body, v3.SHA384, nil, ErrSignatureMismatch},
		{"amount changed", []byte(strings.Replace(v3.Body, `"amount": 100,
    "conversion_rate": "1.000000",
    "processed_currency": "USD",
    "processed_amount": 100,
    "fee"`, `"amount": 101,
    "conversion_rate": "1.000000",
    "processed_currency": "USD",
    "processed_amount": 100,
    "fee"`, 1)), v3.SHA384, []string{vectorSecret}, ErrSignatureMismatch},
		{"not JSON", []byte(`{"merchant_id":`), v3.SHA384, []string{vectorSecret}, ErrNotJSON},
		{"not an object", []byte(`[1,2]`), v3.SHA384, []string{vectorSecret}, ErrNotObject},
		{"object in a signed field", []byte(`{"merchant_id":{"a":1}}`), v3.SHA384, []string{vectorSecret}, ErrUnsignableValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorIs(t, fl.Verify(tc.body, tc.header, tc.secrets...), tc.want)
		})
	}
}

func TestNewListsOverrides(t *testing.T) {
	l, err := NewLists(map[string][]string{"refund_request": {"merchant_id", "application_key", "timestamp", "order_id"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"merchant_id", "application_key", "timestamp", "order_id"}, l.Get(ListRefundRequest).Fields())
	assert.Equal(t, DefaultLists().Get(ListCashierRequest).Fields(), l.Get(ListCashierRequest).Fields(), "other lists keep their defaults")

	for _, tc := range []struct {
		name      string
		overrides map[string][]string
		wantErr   string
	}{
		{"unknown list", map[string][]string{"refund": {"a"}}, "signature_fields.refund: unknown list"},
		{"empty field", map[string][]string{"refund_request": {"a", ""}}, "signature_fields.refund_request[1]"},
		{"bad dot path", map[string][]string{"refund_request": {"a..b"}}, "is not a dot path"},
		{"repeated field", map[string][]string{"refund_request": {"a", "a"}}, "appears twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewLists(tc.overrides)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

// FuzzVerify checks that verification never panics on any body or header,
// that a body verifies under its own signature, and that changing the text of
// any one signed field makes verification fail.
func FuzzVerify(f *testing.F) {
	specs := ListSpecs()
	for _, v := range loadVectors(f) {
		idx := 0
		for i, s := range specs {
			if s.Name == v.List {
				idx = i
			}
		}
		f.Add([]byte(v.Body), uint8(idx), uint8(3), "changed", v.SHA384)
	}
	f.Add([]byte(`{"status":0,"timestamp":1}`), uint8(1), uint8(0), "", "")
	lists := DefaultLists()
	f.Fuzz(func(t *testing.T, body []byte, listIdx, field uint8, replacement, header string) {
		fl := lists.Get(specs[int(listIdx)%len(specs)].Name)
		_ = fl.Verify(body, header, vectorSecret) // must not panic

		sig, err := fl.Sign(body, vectorSecret)
		if err != nil {
			if fl.Verify(body, sig.String(), vectorSecret) == nil {
				t.Fatalf("a body that cannot be signed verified: %v", err)
			}
			return
		}
		if err := fl.Verify(body, sig.String(), vectorSecret); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
		paths := fl.Paths()
		if paths.Len() == 0 {
			return
		}
		vals := make([]Value, paths.Len())
		if err := paths.Extract(body, vals); err != nil {
			t.Fatalf("extract after a successful sign: %v", err)
		}
		v := vals[int(field)%len(vals)]
		if !v.Present() {
			return
		}
		before, _ := v.Text()
		if before == replacement {
			return
		}
		start := cap(body) - cap(v.Raw)
		quoted, _ := json.Marshal(replacement)
		mutated := append(append(append([]byte(nil), body[:start]...), quoted...), body[start+len(v.Raw):]...)
		after := make([]Value, paths.Len())
		if err := paths.Extract(mutated, after); err != nil {
			t.Fatalf("mutated body no longer parses: %v", err)
		}
		if text, _ := after[int(field)%len(vals)].Text(); text == before {
			return // e.g. two invalid UTF-8 bytes both decode to U+FFFD
		}
		if err := fl.Verify(mutated, sig.String(), vectorSecret); err == nil {
			t.Fatalf("changing %s from %q to %q kept the signature valid", paths.names[int(field)%len(vals)], before, replacement)
		}
	})
}
