package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/adapter/lifecycle"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/processor"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

type storeKind string

const (
	redisStore storeKind = "redis"
	kvStore    storeKind = "kv"
)

func stores(t *testing.T, f func(t *testing.T, kind storeKind)) {
	for _, k := range []storeKind{redisStore, kvStore} {
		t.Run(string(k), func(t *testing.T) { f(t, k) })
	}
}

// env is a ledger service on an embedded NATS server and a real store.
type env struct {
	js      jetstream.JetStream
	records idempotency.Records
	reg     *prometheus.Registry
	svc     *Service
}

// newEnv books the test applications shop and eager in trust_signature
// mode: these tests are about the outbox and the lifecycle, confirm_test.go
// about confirmation.
func newEnv(t *testing.T, kind storeKind, mutate func(*Config), wrap func(idempotency.Records) idempotency.Records) *env {
	t.Helper()
	return newEnvLookup(t, kind, mutate, wrap, nil)
}

func newEnvLookup(t *testing.T, kind storeKind, mutate func(*Config), wrap func(idempotency.Records) idempotency.Records, lookup Lookup) *env {
	t.Helper()
	_, _, js := tu.JetStream(t)
	require.NoError(t, subjects.EnsureStreams(t.Context(), js, subjects.StreamsConfig{Memory: true, Providers: []subjects.Provider{subjects.Praxis, subjects.Rebilly}}))
	e := &env{js: js, reg: prometheus.NewRegistry()}
	var err error
	switch kind {
	case redisStore:
		p := tu.Prefix(t)
		e.records, err = idempotency.NewRedis(tu.Redis(t), idempotency.RedisConfig{Prefix: p + "idem:", RecordsPrefix: p + "rec:"})
	case kvStore:
		e.records, err = idempotency.NewKV(t.Context(), js, idempotency.KVConfig{Storage: jetstream.MemoryStorage})
	}
	require.NoError(t, err)
	mapper, err := processor.New([2]string{"WireCard<1-99>", "WireCard"})
	require.NoError(t, err)
	cfg := Config{
		DebitOn:    map[string]string{"shop": lifecycle.DebitOnInProgress, "eager": lifecycle.DebitOnRequested},
		Processors: mapper,
		PullWait:   100 * time.Millisecond,
		RetryBase:  20 * time.Millisecond,
		RetryMax:   200 * time.Millisecond,
		AckWait:    5 * time.Second,
	}
	if lookup == nil {
		cfg.Trust = map[string]bool{"shop": true, "eager": true}
	}
	if mutate != nil {
		mutate(&cfg)
	}
	recs := e.records
	if wrap != nil {
		recs = wrap(recs)
	}
	e.svc, err = New(cfg, Deps{JS: js, Records: recs, Log: tu.Logger(t), Registry: e.reg, Lookup: lookup})
	require.NoError(t, err)
	runService(t, e.svc)
	return e
}

