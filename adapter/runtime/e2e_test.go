package runtime_test

import (
	"encoding/json"
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
	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
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

// ledgerInstruction is what the test reads of a ledger message.
type ledgerInstruction struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Application string `json:"application"`
	TID         int64  `json:"tid"`
	CID         string `json:"cid"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
}

// TestLedgerEndToEnd: a deposit, a withdrawal completed then reversed, and
// a cancelled withdrawal, through the real ingress, worker and ledger.
func TestLedgerEndToEnd(t *testing.T) {
	for _, store := range []string{"embedded", "redis"} {
		t.Run(store, func(t *testing.T) {
			p := proc.Start(t, proc.Options{Redis: store == "redis"})
			s := p.RT.Simulator()
			ctx := t.Context()

			dep := p.Send(t, command.CashierSession, proc.SessionCommand("l-dep", "payment", "l-order-dep", 5000))
			require.Equal(t, command.OutcomeOK, dep.Outcome, dep.Reason)
			_, err := s.Pay(ctx, dep.AuthToken, sim.PayOptions{})
			require.NoError(t, err)

			wd := p.Send(t, command.CashierSession, proc.SessionCommand("l-wd", "withdrawal", "l-order-wd", 3000))
			require.Equal(t, command.OutcomeOK, wd.Outcome, wd.Reason)
			w1, err := s.RequestWithdrawal(ctx, wd.AuthToken, 3000)
			require.NoError(t, err)
			r := p.Send(t, command.WithdrawalComplete, fmt.Sprintf(`{"id":"l-complete","withdrawal_request_id":%d}`, w1.TID))
			require.Equal(t, command.OutcomeOK, r.Outcome, r.Reason)
			tu.Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
				if tx, _ := s.Transaction(w1.TID); tx.Status != praxis.StatusApproved {
					return fmt.Errorf("withdrawal is %s", tx.Status)
				}
				return nil
			})
			_, err = s.ReversePayout(ctx, w1.TID)
			require.NoError(t, err)

			wd2 := p.Send(t, command.CashierSession, proc.SessionCommand("l-wd2", "withdrawal", "l-order-wd2", 700))
			require.Equal(t, command.OutcomeOK, wd2.Outcome, wd2.Reason)
			w2, err := s.RequestWithdrawal(ctx, wd2.AuthToken, 700)
			require.NoError(t, err)
			r = p.Send(t, command.WithdrawalCancel, fmt.Sprintf(`{"id":"l-cancel","withdrawal_request_id":%d}`, w2.TID))
			require.Equal(t, command.OutcomeOK, r.Outcome, r.Reason)

			// Expected, with the default "payout debited upon in_progress":
			want := []string{
				"deposit.credited 5000",
				"payout.debited 3000",  // at in_progress
				"payout.reversed 3000", // funds back after approved → reversed
				// the cancelled withdrawal never reached in_progress: nothing
			}
			// Settled: every notification acknowledged, and the ledger's
			// consumer has nothing left to process.
			tu.Eventually(t, 15*time.Second, 20*time.Millisecond, func() error {
				if n := s.PendingNotifications(); n > 0 {
					return fmt.Errorf("%d notifications pending", n)
				}
				c, err := p.JS.Consumer(ctx, subjects.StreamEvents, subjects.ConsumerLedger)
				if err != nil {
					return err
				}
				info, err := c.Info(ctx)
				if err != nil {
					return err
				}
				if info.NumPending > 0 || info.NumAckPending > 0 {
					return fmt.Errorf("ledger consumer: %d pending, %d unacknowledged", info.NumPending, info.NumAckPending)
				}
				return nil
			})
			var got []ledgerInstruction
			sum := map[string]int64{}
			for _, m := range p.Messages(t, subjects.StreamLedger, subjects.AllLedger) {
				var in ledgerInstruction
				require.NoError(t, json.Unmarshal(m.Data(), &in))
				got = append(got, in)
				assert.Equal(t, "sandbox", in.Application)
				assert.Equal(t, "EUR", in.Currency)
				assert.Equal(t, "praxis.ledger.sandbox."+in.Kind, m.Subject())
				switch in.Kind {
				case "deposit.credited", "payout.released", "payout.reversed":
					sum[in.CID] += in.Amount
				case "deposit.reversed", "payout.debited":
					sum[in.CID] -= in.Amount
				}
			}
			var kinds []string
			for _, in := range got {
				kinds = append(kinds, fmt.Sprintf("%s %d", in.Kind, in.Amount))
			}
			assert.ElementsMatch(t, want, kinds, "exactly one instruction per money movement")
			for _, b := range s.BalanceList() {
				assert.Equal(t, b.Amount, sum[b.CID], "ledger sum for %s equals the simulator's balance movement", b.CID)
			}
		})
	}
}

// TestFrontendsCurrencyLockAndFixedAmounts: commands routed by website and
// currency, a customer's currency fixed once seen, and the ingress
// declining a payment of another amount than the session fixed, without
// asking the CRM.
func TestFrontendsCurrencyLockAndFixedAmounts(t *testing.T) {
	p := proc.Start(t, proc.Options{AppYAML: "frontends: [{website: shop, currency: EUR}]"})
	s := p.RT.Simulator()
	customer := proc.Customer

	// Routed by front end: website shop in EUR is the sandbox application.
	first := p.SendTo(t, worker.FrontendApp, command.CashierSession,
		`{"id":"fe-1","website":"shop","intent":"payment","currency":"EUR","amount":2500,"cid":"cust-7","order_id":"fe-order-1",`+customer+`}`)
	require.Equal(t, command.OutcomeOK, first.Outcome, first.Reason)
	assert.Equal(t, "sandbox", first.Application)

	r := p.SendTo(t, worker.FrontendApp, command.CashierSession,
		`{"id":"fe-2","website":"shop","intent":"payment","currency":"USD","amount":2500,"cid":"cust-8","order_id":"fe-order-2",`+customer+`}`)
	assert.Equal(t, command.OutcomeInvalid, r.Outcome)
	assert.Contains(t, r.Reason, `no application serves website "shop" in currency USD`)

	// The customer seen in EUR cannot be served in USD.
	r = p.Send(t, command.CashierSession,
		`{"id":"fe-3","intent":"payment","currency":"USD","amount":100,"cid":"cust-7","order_id":"fe-order-3",`+customer+`}`)
	assert.Equal(t, command.OutcomeInvalid, r.Outcome)
	assert.Contains(t, r.Reason, "registered in EUR")

	// The session fixed 25.00 EUR: the customer tries 30.00 and the
	// ingress's validation rule declines it, shown to the customer.
	session, ok := s.Session(first.AuthToken)
	require.True(t, ok)
	_, err := s.Pay(t.Context(), session.AuthToken, sim.PayOptions{Amount: 3000})
	require.Error(t, err, "the attempt is blocked")
	var declined *sim.Delivery
	for _, d := range s.Deliveries() {
		if d.Kind == "validation" && d.OrderID == "fe-order-1" {
			d := d
			declined = &d
		}
	}
	require.NotNil(t, declined, "a validation callback was made")
	require.NotNil(t, declined.ReplyStatus)
	assert.NotEqual(t, 0, *declined.ReplyStatus)
	assert.Contains(t, declined.ReplyDescription, "25.00 EUR")
	assert.Contains(t, declined.ReplyDescription, "30.00 EUR")

	// The right amount goes through.
	tx, err := s.Pay(t.Context(), session.AuthToken, sim.PayOptions{Amount: 2500})
	require.NoError(t, err)
	assert.Equal(t, praxis.StatusApproved, tx.Status)
}
