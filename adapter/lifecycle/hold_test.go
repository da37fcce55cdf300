package lifecycle

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// applyAll feeds notes to one anchor's state and returns what was booked
// and the holds announced.
func applyAll(t *testing.T, st State, notes []note) (State, []Instruction, []Hold) {
	t.Helper()
	var out []Instruction
	var holds []Hold
	for i, n := range notes {
		res, err := Apply(st, n.input("h"+itoa(int64(i))), Policy{})
		require.NoError(t, err)
		st = res.State
		out = append(out, res.Instructions...)
		holds = append(holds, res.Holds...)
	}
	return st, out, holds
}

// The three doubtful cases of issue #11 item 8 (these fail on the old
// code, which released, reversed the full deposit, or said nothing).
func TestDoubtfulMovementsAreHeldNotBooked(t *testing.T) {
	cases := []struct {
		name      string
		notes     []note
		booked    []string
		reason    string
		proposal  string
		resolveAt *int64
	}{
		{name: "payout ends in error", notes: []note{wr("requested", 5000, 100), wr("in_progress", 5000, 100), wr("error", 5000, 100)},
			booked: []string{deb}, reason: HoldPayoutError, proposal: rel},
		{name: "chargeback after an unlinked partial refund", notes: []note{sale("approved"), sale("partial_refund"), sale("chargeback")},
			booked: []string{credSale}, reason: HoldChargebackRemainder, proposal: "deposit.reversed 10000 EUR", resolveAt: i64(7000)},
		{name: "approved deposit whose amount changes", notes: []note{sale("approved"), {tid: 200, typ: "sale", status: "approved", amount: i64(12000), fee: i64(250)}},
			booked: []string{credSale}, reason: HoldAmountChanged},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, out, holds := applyAll(t, State{}, c.notes)
			assert.Equal(t, c.booked, mvs(out), "booked before any decision")
			require.Len(t, holds, 1, "announced once")
			h := holds[0]
			assert.Equal(t, c.reason, h.Reason)
			assert.NotEmpty(t, h.Detail)
			if c.proposal == "" {
				assert.Nil(t, h.Proposed)
			} else {
				require.NotNil(t, h.Proposed)
				assert.Equal(t, c.proposal, mv(*h.Proposed))
			}
			// A repeat of the last notification announces nothing new.
			again, _, more := applyAll(t, st, c.notes[len(c.notes)-1:])
			assert.Empty(t, more)
			assert.Len(t, again.Open(), 1)

			d := Decision{ID: "op-1", Ref: h.Ref, Action: ActionBook, Amount: c.resolveAt, By: "alice", Why: "processor confirmed", At: time.Unix(1700000100, 0)}
			if h.Proposed == nil {
				_, err := Resolve(st, d)
				require.ErrorIs(t, err, ErrBadDecision)
				d.Action = ActionDismiss
			}
			res, err := Resolve(st, d)
			require.NoError(t, err)
			assert.Empty(t, res.State.Open())
			if d.Action == ActionBook {
				require.Len(t, res.Instructions, 1)
				assert.Equal(t, h.Proposed.Kind, res.Instructions[0].Kind)
				assert.Equal(t, h.ProposedRef, res.Instructions[0].Ref)
				if c.resolveAt != nil {
					assert.Equal(t, *c.resolveAt, res.Instructions[0].Amount)
				}
				assert.Contains(t, res.Instructions[0].Review, "alice")
			} else {
				assert.Empty(t, res.Instructions)
			}
			// The same decision again changes nothing; another one is refused.
			same, err := Resolve(res.State, d)
			require.NoError(t, err)
			assert.Equal(t, OutcomeAlreadyApplied, same.Outcome)
			d.ID = "op-2"
			_, err = Resolve(res.State, d)
			require.ErrorIs(t, err, ErrResolved)
			// Later notifications do not book what the decision settled.
			_, later, _ := applyAll(t, res.State, c.notes)
			assert.Empty(t, later)
		})
	}
}

func TestResolveRefusesBadDecisions(t *testing.T) {
	st, _, holds := applyAll(t, State{}, []note{wr("requested", 5000, 100), wr("in_progress", 5000, 100), wr("error", 5000, 100)})
	require.Len(t, holds, 1)
	for name, d := range map[string]Decision{
		"no reason":       {ID: "x", Ref: holds[0].Ref, Action: ActionBook, By: "alice"},
		"no operator":     {ID: "x", Ref: holds[0].Ref, Action: ActionBook, Why: "ok"},
		"unknown action":  {ID: "x", Ref: holds[0].Ref, Action: "approve", By: "alice", Why: "ok"},
		"negative amount": {ID: "x", Ref: holds[0].Ref, Action: ActionBook, Amount: i64(-1), By: "alice", Why: "ok"},
	} {
		_, err := Resolve(st, d)
		assert.ErrorIs(t, err, ErrBadDecision, name)
	}
	_, err := Resolve(st, Decision{ID: "x", Ref: "hold:nope", Action: ActionBook, By: "alice", Why: "ok"})
	assert.ErrorIs(t, err, ErrNoHold)
}

func TestConfirms(t *testing.T) {
	cases := []struct {
		typ, truthType string
		request        bool
		claimed, truth string
		want           bool
	}{
		{"sale", "sale", false, "approved", "approved", true},
		{"sale", "sale", false, "pending", "approved", true},
		{"sale", "sale", false, "approved", "partial_refund", true},
		{"sale", "sale", false, "approved", "chargeback", true},
		{"sale", "sale", false, "approved", "pending", false},
		{"sale", "sale", false, "approved", "rejected", false},
		{"sale", "sale", false, "pending", "rejected", true},
		{"sale", "sale", false, "chargeback", "approved", false},
		{"sale", "sale", false, "rejected", "approved", false},
		{"sale", "refund", false, "approved", "approved", false},
		{"payout", "payout", true, "requested", "in progress", true},
		{"payout", "payout", true, "approved", "in_progress", false},
		{"payout", "payout", true, "error", "approved", false},
		{"payout", "payout", true, "cancelled", "rejected", true},
		{"payout", "payout", false, "approved", "reversed", true},
		{"refund", "refund", false, "approved", "pending", false},
		{"sale", "sale", false, "weird", "approved", false},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Confirms(c.typ, c.truthType, c.request, c.claimed, c.truth), "%s %s claimed %s, Praxis %s %s", c.typ, map[bool]string{true: "request", false: ""}[c.request], c.claimed, c.truthType, c.truth)
	}
}
