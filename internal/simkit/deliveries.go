package simkit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Deliveries is a simulator's delivery side: the goroutines that call the
// merchant back (notifications, webhooks), the context that stops them, the
// generation that tells a delivery started before a Reset from one after
// it, and a bounded log of the attempts (the test API's view). D is the
// simulator's record of one attempt. It is safe for concurrent use.
type Deliveries[D any] struct {
	mu     sync.Mutex // guards everything below but pending and wg
	ctx    context.Context
	cancel context.CancelFunc
	gen    uint64
	closed bool
	log    []D // the newest at the end; at most 2*limit, trimmed to limit
	limit  int
	seq    int64
	stamp  func(*D, int64)

	wg      sync.WaitGroup
	pending atomic.Int64
}

// NewDeliveries makes a delivery side whose log keeps the newest limit
// records (limit >= 1), so a long benchmark does not grow without bound;
// stamp writes the record's sequence number (1, 2, ... in recording order).
func NewDeliveries[D any](limit int, stamp func(rec *D, seq int64)) *Deliveries[D] {
	d := &Deliveries[D]{limit: max(limit, 1), stamp: stamp}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	return d
}

// Lock takes the lock that guards the delivery side. A simulator that keeps
// delivery state of its own (queues, what it sent) guards it with this
// lock too, so that state changes in step with Reset and Close.
func (d *Deliveries[D]) Lock() { d.mu.Lock() }

// Unlock releases the lock Lock took.
func (d *Deliveries[D]) Unlock() { d.mu.Unlock() }

// GoLocked runs f in its own goroutine with the current context and
// generation; Close waits for it. It reports false, running nothing, after
// Close. The caller holds the lock.
func (d *Deliveries[D]) GoLocked(f func(ctx context.Context, gen uint64)) bool {
	if d.closed {
		return false
	}
	d.wg.Add(1)
	go func(ctx context.Context, gen uint64) {
		defer d.wg.Done()
		f(ctx, gen)
	}(d.ctx, d.gen)
	return true
}

// Go is GoLocked for one delivery that counts as pending until f returns.
func (d *Deliveries[D]) Go(f func(ctx context.Context, gen uint64)) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	d.pending.Add(1)
	return d.GoLocked(func(ctx context.Context, gen uint64) {
		defer d.pending.Add(-1)
		f(ctx, gen)
	})
}

// AddPending moves the count of deliveries queued or in progress, for a
// simulator that queues them itself (see Go for one that does not).
func (d *Deliveries[D]) AddPending(n int64) { d.pending.Add(n) }

// Pending is how many deliveries are queued or in progress, so tests can
// wait until the simulator is quiet.
func (d *Deliveries[D]) Pending() int { return int(d.pending.Load()) }

// Gen is the current generation; a delivery records under the generation
// it started in, and Reset moves it on.
func (d *Deliveries[D]) Gen() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gen
}

// GenLocked is Gen for a caller that holds the lock.
func (d *Deliveries[D]) GenLocked() uint64 { return d.gen }

// Record appends rec to the log unless a Reset came after generation gen
// (a delivery of the forgotten state); it reports whether it did.
func (d *Deliveries[D]) Record(gen uint64, rec D) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if gen != d.gen {
		return false
	}
	d.seq++
	d.stamp(&rec, d.seq)
	if len(d.log) >= 2*d.limit {
		// Trimming at twice the limit keeps an append O(1) amortized.
		d.log = append(d.log[:0], d.log[len(d.log)-d.limit:]...)
	}
	d.log = append(d.log, rec)
	return true
}

// Log returns the newest records, oldest first (at most the limit).
func (d *Deliveries[D]) Log() []D {
	d.mu.Lock()
	defer d.mu.Unlock()
	l := d.log
	if len(l) > d.limit {
		l = l[len(l)-d.limit:]
	}
	return append([]D(nil), l...)
}

// Hold blocks until ctx is done or the running deliveries are stopped
// (Reset, Close): the "performed, then never answered" fault of a handler.
func (d *Deliveries[D]) Hold(ctx context.Context) {
	d.mu.Lock()
	done := d.ctx.Done()
	d.mu.Unlock()
	select {
	case <-ctx.Done():
	case <-done:
	}
}

// Reset stops every running delivery, forgets the log and starts a new
// generation; also, when not nil, runs under the lock, to reset the
// simulator's own delivery state in the same step. Records keep their
// sequence numbering.
func (d *Deliveries[D]) Reset(also func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cancel()
	if !d.closed {
		d.ctx, d.cancel = context.WithCancel(context.Background())
	}
	d.gen++
	d.log = nil
	if also != nil {
		also()
	}
}

// Close stops every delivery, refuses new ones and waits for the running
// goroutines to return. It is safe to call twice.
func (d *Deliveries[D]) Close() {
	d.mu.Lock()
	d.closed = true
	d.cancel()
	d.mu.Unlock()
	d.wg.Wait()
}

// Sleep waits d or until ctx is done, and reports whether the wait ran its
// course (false: stop). A d of 0 or less does not wait.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