// runService runs svc until the test ends, and checks that it stops.
func runService(t *testing.T, svc *Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

// note is one Praxis notification as the simulator would send it.
type note struct {
	app       string
	tid, wid  int64
	typ       string // sale, payout, refund, authorization
	intent    string // payment, withdrawal
	status    string
	amount    int64
	fee       int64
	order     string
	processor string // payment_processor in the body
	mapped    string // praxisprocessor on the event (the ingress mapped it)
	idSuffix  string // makes a resent notification a new event
}

func body(n note) []byte {
	tx := map[string]any{
		"transaction_type": n.typ, "transaction_status": n.status, "tid": n.tid, "transaction_id": "psp-1",
		"currency": "EUR", "amount": n.amount, "conversion_rate": "1.000000", "processed_currency": "EUR",
		"processed_amount": n.amount, "fee": n.fee, "payment_method": "WireOnline", "payment_processor": n.processor,
		"gateway": "gw-hash", "card": nil, "wallet": nil, "status_code": nil, "status_details": nil,
		"withdrawal_request_id": nil,
	}
	if n.wid != 0 {
		tx["withdrawal_request_id"] = n.wid
	}
	b, _ := json.Marshal(map[string]any{
		"merchant_id": "Test-Integration-Merchant", "application_key": n.app, "conversion_rate": "1.000000",
		"customer": map[string]any{"customer_token": "87cfb23a8f1e68e162c276b754d9c061", "country": "GB",
			"first_name": "John", "last_name": "Johnson", "avs_alert": 0, "verification_alert": 0},
		"session": map[string]any{"auth_token": "tok", "intent": n.intent, "session_status": "created",
			"order_id": n.order, "currency": "EUR", "amount": n.amount, "cid": "c-1"},
		"transaction": tx, "version": "1.3", "timestamp": 1700000000,
	})
	return b
}

// publish sends n as the ingress does: subject by type and status,
// CloudEvents id = Nats-Msg-Id = the dedup key. It returns the id.
func (e *env) publish(t *testing.T, n note) string {
	t.Helper()
	status := praxis.NormalizeStatus(n.status)
	id := fmt.Sprintf("%s:t:%d:%s:%d:%d:EUR%s", n.app, n.tid, status, n.amount, n.amount, n.idSuffix)
	typ := subjects.EventType(n.typ, n.intent, n.wid != 0, true)
	data := cloudevent.Append(nil, cloudevent.Fields{
		ID: id, Source: "praxis/" + n.app, Type: "praxis." + typ + "." + status, Subject: fmt.Sprint(n.tid),
		Time: time.Unix(1700000001, 0), Merchant: "Test-Integration-Merchant", Application: n.app,
		Processor: n.mapped, Data: body(n),
	})
	e.raw(t, subjects.Event(n.app, typ, status), data, id)
	return id
}

func (e *env) raw(t *testing.T, subject string, data []byte, id string) {
	t.Helper()
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, id)
	_, err := e.js.PublishMsg(t.Context(), msg, jetstream.WithExpectStream(subjects.StreamEvents))
	require.NoError(t, err)
}

// settle waits until the ledger consumer has acked (or terminated) every event.
func (e *env) settle(t *testing.T) {
	t.Helper()
	tu.Eventually(t, 15*time.Second, 20*time.Millisecond, func() error {
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
		if info.NumPending != 0 || info.NumAckPending != 0 || info.Delivered.Stream < st.CachedInfo().State.LastSeq {
			return fmt.Errorf("pending %d, ack pending %d, delivered %d", info.NumPending, info.NumAckPending, info.Delivered.Stream)
		}
		return nil
	})
}

type stored struct {
	Subject string
	MsgID   string
	Instruction
}

// ledger reads the whole PRAXIS_LEDGER stream, in stream order.
func (e *env) ledger(t *testing.T) []stored {
	t.Helper()
	st, err := e.js.Stream(t.Context(), subjects.StreamLedger)
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	var out []stored
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(t.Context(), seq)
		require.NoError(t, err)
		var s stored
		require.NoError(t, json.Unmarshal(m.Data, &s.Instruction), "instruction %d is JSON", seq)
		s.Subject, s.MsgID = m.Subject, m.Header.Get(jetstream.MsgIDHeader)
		out = append(out, s)
	}
	return out
}

// flows are a deposit, a withdrawal completed then reversed, a cancelled
// withdrawal, a split-mode withdrawal, and (app eager, debit on requested)
// a cancelled withdrawal.
func flows() []note {
	dep := note{app: "shop", tid: 1001, typ: "sale", intent: "payment", amount: 10000, order: "order-1001", processor: "WireCard7"}
	w := note{app: "shop", tid: 2001, typ: "payout", intent: "withdrawal", amount: 4000, fee: 50, order: "order-2001", processor: "BankWire", mapped: "Bank Wire"}
	c := note{app: "shop", tid: 3001, typ: "payout", intent: "withdrawal", amount: 1500, order: "order-3001", processor: "BankWire"}
	sw := note{app: "shop", tid: 4001, typ: "payout", intent: "withdrawal", amount: 2500, order: "order-4001", processor: "BankWire"}
	sp := sw
	sp.tid, sp.wid = 4002, 4001
	e := note{app: "eager", tid: 5001, typ: "payout", intent: "withdrawal", amount: 700, order: "order-5001", processor: "BankWire"}
	at := func(n note, status string) note { n.status = status; return n }
	return []note{
		at(dep, "pending"), at(dep, "approved"),
		at(w, "requested"), at(w, "authorized"), at(w, "in progress"), at(w, "approved"), at(w, "reversed"),
		at(c, "requested"), at(c, "cancelled"),
		at(sw, "requested"), at(sp, "pending"), at(sp, "approved"),
		at(e, "requested"), at(e, "canceled"),
	}
}

