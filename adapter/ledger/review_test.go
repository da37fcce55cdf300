package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/lifecycle"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// reviewRecords reads PRAXIS_REVIEW.
func (e *env) reviewRecords(t *testing.T) []Review {
	t.Helper()
	st, err := e.js.Stream(t.Context(), subjects.StreamReview)
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	var out []Review
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(t.Context(), seq)
		require.NoError(t, err)
		var r Review
		require.NoError(t, json.Unmarshal(m.Data, &r))
		if r.Kind != subjects.ReviewResolve {
			out = append(out, r)
		}
	}
	return out
}

func (e *env) decide(t *testing.T, d Decision) {
	t.Helper()
	data, err := json.Marshal(d)
	require.NoError(t, err)
	msg := &nats.Msg{Subject: subjects.Review("shop", subjects.ReviewResolve), Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, d.ID+fmt.Sprint(time.Now().UnixNano())) // a re-sent copy, past dedup
	_, err = e.js.PublishMsg(t.Context(), msg)
	require.NoError(t, err)
}

func (e *env) audit(t *testing.T, id string) Review {
	t.Helper()
	var found Review
	tu.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		for _, r := range e.reviewRecords(t) {
			if r.ID == AuditID(id) {
				found = r
				return nil
			}
		}
		return fmt.Errorf("no audit record %s", id)
	})
	return found
}

// A payout that ends in error is held, not released (issue #11 item 8);
// an operator's decision books the release once, with an audit record,
// and a second decision on the same hold is refused.
func TestHeldPayoutIsReleasedOnlyByAnOperatorsDecision(t *testing.T) {
	e := newEnv(t, kvStore, nil, nil)
	w := note{app: "shop", tid: 7001, typ: "payout", intent: "withdrawal", amount: 4000, fee: 50, order: "order-7001", processor: "BankWire"}
	for _, st := range []string{"requested", "in progress", "error"} {
		w.status = st
		e.publish(t, w)
	}
	e.settle(t)
	assert.Equal(t, []string{"shop:7001:payout.debited"}, ids(e.ledger(t)), "the errored payout is not released")
	recs := e.reviewRecords(t)
	require.Len(t, recs, 1)
	held := recs[0]
	assert.Equal(t, subjects.ReviewHeld, held.Kind)
	assert.Equal(t, lifecycle.HoldPayoutError, held.Reason)
	assert.Equal(t, int64(7001), held.Anchor)
	require.NotNil(t, held.Proposed)
	assert.Equal(t, "shop:7001:payout.released", held.Proposed.ID)
	assert.Equal(t, int64(4000), held.Proposed.Amount)
	assert.Equal(t, 1.0, testutil.ToFloat64(e.svc.metrics.Holds.WithLabelValues("shop", lifecycle.HoldPayoutError)))

	// A repeat of the error notification announces nothing new.
	w.idSuffix = ":resent"
	e.publish(t, w)
	e.settle(t)
	assert.Len(t, e.reviewRecords(t), 1)

	d := Decision{ID: "op-1", Anchor: held.Anchor, Ref: held.Ref, Action: lifecycle.ActionBook, By: "alice", Why: "processor confirms nothing was paid"}
	e.decide(t, d)
	a := e.audit(t, d.ID)
	assert.Equal(t, DecisionApplied, a.Outcome)
	assert.Equal(t, []string{"shop:7001:payout.released"}, a.Booked)
	require.NotNil(t, a.Decision)
	assert.Equal(t, "alice", a.Decision.By)
	got := e.ledger(t)
	require.Len(t, got, 2)
	assert.Equal(t, "shop:7001:payout.released", got[1].ID)
	assert.Equal(t, int64(4000), got[1].Amount)
	assert.Contains(t, got[1].Review, "alice")

	// The same decision again (a re-sent copy) books nothing more; another
	// decision on the settled hold is refused and audited.
	e.decide(t, d)
	other := Decision{ID: "op-2", Anchor: held.Anchor, Ref: held.Ref, Action: lifecycle.ActionDismiss, By: "bob", Why: "second opinion"}
	e.decide(t, other)
	r := e.audit(t, other.ID)
	assert.Equal(t, DecisionRefused, r.Outcome)
	assert.Contains(t, r.Error, "already resolved")
	assert.Len(t, e.ledger(t), 2)
	bad := Decision{ID: "op-3", Anchor: 999, Ref: "hold:nope", Action: lifecycle.ActionBook, By: "carol", Why: "typo"}
	e.decide(t, bad)
	assert.Equal(t, DecisionRefused, e.audit(t, bad.ID).Outcome)
	assert.Equal(t, 1.0, testutil.ToFloat64(e.svc.metrics.Resolutions.WithLabelValues("shop", lifecycle.ActionBook)))
	assert.Equal(t, 2.0, testutil.ToFloat64(e.svc.metrics.Resolutions.WithLabelValues("shop", DecisionRefused)))
}

