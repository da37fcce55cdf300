package subjects

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

func TestToken(t *testing.T) {
	tests := map[string]string{
		"approved":      "approved",
		"in progress":   "in_progress",
		"Approved":      "approved",
		"a.b*c>d":       "a_b_c_d",
		"tab\there":     "tab_here",
		"":              "unknown",
		"PaymentFailed": "paymentfailed",
		"клиент":        "____________",
		"pending_async": "pending_async",
	}
	for in, want := range tests {
		assert.Equal(t, want, Token(in), "Token(%q)", in)
	}
}

func TestSubjects(t *testing.T) {
	tests := []struct{ got, want string }{
		{Event("sandbox", TypeDeposit, "approved"), "praxis.events.sandbox.deposit.approved"},
		{Event("Shop EU", TypeSession, "expired"), "praxis.events.shop_eu.session.expired"},
		{Event("sandbox", TypeSubscription, "PaymentFailed"), "praxis.events.sandbox.subscription.paymentfailed"},
		{Request("sandbox", RequestValidation), "praxis.requests.sandbox.validation"},
		{Request("sandbox", RequestCustomerSync), "praxis.requests.sandbox.customer_sync"},
		{Command("sandbox", "cashier.session"), "praxis.commands.sandbox.cashier.session"},
		{Result("sandbox", "refund.create"), "praxis.results.sandbox.refund.create"},
		{DeadLetter("sandbox", "authorization.capture"), "praxis.dlq.sandbox.authorization.capture"},
		{Ledger("sandbox", "deposit.credited"), "praxis.ledger.sandbox.deposit.credited"},
		{string(AppendEvent(nil, "sandbox", TypePayout, "in progress")), "praxis.events.sandbox.payout.in_progress"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, tc.got)
	}
}

func TestParseCommand(t *testing.T) {
	app, cmd, err := ParseCommand("praxis.commands.sandbox.cashier.session")
	require.NoError(t, err)
	assert.Equal(t, "sandbox", app)
	assert.Equal(t, "cashier.session", cmd)

	app, cmd, err = ParseDeadLetter("praxis.dlq.shop.refund.create")
	require.NoError(t, err)
	assert.Equal(t, []string{"shop", "refund.create"}, []string{app, cmd})

	for _, bad := range []string{"praxis.results.sandbox.x", "praxis.commands.sandbox", "praxis.commands..x"} {
		_, _, err := ParseCommand(bad)
		assert.Error(t, err, bad)
	}
}

func TestEventType(t *testing.T) {
	tests := []struct {
		txType, intent string
		hasWR, hasTx   bool
		want           string
	}{
		{"sale", "payment", false, true, TypeDeposit},
		{"authorize", "authorization", false, true, TypeAuthorization},
		{"authorization", "authorization", false, true, TypeAuthorization},
		{"refund", "payment", false, true, TypeRefund},
		{"payout", "withdrawal", false, true, TypeWithdrawal},
		{"payout", "withdrawal", true, true, TypePayout},
		{"payout", "", false, true, TypePayout},
		{"", "payment", false, false, TypeSession},
		{"fx_adjustment", "payment", false, true, TypeOther},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, EventType(tc.txType, tc.intent, tc.hasWR, tc.hasTx), "%+v", tc)
	}
}

func TestEnsureStreamsIsIdempotent(t *testing.T) {
	_, _, js := testutil.JetStream(t)
	ctx := t.Context()
	require.Error(t, CheckStreams(ctx, js, StreamEvents), "no streams yet")

	cfg := StreamsConfig{}
	require.NoError(t, EnsureStreams(ctx, js, cfg))
	require.NoError(t, EnsureStreams(ctx, js, cfg), "a second replica starting does no harm")
	require.NoError(t, CheckStreams(ctx, js, StreamEvents, StreamCommands, StreamResults, StreamDLQ, StreamLedger))

	s, err := js.Stream(ctx, StreamEvents)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, 15*time.Minute, info.Config.Duplicates)
	assert.Equal(t, 30*24*time.Hour, info.Config.MaxAge)
	assert.Equal(t, jetstream.FileStorage, info.Config.Storage)

	// A changed setting is applied in place.
	require.NoError(t, EnsureStreams(ctx, js, StreamsConfig{DuplicateWindow: 20 * time.Minute}))
	info, err = s.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, 20*time.Minute, info.Config.Duplicates)

	cs, err := js.Stream(ctx, StreamCommands)
	require.NoError(t, err)
	cinfo, err := cs.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, jetstream.WorkQueuePolicy, cinfo.Config.Retention)
}

func TestStreamsConfigValidate(t *testing.T) {
	assert.NoError(t, StreamsConfig{}.WithDefaults().Validate())
	assert.ErrorContains(t, StreamsConfig{Replicas: 7}.WithDefaults().Validate(), "nats.streams.replicas")
	assert.ErrorContains(t, StreamsConfig{DuplicateWindow: time.Millisecond}.WithDefaults().Validate(), "duplicate_window")
}
