package ingress

import (
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// rejectLog rate-limits the "webhook rejected" lines: rejects happen before
// (or at) authentication, so anyone on the internet can cause them, and a
// line per request would let them flood the logs. Every reject is still
// counted in praxis_ingress_rejected_total; the lines that were skipped
// are counted in the next line that is written (`suppressed`).
type rejectLog struct {
	lim        *rate.Limiter
	suppressed atomic.Int64
}

// Reject log budget: a burst, then one line per second.
const (
	rejectLogBurst = 20
	rejectLogEvery = time.Second
)

func newRejectLog() *rejectLog {
	return &rejectLog{lim: rate.NewLimiter(rate.Every(rejectLogEvery), rejectLogBurst)}
}

// event returns the log event for one reject, or nil when over budget.
func (r *rejectLog) event(log *zerolog.Logger) *zerolog.Event {
	if !r.lim.Allow() {
		r.suppressed.Add(1)
		return nil
	}
	e := log.Warn()
	if n := r.suppressed.Swap(0); n > 0 {
		e = e.Int64("suppressed", n)
	}
	return e
}
