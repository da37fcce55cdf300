package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/praxis-adapter/praxis-adapter/idempotency"
)

// lease is a held claim kept alive while its holder works: a goroutine
// renews it (fenced by its token) every RenewInterval and sends the
// delivery's in-progress acks. Every store write on the claim goes through
// it, one at a time, because the KV store's token changes with each write.
// When the store says the claim was taken over, the lease's context is
// cancelled so the holder stops before it can call Praxis again.
type lease struct {
	mu     sync.Mutex
	c      idempotency.Claim
	lost   bool
	cancel context.CancelFunc
	stop   chan struct{}
	done   chan struct{}
	ended  bool
}

// gateError means a Praxis request was not made because the claim could
// not be proven held (or recorded) right before it: nothing was sent.
type gateError struct{ err error }

func (e *gateError) Error() string { return "claim check before the Praxis call: " + e.err.Error() }
func (e *gateError) Unwrap() error { return e.err }

// hold starts the lease on a freshly acquired claim; ctx (returned) ends
// when the claim is lost.
func (w *Worker) hold(ctx context.Context, j *job, c idempotency.Claim) context.Context {
	lctx, cancel := context.WithCancel(ctx)
	l := &lease{c: c, cancel: cancel, stop: make(chan struct{}), done: make(chan struct{})}
	j.lease = l
	every := min(w.cfg.RenewInterval, w.cfg.AckWait/3)
	go func() {
		defer close(l.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-lctx.Done():
				return
			case <-t.C:
			}
			_ = j.msg.InProgress()
			_, err := l.renew(lctx, w.deps.Store, idempotency.RenewOptions{Lease: w.cfg.ClaimTTL})
			switch {
			case err == nil:
				w.metrics.ClaimRenewals.WithLabelValues(j.name, "renewed").Inc()
			case errors.Is(err, idempotency.ErrNotHolder):
				w.metrics.ClaimRenewals.WithLabelValues(j.name, "lost").Inc()
			case lctx.Err() == nil:
				w.metrics.ClaimRenewals.WithLabelValues(j.name, "error").Inc()
				// The next check before a call will tell whether it still holds.
				j.l().Warn().Err(err).Msg("renew claim")
			}
		}
	}()
	return lctx
}

// renew extends the claim (and records a call or lookup) under the lease's
// lock, keeping the new claim for the next write.
func (l *lease) renew(ctx context.Context, s idempotency.Store, o idempotency.RenewOptions) (idempotency.Claim, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost || l.ended {
		return idempotency.Claim{}, fmt.Errorf("renew %q: %w", l.c.Key, idempotency.ErrNotHolder)
	}
	c, err := s.Renew(ctx, l.c, o)
	if err != nil {
		if errors.Is(err, idempotency.ErrNotHolder) {
			l.lost = true
			l.cancel()
		}
		return idempotency.Claim{}, err
	}
	l.c = c
	return c, nil
}

// end stops the renewals and returns the claim to Complete or Release.
func (l *lease) end() idempotency.Claim {
	l.mu.Lock()
	if !l.ended {
		l.ended = true
		close(l.stop)
	}
	l.mu.Unlock()
	<-l.done
	l.cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c
}

// gate proves, immediately before a Praxis request, that the claim is still
// held, and records the request in the claim (a call sets the "may have
// been sent" marker). A call's lease is PraxisTimeout+ClaimTTL from before
// the store was asked, and the returned context ends PraxisTimeout after
// that same moment: the call cannot outlive the claim, whatever the
// store's latency. The caller must call cancel.
func (w *Worker) gate(ctx context.Context, j *job, call bool) (context.Context, context.CancelFunc, error) {
	if j.lease == nil {
		return nil, nil, &gateError{errors.New("no claim held")}
	}
	t0 := time.Now()
	o := idempotency.RenewOptions{Lease: w.cfg.ClaimTTL, Lookup: true}
	if call {
		o = idempotency.RenewOptions{Lease: w.cfg.PraxisTimeout + w.cfg.ClaimTTL, Call: true, Keep: w.cfg.ResultTTL}
	}
	c, err := j.lease.renew(ctx, w.deps.Store, o)
	if err != nil {
		return nil, nil, &gateError{err}
	}
	j.res.Calls, j.res.Lookups = c.Calls, c.Lookups
	if call {
		j.lastSend = t0
	}
	// The lease left is PraxisTimeout+ClaimTTL minus the store's answer
	// time: refuse to call unless it clearly outlasts the call, and unless
	// the call keeps most of its timeout (a call sent with no time left
	// only makes an unknown outcome).
	if took := time.Since(t0); took >= min(w.cfg.ClaimTTL, w.cfg.PraxisTimeout/2) {
		if call {
			w.retract(ctx, j)
		}
		return nil, nil, &gateError{fmt.Errorf("the store took %v to confirm the claim; not calling with the lease or the timeout mostly spent", took.Round(time.Millisecond))}
	}
	rctx, cancel := context.WithDeadline(ctx, t0.Add(w.cfg.PraxisTimeout))
	return rctx, cancel, nil
}

// retract takes back an announced call that was never sent (its request
// was not written), so calls stays exact and, when it was the only one, no
// marker makes the next attempt wait out the settle window. Best effort:
// if the store does not answer, the call stays counted (never the unsafe
// way round).
func (w *Worker) retract(ctx context.Context, j *job) {
	c, err := j.lease.renew(ctx, w.deps.Store, idempotency.RenewOptions{Lease: w.cfg.ClaimTTL, Retract: true})
	if err != nil {
		j.l().Warn().Err(err).Msg("take back a call that was never sent")
		return
	}
	j.res.Calls, j.res.Lookups = c.Calls, c.Lookups
}
