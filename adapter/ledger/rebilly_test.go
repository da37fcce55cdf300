package ledger

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/adapter/lifecycle"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly/rebillysim"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

const (
	rbOrg    = "org_ledger"
	rbKey    = "sk_sandbox_ledger"
	rbShop   = "rshop"  // Rebilly application, payouts debited at requested
	rbLate   = "rlate"  // Rebilly application, payouts debited at approved
	rbCustID = "cus_42" // the simulated customer
)

// rbEnv is a ledger consuming Praxis and Rebilly events, and a Rebilly
// simulator behind a real HTTP server with a rebilly.Client pointed at it:
// events are made as the ingress makes them, from the GET's raw body.
type rbEnv struct {
	*env
	sim    *rebillysim.Simulator
	srv    *httptest.Server
	client *rebilly.Client
}

func newRebillyEnv(t *testing.T, kind storeKind) *rbEnv {
	t.Helper()
	sim, err := rebillysim.New(rebillysim.Config{OrganizationID: rbOrg, APIKeys: []string{rbKey}, Seed: 3}, tu.Logger(t))
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, sim.Close())
	})
	client, err := rebilly.NewClient(rebilly.ClientConfig{BaseURL: srv.URL, OrganizationID: rbOrg, APIKey: rbKey, Timeout: 5 * time.Second})
	require.NoError(t, err)
	e := newEnv(t, kind, func(c *Config) {
		c.Rebilly = true
		c.RebillyApps = map[string]RebillyApp{rbShop: {PayoutDebitOn: RebillyDebitOnRequested}, rbLate: {PayoutDebitOn: RebillyDebitOnApproved}}
	}, nil)
	return &rbEnv{env: e, sim: sim, srv: srv, client: client}
}

// envelope is a Rebilly event as the ingress publishes it (HELPERS.md):
// a structured CloudEvent whose data is raw, byte for byte.
func envelope(t *testing.T, id, ceType, subject, revision, result, currency, typ string, amount int64, raw []byte) []byte {
	t.Helper()
	attrs, err := json.Marshal(map[string]string{
		"specversion": cloudevent.SpecVersion, "id": id, "source": "rebilly/" + rbOrg, "type": ceType, "subject": subject,
		"time": "2026-11-30T00:00:00Z", "datacontenttype": "application/json", "rebillyid": subject,
		"rebillyrevision": revision, "rebillyresult": result, "rebillyamount": strconv.FormatInt(amount, 10),
		"rebillycurrency": currency, "rebillytype": typ,
	})
	require.NoError(t, err)
	out := append(attrs[:len(attrs)-1:len(attrs)-1], `,"data":`...)
	out = append(out, raw...)
	return append(out, '}')
}

// publishTx GETs transaction id and publishes it on app's event subject;
// copy makes a distinct publication of the same state (as a second
// ingress replica past the duplicate window would).
func (r *rbEnv) publishTx(t *testing.T, app, id, copy string) rebilly.Transaction {
	t.Helper()
	resp, err := r.client.GetTransaction(t.Context(), id)
	require.NoError(t, err)
	tx := resp.Value
	rev := strconv.FormatInt(tx.Revision, 10)
	msgID := "rebilly:" + rbOrg + ":t:" + tx.ID + ":" + rev + copy
	data := envelope(t, msgID, RebillyTransactionEvent, tx.ID, rev, tx.Result, tx.Currency, tx.Type, tx.AmountMinor, resp.Raw)
	r.raw(t, subjects.Rebilly.Event(app, rebilly.EventType(&tx), tx.Result), data, msgID)
	return tx
}

// publishRequest GETs payout request id and publishes it (type withdrawal).
func (r *rbEnv) publishRequest(t *testing.T, app, id string) rebilly.PayoutRequest {
	t.Helper()
	resp, err := r.client.GetPayoutRequest(t.Context(), id)
	require.NoError(t, err)
	p := resp.Value
	msgID := "rebilly:" + rbOrg + ":p:" + p.ID + ":" + p.UpdatedTime + ":" + p.Status
	data := envelope(t, msgID, RebillyPayoutRequestEvent, p.ID, p.UpdatedTime, p.Status, p.Currency, "withdrawal", p.AmountMinor, resp.Raw)
	r.raw(t, subjects.Rebilly.Event(app, subjects.TypeWithdrawal, p.Status), data, msgID)
	return p
}

