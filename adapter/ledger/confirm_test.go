package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

const (
	testMerchant = "Test-Integration-Merchant"
	testSecret   = "MerchantSecretKey"
)

// forgeRig is a simulator, a ledger that confirms with it, and a receiver
// standing in for the ingress. The receiver publishes whatever it gets
// (forged or not), keyed by the body's hash so no copy takes another's
// event id: the ledger must hold on its own.
type forgeRig struct {
	e      *env
	s      *sim.Simulator
	client *praxis.Client
	hook   *httptest.Server
	orders int

	mu       sync.Mutex
	forged   map[string]bool // event id -> sent by Forge
	verified map[string]bool // event id -> the genuine signature still verifies
}

func newForgeRig(t *testing.T, mutate func(*Config)) *forgeRig {
	t.Helper()
	s, err := sim.New(sim.Config{Applications: []sim.Application{{MerchantID: testMerchant, ApplicationKey: "Sandbox", Secrets: []string{testSecret}}},
		ResendDelay: 20 * time.Millisecond, Seed: 11}, tu.Logger(t))
	require.NoError(t, err)
	simSrv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { simSrv.Close(); _ = s.Close() })
	client, err := praxis.NewClient(praxis.ClientConfig{BaseURL: simSrv.URL, Timeout: 2 * time.Second})
	require.NoError(t, err)
	r := &forgeRig{s: s, client: client, forged: map[string]bool{}, verified: map[string]bool{}}
	lookup := PraxisLookup{Client: client, Credentials: map[string]praxis.Credentials{"sandbox": r.creds()}}
	r.e = newEnvLookup(t, kvStore, func(c *Config) {
		c.DebitOn = map[string]string{"sandbox": "in_progress"}
		c.RecheckHorizon, c.RecheckBase, c.RecheckMax, c.MinRechecks = 1500*time.Millisecond, 50*time.Millisecond, 400*time.Millisecond, 3
		if mutate != nil {
			mutate(c)
		}
	}, nil, lookup)
	list := praxis.DefaultLists().Get(praxis.ListNotificationRequest)
	r.hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n, err := praxis.Decode[praxis.Notification](raw)
		if err != nil || n.Transaction == nil || n.Session == nil {
			http.Error(w, "not a transaction notification", http.StatusBadRequest)
			return
		}
		tx, app := n.Transaction, subjects.AppName(n.ApplicationKey)
		status := praxis.NormalizeStatus(tx.TransactionStatus)
		typ := subjects.EventType(tx.TransactionType, n.Session.Intent, tx.WithdrawalRequestID != nil, true)
		sum := sha256.Sum256(raw)
		id := fmt.Sprintf("%s:t:%d:%s:%s", app, tx.TID, status, hex.EncodeToString(sum[:8]))
		r.mu.Lock()
		forged := req.Header.Get(sim.HeaderForged) != ""
		if prev, ok := r.forged[id]; ok {
			forged = prev && forged // a verbatim replay of a genuine body keeps its id genuine
		}
		r.forged[id] = forged
		r.verified[id] = list.Verify(raw, req.Header.Get(praxis.HeaderSignature), testSecret) == nil
		r.mu.Unlock()
		data := cloudevent.Append(nil, cloudevent.Fields{ID: id, Source: "praxis/" + app, Type: "praxis." + typ + "." + status,
			Subject: strconv.FormatInt(tx.TID, 10), Time: time.Now(), Merchant: n.MerchantID, Application: app, Data: raw})
		r.e.raw(t, subjects.Event(app, typ, status), data, id)
		_, _ = fmt.Fprintf(w, `{"status":0,"description":"Ok","version":"1.3","timestamp":%d}`, time.Now().Unix())
	}))
	t.Cleanup(r.hook.Close)
	return r
}

func (r *forgeRig) creds() praxis.Credentials {
	return praxis.Credentials{MerchantID: testMerchant, ApplicationKey: "Sandbox", Secrets: []string{testSecret}}
}

