package cloudevent

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