func (r *rbEnv) cashier(t *testing.T, currency string) rebilly.Cashier {
	t.Helper()
	resp, err := r.client.CreateCashier(t.Context(), rebilly.CashierRequest{CustomerID: rbCustID, WebsiteID: "web_1", Currency: currency})
	require.NoError(t, err)
	return resp.Value
}

// settleAll waits until both event consumers have nothing pending.
func (r *rbEnv) settleAll(t *testing.T) {
	t.Helper()
	tu.Eventually(t, 15*time.Second, 20*time.Millisecond, func() error {
		for _, name := range []string{subjects.ConsumerLedger, subjects.Rebilly.LedgerConsumer()} {
			c, err := r.js.Consumer(t.Context(), subjects.StreamEvents, name)
			if err != nil {
				return err
			}
			info, err := c.Info(t.Context())
			if err != nil {
				return err
			}
			if info.NumPending != 0 || info.NumAckPending != 0 {
				return fmt.Errorf("%s: pending %d, ack pending %d", name, info.NumPending, info.NumAckPending)
			}
		}
		return nil
	})
}

func kinds(list []stored) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.Kind+" "+strconv.FormatInt(s.Amount, 10))
	}
	return out
}

// TestRebillyDepositCreditedOnce: a Rebilly deposit is credited once, in
// minor units of its currency, however often its state is published, and
// a refund reverses it once.
func TestRebillyDepositCreditedOnce(t *testing.T) {
	tests := []struct {
		currency       string
		paid, refunded int64 // minor units
		wire           string
	}{
		{"EUR", 1050, 300, "10.50"},
		{"JPY", 1050, 50, "1050"},
		{"KWD", 10505, 5, "10.505"},
	}
	stores(t, func(t *testing.T, kind storeKind) {
		r := newRebillyEnv(t, kind)
		r.replica(t) // a second ledger replica on the same consumers and records
		for _, tt := range tests {
			t.Run(tt.currency, func(t *testing.T) {
				c := r.cashier(t, tt.currency)
				paid, err := r.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: tt.paid})
				require.NoError(t, err)
				for _, copy := range []string{"", "#2", "#3"} {
					tx := r.publishTx(t, rbShop, paid.ID, copy)
					require.Contains(t, string(mustRaw(t, r, paid.ID)), `"amount":`+tt.wire, "the body carries the major-unit decimal")
					require.Equal(t, tt.paid, tx.AmountMinor)
				}
				ref, err := r.client.Refund(t.Context(), paid.ID, rebilly.RefundRequest{Amount: rebilly.FromMinor(r.client.Currencies(), tt.refunded, tt.currency)})
				require.NoError(t, err)
				r.publishTx(t, rbShop, paid.ID, "") // the parent's newer revision (partially-refunded)
				r.publishTx(t, rbShop, ref.Value.ID, "")
				r.publishTx(t, rbShop, ref.Value.ID, "#again")
				r.settleAll(t)

				var mine []stored
				for _, g := range r.ledger(t) {
					if strings.HasPrefix(g.ID, rbShop+":rebilly:"+paid.ID+":") {
						mine = append(mine, g)
					}
				}
				require.Equal(t, []string{"deposit.credited " + strconv.FormatInt(tt.paid, 10), "deposit.reversed " + strconv.FormatInt(tt.refunded, 10)}, kinds(mine))
				cr, rv := mine[0], mine[1]
				assert.Equal(t, rbShop+":rebilly:"+paid.ID+":deposit.credited", cr.ID)
				assert.Equal(t, cr.ID, cr.MsgID, "Nats-Msg-Id is the instruction id")
				assert.Equal(t, "rebilly.ledger."+rbShop+".deposit.credited", cr.Subject)
				assert.Equal(t, ProviderRebilly, cr.Provider)
				assert.Equal(t, paid.ID, cr.TransactionID)
				assert.Equal(t, rebilly.ResultApproved, cr.ProviderStatus)
				assert.Equal(t, tt.currency, cr.Currency)
				assert.Equal(t, rbCustID, cr.CID)
				assert.Equal(t, c.LastDepositRequestID, cr.OrderID, "a cashier deposit is matched by its deposit request")
				assert.Zero(t, cr.TID)
				assert.Empty(t, cr.PraxisStatus)
				assert.Equal(t, rbShop+":rebilly:"+paid.ID+":deposit.reversed:"+ref.Value.ID, rv.ID)
				assert.Equal(t, "rebilly.ledger."+rbShop+".deposit.reversed", rv.Subject)
				assert.Equal(t, ref.Value.ID, rv.TransactionID)
				assert.Equal(t, paid.ID, rv.ReferenceID)
				assert.Equal(t, rebilly.TypeRefund, rv.Reason)
				assert.Equal(t, -tt.refunded, cr.Signed()+rv.Signed()-tt.paid)
			})
		}
	})
}