// session opens a deposit session of 2500 EUR for cust-Sandbox.
func (r *forgeRig) session(t *testing.T) (token, order string) {
	t.Helper()
	r.orders++
	order = fmt.Sprintf("o-%d", r.orders)
	amount := int64(2500)
	resp, err := r.client.CashierSession(t.Context(), r.creds(), praxis.SessionRequest{Intent: "payment", Currency: "EUR", Amount: &amount,
		CID: "cust-Sandbox", Locale: "en-GB", NotificationURL: r.hook.URL, ReturnURL: "https://merchant.example/return", OrderID: order,
		CustomerToken: "87cfb23a8f1e68e162c276b754d9c061"})
	require.NoError(t, err)
	return resp.Session.AuthToken, order
}

func (r *forgeRig) quiet(t *testing.T) {
	t.Helper()
	tu.Eventually(t, 10*time.Second, 5*time.Millisecond, func() error {
		if n := r.s.PendingNotifications(); n > 0 {
			return fmt.Errorf("%d notifications pending", n)
		}
		return nil
	})
}

// reviews reads PRAXIS_REVIEW.
func (r *forgeRig) reviews(t *testing.T) []Review {
	t.Helper()
	st, err := r.e.js.Stream(t.Context(), subjects.StreamReview)
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	var out []Review
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(t.Context(), seq)
		require.NoError(t, err)
		var rv Review
		require.NoError(t, json.Unmarshal(m.Data, &rv))
		assert.Equal(t, rv.ID, m.Header.Get(jetstream.MsgIDHeader))
		out = append(out, rv)
	}
	return out
}

// forgeries are what an attacker holding one genuine notification of a
// deposit (body and signature header, no secret) can send. sigOK: the
// genuine signature still verifies, so the ingress accepts the copy.
func forgeries(otherTID int64) []struct {
	name  string
	f     sim.Forgery
	sigOK bool
} {
	raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	return []struct {
		name  string
		f     sim.Forgery
		sigOK bool
	}{
		{"replay", sim.Forgery{}, true},
		{"status edited to approved", sim.Forgery{Status: "approved"}, true},
		{"status edited to chargeback", sim.Forgery{Status: "chargeback"}, true},
		{"status edited to refund", sim.Forgery{Status: "refund"}, true},
		{"customer edited (session.cid is not signed)", sim.Forgery{Status: "approved", Set: map[string]json.RawMessage{"session.cid": raw("cust-attacker")}}, true},
		{"type edited to refund", sim.Forgery{Status: "approved", Set: map[string]json.RawMessage{"transaction.transaction_type": raw("refund")}}, true},
		{"refund of another deposit", sim.Forgery{Status: "approved", Set: map[string]json.RawMessage{"transaction.transaction_type": raw("refund"), "transaction.reference_id": raw(otherTID)}}, true},
		{"withdrawal_request_id added", sim.Forgery{Status: "approved", Set: map[string]json.RawMessage{"transaction.withdrawal_request_id": raw(otherTID)}}, true},
		{"session.amount edited", sim.Forgery{Status: "approved", Set: map[string]json.RawMessage{"session.amount": raw(999999)}}, true},
		{"order_id digit shifted into tid", sim.Forgery{Status: "approved", Shift: &sim.Shift{From: "session.order_id", To: "transaction.tid", N: 1}}, true},
		{"conversion_rate digit shifted into amount", sim.Forgery{Status: "approved", Shift: &sim.Shift{From: "transaction.conversion_rate", To: "transaction.amount", N: 1}}, true},
		{"amount digit shifted into currency", sim.Forgery{Status: "approved", Shift: &sim.Shift{From: "transaction.amount", To: "transaction.currency", N: 1}}, true},
		{"amount and processed_amount edited", sim.Forgery{Status: "approved", Set: map[string]json.RawMessage{"transaction.amount": raw(250000), "transaction.processed_amount": raw(250000)}}, false},
		{"currency edited", sim.Forgery{Status: "approved", Set: map[string]json.RawMessage{"transaction.currency": raw("USD"), "transaction.processed_currency": raw("USD")}}, false},
		{"tid of another deposit", sim.Forgery{Status: "approved", Set: map[string]json.RawMessage{"transaction.tid": raw(otherTID)}}, false},
	}
}

