package subjects

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

// TestVerifyStreamsWhenNotManaged: with nats.streams.manage false the
// adapter creates nothing, and says exactly which stream and which setting
// differs.
func TestVerifyStreamsWhenNotManaged(t *testing.T) {
	_, _, js := testutil.JetStream(t)
	ctx := t.Context()
	no := false
	checkOnly := StreamsConfig{Manage: &no}

	err := EnsureStreams(ctx, js, checkOnly)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stream PRAXIS_EVENTS does not exist")
	assert.Error(t, CheckStreams(ctx, js, StreamEvents), "nothing was created")

	// Streams made by someone else with other settings.
	require.NoError(t, EnsureStreams(ctx, js, StreamsConfig{DuplicateWindow: 2 * time.Minute, CommandsMaxMsgs: -1}))
	err = EnsureStreams(ctx, js, checkOnly)
	require.Error(t, err)
	for _, want := range []string{
		"stream PRAXIS_EVENTS: duplicate_window is 2m0s, this configuration needs at least 15m0s",
		"stream PRAXIS_COMMANDS: max_msgs is -1, this configuration needs 1000000",
	} {
		assert.Contains(t, err.Error(), want)
	}

	// Once they match, the check passes and changes nothing.
	require.NoError(t, EnsureStreams(ctx, js, StreamsConfig{}))
	require.NoError(t, EnsureStreams(ctx, js, checkOnly))
	longer := StreamsConfig{Manage: &no, DuplicateWindow: 10 * time.Minute}
	assert.NoError(t, EnsureStreams(ctx, js, longer), "a longer window than needed is compatible")
}

func TestStreamLimitsApply(t *testing.T) {
	_, _, js := testutil.JetStream(t)
	ctx := t.Context()
	require.NoError(t, EnsureStreams(ctx, js, StreamsConfig{CommandsMaxMsgs: 2}))
	for i := range 2 {
		_, err := js.Publish(ctx, "praxis.commands.sandbox.transaction.find", []byte(`{}`), jetstream.WithMsgID(string(rune('a'+i))))
		require.NoError(t, err)
	}
	_, err := js.Publish(ctx, "praxis.commands.sandbox.transaction.find", []byte(`{}`))
	assert.Error(t, err, "a full command queue refuses new commands (DiscardNew)")
}

func TestCheckingJetStreamConsumers(t *testing.T) {
	_, _, js := testutil.JetStream(t)
	ctx := t.Context()
	require.NoError(t, EnsureStreams(ctx, js, StreamsConfig{}))
	want := jetstream.ConsumerConfig{Durable: ConsumerWorker, FilterSubject: AllCommands, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: 30 * time.Second, MaxDeliver: -1, MaxAckPending: 1000, DeliverPolicy: jetstream.DeliverAllPolicy}
	check := CheckingJetStream{JetStream: js}

	_, err := check.CreateOrUpdateConsumer(ctx, StreamCommands, want)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "consumer praxis-worker on stream PRAXIS_COMMANDS does not exist")

	other := want
	other.AckWait = 5 * time.Second
	_, err = js.CreateOrUpdateConsumer(ctx, StreamCommands, other)
	require.NoError(t, err)
	_, err = check.CreateOrUpdateConsumer(ctx, StreamCommands, want)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ack_wait is 5s, this configuration needs 30s")

	_, err = js.CreateOrUpdateConsumer(ctx, StreamCommands, want)
	require.NoError(t, err)
	c, err := check.CreateOrUpdateConsumer(ctx, StreamCommands, want)
	require.NoError(t, err)
	assert.Equal(t, ConsumerWorker, c.CachedInfo().Name)
}
