package runtime_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/adapter/runtime"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil/proc"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// TestStartErrorsRedactURLs: a password in NATS_URL or REDIS_URL never
// reaches the start-up error (it used to: "connect to NATS at
// nats://admin:<password>@…", and a malformed REDIS_URL was quoted whole).
func TestStartErrorsRedactURLs(t *testing.T) {
	const password = "Hunter2Password"
	base := fmt.Sprintf(`
nats:
  embedded: {listen: "127.0.0.1:0", store_dir: %q}
ingress: {listen: "127.0.0.1:0"}
admin: {listen: "127.0.0.1:0"}
simulator: {listen: "127.0.0.1:0"}
applications:
  - name: sandbox
    merchant_id: Test-Integration-Merchant
    application_key: Sandbox
    return_url: https://shop.example/return
`, t.TempDir())
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"NATS with a password", map[string]string{"NATS_URL": fmt.Sprintf("nats://admin:%s@127.0.0.1:%d", password, closedPort(t))}},
		{"NATS list with a token", map[string]string{"NATS_URL": fmt.Sprintf("nats://%s@127.0.0.1:%d,nats://127.0.0.1:%d", password, closedPort(t), closedPort(t))}},
		{"malformed Redis URL", map[string]string{"REDIS_URL": "redis://admin:" + password + "%zz@127.0.0.1:6379/0"}},
		{"Redis URL with a bad port", map[string]string{"REDIS_URL": "redis://admin:" + password + "@127.0.0.1:notaport/0"}},
		{"unreachable Redis with a password", map[string]string{"REDIS_URL": fmt.Sprintf("redis://admin:%s@127.0.0.1:%d/0", password, closedPort(t))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.LoadBytes([]byte(base), func(k string) string { return tt.env[k] })
			require.NoError(t, err)
			_, err = runtime.Start(t.Context(), cfg, runtime.Roles{Ingress: true, Worker: true, Simulator: true}, tu.Logger(t, password))
			require.Error(t, err)
			assert.NotContains(t, err.Error(), password)
			assert.Regexp(t, `REDACTED|127\.0\.0\.1`, err.Error(), "the error still says where")
		})
	}
}

// baseYAML is a single-process config on random ports.
func baseYAML(t *testing.T, extra string) string {
	return fmt.Sprintf(`
nats:
  embedded: {listen: "127.0.0.1:0", store_dir: %q}
ingress: {listen: "127.0.0.1:0"}
admin: {listen: "127.0.0.1:0"}
simulator: {listen: "127.0.0.1:0"}
applications:
  - name: sandbox
    merchant_id: Test-Integration-Merchant
    application_key: Sandbox
    return_url: https://shop.example/return
%s`, t.TempDir(), extra)
}

// TestDemoSecret: `run` with the simulator says loudly (WARN) that the
// public demo secret is in use; an ingress without a simulator refuses it.
func TestDemoSecret(t *testing.T) {
	var logs tu.SyncBuffer
	cfg, err := config.LoadBytes([]byte(baseYAML(t, "")), func(string) string { return "" })
	require.NoError(t, err)
	rt, err := runtime.Start(t.Context(), cfg, runtime.Roles{Ingress: true, Worker: true, Simulator: true}, zerolog.New(&logs))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, rt.Shutdown(ctx))
	assert.Regexp(t, `"level":"warn","app":"sandbox","message":"[^"]*PUBLIC demo secret`, logs.String())
	assert.NotContains(t, logs.String(), runtime.DemoSecret, "the warning names no secret")

	cfg, err = config.LoadBytes([]byte(baseYAML(t, "    secret_env: SANDBOX_SECRET\n")), func(k string) string {
		return map[string]string{"SANDBOX_SECRET": runtime.DemoSecret}[k]
	})
	require.NoError(t, err, "without base_url the config cannot tell; the runtime does")
	_, err = runtime.Start(t.Context(), cfg, runtime.Roles{Ingress: true}, tu.Logger(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "public demo secret")
	assert.NotContains(t, err.Error(), runtime.DemoSecret)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAdminListener: metrics, profiles and readiness details are served on
// the admin listener only; the webhook listener serves the webhook paths,
// /healthz and /readyz (it used to serve /metrics and /debug/pprof/ too).
func TestAdminListener(t *testing.T) {
	p := proc.Start(t, proc.Options{ExtraYAML: "telemetry: {pprof: true}\n"})
	ep := p.RT.Endpoints()
	require.NotEmpty(t, ep.Admin, "the admin listener is on by default in run")
	require.NotEqual(t, ep.Ingress, ep.Admin)

	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap"} {
		code, _ := get(t, ep.Ingress+path)
		assert.Equal(t, http.StatusNotFound, code, "webhook listener %s", path)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		code, _ := get(t, ep.Ingress+path)
		assert.Equal(t, http.StatusOK, code, "webhook listener %s", path)
	}
	code, body := get(t, ep.Admin+"/metrics")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "praxis_http_connections")
	code, _ = get(t, ep.Admin+"/debug/pprof/")
	assert.Equal(t, http.StatusOK, code)
	tu.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		code, body = get(t, ep.Admin+"/readyz")
		if code != http.StatusOK {
			return fmt.Errorf("admin /readyz: %d %s", code, body)
		}
		return nil
	})
	assert.Contains(t, body, "ingress: ok")
	assert.Contains(t, body, "worker: ok")
	code, _ = get(t, ep.Admin+"/healthz")
	assert.Equal(t, http.StatusOK, code)
}

