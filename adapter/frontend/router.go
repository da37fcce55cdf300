// Package frontend implements the front-end rules of LEGACY_PLATFORM.md §2
// for the worker and the ingress: routing a command that names a website
// and a currency to the application serving that pair, locking each
// customer to the currency first seen, and deciding validation callbacks
// that a session command already settled (a fixed amount, a withdrawable
// balance) without a round trip to the CRM.
package frontend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
)

// DefaultCustomerPrefix namespaces the currency locks in Records.
const DefaultCustomerPrefix = "customer:"

// Frontend is one (website, currency) pair and the application serving it.
type Frontend struct {
	Website     string
	Currency    string
	Application string
}

// FrontendsOf lists the front ends configured on applications, for NewRouter.
func FrontendsOf(apps []config.Application) []Frontend {
	var out []Frontend
	for _, a := range apps {
		for _, fe := range a.Frontends {
			out = append(out, Frontend{Website: fe.Website, Currency: fe.Currency, Application: a.Name})
		}
	}
	return out
}

// RouterConfig configures a Router.
type RouterConfig struct {
	Frontends []Frontend
	// KeyPrefix goes before every currency lock key (default DefaultCustomerPrefix).
	KeyPrefix string
	// LockTTL keeps a customer's currency this long after it was first
	// seen (default 0: for ever, as a registration's currency is).
	LockTTL time.Duration
}

// Router is a worker.Router over a static front-end table, with each
// customer's currency locked in Records the first time a command names it.
//
// Lock scope: a customer belongs to one website (LEGACY_PLATFORM.md §2),
// and a website has one application per currency, so the lock is keyed by
// website when the application serves front ends of exactly one website:
// then a EUR customer of MyPhoneCards is refused by the USD application
// too. An application with no front ends (or several websites) locks per
// application.
type Router struct {
	records idempotency.Records
	prefix  string
	ttl     time.Duration
	byPair  map[[2]string]string // (website, currency) → application
	scope   map[string]string    // application → lock scope, when it is a website
}

var _ worker.Router = (*Router)(nil)

// NewRouter checks the table (each pair once, ISO currencies) and returns
// the router.
func NewRouter(cfg RouterConfig, records idempotency.Records) (*Router, error) {
	if records == nil {
		return nil, errors.New("frontend: NewRouter: nil records")
	}
	if cfg.LockTTL < 0 {
		return nil, fmt.Errorf("frontend: LockTTL %v must not be negative", cfg.LockTTL)
	}
	r := &Router{records: records, prefix: cfg.KeyPrefix, ttl: cfg.LockTTL,
		byPair: map[[2]string]string{}, scope: map[string]string{}}
	if r.prefix == "" {
		r.prefix = DefaultCustomerPrefix
	}
	websites := map[string]map[string]bool{}
	for i, fe := range cfg.Frontends {
		switch {
		case fe.Website == "" || fe.Application == "":
			return nil, fmt.Errorf("frontend: frontends[%d]: website and application are required", i)
		case !praxis.IsCurrencyCode(fe.Currency):
			return nil, fmt.Errorf("frontend: frontends[%d]: currency %q is not an ISO 4217 code like EUR", i, fe.Currency)
		case strings.Contains(fe.Website, ":"):
			return nil, fmt.Errorf("frontend: frontends[%d]: website %q must not contain ':'", i, fe.Website)
		}
		pair := [2]string{fe.Website, fe.Currency}
		if other, dup := r.byPair[pair]; dup {
			return nil, fmt.Errorf("frontend: frontends[%d]: %s/%s is already served by %s", i, fe.Website, fe.Currency, other)
		}
		r.byPair[pair] = fe.Application
		if websites[fe.Application] == nil {
			websites[fe.Application] = map[string]bool{}
		}
		websites[fe.Application][fe.Website] = true
	}
	for app, sites := range websites {
		if len(sites) == 1 {
			for site := range sites {
				r.scope[app] = "w:" + site
			}
		}
	}
	return r, nil
}

// Resolve returns the application serving (website, currency), or a
// *worker.NotFoundError.
func (r *Router) Resolve(_ context.Context, website, currency string) (string, error) {
	if app, ok := r.byPair[[2]string{website, strings.ToUpper(currency)}]; ok {
		return app, nil
	}
	return "", &worker.NotFoundError{Website: website, Currency: currency}
}

// CheckCurrency locks cid to currency the first time it is seen in app's
// scope and returns the reason a command in another currency is invalid
// ("" when it is fine). An error is a store failure (retry later).
func (r *Router) CheckCurrency(ctx context.Context, app, cid, currency string) (string, error) {
	currency = strings.ToUpper(currency)
	if !praxis.IsCurrencyCode(currency) {
		return fmt.Sprintf("currency %q is not an ISO 4217 code like EUR", currency), nil
	}
	if cid == "" {
		return "", nil // nothing to lock; the command's own validation requires a cid
	}
	key := r.lockKey(app, cid)
	for range 4 {
		raw, _, err := r.records.GetRecord(ctx, key)
		switch {
		case err == nil:
			return r.reason(app, cid, string(raw), currency), nil
		case !errors.Is(err, idempotency.ErrNotFound):
			return "", fmt.Errorf("frontend: read the currency of customer %s: %w", cid, err)
		}
		_, err = r.records.PutRecord(ctx, key, []byte(currency), 0, r.ttl)
		switch {
		case err == nil:
			return "", nil
		case !errors.Is(err, idempotency.ErrVersionConflict):
			return "", fmt.Errorf("frontend: lock the currency of customer %s: %w", cid, err)
		}
		// Another command locked it first: read what it locked.
	}
	return "", fmt.Errorf("frontend: the currency lock of customer %s keeps changing", cid)
}

func (r *Router) lockKey(app, cid string) string {
	scope, ok := r.scope[app]
	if !ok {
		scope = "a:" + app
	}
	return r.prefix + scope + ":" + cid
}

// LockKey returns the Records key of a customer's currency lock in app's
// scope, for operators who must move a customer to another currency.
func (r *Router) LockKey(app, cid string) string { return r.lockKey(app, cid) }

func (r *Router) reason(app, cid, locked, currency string) string {
	if locked == currency {
		return ""
	}
	msg := fmt.Sprintf("customer %s is registered in %s; this command is in %s (a customer's currency is fixed when first seen)", cid, locked, currency)
	if site, ok := strings.CutPrefix(r.scope[app], "w:"); ok {
		if other, ok := r.byPair[[2]string{site, locked}]; ok {
			msg += fmt.Sprintf("; use application %s, which serves %s in %s", other, site, locked)
		}
	}
	return msg
}
