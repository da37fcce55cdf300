package cloudevent

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
)

func TestAppendRoundTrip(t *testing.T) {
	data := []byte(`{"merchant_id":"m","transaction":{"tid":1,"conversion_rate":1.000000}}`)
	now := time.Date(2026, 11, 21, 10, 0, 0, 123, time.UTC)
	b := Append(nil, Fields{
		ID: `sandbox:t:1:approved:100:100:"USD"`, Source: "/praxis/sandbox", Type: "praxis.deposit.approved",
		Subject: "1", Time: now, RawMerchant: []byte(`"Test \"M\""`), Application: "sandbox", Processor: "WireCard", Data: data,
	})
	require.True(t, json.Valid(b), "%s", b)
	e, err := Decode(b)
	require.NoError(t, err)
	assert.Equal(t, SpecVersion, e.SpecVersion)
	assert.Equal(t, `sandbox:t:1:approved:100:100:"USD"`, e.ID)
	assert.Equal(t, `Test "M"`, e.Merchant)
	assert.Equal(t, "WireCard", e.Processor)
	assert.True(t, now.Equal(e.Time))
	assert.Equal(t, "application/json", e.DataContentType)
	assert.Equal(t, string(data), string(e.Data), "data is embedded byte for byte; 1.000000 is not re-formatted")
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"plain", `q"b\`, "ctl\x01\n\t", "клиент", "bad\xffutf8", ""} {
		b := AppendString(nil, s)
		require.True(t, json.Valid(b), "%q → %s", s, b)
		var back string
		require.NoError(t, json.Unmarshal(b, &back))
		want, _ := json.Marshal(s)
		var wantBack string
		require.NoError(t, json.Unmarshal(want, &wantBack))
		assert.Equal(t, wantBack, back, "same text as encoding/json for %q", s)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("x")
	f.Add("\xff\x00\"\\")
	f.Fuzz(func(t *testing.T, s string) {
		b := AppendString(nil, s)
		if !json.Valid(b) {
			t.Fatalf("invalid JSON for %q: %s", s, b)
		}
	})
}

// TestKeyFieldAttributes: the verified key fields ride as lower-case
// alphanumeric extension attributes, numbers as strings (CloudEvents
// integers are 32-bit; a tid has up to 18 digits), so a consumer in any
// language reads them without parsing data (issue #10.5).
func TestKeyFieldAttributes(t *testing.T) {
	b := Append(nil, Fields{
		ID: "sandbox:t:123456789012345678:approved:0123", Source: "/praxis/sandbox", Type: "praxis.deposit.approved",
		Subject: "123456789012345678", Time: time.Unix(1, 0), Data: []byte(`{}`),
		RawTID: []byte(`123456789012345678`), Status: "approved", RawAmount: []byte(`2500`), RawCurrency: []byte(`"EUR"`),
		RawProcessedAmount: []byte(`2700`), RawProcessedCurrency: []byte(`"USD"`), RawOrderID: []byte(`"order-\u00e9"`),
	})
	require.True(t, json.Valid(b), "%s", b)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for name, want := range map[string]string{
		"praxistid": "123456789012345678", "praxisstatus": "approved", "praxisamount": "2500", "praxiscurrency": "EUR",
		"praxisprocamount": "2700", "praxisproccurrency": "USD", "praxisorderid": "order-é",
	} {
		assert.Equal(t, want, m[name], name)
		assert.Regexp(t, `^[a-z0-9]{1,20}$`, name, "CloudEvents extension names are lower-case alphanumeric, at most 20 characters")
	}
	e, err := Decode(b)
	require.NoError(t, err)
	assert.Equal(t, "123456789012345678", e.TID)
	assert.Equal(t, "2700", e.ProcessedAmount)

	// Absent fields are omitted, not written empty.
	b = Append(nil, Fields{ID: "x", Source: "/praxis/a", Type: "praxis.session.expired", Time: time.Unix(1, 0), Data: []byte(`{}`)})
	assert.NotContains(t, string(b), "praxistid")
	assert.NotContains(t, string(b), "praxisamount")
}

// TestExtensions: further extension attributes are written in order as
// strings before data, and a Rebilly envelope reads back; without them
// the envelope is byte for byte what it was (Praxis events unchanged).
func TestExtensions(t *testing.T) {
	base := Fields{ID: "x", Source: "/praxis/a", Type: "praxis.deposit.approved", Time: time.Unix(1, 0), Data: []byte(`{}`)}
	before := Append(nil, base)
	assert.Equal(t, `{"specversion":"1.0","id":"x","source":"/praxis/a","type":"praxis.deposit.approved","time":"1970-01-01T00:00:01Z","datacontenttype":"application/json","data":{}}`,
		string(before))

	data := []byte(`{"id":"txn_1","amount":12.30}`)
	tx := rebilly.Transaction{ID: "txn_1", Revision: 3, Result: "approved", Status: "completed", AmountMinor: 1230, Currency: "EUR", Type: `sa"le`}
	b := Append(nil, RebillyTransaction("org_1", &tx, data, time.Unix(2, 0), "https://example/s.json"))
	require.True(t, json.Valid(b), "%s", b)
	e, err := DecodeRebilly(b)
	require.NoError(t, err)
	assert.Equal(t, RebillyEvent{
		SpecVersion: SpecVersion, ID: "rebilly:org_1:t:txn_1:3", Source: "rebilly/org_1", Type: TypeRebillyTransaction, Subject: "txn_1",
		Time: time.Unix(2, 0).UTC(), DataContentType: "application/json", DataSchema: "https://example/s.json",
		RebillyID: "txn_1", Revision: "3", Result: "approved", Status: "completed", Amount: "1230", Currency: "EUR", TxType: `sa"le`,
		Data: data,
	}, *e)

	p := rebilly.PayoutRequest{ID: "pr_1", Status: "pending", AmountMinor: 250, Currency: "EUR", UpdatedTime: "2026-01-01T00:00:00Z"}
	e, err = DecodeRebilly(Append(nil, RebillyPayoutRequest("org_1", &p, []byte(`{}`), time.Unix(2, 0), "s")))
	require.NoError(t, err)
	assert.Equal(t, "rebilly:org_1:p:pr_1:2026-01-01T00:00:00Z", e.ID)
	assert.Equal(t, TypeRebillyPayoutRequest, e.Type)
	assert.Equal(t, []string{"pr_1", "pending", "250", "EUR", "", "", ""}, []string{e.RebillyID, e.Status, e.Amount, e.Currency, e.Revision, e.Result, e.TxType})
	for _, name := range []string{AttrRebillyID, AttrRebillyRevision, AttrRebillyResult, AttrRebillyStatus, AttrRebillyAmount, AttrRebillyCurrency, AttrRebillyType} {
		assert.Regexp(t, `^[a-z0-9]{1,20}$`, name, "CloudEvents extension names are lower-case alphanumeric, at most 20 characters")
	}
}