// TestForgedCopiesChangeNothing sends every forgery of a deposit's
// notification before the genuine approval (from the captured initialized
// notification of a 3-D Secure payment) and after it, and checks that the
// ledger booked exactly one credit per approved deposit, with Praxis'
// amount, currency, customer and order; nothing for a deposit Praxis
// rejected; and that every suspect record names a forged copy, never a
// genuine notification.
func TestForgedCopiesChangeNothing(t *testing.T) {
	r := newForgeRig(t, nil)
	ctx := t.Context()
	// A deposit of someone else that forged copies may name.
	otherTok, otherOrder := r.session(t)
	other, err := r.s.Pay(ctx, otherTok, sim.PayOptions{PaymentMethod: "WireOnline"})
	require.NoError(t, err)

	type deposit struct {
		tid   int64
		order string
		want  bool // approved by Praxis
	}
	deposits := []deposit{{other.TID, otherOrder, true}}
	tried := 0
	for _, v := range forgeries(other.TID) {
		for _, mode := range []string{"before", "after", "before-rejected"} {
			tok, order := r.session(t)
			switch mode {
			case "after":
				tx, err := r.s.Pay(ctx, tok, sim.PayOptions{PaymentMethod: "WireOnline"})
				require.NoError(t, err)
				r.quiet(t)
				r.e.settle(t)
				_, err = r.s.Forge(ctx, tx.TID, v.f)
				require.NoError(t, err, v.name)
				deposits = append(deposits, deposit{tx.TID, order, true})
			default:
				tx, err := r.s.Pay(ctx, tok, sim.PayOptions{PaymentMethod: "WireOnline", ThreeDS: true})
				require.NoError(t, err)
				r.quiet(t) // the initialized notification was sent: the attacker holds it
				_, err = r.s.Forge(ctx, tx.TID, v.f)
				require.NoError(t, err, v.name)
				_, err = r.s.FinishThreeDS(ctx, tx.TID, mode == "before")
				require.NoError(t, err)
				deposits = append(deposits, deposit{tx.TID, order, mode == "before"})
			}
			tried++
		}
	}
	r.quiet(t)
	r.e.settle(t)

	// Booked: exactly one credit per approved deposit, from Praxis' truth.
	got := r.e.ledger(t)
	credits := map[int64]int{}
	for _, g := range got {
		require.Equal(t, "deposit.credited", g.Kind, "only credits: %v", ids(got))
		credits[g.TID]++
		assert.Equal(t, int64(2500), g.Amount, g.ID)
		assert.Equal(t, "EUR", g.Currency, g.ID)
		assert.Equal(t, "cust-Sandbox", g.CID, g.ID)
		assert.Equal(t, "approved", g.PraxisStatus, g.ID)
	}
	for _, d := range deposits {
		if d.want {
			assert.Equal(t, 1, credits[d.tid], "deposit %d credited once", d.tid)
		} else {
			assert.Zero(t, credits[d.tid], "deposit %d was rejected by Praxis", d.tid)
		}
	}
	assert.Len(t, credits, 1+len(forgeries(0))*2, "no other tid booked")

	// The copies that keep the signature are real attacks: they verify.
	r.mu.Lock()
	nForged, nVerified := 0, 0
	for id, f := range r.forged {
		if f {
			nForged++
			if r.verified[id] {
				nVerified++
			}
		}
	}
	r.mu.Unlock()
	sigOK := 0
	for _, v := range forgeries(0) {
		if v.sigOK {
			sigOK++
		}
	}
	assert.GreaterOrEqual(t, nVerified, sigOK*2, "signature-preserving forgeries verify under the genuine signature (the replay ones share the genuine id)")

	// Suspects: only forged copies, never a genuine notification.
	reviews := r.reviews(t)
	suspects := 0
	for _, rv := range reviews {
		require.Equal(t, subjects.ReviewSuspect, rv.Kind)
		suspects++
		r.mu.Lock()
		forged, known := r.forged[rv.EventID]
		r.mu.Unlock()
		assert.True(t, known && forged, "suspect %s names a forged copy", rv.ID)
	}
	assert.Positive(t, suspects)
	assert.Equal(t, float64(suspects), testutil.ToFloat64(r.e.svc.metrics.Suspects.WithLabelValues("sandbox", SuspectDisagrees))+
		testutil.ToFloat64(r.e.svc.metrics.Suspects.WithLabelValues("sandbox", SuspectNotFound)))
	// The ledger net per customer equals the simulator's balances.
	net := map[string]int64{}
	for _, g := range got {
		net[g.CID] += g.Signed()
	}
	want := map[string]int64{}
	for k, v := range r.s.Balances() {
		want[k.CID] += v
	}
	assert.Equal(t, want, net)
	t.Logf("forged variants tried: %d (%d forgeries × before/after/before-rejected); forged deliveries %d, of which %d verify under the genuine signature; booked from a forgery: 0; suspect records: %d",
		tried, len(forgeries(0)), nForged, nVerified, suspects)
}

