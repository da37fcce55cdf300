package ledger

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

type slowLookup struct {
	calls   atomic.Int64
	release chan struct{}
}

func (l *slowLookup) FindTransaction(ctx context.Context, app string, tid int64) (*praxis.TransactionResponse, error) {
	l.calls.Add(1)
	<-l.release
	return &praxis.TransactionResponse{Transaction: &praxis.Transaction{TID: tid}}, nil
}

// Events of one tid stored before a lookup began share its answer; an
// event stored after it began gets a lookup of its own.
func TestLookupsAreSharedAcrossEventsOfATid(t *testing.T) {
	src := &slowLookup{release: make(chan struct{})}
	cfg := Config{}
	cfg.setDefaults()
	l := newLookups(src, cfg)
	stored := time.Now().Add(-time.Second)
	var wg sync.WaitGroup
	shared := atomic.Int64{}
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err, sh := l.find(t.Context(), "shop", 42, stored)
			assert.NoError(t, err)
			assert.Equal(t, int64(42), resp.Transaction.TID)
			if sh {
				shared.Add(1)
			}
		}()
	}
	// The others join the call in flight, or reuse its answer within
	// LookupShare after it ended: either way, one call.
	require.Eventually(t, func() bool { return src.calls.Load() >= 1 }, 5*time.Second, time.Millisecond)
	close(src.release)
	wg.Wait()
	assert.Equal(t, int64(1), src.calls.Load(), "one lookup for five events")
	assert.Equal(t, int64(4), shared.Load())

	_, _, sh := l.find(t.Context(), "shop", 42, time.Now().Add(time.Second))
	assert.False(t, sh, "an event stored after the answer was asked for asks again")
	assert.Equal(t, int64(2), src.calls.Load())
	_, _, sh = l.find(t.Context(), "shop", 43, stored)
	assert.False(t, sh, "another tid asks on its own")
}
