package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

// Lookup asks Praxis about one tid of one application (find-transaction,
// response signature verified). The ledger books from its answer.
type Lookup interface {
	FindTransaction(ctx context.Context, app string, tid int64) (*praxis.TransactionResponse, error)
}

// ErrNoCredentials is a lookup for an application the process has no
// Praxis credentials for: Praxis cannot confirm its notifications.
var ErrNoCredentials = errors.New("no Praxis credentials for this application")

// PraxisLookup is a Lookup over the Praxis client with each application's
// credentials, by application name.
type PraxisLookup struct {
	Client      *praxis.Client
	Credentials map[string]praxis.Credentials
}

// FindTransaction calls /agent/find-transaction with app's credentials.
func (p PraxisLookup) FindTransaction(ctx context.Context, app string, tid int64) (*praxis.TransactionResponse, error) {
	cr, ok := p.Credentials[app]
	if !ok {
		return nil, fmt.Errorf("application %q: %w", app, ErrNoCredentials)
	}
	return p.Client.FindTransaction(ctx, cr, tid)
}

// lookups rate-limits lookups per application and shares one answer among
// the events of a tid: an event may use an answer whose call began after
// the event was stored (so it reflects Praxis no older than the event),
// while the call runs or for LookupShare after it ended.
type lookups struct {
	src   Lookup
	rate  rate.Limit
	burst int
	share time.Duration
	now   func() time.Time

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	calls    map[string]*lookupCall
}

type lookupCall struct {
	started time.Time
	ended   time.Time
	done    chan struct{}
	resp    *praxis.TransactionResponse
	err     error
}

func newLookups(src Lookup, cfg Config) *lookups {
	return &lookups{src: src, rate: rate.Limit(cfg.LookupRate), burst: cfg.LookupBurst, share: cfg.LookupShare, now: cfg.Now,
		limiters: map[string]*rate.Limiter{}, calls: map[string]*lookupCall{}}
}

// find returns Praxis' answer for tid, no older than notBefore; shared
// says it came from another event's call.
func (l *lookups) find(ctx context.Context, app string, tid int64, notBefore time.Time) (resp *praxis.TransactionResponse, err error, shared bool) {
	if l.src == nil {
		return nil, fmt.Errorf("application %q: %w", app, ErrNoCredentials), false
	}
	key := app + "\x00" + strconv.FormatInt(tid, 10)
	now := l.now()
	l.mu.Lock()
	c := l.calls[key]
	usable := c != nil && !c.started.Before(notBefore)
	if usable && !c.ended.IsZero() && now.Sub(c.ended) > l.share {
		usable = false
	}
	if !usable {
		c = &lookupCall{started: now, done: make(chan struct{})}
		l.calls[key] = c
		lim := l.limiters[app]
		if lim == nil {
			lim = rate.NewLimiter(l.rate, l.burst)
			l.limiters[app] = lim
		}
		l.mu.Unlock()
		l.run(ctx, lim, c, app, tid, key)
		return c.resp, c.err, false
	}
	l.mu.Unlock()
	select {
	case <-c.done:
		return c.resp, c.err, true
	case <-ctx.Done():
		return nil, ctx.Err(), true
	}
}

func (l *lookups) run(ctx context.Context, lim *rate.Limiter, c *lookupCall, app string, tid int64, key string) {
	defer close(c.done)
	if err := lim.Wait(ctx); err != nil {
		c.err = fmt.Errorf("lookup rate limit: %w", err)
	} else {
		c.resp, c.err = l.src.FindTransaction(ctx, app, tid)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c.ended = l.now()
	if c.err != nil && praxis.Classify(c.err) != praxis.OutcomeRejected {
		// A transport failure is no answer to share.
		if l.calls[key] == c {
			delete(l.calls, key)
		}
	}
	// Forget calls nobody can use any more, so the map stays small.
	if len(l.calls) > 1024 {
		for k, old := range l.calls {
			if !old.ended.IsZero() && c.ended.Sub(old.ended) > l.share {
				delete(l.calls, k)
			}
		}
	}
}
