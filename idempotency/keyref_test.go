package idempotency

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestErrorsNeverQuoteKeys: ingress dedup keys carry fields of a provider's
// body (status, order id); the store's errors, which the ingress logs, name
// a key by digest and length only (issue 12).
func TestErrorsNeverQuoteKeys(t *testing.T) {
	const key = "sandbox:s:order-SECRET-42:expired:0123456789abcdef"
	err := checkClaim("complete", Claim{Key: key, State: Busy})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "order-SECRET-42")
	assert.True(t, strings.HasPrefix(keyRef(key), "key #"), keyRef(key))
	assert.Equal(t, keyRef(key), keyRef(key), "stable, so errors about one key can be tied together")
}