// labelValues lists the values each label takes across a metric family.
func labelValues(t *testing.T, p *proc.Process, family string) map[string]map[string]bool {
	t.Helper()
	mfs, err := p.RT.Registry().Gather()
	require.NoError(t, err)
	out := map[string]map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if out[l.GetName()] == nil {
					out[l.GetName()] = map[string]bool{}
				}
				out[l.GetName()][l.GetValue()] = true
			}
		}
	}
	return out
}

// TestInventedSubjectsKeepLabelsBounded: commands on invented subjects
// (praxis.commands.tenantN.cmd-N) are invalid, and count under "unknown"
// instead of creating a series each (they used to).
func TestInventedSubjectsKeepLabelsBounded(t *testing.T) {
	p := proc.Start(t, proc.Options{})
	const n = 20
	for i := 0; i < n; i++ {
		_, err := p.JS.Publish(t.Context(), fmt.Sprintf("praxis.commands.tenant%d.cmd-%d", i, i), []byte(fmt.Sprintf(`{"id":"x-%d"}`, i)))
		require.NoError(t, err)
	}
	tu.Eventually(t, 15*time.Second, 20*time.Millisecond, func() error {
		mfs, err := p.RT.Registry().Gather()
		if err != nil {
			return err
		}
		total := 0.0
		for _, mf := range mfs {
			if mf.GetName() == "praxis_worker_commands_total" {
				for _, m := range mf.GetMetric() {
					total += m.GetCounter().GetValue()
				}
			}
		}
		if total < n {
			return fmt.Errorf("%v of %d commands counted", total, n)
		}
		return nil
	})
	for _, family := range []string{"praxis_worker_commands_total", "praxis_worker_dead_letters_total"} {
		lv := labelValues(t, p, family)
		assert.Equal(t, map[string]bool{"unknown": true}, lv["app"], family)
		assert.Equal(t, map[string]bool{"unknown": true}, lv["command"], family)
	}
}

// TestCommandsCannotRedirectWebhooks: a cashier.session command that sets
// notification_url, validation_url or return_url outside what the merchant
// configured is invalid, with the reason, and dead-lettered (anyone who
// could publish a command used to be able to make Praxis send its signed
// webhooks to a server of theirs).
func TestCommandsCannotRedirectWebhooks(t *testing.T) {
	p := proc.Start(t, proc.Options{AppYAML: "allowed_callback_urls: [\"https://crm.shop.example/praxis/\"]"})
	for i, tt := range []struct{ field, url string }{
		{"notification_url", "https://attacker.example/collect"},
		{"validation_url", "https://attacker.example/decide"},
		{"return_url", "https://attacker.example/phish"},
	} {
		body := strings.Replace(proc.SessionCommand(fmt.Sprintf("redir-%d", i), "payment", fmt.Sprintf("order-redir-%d", i), 2500),
			`"intent"`, fmt.Sprintf(`%q:%q,"intent"`, tt.field, tt.url), 1)
		r := p.Send(t, command.CashierSession, body)
		assert.Equal(t, command.OutcomeInvalid, r.Outcome, tt.field)
		assert.Contains(t, r.Reason, tt.field)
		assert.NotContains(t, r.Reason, "attacker.example")
	}
	s, err := p.JS.Stream(t.Context(), subjects.StreamDLQ)
	require.NoError(t, err)
	tu.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		info, err := s.Info(t.Context())
		if err != nil {
			return err
		}
		if info.State.Msgs != 3 {
			return fmt.Errorf("%d dead letters", info.State.Msgs)
		}
		return nil
	})
	// An allowlisted callback is accepted.
	body := strings.Replace(proc.SessionCommand("redir-ok", "payment", "order-redir-ok", 2500),
		`"intent"`, `"notification_url":"https://crm.shop.example/praxis/n","intent"`, 1)
	r := p.Send(t, command.CashierSession, body)
	assert.Equal(t, command.OutcomeOK, r.Outcome, r.Reason)
}
