// Package graceful holds the two small pieces every consumer loop (the
// worker, the ledger) needs to stop well: a bounded wait for in-flight work
// and a sleep that a stop interrupts.
package graceful

import (
	"context"
	"sync"
	"time"
)

// Wait waits for wg; if that takes longer than timeout it calls cancel (so
// the stragglers give up and are redelivered) and waits again. It reports
// whether the timeout was hit.
func Wait(wg *sync.WaitGroup, timeout time.Duration, cancel func()) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return false
	case <-t.C:
		cancel()
		<-done
		return true
	}
}

// Sleep pauses for d, or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
