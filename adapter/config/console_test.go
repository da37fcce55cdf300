package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConsoleSettings(t *testing.T) {
	const token = "a-long-operator-token-value-42"
	tests := []struct {
		name, yaml string
		env        map[string]string
		wantErr    string
		check      func(t *testing.T, c *Config)
	}{
		{name: "defaults", check: func(t *testing.T, c *Config) {
			assert.True(t, c.ConsoleEnabled(true, true), "on in run")
			assert.False(t, c.ConsoleEnabled(true, false), "off in a role-only process")
			assert.Equal(t, 30*24*time.Hour, c.Console.Retention)
			assert.Equal(t, 200, c.Console.MaxRefsPerKey)
			assert.Empty(t, c.Console.Token, "read-only without a token")
		}},
		{name: "token from env, env overrides", yaml: "console: {token_env: OPS_TOKEN}\n",
			env: map[string]string{"OPS_TOKEN": token, "PRAXIS_CONSOLE_ENABLED": "false", "PRAXIS_CONSOLE_RETENTION": "48h"},
			check: func(t *testing.T, c *Config) {
				assert.Equal(t, token, c.Console.Token)
				assert.False(t, c.ConsoleEnabled(true, true))
				assert.Equal(t, 48*time.Hour, c.Console.Retention)
				assert.NotContains(t, c.Console.String(), token)
			}},
		{name: "enabled explicitly in a role", yaml: "console: {enabled: true}\n", check: func(t *testing.T, c *Config) {
			assert.True(t, c.ConsoleEnabled(true, false))
		}},
		{name: "token env unset", yaml: "console: {token_env: OPS_TOKEN}\n", wantErr: "console.token_env: environment variable OPS_TOKEN is empty"},
		{name: "short token", yaml: "console: {token_env: OPS_TOKEN}\n", env: map[string]string{"OPS_TOKEN": "short"}, wantErr: "console: the operator token is shorter than 16"},
		{name: "token in the YAML", yaml: "console: {token: x}\n", wantErr: "field token not found"},
		{name: "bounds", yaml: "console: {retention: 1m, max_refs_per_key: 1}\n", wantErr: "console.max_refs_per_key"},
		{name: "held needs both", yaml: "console: {held: {stream: PRAXIS_LEDGER}}\n", wantErr: "console.held"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"SANDBOX_SECRET": "s"}
			for k, v := range tc.env {
				env[k] = v
			}
			c, err := LoadBytes([]byte(minimal+tc.yaml), envMap(env))
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.NotContains(t, err.Error(), "short\"", "the token's value is never echoed")
				return
			}
			require.NoError(t, err)
			tc.check(t, c)
		})
	}
}
