// Package proc starts a whole praxis-adapter process (the `run` roles:
// embedded NATS, store, ingress, worker, simulator) inside a test, on
// random ports with its own data directory, and gives the test a client
// connection and a way to send commands.
package proc

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/adapter/runtime"
	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Process is one running praxis-adapter process.
type Process struct {
	RT     *runtime.Runtime
	Config *config.Config
	NC     *nats.Conn
	JS     jetstream.JetStream
	// NATSURL is the embedded server's client URL, for CLI tests.
	NATSURL string
}

// Options vary the process.
type Options struct {
	// Redis uses REDIS_URL instead of the embedded store.
	Redis bool
	// ExtraYAML is appended to the base config (top-level keys).
	ExtraYAML string
	// AppYAML adds keys to the sandbox application (e.g. its frontends),
	// one per line, without indentation.
	AppYAML string
	// Log receives the process's logs; zero: testutil.Logger(t).
	Log *zerolog.Logger
	// Rebilly adds the Rebilly application RebillyApp, served by the
	// built-in Rebilly simulator.
	Rebilly bool
}

// RebillyApp is the Rebilly application of Options.Rebilly.
const RebillyApp = "shop"

// Start runs a process until the test ends.
func Start(t *testing.T, o Options) *Process {
	t.Helper()
	y := fmt.Sprintf(`
nats:
  embedded: {listen: "127.0.0.1:0", store_dir: %q}
ingress: {listen: "127.0.0.1:0"}
admin: {listen: "127.0.0.1:0"}
simulator: {listen: "127.0.0.1:0", rebilly_listen: "127.0.0.1:0", resend_delay: 50ms}
applications:
  - name: sandbox
    merchant_id: Test-Integration-Merchant
    application_key: Sandbox
    return_url: https://shop.example/return
%s
%s
%s`, t.TempDir(), indent(o.AppYAML, "    "), rebillyApp(o.Rebilly), o.ExtraYAML)
	env := map[string]string{"PRAXIS_LOG_LEVEL": "debug"}
	if o.Redis {
		tu.Redis(t) // skips, or fails under CI, with a clear message
		env["REDIS_URL"] = tu.RedisURL()
		env["PRAXIS_REDIS_PREFIX"] = tu.Prefix(t)
	}
	cfg, err := config.LoadBytes([]byte(y), func(k string) string { return env[k] })
	require.NoError(t, err)
	log := tu.Logger(t)
	if o.Log != nil {
		log = *o.Log
	}
	rt, err := runtime.Start(t.Context(), cfg, runtime.Roles{Ingress: true, Worker: true, Simulator: true, RebillySimulator: o.Rebilly}, log)
	require.NoError(t, err)
	t.Cleanup(func() {
		// The process's own shutdown_timeout, as in production: the worker
		// may wait out a command still in flight (drain_timeout, up to
		// praxis.timeout + 5 s), which on a loaded machine outlasted the
		// 10 s this used to allow.
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		assert.NoError(t, rt.Shutdown(ctx))
	})
	url := rt.NATSClientURL()
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return &Process{RT: rt, Config: cfg, NC: nc, JS: js, NATSURL: url}
}

func rebillyApp(on bool) string {
	if !on {
		return ""
	}
	return `  - name: ` + RebillyApp + `
    provider: rebilly
    return_url: https://shop.example/return
    rebilly: {organization_id: org_sim, website_id: web-1, webhook: {username: rebilly}}`
}

func indent(s, prefix string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// Send publishes a command to the sandbox application and waits for its
// result on the reply subject.
func (p *Process) Send(t *testing.T, name, body string) command.Result {
	t.Helper()
	return p.SendTo(t, "sandbox", name, body)
}

// SendTo publishes a command on praxis.commands.<app>.<name> (app may be
// the frontend pseudo-application) and waits for its result.
func (p *Process) SendTo(t *testing.T, app, name, body string) command.Result {
	t.Helper()
	return p.SendVia(t, subjects.Praxis, app, name, body)
}

// SendVia publishes a command on <provider>.commands.<app>.<name> and
// waits for its result.
func (p *Process) SendVia(t *testing.T, provider subjects.Provider, app, name, body string) command.Result {
	t.Helper()
	inbox := nats.NewInbox()
	sub, err := p.NC.SubscribeSync(inbox)
	require.NoError(t, err)
	defer func() { _ = sub.Unsubscribe() }()
	msg := &nats.Msg{Subject: provider.Command(app, name), Data: []byte(body), Header: nats.Header{}}
	msg.Header.Set(worker.HeaderReplyTo, inbox)
	_, err = p.JS.PublishMsg(t.Context(), msg)
	require.NoError(t, err)
	m, err := sub.NextMsg(20 * time.Second)
	require.NoError(t, err, "no result for %s", name)
	var r command.Result
	require.NoError(t, json.Unmarshal(m.Data, &r))
	return r
}

// Count returns how many messages a stream holds on subject (a filter).
func (p *Process) Count(t *testing.T, stream, subject string) uint64 {
	t.Helper()
	s, err := p.JS.Stream(t.Context(), stream)
	require.NoError(t, err)
	info, err := s.Info(t.Context(), jetstream.WithSubjectFilter(subject))
	require.NoError(t, err)
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n
}

// Messages returns every message a stream holds on subject, oldest first.
func (p *Process) Messages(t *testing.T, stream, subject string) []jetstream.Msg {
	t.Helper()
	n := p.Count(t, stream, subject)
	if n == 0 {
		return nil
	}
	s, err := p.JS.Stream(t.Context(), stream)
	require.NoError(t, err)
	cons, err := s.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	require.NoError(t, err)
	batch, err := cons.Fetch(int(n), jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	var out []jetstream.Msg
	for m := range batch.Messages() {
		out = append(out, m)
	}
	require.Len(t, out, int(n))
	return out
}

// Customer is the customer_data fragment every demo command uses.
const Customer = `"customer_data":{"country":"GB","first_name":"Jane","last_name":"Doe","email":"jane@example.com"}`

// SessionCommand is a cashier.session command body.
func SessionCommand(id, intent, order string, amount int64) string {
	return fmt.Sprintf(`{"id":%q,"intent":%q,"currency":"EUR","amount":%d,"cid":"cust-42","order_id":%q,%s}`, id, intent, amount, order, Customer)
}
