package subjects

import (
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProviderSubjects(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{Praxis.Event("shop", TypeDeposit, "approved"), Event("shop", TypeDeposit, "approved")},
		{Praxis.Command("shop", "refund.create"), Command("shop", "refund.create")},
		{Praxis.Ledger("shop", "deposit.credited"), Ledger("shop", "deposit.credited")},
		{Praxis.AllCommands(), AllCommands},
		{Rebilly.Event("shop", TypeDeposit, "approved"), "rebilly.events.shop.deposit.approved"},
		{Rebilly.Command("shop", "cashier.create"), "rebilly.commands.shop.cashier.create"},
		{Rebilly.Result("shop", "cashier.create"), "rebilly.results.shop.cashier.create"},
		{Rebilly.DeadLetter("shop", "refund.create"), "rebilly.dlq.shop.refund.create"},
		{Rebilly.Ledger("shop", "deposit.credited"), "rebilly.ledger.shop.deposit.credited"},
		{Rebilly.WorkerConsumer(), "rebilly-worker"},
		{Praxis.WorkerConsumer(), ConsumerWorker},
	} {
		assert.Equal(t, tc.want, tc.got)
	}
	// One filter takes every provider's ledger instructions, nothing else.
	for _, p := range Providers() {
		assert.True(t, server.SubjectsCollide(AnyLedger, p.Ledger("a", "deposit.credited")), p)
		assert.False(t, server.SubjectsCollide(AnyLedger, p.Event("a", "ledger", "x")), p)
	}
	assert.False(t, server.SubjectsCollide(Praxis.AllCommands(), Rebilly.AllCommands()), "work-queue filters must not overlap")

	p, app, cmd, err := ParseAnyDeadLetter("rebilly.dlq.shop.payout_request.create")
	require.NoError(t, err)
	assert.Equal(t, []string{"rebilly", "shop", "payout_request.create"}, []string{string(p), app, cmd})
	_, _, _, err = ParseAnyDeadLetter("stripe.dlq.shop.x")
	assert.Error(t, err)
	p, app, typ, st, ok := ParseEvent("rebilly.events.shop.refund.approved")
	assert.True(t, ok)
	assert.Equal(t, []string{"rebilly", "shop", "refund", "approved"}, []string{string(p), app, typ, st})
	_, _, _, _, ok = ParseEvent("rebilly.events.shop.refund")
	assert.False(t, ok)
}

func TestStreamsCarryConfiguredProviders(t *testing.T) {
	only := Streams(StreamsConfig{})
	assert.Equal(t, []string{AllEvents}, only[0].Subjects, "a Praxis-only deployment is unchanged")
	both := Streams(StreamsConfig{Providers: []Provider{Praxis, Rebilly}})
	for _, sc := range both {
		require.Len(t, sc.Subjects, 2, sc.Name)
		assert.Contains(t, sc.Subjects[1], "rebilly.", sc.Name)
	}
}

// TestTableStreams: every family in Table is stored where StreamOf says
// (none for request/reply), its provider is a known one, and no pattern is
// listed twice, so the documents checked against Table describe the
// streams the code creates.
func TestTableStreams(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range Table() {
		assert.False(t, seen[e.Pattern], "Table lists %s twice", e.Pattern)
		seen[e.Pattern] = true
		_, err := ProviderOf(e.Pattern)
		assert.NoError(t, err, e.Pattern)
		assert.Equal(t, e.Stream, StreamOf(e.Pattern), "Table: %s must be in the stream StreamOf names", e.Pattern)
		assert.NotEmpty(t, e.Publisher, e.Pattern)
		assert.NotEmpty(t, e.Consumer, e.Pattern)
		assert.NotEmpty(t, e.Payload, e.Pattern)
	}
	for _, p := range Providers() {
		for _, family := range []string{"events", "commands", "results", "dlq", "ledger"} {
			found := false
			for pattern := range seen {
				found = found || strings.HasPrefix(pattern, p.String()+"."+family+".")
			}
			assert.True(t, found, "Table has no %s.%s family", p, family)
		}
	}
}