// replica runs a second ledger service on the same stream, consumers and
// records, as a second process would.
func (r *rbEnv) replica(t *testing.T) {
	t.Helper()
	svc, err := New(r.svc.cfg, Deps{JS: r.js, Records: r.records, Log: tu.Logger(t), Registry: prometheus.NewRegistry()})
	require.NoError(t, err)
	runService(t, svc)
}

func mustRaw(t *testing.T, r *rbEnv, id string) []byte {
	t.Helper()
	resp, err := r.client.GetTransaction(t.Context(), id)
	require.NoError(t, err)
	return resp.Raw
}

// TestRebillyNothingBooked: deposits that moved no money book nothing,
// and an event whose data does not decode strictly is terminated (kept in
// the stream), counted, and never booked.
func TestRebillyNothingBooked(t *testing.T) {
	r := newRebillyEnv(t, kvStore)
	c := r.cashier(t, "EUR")
	declined, err := r.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 500, Result: rebilly.ResultDeclined})
	require.NoError(t, err)
	r.publishTx(t, rbShop, declined.ID, "")
	for _, result := range []string{rebilly.ResultCanceled, rebilly.ResultAbandoned, rebilly.ResultDeclined} {
		pending, err := r.sim.PayDeposit(t.Context(), r.cashier(t, "EUR").ID, rebillysim.PayOptions{Amount: 700, Result: rebilly.ResultUnknown})
		require.NoError(t, err)
		r.publishTx(t, rbShop, pending.ID, "") // unknown: not final
		_, err = r.sim.Finish(t.Context(), pending.ID, result)
		require.NoError(t, err)
		r.publishTx(t, rbShop, pending.ID, "")
	}
	r.settleAll(t)
	assert.Empty(t, r.ledger(t), "no money moved, nothing booked")

	approved, err := r.sim.PayDeposit(t.Context(), r.cashier(t, "EUR").ID, rebillysim.PayOptions{Amount: 900})
	require.NoError(t, err)
	raw := mustRaw(t, r, approved.ID)
	require.Contains(t, string(raw), `"amount":9.00,`)
	bad := []struct {
		name, subject, ceType string
		data                  []byte
	}{
		{"amount as text", subjects.Rebilly.Event(rbShop, "deposit", "approved"), RebillyTransactionEvent,
			[]byte(strings.Replace(string(raw), `"amount":9.00,`, `"amount":"9.00",`, 1))},
		{"duplicate key", subjects.Rebilly.Event(rbShop, "deposit", "approved"), RebillyTransactionEvent,
			[]byte(`{"amount":9000,` + string(raw[1:]))},
		{"not JSON", subjects.Rebilly.Event(rbShop, "deposit", "approved"), RebillyTransactionEvent, []byte(`{"id":`)},
		{"payout request on a deposit subject", subjects.Rebilly.Event(rbShop, "deposit", "approved"), RebillyPayoutRequestEvent, raw},
		{"deposit on a refund subject", subjects.Rebilly.Event(rbShop, "refund", "approved"), RebillyTransactionEvent, raw},
	}
	for i, b := range bad {
		id := "bad-" + strconv.Itoa(i)
		var data []byte
		if json.Valid(b.data) {
			data = envelope(t, id, b.ceType, approved.ID, "1", "approved", "EUR", "sale", 900, b.data)
		} else {
			data = []byte(`{"specversion":"1.0","id":"` + id + `","type":"` + b.ceType + `","data":` + string(b.data))
		}
		r.raw(t, b.subject, data, id)
	}
	r.settleAll(t)
	assert.Empty(t, r.ledger(t), "undecodable events are never booked")
	assert.Equal(t, float64(len(bad)), promtest.ToFloat64(r.svc.metrics.Events.WithLabelValues(rbShop, "invalid")))
	st, err := r.js.Stream(t.Context(), subjects.StreamEvents)
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, info.State.Msgs, uint64(len(bad)), "terminated events stay in the stream")
}