// Issue #11 item 8: a chargeback after a partial refund Praxis made outside
// the adapter (not linked to the deposit) does not reverse the full
// deposit: it is held, and an operator books the true remainder. The
// ledger's net then equals what Praxis moved.
func TestChargebackAfterUnlinkedPartialRefundIsHeld(t *testing.T) {
	r := newForgeRig(t, nil)
	ctx := t.Context()
	step := func() { r.quiet(t); r.e.settle(t) }
	tok, _ := r.session(t)
	dep, err := r.s.Pay(ctx, tok, sim.PayOptions{PaymentMethod: "WireOnline"})
	require.NoError(t, err)
	step()
	_, err = r.client.Refund(ctx, r.creds(), praxis.RefundRequest{TransactionType: "refund", Currency: "EUR", Amount: 1000,
		CID: "cust-Sandbox", Locale: "en-GB", OrderID: "backoffice-refund-1", ReferenceID: dep.TID})
	require.NoError(t, err)
	step()
	_, err = r.s.Chargeback(ctx, dep.TID)
	require.NoError(t, err)
	step()

	net := func() int64 {
		var n int64
		for _, g := range r.e.ledger(t) {
			n += g.Signed()
		}
		return n
	}
	var kinds []string
	for _, g := range r.e.ledger(t) {
		kinds = append(kinds, fmt.Sprintf("%s %d", g.Kind, g.Amount))
	}
	assert.ElementsMatch(t, []string{"deposit.credited 2500", "deposit.reversed 1000"}, kinds, "the chargeback is not booked on its own")
	var held *Review
	for _, rv := range r.reviews(t) {
		if rv.Kind == subjects.ReviewHeld {
			held = &rv
		}
	}
	require.NotNil(t, held, "a held record")
	assert.Equal(t, "chargeback_remainder", held.Reason)
	assert.Equal(t, dep.TID, held.Anchor)

	d := Decision{ID: "op-cb", Anchor: held.Anchor, Ref: held.Ref, Action: "book", Amount: ptr(int64(1500)), By: "alice", Why: "back office: 1000 refunded before the chargeback"}
	data, err := json.Marshal(d)
	require.NoError(t, err)
	_, err = r.e.js.Publish(ctx, subjects.Review("sandbox", subjects.ReviewResolve), data)
	require.NoError(t, err)
	tu.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		if n := len(r.e.ledger(t)); n != 3 {
			return fmt.Errorf("%d instructions", n)
		}
		return nil
	})
	var want int64
	for _, v := range r.s.Balances() {
		want += v
	}
	assert.Equal(t, want, net(), "after the decision the ledger's net is what Praxis moved")
	assert.Equal(t, int64(0), net())
}
