package testutil

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestScanWriterFindsPII(t *testing.T) {
	tests := []struct {
		line string
		want string
	}{
		{`{"msg":"customer jane@example.com"}`, "an e-mail address"},
		{`{"card":"4111111111111111"}`, "a card number"},
		{`{"card":"411111******1111"}`, "a masked card number"},
		{`{"secret":"MerchantSecretKey"}`, "a secret"},
		{`{"tid":1234567,"ts":1795291957}`, ""},
		{`{"n":"4111111111111112"}`, ""}, // fails Luhn
	}
	for _, tc := range tests {
		w := &scanWriter{secrets: testSecrets()}
		_, _ = w.Write([]byte(tc.line))
		if tc.want == "" {
			assert.Empty(t, w.findings, tc.line)
			continue
		}
		if assert.Len(t, w.findings, 1, tc.line) {
			assert.Equal(t, tc.want, w.findings[0].what)
			assert.NotContains(t, w.findings[0].redacted, "jane@example.com")
			assert.NotContains(t, w.findings[0].redacted, "MerchantSecretKey")
		}
	}
}
