package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

const minimal = `
praxis:
  base_url: https://gw.praxisgate.com
applications:
  - merchant_id: Test-Integration-Merchant
    application_key: Sandbox
    secret_env: SANDBOX_SECRET
    previous_secret_env: SANDBOX_OLD_SECRET
`

func TestLoadDefaultsAndSecrets(t *testing.T) {
	c, err := Load(writeFile(t, minimal), envMap(map[string]string{"SANDBOX_SECRET": "new", "SANDBOX_OLD_SECRET": "old"}))
	require.NoError(t, err)
	a := c.Applications[0]
	assert.Equal(t, "sandbox", a.Name, "name defaults to the normalised application key")
	assert.Equal(t, []string{"new", "old"}, a.Secrets, "current secret first, then the previous one")
	assert.Equal(t, DebitOnInProgress, a.PayoutDebitOn)
	assert.Equal(t, int64(64<<10), c.Ingress.MaxBodyBytes, "sized for Praxis' 2-3 KB bodies, not 1 MiB")
	assert.Equal(t, 2*time.Second, c.Ingress.PublishTimeout)
	assert.Equal(t, 3*time.Second, c.Ingress.RequestTimeout)
	assert.Equal(t, []string{"GT-Authentication"}, c.Ingress.ReplySignatureHeaders)
	assert.Equal(t, 15*time.Minute, c.NATS.Streams.DuplicateWindow)
	assert.Equal(t, 1, c.NATS.Streams.Replicas)
	require.NotNil(t, c.Ingress.ValidationDefault.Approve)
	assert.True(t, *c.Ingress.ValidationDefault.Approve)
}

func TestEnvOverrides(t *testing.T) {
	c, err := Load(writeFile(t, minimal), envMap(map[string]string{
		"SANDBOX_SECRET": "s", "NATS_URL": "nats://n1:4222", "REDIS_URL": "redis://r:6379/1",
		"PRAXIS_PUBLISH_TIMEOUT": "750ms", "PRAXIS_WORKER_MAX_IN_FLIGHT": "256", "PRAXIS_LOG_LEVEL": "debug",
	}))
	require.NoError(t, err)
	assert.Equal(t, "nats://n1:4222", c.NATS.URL)
	assert.Equal(t, "redis://r:6379/1", c.Redis.URL)
	assert.Equal(t, 750*time.Millisecond, c.Ingress.PublishTimeout)
	assert.Equal(t, 256, c.Worker.MaxInFlight)
	assert.Equal(t, "debug", c.LogLevel)

	_, err = Load(writeFile(t, minimal), envMap(map[string]string{"SANDBOX_SECRET": "s", "PRAXIS_PUBLISH_TIMEOUT": "soon"}))
	assert.ErrorContains(t, err, "PRAXIS_PUBLISH_TIMEOUT")
}

func TestSecretFile(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("from-file\n"), 0o600))
	cfg := strings.Replace(minimal, "secret_env: SANDBOX_SECRET\n    previous_secret_env: SANDBOX_OLD_SECRET", "secret_file: "+secret, 1)
	c, err := Load(writeFile(t, cfg), envMap(nil))
	require.NoError(t, err)
	assert.Equal(t, []string{"from-file"}, c.Applications[0].Secrets, "trailing newline trimmed")
}