// TestRebillyPayouts: a payout request debits at the application's stage,
// a reverse withdrawal releases a debited request, and a request canceled
// before its stage books nothing.
func TestRebillyPayouts(t *testing.T) {
	r := newRebillyEnv(t, kvStore)
	put := func(t *testing.T, id string, minor string) rebilly.PayoutRequest {
		resp, err := r.client.UpsertPayoutRequest(t.Context(), id, rebilly.PayoutRequestInput{WebsiteID: "web_1", CustomerID: rbCustID, Currency: "EUR", Amount: rebilly.Decimal(minor)})
		require.NoError(t, err)
		return resp.Value
	}
	reverse := func(t *testing.T) {
		c := r.cashier(t, "EUR")
		req, err := http.NewRequest(http.MethodPost, r.srv.URL+"/organizations/"+rbOrg+"/storefront/cashiers/"+c.ID+"/cancel-payout-requests", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+c.CashierToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NoError(t, resp.Body.Close())
	}
	creditOf := func(t *testing.T, requestID string) string {
		for _, tx := range r.sim.Transactions() {
			if tx.PayoutRequestID == requestID {
				return tx.ID
			}
		}
		t.Fatalf("no credit pays %s", requestID)
		return ""
	}
	// pay publishes the pending request, pays it, and publishes its
	// credit and the fulfilled request.
	pay := func(t *testing.T, app, id string) {
		r.publishRequest(t, app, id)
		_, err := r.sim.FulfillPayoutRequest(t.Context(), id)
		require.NoError(t, err)
		r.publishTx(t, app, creditOf(t, id), "")
		r.publishRequest(t, app, id)
	}

	tests := []struct {
		name string
		app  string
		flow func(t *testing.T, id string)
		want []string
	}{
		{"requested stage: debited, then released by a reverse withdrawal", rbShop, func(t *testing.T, id string) {
			put(t, id, "40")
			r.publishRequest(t, rbShop, id)
			r.publishRequest(t, rbShop, id) // same state again
			reverse(t)
			r.publishRequest(t, rbShop, id)
		}, []string{"payout.debited 4000 pending", "payout.released 4000 canceled"}},
		{"requested stage: paid, debited once", rbShop, func(t *testing.T, id string) {
			put(t, id, "25.5")
			pay(t, rbShop, id)
		}, []string{"payout.debited 2550 pending"}},
		{"approved stage: nothing until the credit is approved", rbLate, func(t *testing.T, id string) {
			put(t, id, "12")
			pay(t, rbLate, id)
			r.publishTx(t, rbLate, creditOf(t, id), "#again")
		}, []string{"payout.debited 1200 approved"}},
		{"approved stage: canceled before, nothing", rbLate, func(t *testing.T, id string) {
			put(t, id, "7")
			r.publishRequest(t, rbLate, id)
			_, err := r.client.CancelPayoutRequest(t.Context(), id, "changed mind")
			require.NoError(t, err)
			r.publishRequest(t, rbLate, id)
		}, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "pout_req_t" + strconv.Itoa(i)
			tt.flow(t, id)
			r.settleAll(t)
			var got []string
			for _, g := range r.ledger(t) {
				if !strings.HasPrefix(g.ID, tt.app+":rebilly:"+id+":") {
					continue
				}
				got = append(got, g.Kind+" "+strconv.FormatInt(g.Amount, 10)+" "+g.ProviderStatus)
				assert.Equal(t, tt.app+":rebilly:"+id+":"+g.Kind, g.ID)
				assert.Equal(t, g.ID, g.MsgID)
				assert.Equal(t, "rebilly.ledger."+tt.app+"."+g.Kind, g.Subject)
				assert.Equal(t, id, g.WithdrawalID)
				assert.Equal(t, id, g.OrderID)
				assert.Equal(t, ProviderRebilly, g.Provider)
				assert.Equal(t, "EUR", g.Currency)
				if g.Kind == lifecycle.PayoutDebited && tt.app == rbLate {
					assert.Equal(t, creditOf(t, id), g.TransactionID, "debited at approval: the credit is the transaction")
				} else {
					assert.Equal(t, id, g.TransactionID)
				}
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestAnyLedgerSeesBothProviders: one subscription on *.ledger.> takes
// Praxis' and Rebilly's instructions, in one schema.
func TestAnyLedgerSeesBothProviders(t *testing.T) {
	r := newRebillyEnv(t, kvStore)
	nc := r.js.Conn()
	msgs := make(chan *nats.Msg, 16)
	sub, err := nc.ChanSubscribe(subjects.AnyLedger, msgs)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	require.NoError(t, nc.Flush())

	r.publish(t, note{app: "shop", tid: 1001, typ: "sale", intent: "payment", status: "approved", amount: 10000, order: "order-1001", processor: "WireCard7"})
	paid, err := r.sim.PayDeposit(t.Context(), r.cashier(t, "EUR").ID, rebillysim.PayOptions{Amount: 1050})
	require.NoError(t, err)
	r.publishTx(t, rbShop, paid.ID, "")

	seen := map[string]Instruction{}
	for len(seen) < 2 {
		select {
		case m := <-msgs:
			var ins Instruction
			require.NoError(t, json.Unmarshal(m.Data, &ins), "an instruction on %s decodes as the one schema", m.Subject)
			seen[m.Subject] = ins
		case <-time.After(15 * time.Second):
			t.Fatalf("only %v arrived on %s", slices.Sorted(maps.Keys(seen)), subjects.AnyLedger)
		}
	}
	px, rb := seen["praxis.ledger.shop.deposit.credited"], seen["rebilly.ledger."+rbShop+".deposit.credited"]
	assert.Equal(t, "praxis", px.Provider)
	assert.Equal(t, "1001", px.TransactionID)
	assert.Equal(t, "approved", px.ProviderStatus)
	assert.Equal(t, int64(1001), px.TID)
	assert.Equal(t, int64(10000), px.Amount)
	assert.Equal(t, ProviderRebilly, rb.Provider)
	assert.Equal(t, paid.ID, rb.TransactionID)
	assert.Equal(t, int64(1050), rb.Amount)
	assert.Equal(t, []string{"praxis.ledger.shop.deposit.credited", "rebilly.ledger." + rbShop + ".deposit.credited"}, slices.Sorted(maps.Keys(seen)))
}

// TestApplyRebilly: the Rebilly state machine on its own, for orders and
// types the simulator does not produce (voids, a refund before its
// deposit, a cancel seen before the request, a credit's void).
func TestApplyRebilly(t *testing.T) {
	sale := func(id, result string, minor int64) *rebillyEvent {
		return &rebillyEvent{anchor: id, tx: &rebilly.Transaction{ID: id, Type: rebilly.TypeSale, Result: result, Currency: "EUR", AmountMinor: minor, CustomerID: "c"}}
	}
	child := func(id, typ, parent string, minor int64) *rebillyEvent {
		return &rebillyEvent{anchor: parent, tx: &rebilly.Transaction{ID: id, Type: typ, Result: rebilly.ResultApproved, Currency: "EUR", AmountMinor: minor, ParentTransactionID: parent}}
	}
	credit := func(id, request string, minor int64) *rebillyEvent {
		anchor := id
		if request != "" {
			anchor = request
		}
		return &rebillyEvent{anchor: anchor, tx: &rebilly.Transaction{ID: id, Type: rebilly.TypeCredit, Result: rebilly.ResultApproved, Currency: "EUR", AmountMinor: minor, PayoutRequestID: request}}
	}
	req := func(id, status string, minor int64) *rebillyEvent {
		return &rebillyEvent{anchor: id, req: &rebilly.PayoutRequest{ID: id, Status: status, Currency: "EUR", AmountMinor: minor, CustomerID: "c"}}
	}
	tests := []struct {
		name    string
		debitOn string
		events  []*rebillyEvent
		want    []string // kind ref amount
		flags   []string
	}{
		{"refund before its deposit waits for the credit", "", []*rebillyEvent{
			child("r1", rebilly.TypeRefund, "s1", 300), sale("s1", rebilly.ResultApproved, 1000),
		}, []string{"deposit.credited deposit.credited 1000", "deposit.reversed deposit.reversed:r1 300"}, nil},
		{"a void reverses what is left", "", []*rebillyEvent{
			sale("s1", rebilly.ResultApproved, 1000), child("r1", rebilly.TypeRefund, "s1", 400), child("v1", rebilly.TypeVoid, "s1", 1000),
		}, []string{"deposit.credited deposit.credited 1000", "deposit.reversed deposit.reversed:r1 400", "deposit.reversed deposit.reversed:v1 600"}, []string{lifecycle.FlagAbsorbedRefund}},
		{"an approved deposit seen again at another amount", "", []*rebillyEvent{
			sale("s1", rebilly.ResultApproved, 1000), sale("s1", rebilly.ResultApproved, 900),
		}, []string{"deposit.credited deposit.credited 1000"}, []string{lifecycle.FlagUncertainAmount}},
		{"cancel seen before the request: debited and released", rebilly.PayoutPending, []*rebillyEvent{
			req("p1", rebilly.PayoutCanceled, 500), req("p1", rebilly.PayoutPending, 500),
		}, []string{"payout.debited payout.debited 500", "payout.released payout.released 500"}, nil},
		{"credit seen before the request at stage requested", RebillyDebitOnRequested, []*rebillyEvent{
			credit("c1", "p1", 500), req("p1", rebilly.PayoutPending, 500),
		}, []string{"payout.debited payout.debited 500"}, nil},
		{"a lone credit voided", RebillyDebitOnApproved, []*rebillyEvent{
			credit("c1", "", 500), child("v1", rebilly.TypeVoid, "c1", 500),
		}, []string{"payout.debited payout.debited 500", "payout.reversed payout.reversed:v1 500"}, nil},
		{"canceled after paid: a conflict, nothing released", RebillyDebitOnRequested, []*rebillyEvent{
			req("p1", rebilly.PayoutPending, 500), credit("c1", "p1", 500), req("p1", rebilly.PayoutCanceled, 500),
		}, []string{"payout.debited payout.debited 500"}, []string{lifecycle.FlagConflict}},
		{"a split request is flagged, not booked", RebillyDebitOnRequested, []*rebillyEvent{
			req("p1", rebilly.PayoutSplit, 500),
		}, nil, []string{lifecycle.FlagUnexpectedStatus}},
		{"a refund on a payout request's anchor is another family", RebillyDebitOnRequested, []*rebillyEvent{
			req("p1", rebilly.PayoutPending, 500), sale("p1", rebilly.ResultApproved, 500),
		}, []string{"payout.debited payout.debited 500"}, []string{lifecycle.FlagFamilyMismatch}},
		{"declined and unknown deposits", "", []*rebillyEvent{
			sale("s1", rebilly.ResultUnknown, 1000), sale("s1", rebilly.ResultDeclined, 1000),
		}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debitOn := tt.debitOn
			if debitOn == rebilly.PayoutPending {
				debitOn = RebillyDebitOnRequested
			}
			var st rebillyState
			var got, flags []string
			for i, ev := range tt.events {
				ev.eventID = "e" + strconv.Itoa(i)
				for range 2 { // a redelivery changes nothing
					res := applyRebilly(st, ev, debitOn)
					if res.changed {
						st = res.state
					}
					for _, ins := range res.out {
						got = append(got, ins.Kind+" "+ins.Ref+" "+strconv.FormatInt(ins.Amount, 10))
						assert.Equal(t, ProviderRebilly, ins.Provider)
					}
					for _, f := range res.flags {
						if !slices.Contains(flags, f) {
							flags = append(flags, f)
						}
					}
				}
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.flags, flags)
		})
	}
}

// TestRebillyConfig: the Rebilly consumer is its own durable on the same
// stream, and a debit stage Rebilly does not have is refused by name.
func TestRebillyConfig(t *testing.T) {
	cc := RebillyConsumerConfig(Config{})
	assert.Equal(t, subjects.Rebilly.LedgerConsumer(), cc.Durable)
	assert.Equal(t, subjects.Rebilly.AllEvents(), cc.FilterSubject)
	assert.Equal(t, ConsumerConfig(Config{}).AckWait, cc.AckWait)
	assert.NotEqual(t, ConsumerConfig(Config{}).Durable, cc.Durable, "the Praxis consumer and its position are untouched")
	assert.Equal(t, map[string]RebillyApp{"r": {PayoutDebitOn: RebillyDebitOnApproved}}, RebillyAppsOf([]config.Application{
		{Name: "p", PayoutDebitOn: lifecycle.DebitOnInProgress},
		{Name: "r", Provider: "rebilly", Rebilly: config.RebillyApplication{PayoutDebitOn: RebillyDebitOnApproved}},
	}), "only Rebilly applications, with their Rebilly stage")

	tests := []struct {
		name  string
		apps  map[string]RebillyApp
		wants string
	}{
		{"requested", map[string]RebillyApp{"a": {PayoutDebitOn: RebillyDebitOnRequested}}, ""},
		{"approved", map[string]RebillyApp{"a": {PayoutDebitOn: RebillyDebitOnApproved}}, ""},
		{"default", map[string]RebillyApp{"a": {}}, ""},
		{"a Praxis stage", map[string]RebillyApp{"a": {PayoutDebitOn: lifecycle.DebitOnInProgress}}, `Rebilly application "a": payout debit stage "in_progress"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Rebilly: true, RebillyApps: tt.apps}
			c.setDefaults()
			err := c.Validate()
			if tt.wants == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wants)
		})
	}
}
