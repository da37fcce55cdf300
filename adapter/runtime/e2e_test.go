package runtime

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

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// process is one praxis-adapter `run` process started in the test, on
// random ports, with its own store directory.
type process struct {
	rt *Runtime
	nc *nats.Conn
	js jetstream.JetStream
}

func startProcess(t *testing.T, store string, extra string) *process {
	t.Helper()
	y := fmt.Sprintf(`
nats:
  embedded: {listen: "127.0.0.1:0", store_dir: %q}
ingress: {listen: "127.0.0.1:0"}
simulator: {listen: "127.0.0.1:0", resend_delay: 50ms}
worker: {retry_base: 10ms, retry_max: 50ms}
applications:
  - name: sandbox
    merchant_id: Test-Integration-Merchant
    application_key: Sandbox
    return_url: https://shop.example/return
%s`, t.TempDir(), extra)
	env := map[string]string{}
	if store == "redis" {
		tu.Redis(t) // skips or fails (under CI) with a clear message
		env["REDIS_URL"] = tu.RedisURL()
		env["PRAXIS_REDIS_PREFIX"] = tu.Prefix(t)
	}
	cfg, err := config.LoadBytes([]byte(y), func(k string) string { return env[k] })
	require.NoError(t, err)
	rt, err := Start(t.Context(), cfg, Roles{Ingress: true, Worker: true, Simulator: true}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, rt.Shutdown(ctx))
	})
	nc, err := nats.Connect(rt.embedded.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return &process{rt: rt, nc: nc, js: js}
}

// send publishes a command and waits for its result on the reply subject.
func (p *process) send(t *testing.T, name, body string) command.Result {
	t.Helper()
	inbox := nats.NewInbox()
	sub, err := p.nc.SubscribeSync(inbox)
	require.NoError(t, err)
	defer func() { _ = sub.Unsubscribe() }()
	msg := &nats.Msg{Subject: subjects.Command("sandbox", name), Data: []byte(body), Header: nats.Header{}}
	msg.Header.Set(worker.HeaderReplyTo, inbox)
	_, err = p.js.PublishMsg(t.Context(), msg)
	require.NoError(t, err)
	m, err := sub.NextMsg(20 * time.Second)
	require.NoError(t, err)
	var r command.Result
	require.NoError(t, json.Unmarshal(m.Data, &r))
	return r
}

// eventCounts returns, for every subject of the events stream, how many
// messages it holds, and every envelope id seen.
func (p *process) events(t *testing.T) (map[string]uint64, []string) {
	t.Helper()
	s, err := p.js.Stream(t.Context(), subjects.StreamEvents)
	require.NoError(t, err)
	info, err := s.Info(t.Context(), jetstream.WithSubjectFilter(subjects.AllEvents))
	require.NoError(t, err)
	var ids []string
	if info.State.Msgs > 0 {
		cons, err := s.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{})
		require.NoError(t, err)
		batch, err := cons.Fetch(int(info.State.Msgs), jetstream.FetchMaxWait(2*time.Second))
		require.NoError(t, err)
		for m := range batch.Messages() {
			e, err := cloudevent.Decode(m.Data())
			require.NoError(t, err)
			ids = append(ids, e.ID)
		}
	}
	return info.State.Subjects, ids
}

const customer = `"customer_data":{"country":"GB","first_name":"Jane","last_name":"Doe","email":"jane@example.com"}`

func sessionCommand(id, order string, amount int64) string {
	return fmt.Sprintf(`{"id":%q,"intent":"payment","currency":"EUR","amount":%d,"cid":"cust-42","order_id":%q,%s}`, id, amount, order, customer)
}

