package worker

import (
	"context"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// protocol is what one provider adds to the provider-neutral core
// (claims, lease and gate, reconcile-before-repeat, settle window, retries,
// results, dead letters, metrics): its command set, its defaults, its one
// call per command and the lookup that settles an earlier call. One Worker
// serves one provider; every provider request goes through w.request, so
// the rate limit, the claim check and the call marker are the core's.
type protocol interface {
	// provider names the subjects and the durable consumer.
	provider() subjects.Provider
	// lookup finds a command's spec by name; names lists them all.
	lookup(name string) (command.Spec, bool)
	names() []string
	// parse decodes and validates a command's body (strictly).
	parse(name string, data []byte, now time.Time) (command.Command, error)
	// defaults fills what the command left to its application; a
	// non-empty reason makes it invalid (with code).
	defaults(w *Worker, j *job) (code, reason string)
	// call makes the command's one provider effect (or read) and fills
	// the result; its error is classified with provider.Classify.
	call(ctx context.Context, w *Worker, j *job) error
	// reconcile looks the provider up before a state-changing call that
	// may have reached it is repeated.
	reconcile(ctx context.Context, w *Worker, j *job) reconcileResult
	// rejected fills the result of a call the provider refused.
	rejected(j *job, err error)
	// succeeded runs after a successful call, before the result is stored.
	succeeded(ctx context.Context, w *Worker, j *job)
}

// protocolFor returns the protocol of a provider ("" is Praxis).
func protocolFor(p subjects.Provider) (protocol, bool) {
	switch p {
	case "", subjects.Praxis:
		return praxisProtocol{}, true
	case subjects.Rebilly:
		return rebillyProtocol{}, true
	}
	return nil, false
}
