package runtime

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// TestStreamsNotManaged: with nats.streams.manage false a process creates
// nothing: it refuses to start while the streams, consumers and buckets are
// missing or differ, naming what, and starts once they match.
func TestStreamsNotManaged(t *testing.T) {
	srv := tu.NATS(t)
	load := func(manage bool, ackWait time.Duration) *config.Config {
		y := fmt.Sprintf(`
nats: {url: %q, streams: {manage: %t}}
ingress: {listen: "127.0.0.1:0"}
worker: {listen: "127.0.0.1:0", ack_wait: %s}
simulator: {listen: "127.0.0.1:0"}
applications:
  - {name: sandbox, merchant_id: Test-Integration-Merchant, application_key: Sandbox, return_url: "https://shop.example/return"}
`, srv.ClientURL(), manage, ackWait)
		cfg, err := config.LoadBytes([]byte(y), func(string) string { return "" })
		require.NoError(t, err)
		return cfg
	}
	start := func(cfg *config.Config) (*Runtime, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		return Start(ctx, cfg, Roles{Ingress: true, Worker: true, Simulator: true}, tu.Logger(t))
	}
	stop := func(r *Runtime) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, r.Shutdown(ctx))
	}

	_, err := start(load(false, 30*time.Second))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stream PRAXIS_EVENTS does not exist")

	r, err := start(load(true, 30*time.Second))
	require.NoError(t, err, "the managing process creates everything")
	js, err := jetstream.New(tu.Connect(t, srv))
	require.NoError(t, err)
	tu.Eventually(t, 20*time.Second, 20*time.Millisecond, func() error {
		if _, err := js.Consumer(t.Context(), subjects.StreamCommands, subjects.ConsumerWorker); err != nil {
			return err
		}
		_, err := js.Consumer(t.Context(), subjects.StreamEvents, subjects.ConsumerLedger)
		return err
	})
	stop(r)

	r, err = start(load(false, 30*time.Second))
	require.NoError(t, err, "everything exists as configured")
	stop(r)

	// The worker checks its consumer when it starts consuming: the
	// difference stops it and is reported on Errors.
	r, err = start(load(false, 45*time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { stop(r) })
	select {
	case err = <-r.Errors():
	case <-time.After(20 * time.Second):
		t.Fatal("the worker did not report the differing consumer")
	}
	assert.Contains(t, err.Error(), "consumer praxis-worker on stream PRAXIS_COMMANDS differs")
	assert.Contains(t, err.Error(), "ack_wait is 30s, this configuration needs 45s")
}