func TestSimulatedPaymentYieldsOneApprovedEvent(t *testing.T) {
	for _, store := range []string{"embedded", "redis"} {
		t.Run(store, func(t *testing.T) {
			p := startProcess(t, store, "")
			r := p.send(t, command.CashierSession, sessionCommand("pay-1", "order-pay-1", 2500))
			require.Equal(t, command.OutcomeOK, r.Outcome, r.Reason)
			tx, err := p.rt.Simulator().Pay(t.Context(), r.AuthToken, sim.PayOptions{})
			require.NoError(t, err)

			subject := "praxis.events.sandbox.deposit.approved"
			tu.Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
				counts, _ := p.events(t)
				if counts[subject] != 1 {
					return fmt.Errorf("%s holds %d", subject, counts[subject])
				}
				return nil
			})
			// The simulator saw every notification acknowledged with 0.
			tu.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
				if n := p.rt.Simulator().PendingNotifications(); n > 0 {
					return fmt.Errorf("%d notifications pending", n)
				}
				return nil
			})
			notified := 0
			for _, d := range p.rt.Simulator().Deliveries() {
				if d.Kind != "notification" || d.TID != tx.TID {
					continue
				}
				notified++
				assert.Equal(t, 200, d.HTTPStatus)
				require.NotNil(t, d.ReplyStatus)
				assert.Equal(t, 0, *d.ReplyStatus, "acknowledged %s", d.Status)
				require.NotNil(t, d.ReplySignatureOK)
				assert.True(t, *d.ReplySignatureOK, "our reply verifies under the webhook reply list")
			}
			assert.Equal(t, 2, notified, "pending and approved, each delivered once")
			counts, _ := p.events(t)
			assert.Equal(t, uint64(1), counts["praxis.events.sandbox.deposit.pending"])
		})
	}
}

func TestDuplicateAndOutOfOrderDeliveriesLandOnce(t *testing.T) {
	p := startProcess(t, "embedded", "")
	s := p.rt.Simulator()
	require.NoError(t, s.SetFaults(sim.Faults{DuplicateRate: 1, OutOfOrderRate: 1, OutOfOrderHold: 200 * time.Millisecond}))

	const n = 10
	var tids []int64
	for i := 0; i < n; i++ {
		r := p.send(t, command.CashierSession, sessionCommand(fmt.Sprintf("dup-%d", i), fmt.Sprintf("order-dup-%d", i), 1000+int64(i)))
		require.Equal(t, command.OutcomeOK, r.Outcome, r.Reason)
		tx, err := s.Pay(t.Context(), r.AuthToken, sim.PayOptions{})
		require.NoError(t, err)
		tids = append(tids, tx.TID)
	}
	tu.Eventually(t, 20*time.Second, 20*time.Millisecond, func() error {
		if k := s.PendingNotifications(); k > 0 {
			return fmt.Errorf("%d notifications pending", k)
		}
		return nil
	})
	// Each (tid, status) is in the stream once, whatever the order and
	// however often it was delivered.
	delivered, dups, late := 0, 0, 0
	for _, d := range s.Deliveries() {
		if d.Kind == "notification" {
			delivered++
			if d.Duplicate {
				dups++
			}
			if d.OutOfOrder {
				late++
			}
		}
	}
	assert.Greater(t, delivered, 2*n, "duplicates were really delivered")
	assert.Positive(t, dups, "the duplicate fault fired")
	assert.Positive(t, late, "the out-of-order fault fired")
	counts, ids := p.events(t)
	assert.Equal(t, uint64(n), counts["praxis.events.sandbox.deposit.approved"])
	assert.Equal(t, uint64(n), counts["praxis.events.sandbox.deposit.pending"])
	seen := map[string]bool{}
	for _, id := range ids {
		assert.False(t, seen[id], "event %s stored twice", id)
		seen[id] = true
	}
	for _, tid := range tids {
		for _, st := range []string{praxis.StatusPending, praxis.StatusApproved} {
			found := false
			for id := range seen {
				if strings.HasPrefix(id, fmt.Sprintf("sandbox:t:%d:%s:", tid, st)) {
					found = true
				}
			}
			assert.True(t, found, "tid %d %s", tid, st)
		}
	}
}
