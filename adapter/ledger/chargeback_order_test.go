package ledger

import (
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// TestChargebackBeforeItsLinkedRefundWaitsForIt: a ledger running behind
// (found by make test under a CPU hog, issue 13) can see a deposit charged
// back while the refund linked to it, which the worker recorded before
// sending, has not reached it yet. That refund is not "a refund tid not
// linked to the deposit": the chargeback must wait for it (re-checked within
// the re-check horizon) and then book what the refund left, not be held for
// an operator.
func TestChargebackBeforeItsLinkedRefundWaitsForIt(t *testing.T) {
	const merchant, secret = "Test-Integration-Merchant", "MerchantSecretKey"
	s, err := sim.New(sim.Config{Applications: []sim.Application{{MerchantID: merchant, ApplicationKey: "Sandbox", Secrets: []string{secret}}},
		ResendDelay: 20 * time.Millisecond, Seed: 7}, tu.Logger(t))
	require.NoError(t, err)
	simSrv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { simSrv.Close(); _ = s.Close() })
	client, err := praxis.NewClient(praxis.ClientConfig{BaseURL: simSrv.URL, Timeout: 2 * time.Second})
	require.NoError(t, err)
	creds := praxis.Credentials{MerchantID: merchant, ApplicationKey: "Sandbox", Secrets: []string{secret}}
	lookup := PraxisLookup{Client: client, Credentials: map[string]praxis.Credentials{"sandbox": creds}}
	e := newEnvLookup(t, kvStore, func(c *Config) {
		c.RecheckHorizon, c.RecheckBase, c.RecheckMax = 20*time.Second, 20*time.Millisecond, 100*time.Millisecond
	}, nil, lookup)

	// The webhook receiver holds refund notifications back until released,
	// as a slow lane or a late resend would.
	var mu sync.Mutex
	// The refund tid's own notification is held back until after the
	// chargeback: the ledger learns of the deposit's partial refund (its
	// status), then of the chargeback, and only then of the refund tid.
	var heldRefunds []func()
	hold := true
	hook := gatedReceiver(t, e, func(typ string, publish func()) bool {
		mu.Lock()
		defer mu.Unlock()
		if hold && typ == subjects.TypeRefund {
			heldRefunds = append(heldRefunds, publish)
			return false
		}
		return true
	})
	drained := func() {
		t.Helper()
		tu.Eventually(t, 10*time.Second, 5*time.Millisecond, func() error {
			if n := s.PendingNotifications(); n > 0 {
				return fmt.Errorf("%d notifications pending", n)
			}
			return nil
		})
	}

	amount := int64(10000)
	resp, err := client.CashierSession(t.Context(), creds, praxis.SessionRequest{Intent: "payment", Currency: "EUR", CID: "cust-1",
		Locale: "en-GB", NotificationURL: hook.URL, ReturnURL: "https://merchant.example/return", OrderID: "o-1", Amount: &amount,
		CustomerToken: "87cfb23a8f1e68e162c276b754d9c061"})
	require.NoError(t, err)
	dep, err := s.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
	require.NoError(t, err)
	drained()
	e.settle(t)

	// The worker links the refund, then sends it; its notification is late.
	require.NoError(t, e.svc.Links().Link(t.Context(), "sandbox", "refund-1", dep.TID))
	_, err = client.Refund(t.Context(), creds, praxis.RefundRequest{TransactionType: "refund", Currency: "EUR", Amount: 3000,
		CID: "cust-1", Locale: "en-GB", OrderID: "refund-1", ReferenceID: dep.TID})
	require.NoError(t, err)
	drained()
	e.settle(t) // the deposit's partial_refund status, confirmed by Praxis
	_, err = s.Chargeback(t.Context(), dep.TID)
	require.NoError(t, err)
	drained()
	// The ledger has seen the chargeback (every stored event delivered).
	tu.Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
		c, err := e.js.Consumer(t.Context(), subjects.StreamEvents, subjects.ConsumerLedger)
		if err != nil {
			return err
		}
		info, err := c.Info(t.Context())
		if err != nil {
			return err
		}
		st, err := e.js.Stream(t.Context(), subjects.StreamEvents)
		if err != nil {
			return err
		}
		if info.Delivered.Stream < st.CachedInfo().State.LastSeq {
			return fmt.Errorf("delivered %d of %d", info.Delivered.Stream, st.CachedInfo().State.LastSeq)
		}
		return nil
	})
	mu.Lock()
	hold = false
	release := heldRefunds
	mu.Unlock()
	require.NotEmpty(t, release, "the refund's notification was held back")
	for _, f := range release {
		f()
	}
	e.settle(t)

	got := e.ledger(t)
	net := int64(0)
	for _, g := range got {
		net += g.Signed()
	}
	assert.Equal(t, int64(0), net, "credited 10000, refunded 3000, charged back the 7000 left; ledger: %v", ids(got))
	amounts := map[string]int64{}
	for _, g := range got {
		amounts[g.Kind+":"+g.Reason] += g.Amount
	}
	assert.Equal(t, map[string]int64{"deposit.credited:": 10000, "deposit.reversed:refund": 3000, "deposit.reversed:chargeback": 7000}, amounts,
		"the refund reverses its 3000 and the chargeback what is left")
	for _, r := range e.reviewRecords(t) {
		assert.NotEqual(t, subjects.ReviewHeld, r.Kind, "nothing held: the refund was linked (%s)", r.Reason)
	}
}