func TestValidationMessagesNameTheField(t *testing.T) {
	tests := []struct {
		name, yaml string
		env        map[string]string
		want       string
	}{
		{"secret in yaml is refused", minimal + "    secret: hunter2\n", nil, "secrets are never read from the YAML"},
		{"unknown key", "bogus: 1\n", nil, "field bogus not found"},
		{"no applications", "praxis: {base_url: https://x}\n", nil, "applications: none configured"},
		{"unset secret env", minimal, nil, "environment variable SANDBOX_SECRET is empty or unset"},
		{"bad debit stage", minimal + "    payout_debit_on: approved\n", map[string]string{"SANDBOX_SECRET": "s"}, "payout_debit_on: is not requested"},
		{"bad app name", minimal + "    name: Shop.EU\n", map[string]string{"SANDBOX_SECRET": "s"}, "must be lower-case letters"},
		{"claim ttl beyond dup window", minimal + "ingress: {claim_ttl: 20m}\n", map[string]string{"SANDBOX_SECRET": "s"}, "ingress.claim_ttl"},
		{"dup window not above resend delay", minimal + "nats: {streams: {duplicate_window: 5m}}\n", map[string]string{"SANDBOX_SECRET": "s"}, "nats.streams.duplicate_window: 5m0s must exceed ingress.resend_delay"},
		{"resend delay from env", minimal, map[string]string{"SANDBOX_SECRET": "s", "PRAXIS_RESEND_DELAY": "20m"}, "must exceed ingress.resend_delay (20m0s"},
		{"replicas from env", minimal, map[string]string{"SANDBOX_SECRET": "s", "PRAXIS_NATS_REPLICAS": "9"}, "nats.streams.replicas: 9"},
		{"nats tls without url", minimal + "nats: {tls: {ca_file: /etc/hosts}}\n", map[string]string{"SANDBOX_SECRET": "s"}, "set nats.url (NATS_URL) too"},
		{"nats cert without key", minimal + "nats: {url: 'nats://x:4222', tls: {cert_file: /etc/hosts}}\n", map[string]string{"SANDBOX_SECRET": "s"}, "cert_file and key_file go together"},
		{"nats creds and nkey", minimal + "nats: {url: 'nats://x:4222', creds_file: /etc/hosts, nkey_seed_file: /etc/hosts}\n", map[string]string{"SANDBOX_SECRET": "s"}, "not both"},
		{"missing ca file", minimal + "nats: {url: 'nats://x:4222', tls: {ca_file: /nonexistent/ca.pem}}\n", map[string]string{"SANDBOX_SECRET": "s"}, "nats.tls.ca_file"},
		{"ping interval", minimal, map[string]string{"SANDBOX_SECRET": "s", "NATS_PING_INTERVAL": "1ms"}, "nats.ping_interval"},
		{"bad redis mode", minimal, map[string]string{"SANDBOX_SECRET": "s", "REDIS_URL": "redis://x:6379", "REDIS_MODE": "ring"}, "redis.mode: \"ring\""},
		{"manage from env", minimal, map[string]string{"SANDBOX_SECRET": "s", "PRAXIS_NATS_MANAGE_STREAMS": "maybe"}, "PRAXIS_NATS_MANAGE_STREAMS"},
		{"unknown signature list", minimal + "praxis2: 1\n", nil, "field praxis2 not found"},
		{"bad list override", strings.Replace(minimal, "base_url: https://gw.praxisgate.com", "base_url: https://gw.praxisgate.com\n  signature_fields: {refund: [a]}", 1), map[string]string{"SANDBOX_SECRET": "s"}, "signature_fields.refund: unknown list"},
		{"bad currency", strings.Replace(minimal, "base_url: https://gw.praxisgate.com", "base_url: https://gw.praxisgate.com\n  currencies: {KWD: 7}", 1), map[string]string{"SANDBOX_SECRET": "s"}, "currencies.KWD"},
		{"bad processor rule", minimal + "ledger: {processors: [{match: 'A<1-', name: A}]}\n", map[string]string{"SANDBOX_SECRET": "s"}, "ledger.processors[0]"},
		{"re-check horizon too short", minimal + "ledger: {recheck_horizon: 1s}\n", map[string]string{"SANDBOX_SECRET": "s"}, "ledger.recheck_horizon"},
		{"negative lookup rate", minimal, map[string]string{"SANDBOX_SECRET": "s", "PRAXIS_LEDGER_LOOKUP_RATE": "-1"}, "ledger.lookup_rate"},
		{"drain shorter than the praxis timeout", minimal + "worker: {drain_timeout: 20s}\n", map[string]string{"SANDBOX_SECRET": "s"}, "worker.drain_timeout: 20s must be at least praxis.timeout"},
		{"drain not below shutdown", minimal + "shutdown_timeout: 36s\nworker: {drain_timeout: 36s}\n", map[string]string{"SANDBOX_SECRET": "s"}, "worker.drain_timeout: 36s must be below shutdown_timeout"},
		{"renewal too slow for the claim", minimal + "worker: {claim_ttl: 4s, renew_interval: 2s}\n", map[string]string{"SANDBOX_SECRET": "s"}, "worker.renew_interval: 2s must be positive and below half of worker.claim_ttl"},
		{"renewal too slow for ack wait", minimal + "worker: {claim_ttl: 30s, renew_interval: 5s, ack_wait: 12s}\n", map[string]string{"SANDBOX_SECRET": "s"}, "at most a third of worker.ack_wait"},
		{"settle window shorter than the timeout", minimal + "worker: {settle_window: 10s}\n", map[string]string{"SANDBOX_SECRET": "s"}, "worker.settle_window: 10s must be at least praxis.timeout"},
		{"results forgotten before dead letters", minimal + "worker: {result_ttl: 168h}\n", map[string]string{"SANDBOX_SECRET": "s"}, "worker.result_ttl: 168h0m0s must be at least nats.streams.dlq_max_age"},
		{"base url without scheme", strings.Replace(minimal, "https://gw.praxisgate.com", "gw.praxisgate.com", 1), map[string]string{"SANDBOX_SECRET": "s"}, "praxis.base_url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tc.yaml), envMap(tc.env))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestDuplicateApplicationsAndFrontends(t *testing.T) {
	y := `
applications:
  - {name: a, merchant_id: m, application_key: k, frontends: [{website: shop, currency: EUR}]}
  - {name: a, merchant_id: m, application_key: k, frontends: [{website: shop, currency: EUR}]}
`
	_, err := Load(writeFile(t, y), envMap(nil))
	require.Error(t, err)
	for _, want := range []string{"already used by applications[0]", "repeat applications[0]", "shop/EUR is already served by a"} {
		assert.Contains(t, err.Error(), want)
	}
}

// TestConnectionSettings: the cluster settings load from YAML and the
// environment, and the redis URL is never echoed in an error.
func TestConnectionSettings(t *testing.T) {
	c, err := Load(writeFile(t, minimal+"nats: {url: 'nats://a:4222,nats://b:4222', streams: {manage: false}}\n"), envMap(map[string]string{
		"SANDBOX_SECRET": "s", "PRAXIS_NATS_REPLICAS": "3", "NATS_PING_INTERVAL": "1s", "NATS_JS_DOMAIN": "hub",
		"REDIS_URL": "redis://:pw@s1:26379?master_name=m", "REDIS_MODE": "sentinel",
	}))
	require.NoError(t, err)
	assert.Equal(t, 3, c.NATS.Streams.Replicas)
	assert.False(t, c.NATS.Streams.ManageStreams())
	assert.Equal(t, time.Second, c.NATS.PingInterval)
	assert.Equal(t, 2, c.NATS.MaxPingsOutstanding)
	assert.Equal(t, "hub", c.NATS.JetStreamDomain)
	assert.Equal(t, RedisSentinel, c.Redis.Mode)
	assert.Equal(t, 5*time.Minute, c.Ingress.ResendDelay)
}

func TestEnvNames(t *testing.T) {
	names := EnvNames()
	for _, want := range []string{"NATS_URL", "REDIS_URL", "PRAXIS_BASE_URL", "PRAXIS_LOG_LEVEL", "PRAXIS_PUBLIC_URL"} {
		assert.Contains(t, names, want)
	}
}

// TestTraceSampleRatio: an explicit 0 used to be read as "unset" and
// sampled every trace (issue 15); it must now sample none.
func TestTraceSampleRatio(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string
		env     map[string]string
		want    float64
		wantErr string
	}{
		{name: "unset defaults to 1", want: 1},
		{name: "explicit 0 in YAML is honoured", yaml: "telemetry:\n  trace_sample_ratio: 0\n", want: 0},
		{name: "explicit 0 from the environment is honoured", env: map[string]string{"OTEL_TRACES_SAMPLER_ARG": "0"}, want: 0},
		{name: "a share", yaml: "telemetry:\n  trace_sample_ratio: 0.25\n", want: 0.25},
		{name: "above 1 refused", yaml: "telemetry:\n  trace_sample_ratio: 1.5\n", wantErr: "telemetry.trace_sample_ratio"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"SANDBOX_SECRET": "s"}
			for k, v := range tc.env {
				env[k] = v
			}
			c, err := Load(writeFile(t, minimal+tc.yaml), envMap(env))
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.NotContains(t, err.Error(), "1.5", "config errors name the field, not the value")
				return
			}
			require.NoError(t, err)
			require.NotNil(t, c.Telemetry.TraceSampleRatio)
			assert.Equal(t, tc.want, *c.Telemetry.TraceSampleRatio)
		})
	}
}
