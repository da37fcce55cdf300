package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil/proc"
)

func TestReviewCommands(t *testing.T) {
	code, _, errOut := cli(t, "review", "resolve", "-anchor", "1", "-ref", "hold:payout_error", "-action", "book", "-why", "ok")
	assert.Equal(t, 2, code, "a decision without -by is refused before anything is sent")
	assert.Contains(t, errOut, "by and why are required")

	p := proc.Start(t, proc.Options{})
	code, out, errOut := cli(t, "review", "list", "-nats", p.NATSURL)
	assert.Equal(t, 0, code, errOut)
	assert.Empty(t, out, "nothing held or suspect")

	code, out, errOut = cli(t, "review", "resolve", "-nats", p.NATSURL, "-anchor", "424242", "-ref", "hold:payout_error",
		"-action", "dismiss", "-by", "alice", "-why", "test", "-id", "cli-op-1")
	assert.Equal(t, 1, code, "a decision on a hold that does not exist is refused")
	assert.Contains(t, out, `"outcome":"refused"`)
	assert.Contains(t, errOut, "decision refused")
}

func TestReviewRecheckRepublishesTheEvent(t *testing.T) {
	p := proc.Start(t, proc.Options{})
	r := p.Send(t, command.CashierSession, proc.SessionCommand("rc-1", "payment", "rc-order-1", 100))
	_, err := p.RT.Simulator().Pay(t.Context(), r.AuthToken, sim.PayOptions{})
	require.NoError(t, err)
	code, _, errOut := cli(t, "wait", "-nats", p.NATSURL, "praxis.events.sandbox.deposit.approved")
	require.Equal(t, 0, code, errOut)
	code, out, errOut := cli(t, "review", "recheck", "-nats", p.NATSURL, "-seq", "1")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "re-published event 1 as")
	code, _, _ = cli(t, "review", "recheck", "-nats", p.NATSURL)
	assert.Equal(t, 2, code)
}