type want struct {
	id, subject, kind string
	tid, wid          int64
	amount            int64
	fee               int64
	status, reason    string
	processor, order  string
}

func flowWant() []want {
	return []want{
		{"eager:5001:payout.debited", "praxis.ledger.eager.payout.debited", lifecycle.PayoutDebited, 5001, 5001, 700, 0, "requested", "", "BankWire", "order-5001"},
		{"eager:5001:payout.released", "praxis.ledger.eager.payout.released", lifecycle.PayoutReleased, 5001, 5001, 700, 0, "cancelled", "cancelled", "BankWire", "order-5001"},
		{"shop:1001:deposit.credited", "praxis.ledger.shop.deposit.credited", lifecycle.DepositCredited, 1001, 0, 10000, 0, "approved", "", "WireCard", "order-1001"},
		{"shop:2001:payout.debited", "praxis.ledger.shop.payout.debited", lifecycle.PayoutDebited, 2001, 2001, 4000, 50, "in_progress", "", "Bank Wire", "order-2001"},
		{"shop:2001:payout.reversed", "praxis.ledger.shop.payout.reversed", lifecycle.PayoutReversed, 2001, 2001, 4000, 50, "reversed", "reversed", "Bank Wire", "order-2001"},
		{"shop:4001:payout.debited", "praxis.ledger.shop.payout.debited", lifecycle.PayoutDebited, 4002, 4001, 2500, 0, "pending", "", "BankWire", "order-4001"},
	}
}

func assertLedger(t *testing.T, got []stored, wants []want) {
	t.Helper()
	slices.SortFunc(got, func(a, b stored) int { return strings.Compare(a.ID, b.ID) })
	require.Len(t, got, len(wants), "ledger stream: %v", ids(got))
	for i, w := range wants {
		g := got[i]
		assert.Equal(t, w.id, g.ID)
		assert.Equal(t, w.id, g.MsgID, "Nats-Msg-Id is the instruction id")
		assert.Equal(t, w.subject, g.Subject)
		assert.Equal(t, w.kind, g.Kind)
		assert.Equal(t, w.tid, g.TID, w.id)
		assert.Equal(t, w.wid, g.WithdrawalRequestID, w.id)
		assert.Equal(t, w.amount, g.Amount, w.id)
		assert.Equal(t, "EUR", g.Currency, w.id)
		if assert.NotNil(t, g.Fee, w.id) {
			assert.Equal(t, w.fee, *g.Fee, w.id)
		}
		assert.Equal(t, w.status, g.PraxisStatus, w.id)
		assert.Equal(t, w.reason, g.Reason, w.id)
		assert.Equal(t, w.processor, g.Processor, w.id)
		assert.Equal(t, "c-1", g.CID, w.id)
		assert.Equal(t, w.order, g.OrderID, w.id)
		assert.Equal(t, strings.SplitN(w.id, ":", 2)[0], g.Application, w.id)
		assert.NotEmpty(t, g.EventID, w.id)
		assert.Equal(t, time.Unix(1700000000, 0).UTC(), g.OccurredAt.UTC(), w.id)
	}
}

func ids(list []stored) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.ID)
	}
	return out
}

