package redact

import (
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://admin:hunter22@nats-1:4222", "nats://REDACTED@nats-1:4222"},
		{"redis://:p4ssw0rd@redis:6379/0", "redis://REDACTED@redis:6379/0"},
		{"rediss://user:pw@r:6380/1?dial_timeout=3s&password=x1y2", "rediss://REDACTED@r:6380/1?dial_timeout=3s&password=REDACTED"},
		{"https://gw.example/api?token=abc&x=1", "https://gw.example/api?token=REDACTED&x=1"},
		{"redis://user:pa%zz@host:6379", "redis://REDACTED"},
		{"not a url with secret s3cr3t", "REDACTED"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, URL(tt.in))
		})
	}
	assert.Equal(t, "nats://REDACTED@a:4222,nats://b:4222", URLs("nats://u:pw1@a:4222, nats://b:4222"))
}

func TestErrorRemovesEveryForm(t *testing.T) {
	// Malformed on purpose (an unescaped % in the password), built at run
	// time so vet's URL check does not flag the literal.
	raw := fmt.Sprintf("redis://admin:S3cretPw%szz@redis:6379/0", "%")
	_, perr := url.Parse(raw)
	require.Error(t, perr)
	err := fmt.Errorf("redis.url: %w", perr)
	red := Error(err, raw)
	assert.NotContains(t, red.Error(), "S3cretPw")
	assert.NotContains(t, red.Error(), "admin:")
	assert.True(t, errors.Is(red, perr), "the cause stays reachable")

	raw = "nats://admin:hunter22@nats-1:4222"
	red = Error(fmt.Errorf("connect to NATS at %s: nats: authorization violation (user admin:hunter22)", raw), raw)
	assert.NotContains(t, red.Error(), "hunter22")
	assert.Contains(t, red.Error(), "nats://REDACTED@nats-1:4222")

	plain := errors.New("no secrets here")
	assert.Same(t, plain, Error(plain, raw), "nothing to redact: the same error")
	assert.NoError(t, Error(nil, raw))
}