func TestDecodeDecisionIsStrict(t *testing.T) {
	for name, body := range map[string]string{
		"unknown field": `{"id":"a","anchor":1,"ref":"r","action":"book","by":"x","why":"y","extra":1}`,
		"no by":         `{"id":"a","anchor":1,"ref":"r","action":"book","why":"y"}`,
		"bad action":    `{"id":"a","anchor":1,"ref":"r","action":"approve","by":"x","why":"y"}`,
		"zero amount":   `{"id":"a","anchor":1,"ref":"r","action":"book","amount":0,"by":"x","why":"y"}`,
		"no anchor":     `{"id":"a","ref":"r","action":"book","by":"x","why":"y"}`,
	} {
		_, err := DecodeDecision([]byte(body))
		assert.Error(t, err, name)
	}
	d, err := DecodeDecision([]byte(`{"id":"a","anchor":1,"ref":"r","action":"dismiss","by":"x","why":"y"}`))
	require.NoError(t, err)
	assert.Equal(t, "dismiss", d.Action)
}

// dupInProcessJS answers the first n publishes with nats-server's 10158.
type dupInProcessJS struct {
	jetstream.JetStream
	mu sync.Mutex
	n  int
}

func (f *dupInProcessJS) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	f.mu.Lock()
	busy := f.n > 0
	if busy {
		f.n--
	}
	f.mu.Unlock()
	if busy {
		return nil, &jetstream.APIError{Code: 409, ErrorCode: jsErrDuplicateInProcess, Description: "duplicate message id is in process"}
	}
	return f.JetStream.PublishMsg(ctx, msg, opts...)
}

// Issue #13 cause 4: a publish answered 10158 (another ledger is storing
// the same outbox id) is re-sent until the duplicate PubAck comes, a
// bounded number of times.
func TestDuplicateInProcessIsRetriedToTheDuplicateAck(t *testing.T) {
	_, _, js := tu.JetStream(t)
	require.NoError(t, subjects.EnsureStreams(t.Context(), js, subjects.StreamsConfig{Memory: true}))
	records, err := idempotency.NewKV(t.Context(), js, idempotency.KVConfig{Storage: jetstream.MemoryStorage})
	require.NoError(t, err)
	fake := &dupInProcessJS{JetStream: js}
	svc, err := New(Config{Trust: map[string]bool{"shop": true}}, Deps{JS: fake, Records: records, Log: tu.Logger(t), Registry: prometheus.NewRegistry()})
	require.NoError(t, err)
	msg := func() *nats.Msg {
		m := &nats.Msg{Subject: subjects.Ledger("shop", "deposit.credited"), Data: []byte(`{}`), Header: nats.Header{}}
		m.Header.Set(jetstream.MsgIDHeader, "shop:1:deposit.credited")
		return m
	}
	_, err = svc.publishMsg(t.Context(), msg(), subjects.StreamLedger)
	require.NoError(t, err)
	fake.n = 3 // the other copy is being stored
	ack, err := svc.publishMsg(t.Context(), msg(), subjects.StreamLedger)
	require.NoError(t, err)
	assert.True(t, ack.Duplicate, "the re-sent publish gets the duplicate PubAck")
	assert.Equal(t, 3.0, testutil.ToFloat64(svc.metrics.DuplicatesInProcess))
	fake.n = 100
	_, err = svc.publishMsg(t.Context(), msg(), subjects.StreamLedger)
	require.Error(t, err, "bounded: it gives up and the delivery is retried later")
}

// TestDecideHeldByRecord: the console's resolve action names the held
// record by its place in the review stream; the ledger applies the
// decision once and audits who and why.
func TestDecideHeldByRecord(t *testing.T) {
	e := newEnv(t, kvStore, nil, nil)
	w := note{app: "shop", tid: 7101, typ: "payout", intent: "withdrawal", amount: 3000, fee: 0, order: "order-7101", processor: "BankWire"}
	for _, st := range []string{"requested", "in progress", "error"} {
		w.status = st
		e.publish(t, w)
	}
	e.settle(t)
	st, err := e.js.Stream(t.Context(), subjects.StreamReview)
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	require.Equal(t, uint64(1), info.State.Msgs, "one held record")

	_, err = DecideHeld(t.Context(), e.js, subjects.StreamReview, info.State.LastSeq, lifecycle.ActionBook, "", "no by")
	require.Error(t, err, "a decision without who is refused before it is sent")

	d, err := DecideHeld(t.Context(), e.js, subjects.StreamReview, info.State.LastSeq, lifecycle.ActionBook, "alice", "processor confirms nothing was paid")
	require.NoError(t, err)
	a := e.audit(t, d.ID)
	assert.Equal(t, DecisionApplied, a.Outcome)
	assert.Equal(t, []string{"shop:7101:payout.released"}, a.Booked)
	require.NotNil(t, a.Decision)
	assert.Equal(t, "alice", a.Decision.By)

	_, err = DecideHeld(t.Context(), e.js, subjects.StreamReview, a.EventSeq+999, lifecycle.ActionBook, "alice", "x")
	assert.Error(t, err, "no record there")
}