func TestFlowsProduceExactlyTheExpectedLedger(t *testing.T) {
	stores(t, func(t *testing.T, kind storeKind) {
		e := newEnv(t, kind, nil, nil)
		for _, n := range flows() {
			e.publish(t, n)
		}
		// Events without money are skipped.
		e.raw(t, subjects.Event("shop", subjects.TypeSession, "expired"), cloudevent.Append(nil, cloudevent.Fields{
			ID: "shop:s:order-9:expired", Application: "shop", Time: time.Now(),
			Data: []byte(`{"merchant_id":"m","application_key":"shop","session":{"order_id":"order-9","session_status":"expired"},"transaction":null,"timestamp":1}`),
		}), "shop:s:order-9:expired")
		e.raw(t, subjects.Event("shop", subjects.TypeValidation, "approved"), []byte(`{"not":"looked at"}`), "shop:v:1")
		e.raw(t, subjects.Event("shop", subjects.TypeSubscription, "paymentsucceeded"), []byte(`{}`), "shop:sub:1")
		e.settle(t)

		got := e.ledger(t)
		assertLedger(t, got, flowWant())
		perCustomer := map[string]int64{}
		for _, g := range got {
			perCustomer[g.Application+"/"+g.CID] += g.Signed()
		}
		// Deposit +10000, payout −4000 then reversed +4000, cancelled
		// withdrawal nothing, split payout −2500; eager: −700 +700.
		assert.Equal(t, map[string]int64{"shop/c-1": 7500, "eager/c-1": 0}, perCustomer)

		// One anchor's instructions keep their order in the stream.
		var shop2001 []string
		for _, g := range got {
			if strings.HasPrefix(g.ID, "shop:2001:") {
				shop2001 = append(shop2001, g.Kind)
			}
		}
		assert.Equal(t, []string{lifecycle.PayoutDebited, lifecycle.PayoutReversed}, shop2001)

		assert.Equal(t, 3.0, testutil.ToFloat64(e.svc.metrics.Events.WithLabelValues("shop", "skipped")))
		assert.Equal(t, 1.0, testutil.ToFloat64(e.svc.metrics.Instructions.WithLabelValues("shop", lifecycle.DepositCredited)))
		assert.Equal(t, 2.0, testutil.ToFloat64(e.svc.metrics.Instructions.WithLabelValues("shop", lifecycle.PayoutDebited)))
		assert.Equal(t, 1.0, testutil.ToFloat64(e.svc.metrics.Instructions.WithLabelValues("eager", lifecycle.PayoutReleased)))

		// The state keeps the whole history, outbox emptied.
		raw, _, err := e.records.GetRecord(t.Context(), e.svc.StateKey("shop", 2001))
		require.NoError(t, err)
		var rec record
		require.NoError(t, json.Unmarshal(raw, &rec))
		assert.Empty(t, rec.Outbox)
		assert.Len(t, rec.State.History, 5)
		assert.Equal(t, 2, rec.State.Issued)
	})
}

func TestDuplicatesAndRedeliveriesProduceNothingTwice(t *testing.T) {
	stores(t, func(t *testing.T, kind storeKind) {
		e := newEnv(t, kind, nil, nil)
		for _, n := range flows() {
			e.publish(t, n)
		}
		e.settle(t)
		before := e.ledger(t)

		for _, n := range flows() {
			e.publish(t, n) // same id: the events stream itself drops it
			n.idSuffix = ":resent"
			e.publish(t, n) // a resend after the ingress forgot it: a new event
		}
		// A stale status after the final one.
		late := flows()[0]
		late.idSuffix = ":late"
		e.publish(t, late)
		e.settle(t)

		assert.Equal(t, ids(before), ids(e.ledger(t)), "no new instruction")
		assertLedger(t, e.ledger(t), flowWant())
		assert.Equal(t, float64(len(flows())+1), testutil.ToFloat64(e.svc.metrics.Ignored.WithLabelValues("shop", "duplicate"))+
			testutil.ToFloat64(e.svc.metrics.Ignored.WithLabelValues("eager", "duplicate")))
	})
}

// faulty fails one PutRecord on a state key: before writing (the store
// was down) or after writing (the reply was lost).
type faulty struct {
	idempotency.Records
	mu     sync.Mutex
	puts   int
	failAt int
	after  bool
	fired  chan struct{}
}

