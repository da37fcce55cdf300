package runtime_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil/proc"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// eventCounts returns, for every subject of the events stream, how many
// messages it holds, and every envelope id seen.
func events(t *testing.T, p *proc.Process) (map[string]uint64, []string) {
	t.Helper()
	s, err := p.JS.Stream(t.Context(), subjects.StreamEvents)
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

func TestSimulatedPaymentYieldsOneApprovedEvent(t *testing.T) {
	for _, store := range []string{"embedded", "redis"} {
		t.Run(store, func(t *testing.T) {
			p := proc.Start(t, proc.Options{Redis: store == "redis"})
			r := p.Send(t, command.CashierSession, proc.SessionCommand("pay-1", "payment", "order-pay-1", 2500))
			require.Equal(t, command.OutcomeOK, r.Outcome, r.Reason)
			tx, err := p.RT.Simulator().Pay(t.Context(), r.AuthToken, sim.PayOptions{})
			require.NoError(t, err)

			subject := "praxis.events.sandbox.deposit.approved"
			tu.Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
				counts, _ := events(t, p)
				if counts[subject] != 1 {
					return fmt.Errorf("%s holds %d", subject, counts[subject])
				}
				return nil
			})
			// The simulator saw every notification acknowledged with 0.
			tu.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
				if n := p.RT.Simulator().PendingNotifications(); n > 0 {
					return fmt.Errorf("%d notifications pending", n)
				}
				return nil
			})
			notified := 0
			for _, d := range p.RT.Simulator().Deliveries() {
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
			counts, _ := events(t, p)
			assert.Equal(t, uint64(1), counts["praxis.events.sandbox.deposit.pending"])
		})
	}
}

func TestDuplicateAndOutOfOrderDeliveriesLandOnce(t *testing.T) {
	p := proc.Start(t, proc.Options{})
	s := p.RT.Simulator()
	require.NoError(t, s.SetFaults(sim.Faults{DuplicateRate: 1, OutOfOrderRate: 1, OutOfOrderHold: 200 * time.Millisecond}))

	const n = 10
	var tids []int64
	for i := 0; i < n; i++ {
		r := p.Send(t, command.CashierSession, proc.SessionCommand(fmt.Sprintf("dup-%d", i), "payment", fmt.Sprintf("order-dup-%d", i), 1000+int64(i)))
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
	counts, ids := events(t, p)
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
