package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestErrorsNeverEchoValues: a value set in the wrong place (a secret
// pasted into secret_env or into a numeric variable, a URL with a
// password) is named by its field, never repeated.
func TestErrorsNeverEchoValues(t *testing.T) {
	const secret = "pasted-S3cret-Value"
	tests := []struct {
		name, yaml string
		env        map[string]string
		field      string
	}{
		{"secret pasted into secret_env", strings.Replace(minimal, "secret_env: SANDBOX_SECRET", "secret_env: "+secret, 1), nil, "applications[0].secret_env"},
		{"secret pasted into previous_secret_env", strings.Replace(minimal, "previous_secret_env: SANDBOX_OLD_SECRET", "previous_secret_env: "+secret, 1),
			map[string]string{"SANDBOX_SECRET": "s"}, "applications[0].previous_secret_env"},
		{"secret in an integer variable", minimal, map[string]string{"SANDBOX_SECRET": "s", "PRAXIS_WORKER_MAX_IN_FLIGHT": secret}, "PRAXIS_WORKER_MAX_IN_FLIGHT"},
		{"secret in a duration variable", minimal, map[string]string{"SANDBOX_SECRET": "s", "PRAXIS_TIMEOUT": secret}, "PRAXIS_TIMEOUT"},
		{"secret in a boolean variable", minimal, map[string]string{"SANDBOX_SECRET": "s", "PRAXIS_PPROF": secret}, "PRAXIS_PPROF"},
		{"password in base_url", minimal, map[string]string{"SANDBOX_SECRET": "s", "PRAXIS_BASE_URL": "http://u:" + secret + "@gw"}, "praxis.base_url"},
		{"password in public_url", minimal, map[string]string{"SANDBOX_SECRET": "s", "PRAXIS_PUBLIC_URL": "ftp://u:" + secret + "@gw"}, "ingress.public_url"},
		{"log level", minimal, map[string]string{"SANDBOX_SECRET": "s", "PRAXIS_LOG_LEVEL": secret}, "log_level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tt.yaml), envMap(tt.env))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.field)
			assert.NotContains(t, err.Error(), secret)
		})
	}
}

// TestPraxisMustBeHTTPS: http:// is refused for Praxis (the message always
// said https was required) unless the base URL is declared a simulator.
func TestPraxisMustBeHTTPS(t *testing.T) {
	env := envMap(map[string]string{"SANDBOX_SECRET": "s", "PRAXIS_BASE_URL": "http://gw.praxisgate.com"})
	_, err := Load(writeFile(t, minimal), env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "praxis.base_url: must start with https://")

	c, err := Load(writeFile(t, minimal+"  # simulator\n"), envMap(map[string]string{"SANDBOX_SECRET": "s",
		"PRAXIS_BASE_URL": "http://sim:8090", "PRAXIS_SIMULATED": "true"}))
	require.NoError(t, err)
	assert.True(t, c.Praxis.Simulated)
}

// TestDemoSecretOnlyWithSimulator: Praxis' public documentation secret is
// refused against a real Praxis.
func TestDemoSecretOnlyWithSimulator(t *testing.T) {
	_, err := Load(writeFile(t, minimal), envMap(map[string]string{"SANDBOX_SECRET": DemoSecret}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "public demo secret")
	assert.NotContains(t, err.Error(), DemoSecret)

	_, err = Load(writeFile(t, minimal), envMap(map[string]string{"SANDBOX_SECRET": DemoSecret,
		"PRAXIS_BASE_URL": "http://sim:8090", "PRAXIS_SIMULATED": "true"}))
	assert.NoError(t, err)
}

// TestSecretFileMode: a secret file others can write is refused.
func TestSecretFileMode(t *testing.T) {
	for _, tt := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o600, true}, {0o400, true}, {0o644, true}, {0o620, false}, {0o602, false}, {0o666, false}} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			secret := filepath.Join(t.TempDir(), "secret")
			require.NoError(t, os.WriteFile(secret, []byte("from-file\n"), 0o600))
			require.NoError(t, os.Chmod(secret, tt.mode))
			cfg := strings.Replace(minimal, "secret_env: SANDBOX_SECRET\n    previous_secret_env: SANDBOX_OLD_SECRET", "secret_file: "+secret, 1)
			_, err := Load(writeFile(t, cfg), envMap(nil))
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "applications[0].secret_file: is writable by group or others")
			assert.NotContains(t, err.Error(), "from-file")
		})
	}
}

// TestLimitsAndAdminDefaults: the webhook listener is bounded by default,
// and the admin listener is on, at worker.listen when only that is set.
func TestLimitsAndAdminDefaults(t *testing.T) {
	c, err := Load(writeFile(t, minimal), envMap(map[string]string{"SANDBOX_SECRET": "s"}))
	require.NoError(t, err)
	assert.Equal(t, WebhookLimits, c.Ingress.Limits)
	assert.Equal(t, "127.0.0.1:8481", c.Admin.Listen)

	c, err = Load(writeFile(t, minimal+"worker: {listen: \"0.0.0.0:9000\"}\n"), envMap(map[string]string{"SANDBOX_SECRET": "s"}))
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0:9000", c.Admin.Listen, "the legacy worker.listen still places the admin listener")

	_, err = Load(writeFile(t, minimal+"admin: {listen: \"127.0.0.1:8480\"}\n"), envMap(map[string]string{"SANDBOX_SECRET": "s"}))
	assert.ErrorContains(t, err, "admin.listen: must differ from ingress.listen")

	_, err = Load(writeFile(t, minimal+"ingress: {limits: {max_connections: -1}}\n"), envMap(map[string]string{"SANDBOX_SECRET": "s"}))
	assert.ErrorContains(t, err, "ingress.limits")

	_, err = Load(writeFile(t, minimal+"    allowed_callback_urls: [\"http://crm.example/hooks\"]\n"), envMap(map[string]string{"SANDBOX_SECRET": "s"}))
	assert.ErrorContains(t, err, "applications[0].allowed_callback_urls[0]: must be an https:// URL")
}