func (f *faulty) PutRecord(ctx context.Context, key string, value []byte, version uint64, ttl time.Duration) (uint64, error) {
	if !strings.Contains(key, ":tx:") {
		return f.Records.PutRecord(ctx, key, value, version, ttl)
	}
	f.mu.Lock()
	f.puts++
	n := f.puts
	f.mu.Unlock()
	if n != f.failAt {
		return f.Records.PutRecord(ctx, key, value, version, ttl)
	}
	if f.after {
		if _, err := f.Records.PutRecord(ctx, key, value, version, ttl); err != nil {
			return 0, err
		}
	}
	close(f.fired)
	return 0, errors.New("injected: the store went away")
}

func TestCrashBetweenPublishAndStateUpdateYieldsOneInstruction(t *testing.T) {
	tests := []struct {
		name      string
		failAt    int
		after     bool
		published bool // the instruction was in the stream before the retry
	}{
		{"staging fails", 1, false, false},
		{"staging written, reply lost", 1, true, false},
		{"published, clearing the outbox fails", 2, false, true},
		{"published, outbox cleared, reply lost", 2, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stores(t, func(t *testing.T, kind storeKind) {
				f := &faulty{failAt: tt.failAt, after: tt.after, fired: make(chan struct{})}
				e := newEnv(t, kind, nil, func(r idempotency.Records) idempotency.Records { f.Records = r; return f })
				e.publish(t, note{app: "shop", tid: 7001, typ: "sale", intent: "payment", status: "approved", amount: 900, order: "order-7001"})
				select {
				case <-f.fired:
				case <-time.After(10 * time.Second):
					t.Fatal("the fault never fired")
				}
				e.settle(t)
				got := e.ledger(t)
				require.Len(t, got, 1, "exactly one instruction: %v", ids(got))
				assert.Equal(t, "shop:7001:deposit.credited", got[0].ID)
				assert.Equal(t, int64(900), got[0].Amount)
				absorbed := testutil.ToFloat64(e.svc.metrics.DuplicatesAbsorbed)
				if tt.published && !tt.after {
					assert.Equal(t, 1.0, absorbed, "the retry re-published and the stream dropped the copy")
				} else {
					assert.Equal(t, 0.0, absorbed)
				}
				assert.Equal(t, 1.0, testutil.ToFloat64(e.svc.metrics.Instructions.WithLabelValues("shop", lifecycle.DepositCredited)))
				assert.Positive(t, testutil.ToFloat64(e.svc.metrics.Events.WithLabelValues("shop", "retried")))
				raw, _, err := e.records.GetRecord(t.Context(), e.svc.StateKey("shop", 7001))
				require.NoError(t, err)
				var rec record
				require.NoError(t, json.Unmarshal(raw, &rec))
				assert.Empty(t, rec.Outbox, "outbox emptied")
			})
		})
	}
}

// TestLeftOverOutboxIsFlushedByTheNextEvent: the first event's retry is
// late, so the anchor's next event finds the outbox and publishes it; the
// stream keeps one copy and the late retry finds its event applied.
func TestLeftOverOutboxIsFlushedByTheNextEvent(t *testing.T) {
	f := &faulty{failAt: 2, fired: make(chan struct{})}
	e := newEnv(t, kvStore, func(c *Config) { c.RetryBase, c.RetryMax = time.Second, time.Second },
		func(r idempotency.Records) idempotency.Records { f.Records = r; return f })
	w := note{app: "eager", tid: 8001, typ: "payout", intent: "withdrawal", amount: 300, order: "order-8001"}
	w.status = "requested"
	e.publish(t, w)
	<-f.fired
	w.status = "rejected"
	e.publish(t, w)
	e.settle(t)
	got := e.ledger(t)
	assert.Equal(t, []string{"eager:8001:payout.debited", "eager:8001:payout.released"}, ids(got))
	assert.Equal(t, 1.0, testutil.ToFloat64(e.svc.metrics.DuplicatesAbsorbed))
}

