package idempotency

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClaimRecordCodec(t *testing.T) {
	tests := []struct {
		name string
		rec  claimRecord
		enc  string
	}{
		{"claim", claimRecord{attempts: 1, expires: 1700000000123, token: "tok"}, "p1:1700000000123:tok"},
		{"released", claimRecord{attempts: 3, expires: 0, token: "tok"}, "p3/0/0/0:0:tok"},
		{"legacy released: may have called", claimRecord{attempts: 3, sent: 1, calls: 2, token: "tok"}, "p3/1/2/0:0:tok"},
		{"done", claimRecord{done: true, attempts: 2, token: "tok", value: []byte(`{"a":1}`)}, `d2/0/0/0:0:tok:{"a":1}`},
		{"done, value with colons", claimRecord{done: true, attempts: 1, expires: 5, token: "t", value: []byte("a:b:")}, "d1:5:t:a:b:"},
		{"done, empty value", claimRecord{done: true, attempts: 1, token: "t", value: []byte{}}, "d1:0:t:"},
		{"claim with a call marker", claimRecord{attempts: 2, sent: 1700000000001, calls: 1, lookups: 3, expires: 9, token: "t"}, "p2/1700000000001/1/3:9:t"},
		{"lookups only", claimRecord{attempts: 1, lookups: 1, expires: 9, token: "t"}, "p1/0/0/1:9:t"},
		{"done with a call marker", claimRecord{done: true, attempts: 1, sent: 5, calls: 2, token: "t", value: []byte("v")}, "d1/5/2/0:0:t:v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.enc, string(tt.rec.encode()))
			got, err := decodeClaimRecord(tt.enc)
			require.NoError(t, err)
			assert.Equal(t, tt.rec, got)
		})
	}
}

func TestLegacyClaimRecordMayHaveCalled(t *testing.T) {
	got, err := decodeClaimRecord("p3:0:tok")
	require.NoError(t, err)
	assert.Equal(t, claimRecord{attempts: 3, sent: 1, calls: 2, token: "tok"}, got,
		"a record from before the call marker: earlier holders may have called, long ago")
}

func TestClaimRecordCorrupt(t *testing.T) {
	for _, raw := range []string{
		"", "p", "x1:0:t", "p1", "p1:0", "pa:0:t", "p0:0:t", "p-1:0:t", "p1:x:t", "d1:0:t", "d1:0", "processing", "processed",
		"p1/0/0/0:0:t", "p1/5/0/0:0:t", "p1/0/1/0:0:t", "p1/1/1:0:t", "p1/-1/1/0:0:t",
	} {
		_, err := decodeClaimRecord(raw)
		assert.ErrorIs(t, err, errCorrupt, "%q", raw)
	}
}

func FuzzClaimRecord(f *testing.F) {
	f.Add("p1:1700000000123:tok")
	f.Add("d2:0:tok:value")
	f.Add("d1:5:t:a:b:")
	f.Fuzz(func(t *testing.T, raw string) {
		rec, err := decodeClaimRecord(raw) // never panics
		if err != nil {
			return
		}
		again, err := decodeClaimRecord(string(rec.encode()))
		require.NoError(t, err, "re-encoding %q", raw)
		assert.Equal(t, rec, again)
	})
}

func TestEncodeKey(t *testing.T) {
	tests := []struct{ key, want string }{
		{"plain-key_1/2", "plain-key_1/2"},
		{"a.b", "a=2Eb"},
		{"a=2Eb", "a=3D2Eb"},
		{"a:b c", "a=3Ab=20c"},
		{"*>", "=2A=3E"},
		{"ü", "=C3=BC"},
		{".", "=2E"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got := encodeKey(tt.key)
			assert.Equal(t, tt.want, got)
			assert.Regexp(t, `^[-/_=a-zA-Z0-9]+$`, got, "a valid KV key")
		})
	}
	assert.NotEqual(t, encodeKey("a.b"), encodeKey("a=2Eb"), "injective")
	assert.Len(t, encodeKey(strings.Repeat(".", MaxKeyLen)), 3*MaxKeyLen)
}

func TestKVToken(t *testing.T) {
	rec := claimRecord{attempts: 3, sent: 1700000000123, calls: 2, lookups: 1, token: "r4nd-_"}
	rev, got, err := parseKVToken(kvToken(42, rec))
	require.NoError(t, err)
	assert.Equal(t, uint64(42), rev)
	assert.Equal(t, rec, got)
	rev, got, err = parseKVToken(kvToken(7, claimRecord{attempts: 1, token: "t"}))
	require.NoError(t, err)
	assert.Equal(t, uint64(7), rev)
	assert.Equal(t, claimRecord{attempts: 1, token: "t"}, got)
	for _, bad := range []string{"", "forged", "1.1", "0.1.x", "1.0.x", "x.1.y", "1.x.y", "1.1.", "1.1/0/0/0.x", "1.2/5/0/0.x", "1.+1.x"} {
		_, _, err := parseKVToken(bad)
		assert.Error(t, err, "%q", bad)
	}
}
