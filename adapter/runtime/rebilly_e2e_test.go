package runtime_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/ledger"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly/rebillysim"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil/proc"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// TestRebillyDepositThroughNATS: a Rebilly deposit driven through NATS, in
// one process with both simulators, is one confirmed event and one ledger
// credit with the right minor-unit amount; forged notifications (an id
// Rebilly does not know, a result the transaction does not have) book
// nothing; a refund whose reply is lost is reconciled, not repeated.
func TestRebillyDepositThroughNATS(t *testing.T) {
	for _, store := range []string{"embedded", "redis"} {
		t.Run(store, func(t *testing.T) {
			p := proc.Start(t, proc.Options{Redis: store == "redis", Rebilly: true})
			sim := p.RT.RebillySimulator()
			require.NotNil(t, sim)
			app := proc.RebillyApp
			count := func(subject string) uint64 { return p.Count(t, subjects.StreamEvents, subject) }
			ledgerCount := func(subject string) uint64 { return p.Count(t, subjects.StreamLedger, subject) }
			waitFor := func(what string, f func() bool) {
				t.Helper()
				tu.Eventually(t, 20*time.Second, 20*time.Millisecond, func() error {
					if !f() {
						return fmt.Errorf("waiting for %s", what)
					}
					return nil
				})
			}

			// The CRM opens a cashier; the customer pays 10.50 EUR.
			r := p.SendVia(t, subjects.Rebilly, app, command.RebillyCashierCreate,
				`{"id":"rb-cashier-1","customer_id":"cus-1","currency":"EUR"}`)
			require.Equal(t, command.OutcomeOK, r.Outcome, r.Reason)
			require.NotNil(t, r.Rebilly)
			require.NotEmpty(t, r.Rebilly.CashierID)
			tx, err := sim.PayDeposit(t.Context(), r.Rebilly.CashierID, rebillysim.PayOptions{Amount: 1050})
			require.NoError(t, err)

			credited := subjects.Rebilly.Ledger(app, "deposit.credited")
			waitFor("one event and one credit", func() bool {
				return count(subjects.Rebilly.Event(app, "deposit", "approved")) == 1 && ledgerCount(credited) == 1
			})
			waitFor("every notification and webhook delivered", func() bool { return sim.PendingDeliveries() == 0 })
			delivered := 0
			for _, d := range sim.Deliveries() {
				if d.TransactionID == tx.ID {
					delivered++
				}
			}
			assert.GreaterOrEqual(t, delivered, 2, "the notificationUrl call and the webhook both arrived")
			assert.Equal(t, uint64(1), count(subjects.Rebilly.Event(app, "deposit", "approved")), "one event for one state, however often it was announced")

			msgs := p.Messages(t, subjects.StreamLedger, credited)
			require.Len(t, msgs, 1)
			var in ledger.Instruction
			require.NoError(t, json.Unmarshal(msgs[0].Data(), &in))
			assert.Equal(t, "rebilly", in.Provider)
			assert.Equal(t, tx.ID, in.TransactionID)
			assert.Equal(t, int64(1050), in.Amount, "10.50 EUR in minor units")
			assert.Equal(t, "EUR", in.Currency)

			// Forged notifications: nothing is booked.
			notify := func(id, result string) int {
				url := p.RT.Endpoints().Ingress + "/rebilly/" + app + "/notification?id=" + id + "&result=" + result
				resp, err := http.Post(url, "application/json", nil)
				require.NoError(t, err)
				_ = resp.Body.Close()
				return resp.StatusCode
			}
			assert.Equal(t, http.StatusNotFound, notify("txn_forged_000000", "approved"), "an id Rebilly does not know")
			r2 := p.SendVia(t, subjects.Rebilly, app, command.RebillyCashierCreate,
				`{"id":"rb-cashier-2","customer_id":"cus-2","currency":"EUR"}`)
			require.Equal(t, command.OutcomeOK, r2.Outcome, r2.Reason)
			declined, err := sim.PayDeposit(t.Context(), r2.Rebilly.CashierID, rebillysim.PayOptions{Amount: 9900, Result: "declined"})
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, notify(declined.ID, "approved"), "a genuine id: confirmed by the GET")
			waitFor("the declined deposit's event", func() bool {
				return count(subjects.Rebilly.Event(app, "deposit", "declined")) == 1
			})
			assert.Zero(t, count(subjects.Rebilly.Event(app, "deposit", "approved"))-1, "the forged result=approved published nothing approved")
			assert.Equal(t, uint64(1), ledgerCount(credited), "only the genuine deposit is credited")

			// A refund whose reply is lost: reconciled by lookup, made once.
			require.NoError(t, sim.SetFaults(rebillysim.Faults{Endpoints: map[string]rebillysim.EndpointFaults{
				"POST /transactions/{id}/refund": {LostReplyRate: 1}}}))
			rf := p.SendVia(t, subjects.Rebilly, app, command.RebillyRefundCreate,
				`{"id":"rb-refund-1","transaction_id":"`+tx.ID+`","amount":400,"currency":"EUR"}`)
			require.Equal(t, command.OutcomeOK, rf.Outcome, rf.Reason)
			assert.True(t, rf.Reconciled, "the lost answer was settled by a lookup")
			assert.Equal(t, 1, rf.Calls, "the refund was sent once")
			assert.Equal(t, 1, sim.Effects().Applied["refund:"+tx.ID], "one refund at Rebilly")
			require.NoError(t, sim.SetFaults(rebillysim.Faults{}))
			waitFor("one reversal", func() bool { return ledgerCount(subjects.Rebilly.Ledger(app, "deposit.reversed")) == 1 })
			rev := p.Messages(t, subjects.StreamLedger, subjects.Rebilly.Ledger(app, "deposit.reversed"))
			require.Len(t, rev, 1)
			var rin ledger.Instruction
			require.NoError(t, json.Unmarshal(rev[0].Data(), &rin))
			assert.Equal(t, int64(400), rin.Amount)

			// One filter takes both providers' instructions.
			assert.Equal(t, uint64(2), p.Count(t, subjects.StreamLedger, subjects.AnyLedger))
		})
	}
}