func TestUnusableEventsAreTerminatedAndCounted(t *testing.T) {
	e := newEnv(t, kvStore, nil, nil)
	e.raw(t, subjects.Event("shop", subjects.TypeDeposit, "approved"), []byte("not json"), "bad-1")
	e.raw(t, subjects.Event("shop", subjects.TypeDeposit, "approved"), cloudevent.Append(nil, cloudevent.Fields{
		ID: "bad-2", Application: "shop", Time: time.Now(), Data: []byte(`{"transaction":{"tid":"seven"}}`),
	}), "bad-2")
	e.raw(t, subjects.Event("shop", subjects.TypeDeposit, "approved"), cloudevent.Append(nil, cloudevent.Fields{
		ID: "bad-3", Application: "shop", Time: time.Now(), Data: []byte(`{"transaction":{"tid":0,"transaction_status":"approved"}}`),
	}), "bad-3")
	e.publish(t, note{app: "shop", tid: 9001, typ: "sale", intent: "payment", status: "approved", amount: 100, order: "order-9001"})
	e.settle(t)
	assert.Equal(t, []string{"shop:9001:deposit.credited"}, ids(e.ledger(t)), "later events still flow")
	assert.Equal(t, 3.0, testutil.ToFloat64(e.svc.metrics.Events.WithLabelValues("shop", "invalid")))
}

