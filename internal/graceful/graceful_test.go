package graceful

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWait(t *testing.T) {
	var wg sync.WaitGroup
	assert.False(t, Wait(&wg, time.Second, func() { t.Error("cancel called with nothing to wait for") }))

	ctx, cancel := context.WithCancel(context.Background())
	wg.Add(1)
	go func() { defer wg.Done(); <-ctx.Done() }() // finishes only when cancelled
	assert.True(t, Wait(&wg, 10*time.Millisecond, cancel), "the timeout cancels the straggler")
}

func TestSleepStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	Sleep(ctx, time.Hour)
	assert.Less(t, time.Since(start), time.Second)
}
