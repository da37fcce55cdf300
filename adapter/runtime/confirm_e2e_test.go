package runtime_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/ledger"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil/proc"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// TestForgedNotificationsBookNothingEndToEnd: ingress → events → ledger
// against the simulator. Copies of a deposit's genuine notification,
// altered as an attacker holding it could (status edited, unsigned fields
// edited, digits shifted between signed fields, signature broken), sent
// before and after the genuine approval, book nothing: the ledger holds
// exactly one credit per approved deposit, with Praxis' amounts, and a
// forged claim Praxis does not confirm becomes a suspect record.
func TestForgedNotificationsBookNothingEndToEnd(t *testing.T) {
	p := proc.Start(t, proc.Options{ExtraYAML: "ledger: {recheck_horizon: 5s}"})
	s := p.RT.Simulator()
	ctx := t.Context()
	raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	forgeries := []sim.Forgery{
		{Status: "chargeback"},
		{Status: "refund"},
		{},
		{Status: "approved", Set: map[string]json.RawMessage{"session.cid": raw("cust-attacker")}},
		{Status: "approved", Set: map[string]json.RawMessage{"transaction.transaction_type": raw("refund")}},
		{Status: "approved", Shift: &sim.Shift{From: "transaction.conversion_rate", To: "transaction.amount", N: 1}},
		{Status: "approved", Shift: &sim.Shift{From: "session.order_id", To: "transaction.tid", N: 1}},
		{Status: "approved", Set: map[string]json.RawMessage{"transaction.amount": raw(990000), "transaction.processed_amount": raw(990000)}},
	}
	approved := map[int64]bool{}
	tried := 0
	for i, f := range forgeries {
		for _, before := range []bool{false, true} {
			id := fmt.Sprintf("fg-%d-%v", i, before)
			r := p.Send(t, command.CashierSession, proc.SessionCommand(id, "payment", "order-"+id+"1", 2500))
			require.Equal(t, command.OutcomeOK, r.Outcome, r.Reason)
			tx, err := s.Pay(ctx, r.AuthToken, sim.PayOptions{PaymentMethod: "WireOnline", ThreeDS: before})
			require.NoError(t, err)
			tu.Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
				if n := s.PendingNotifications(); n > 0 {
					return fmt.Errorf("%d notifications pending", n)
				}
				return nil
			})
			_, err = s.Forge(ctx, tx.TID, f)
			require.NoError(t, err)
			if before {
				_, err = s.FinishThreeDS(ctx, tx.TID, true)
				require.NoError(t, err)
			}
			approved[tx.TID] = true
			tried++
		}
	}
	// Every genuine approval is booked once; forged claims Praxis does not
	// confirm become suspects within the horizon.
	tu.Eventually(t, 40*time.Second, 50*time.Millisecond, func() error {
		credits := 0
		for _, m := range p.Messages(t, subjects.StreamLedger, subjects.AllLedger) {
			if m.Subject() == subjects.Ledger("sandbox", "deposit.credited") {
				credits++
			}
		}
		if credits < len(approved) {
			return fmt.Errorf("%d of %d credits", credits, len(approved))
		}
		if n := len(p.Messages(t, subjects.StreamReview, subjects.Review("sandbox", subjects.ReviewSuspect))); n < 2 {
			return fmt.Errorf("%d suspects", n)
		}
		return nil
	})
	credited := map[int64]int{}
	for _, m := range p.Messages(t, subjects.StreamLedger, subjects.AllLedger) {
		var in ledgerInstruction
		require.NoError(t, json.Unmarshal(m.Data(), &in))
		require.Equal(t, "deposit.credited", in.Kind, "only credits were owed")
		assert.Equal(t, int64(2500), in.Amount)
		assert.Equal(t, "EUR", in.Currency)
		assert.NotEqual(t, "cust-attacker", in.CID)
		credited[in.TID]++
	}
	assert.Len(t, credited, len(approved), "no tid but the approved deposits")
	for tid := range approved {
		assert.Equal(t, 1, credited[tid], "deposit %d credited once", tid)
	}
	for _, m := range p.Messages(t, subjects.StreamReview, subjects.AllReview) {
		var rv ledger.Review
		require.NoError(t, json.Unmarshal(m.Data(), &rv))
		assert.Equal(t, subjects.ReviewSuspect, rv.Kind)
		require.NotNil(t, rv.Claimed)
		assert.NotEqual(t, "approved", rv.Claimed.Status, "a genuine approval never becomes a suspect")
	}
	accepted, refused := 0, 0
	for _, d := range s.Deliveries() {
		if !d.Forged {
			continue
		}
		if d.ReplyStatus != nil && *d.ReplyStatus == 0 {
			accepted++
		} else {
			refused++
		}
	}
	assert.Positive(t, accepted, "the ingress accepts signature-preserving forgeries: the ledger must hold on its own")
	t.Logf("forged variants tried end to end: %d (ingress answered 0 to %d, refused %d); booked: 0; genuine credits: %d of %d",
		tried, accepted, refused, len(credited), len(approved))
}