func TestUnknownStatusAndFlagsAreCounted(t *testing.T) {
	e := newEnv(t, kvStore, func(c *Config) { c.Trust["elsewhere"] = true }, nil)
	n := note{app: "shop", tid: 9101, typ: "sale", intent: "payment", amount: 100, order: "order-9101"}
	n.status = "approved"
	e.publish(t, n)
	n.status = "On Hold"
	e.publish(t, n)
	other := note{app: "elsewhere", tid: 9102, typ: "sale", intent: "payment", status: "approved", amount: 5, order: "order-9102"}
	e.publish(t, other)
	e.settle(t)
	assert.Equal(t, 1.0, testutil.ToFloat64(e.svc.metrics.UnknownStatuses.WithLabelValues("shop", subjects.TypeDeposit)))
	assert.Equal(t, 1.0, testutil.ToFloat64(e.svc.metrics.Flags.WithLabelValues("shop", lifecycle.FlagUnknownStatus)))
	assert.Equal(t, 1.0, testutil.ToFloat64(e.svc.metrics.Instructions.WithLabelValues("unknown", lifecycle.DepositCredited)),
		"an unconfigured application is booked, under a bounded label")
	raw, _, err := e.records.GetRecord(t.Context(), e.svc.StateKey("shop", 9101))
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"on_hold"`, "the unknown status is kept")
}

func TestRefundsAreBookedOnTheirDepositWhenLinked(t *testing.T) {
	stores(t, func(t *testing.T, kind storeKind) {
		e := newEnv(t, kind, nil, nil)
		require.NoError(t, e.svc.Links().Link(t.Context(), "shop", "refund-1", 1001))
		require.NoError(t, e.svc.Links().Link(t.Context(), "shop", "refund-1", 1001), "repeating a link is harmless")
		assert.ErrorContains(t, e.svc.Links().Link(t.Context(), "shop", "refund-1", 1002), "already linked to deposit 1001")

		dep := note{app: "shop", tid: 1001, typ: "sale", intent: "payment", amount: 10000, order: "order-1001"}
		at := func(n note, status string) note { n.status = status; return n }
		e.publish(t, at(dep, "approved"))
		e.publish(t, note{app: "shop", tid: 1101, typ: "refund", intent: "payment", status: "approved", amount: 3000, order: "refund-1"})
		e.publish(t, at(dep, "partial_refund"))
		e.publish(t, note{app: "shop", tid: 1102, typ: "refund", intent: "payment", status: "approved", amount: 200, order: "refund-2"})
		e.publish(t, at(dep, "chargeback"))
		e.settle(t)

		got := e.ledger(t)
		slices.SortFunc(got, func(a, b stored) int { return strings.Compare(a.ID, b.ID) })
		require.Equal(t, []string{"shop:1001:deposit.credited", "shop:1001:deposit.reversed:chargeback",
			"shop:1001:deposit.reversed:refund:1101", "shop:1102:deposit.reversed:refund:1102"}, ids(got))
		assert.Equal(t, int64(7000), got[1].Amount, "the chargeback takes what the linked refund left")
		assert.Equal(t, "chargeback", got[1].Reason)
		assert.Equal(t, int64(3000), got[2].Amount)
		assert.Equal(t, int64(1101), got[2].TID)
		assert.Equal(t, int64(1001), got[2].ReferenceTID)
		assert.Equal(t, "refund-1", got[2].OrderID)
		assert.Equal(t, int64(200), got[3].Amount, "an unlinked refund is booked on its own")
		assert.Zero(t, got[3].ReferenceTID)
	})
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown stage", Config{DebitOn: map[string]string{"shop": "approved"}}, `application "shop"`},
		{"ack wait beyond the duplicate window", Config{AckWait: 3 * time.Minute, DuplicateWindow: 2 * time.Minute}, "AckWait 3m0s must be shorter"},
		{"retry beyond the duplicate window", Config{RetryMax: 5 * time.Minute, DuplicateWindow: 2 * time.Minute}, "RetryMax 5m0s must be shorter"},
		{"negative state TTL", Config{StateTTL: -time.Hour}, "StateTTL -1h0m0s must not be negative"},
		{"re-check delays out of order", Config{RecheckBase: 2 * time.Second, RecheckMax: time.Second}, "RecheckBase 2s and RecheckMax 1s"},
		{"horizon shorter than a re-check", Config{RecheckHorizon: 10 * time.Second, RecheckMax: 20 * time.Second}, "RecheckHorizon 10s must be at least RecheckMax 20s"},
		{"negative lookup rate", Config{LookupRate: -1}, "LookupRate -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, Deps{JS: nopJS{}, Records: nopRecords{}, Registry: prometheus.NewRegistry()})
			assert.ErrorContains(t, err, tt.want)
		})
	}
	_, err := New(Config{}, Deps{})
	assert.ErrorContains(t, err, "required")
	_, err = New(Config{}, Deps{JS: nopJS{}, Records: nopRecords{}, Registry: prometheus.NewRegistry()})
	assert.NoError(t, err)
}

func TestTrustOfConfig(t *testing.T) {
	assert.Equal(t, map[string]bool{"legacy": true}, TrustOf([]config.Application{{Name: "shop"}, {Name: "legacy", TrustSignature: true}}),
		"trust_signature is per application and off by default")
}

func TestDebitOnOfConfig(t *testing.T) {
	cfg := config.Config{Applications: []config.Application{
		{Name: "shop", PayoutDebitOn: config.DebitOnRequested},
		{Name: "plain"},
	}}
	cfg.SetDefaults()
	assert.Equal(t, map[string]string{"shop": lifecycle.DebitOnRequested, "plain": lifecycle.DebitOnInProgress}, DebitOnOf(cfg.Applications))
}

type nopJS struct{ jetstream.JetStream }

type nopRecords struct{ idempotency.Records }

func TestBackoffStaysWithinBounds(t *testing.T) {
	s := &Service{cfg: Config{RetryBase: 100 * time.Millisecond, RetryMax: time.Second}}
	for n := 1; n <= 10; n++ {
		d := s.backoff(n)
		assert.GreaterOrEqual(t, d, 50*time.Millisecond)
		assert.LessOrEqual(t, d, time.Second)
	}
}

// TestAppLabelBounded: an application that is not configured is counted
// as "unknown", even when no application is configured at all (it used to
// be the subject's token then).
func TestAppLabelBounded(t *testing.T) {
	for _, debitOn := range []map[string]string{nil, {"shop": lifecycle.DebitOnInProgress}} {
		s := &Service{cfg: Config{DebitOn: debitOn}}
		assert.Equal(t, "unknown", s.appLabel("tenant-7"))
		if debitOn != nil {
			assert.Equal(t, "shop", s.appLabel("shop"))
		}
	}
}
