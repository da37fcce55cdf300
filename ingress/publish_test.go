package ingress

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
)

// inProcessJS answers the first `times` publishes with the error nats-server
// 2.10+ returns for a concurrent publish of a Nats-Msg-Id it is still
// storing (10158, "duplicate message id is in process"), then publishes
// for real. times < 0 answers it forever.
type inProcessJS struct {
	jetstream.JetStream
	times int64
	calls atomic.Int64
}

func (j *inProcessJS) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if n := j.calls.Add(1); j.times < 0 || n <= j.times {
		return nil, fmt.Errorf("nats: %w", &jetstream.APIError{Code: 409, ErrorCode: errCodeDuplicateInProcess, Description: "duplicate message id is in process"})
	}
	return j.JetStream.PublishMsg(ctx, msg, opts...)
}

// withJS swaps the ingress's JetStream handle (publishes only; the harness
// keeps the real one for its checks).
func (h *harness) withJS(js jetstream.JetStream) { h.ing.deps.JS = js }

// bodyTid7 is a notification of tid 7000001 and its dedup key.
func bodyTid7() ([]byte, string) {
	body := notification(merchant, 7000001, "sale", "approved", 100, time.Now().Unix())
	return body, txKey("sandbox", 7000001, "approved", body)
}

func (h *harness) releasedTotal() float64 {
	return testutil.ToFloat64(h.ing.metrics.ClaimsReleased.WithLabelValues(KindNotification))
}

// TestDuplicateInProcessIsRetriedNotFailed: cause 2 of issue 13. Failed on
// the old code, which answered -1 and released the claim.
func TestDuplicateInProcessIsRetriedNotFailed(t *testing.T) {
	stores(t, func(t *testing.T, kind storeKind) {
		h := newHarness(t, kind)
		fake := &inProcessJS{JetStream: h.js, times: 3}
		h.withJS(fake)
		body, keyTid7 := bodyTid7()
		r := h.sendNotification(t, body)
		assert.Equal(t, 0, r.Status, r.Description)
		assert.Equal(t, int64(4), fake.calls.Load(), "retried until the stream answered")
		assert.Equal(t, uint64(1), h.total(t))
		assert.Zero(t, h.releasedTotal())
		require.NoError(t, h.ing.Drain(t.Context()))
		rec, err := h.store.Get(t.Context(), keyTid7)
		require.NoError(t, err)
		assert.Equal(t, idempotency.Done, rec.State)
	})
}

// TestDuplicateInProcessPastDeadlineKeepsClaim: when the other copy is still
// in process at the publish deadline, Praxis hears -1 (it resends), but the
// claim is not released: the other copy is being stored.
func TestDuplicateInProcessPastDeadlineKeepsClaim(t *testing.T) {
	h := newHarness(t, kvStore)
	h.withJS(&inProcessJS{JetStream: h.js, times: -1})
	body, keyTid7 := bodyTid7()
	r := h.sendNotification(t, body)
	assert.Equal(t, -1, r.Status)
	assert.Zero(t, h.releasedTotal())
	rec, err := h.store.Get(t.Context(), keyTid7)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Busy, rec.State, "the claim stays until it expires")
}

// TestBusyPathMarksKeyDone: cause 3 of issue 13. A claim nobody completes
// (an orphan left by a claim script that ran after the ingress gave up on
// it, or by a killed ingress) makes the resend take the Busy path; once that
// publish is acknowledged the key must end done, not fall back to the
// stream's duplicate window. Failed on the old code.
func TestBusyPathMarksKeyDone(t *testing.T) {
	stores(t, func(t *testing.T, kind storeKind) {
		h := newHarness(t, kind, func(c *Config) { c.ClaimTTL = 300 * time.Millisecond })
		body, keyTid7 := bodyTid7()
		orphan, err := h.store.Claim(t.Context(), keyTid7, 300*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, idempotency.Acquired, orphan.State)

		r := h.sendNotification(t, body)
		assert.Equal(t, 0, r.Status, r.Description)
		require.NoError(t, h.ing.Drain(t.Context()))
		rec, err := h.store.Get(t.Context(), keyTid7)
		require.NoError(t, err)
		assert.Equal(t, idempotency.Done, rec.State)
	})
}

// TestConcurrentCopiesAllAnswerZero sends many copies of many events at
// once to a real nats-server (2.15, which answers some of them 10158): every
// copy is answered 0, each event is stored once and no claim is released.
func TestConcurrentCopiesAllAnswerZero(t *testing.T) {
	h := newHarness(t, redisStore, func(c *Config) { c.PublishTimeout = 5 * time.Second })
	const events, copies = 20, 8
	var wg sync.WaitGroup
	failed := atomic.Int64{}
	ts := time.Now().Unix()
	for e := range events {
		body := notification(merchant, int64(8000000+e), "sale", "approved", 100, ts)
		sig := h.sign(t, praxis.ListNotificationRequest, body, secret)
		for range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := h.post(t, PathNotification, body, sig); r.Status != 0 || r.HTTP != http.StatusOK {
					failed.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	assert.Zero(t, failed.Load(), "copies answered -1")
	assert.Equal(t, uint64(events), h.total(t))
	assert.Zero(t, h.releasedTotal())
	require.NoError(t, h.ing.Drain(t.Context()))
	for e := range events {
		body := notification(merchant, int64(8000000+e), "sale", "approved", 100, ts)
		rec, err := h.store.Get(t.Context(), txKey("sandbox", int64(8000000+e), "approved", body))
		require.NoError(t, err)
		assert.Equal(t, idempotency.Done, rec.State)
	}
}
