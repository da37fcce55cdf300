package runtime

import (
	"context"
	"net/http"

	"github.com/praxis-adapter/praxis-adapter/adapter/console"
	"github.com/praxis-adapter/praxis-adapter/adapter/ledger"
)

// startConsole creates the operator console (audit stream, index bucket)
// when console.enabled says so for these roles. The handler is mounted by
// withConsole, the indexer started by runConsole.
func (r *Runtime) startConsole(ctx context.Context) error {
	if !r.cfg.ConsoleEnabled(r.roles.Ingress, r.roles.Worker) {
		return nil
	}
	c := r.cfg.Console
	con, err := console.New(ctx, console.Config{
		Token:       c.Token,
		Index:       console.IndexConfig{Retention: c.Retention, MaxRefs: c.MaxRefsPerKey},
		AuditMaxAge: c.AuditMaxAge, Replicas: r.cfg.NATS.Streams.Replicas, Memory: r.cfg.NATS.Streams.Memory,
		HeldStream: c.Held.Stream, HeldSubject: c.Held.Subject,
	}, console.Deps{NC: r.ingNC, JS: r.js, Log: r.log, Resolve: r.resolveHeld})
	if err != nil {
		return err
	}
	r.console = con
	return nil
}

// resolveHeld hands an operator's decision in the console to the ledger
// (see ledger.DecideHeld): applied once, audited on praxis.review.<app>.resolved.
func (r *Runtime) resolveHeld(ctx context.Context, req console.ResolveRequest) error {
	_, err := ledger.DecideHeld(ctx, r.js, req.Stream, req.Seq, req.Decision, req.Who, req.Why)
	return err
}

// withConsole serves the console under /console/ in front of h (the admin
// listener's handler: operators only, never the webhook port).
func (r *Runtime) withConsole(h http.Handler) http.Handler {
	if r.console == nil {
		return h
	}
	mux := http.NewServeMux()
	r.console.Mount(mux)
	mux.Handle("/", h)
	return mux
}

// runConsole starts the console's timeline indexer (subscribed before it
// returns, so nothing published afterwards is missed) until ctx ends.
func (r *Runtime) runConsole(ctx context.Context) error {
	if r.console == nil {
		return nil
	}
	stop, err := r.console.Start(ctx)
	if err != nil {
		return err
	}
	r.goRun(ctx, "console indexer", func(ctx context.Context) error {
		<-ctx.Done()
		stop()
		return nil
	})
	return nil
}

// ConsoleURL is the console's address, or "" when it is not served.
func (r *Runtime) ConsoleURL() string {
	if r.console == nil {
		return ""
	}
	if r.adminURL == "" {
		return ""
	}
	return r.adminURL + console.Prefix
}
