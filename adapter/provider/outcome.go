// Package provider holds what every payment-provider protocol package
// shares, so the worker can branch on one vocabulary whichever provider
// answered: today the outcome of a provider call.
package provider

import (
	"errors"
	"fmt"
	"time"
)

// Outcome classifies a provider call so the caller knows whether, and how,
// it may retry. Each protocol package (adapter/rebilly; adapter/praxis has
// the same four values in the same order) maps its answers onto it.
type Outcome int

// The four outcomes of a provider call.
const (
	// Success: the provider did it and its answer was read.
	Success Outcome = iota
	// Rejected: the provider refused; retrying cannot help.
	Rejected
	// Transient: nothing happened (or reading changed nothing); retry
	// after backing off.
	Transient
	// Unknown: the request was sent but no trustworthy answer came back; a
	// state-changing call must be settled by a lookup before any retry.
	Unknown
)

// String names the outcome as metrics and results spell it.
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Rejected:
		return "rejected"
	case Transient:
		return "transient"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Sentinels every provider's call error matches with errors.Is, so the
// worker can branch on the outcome without knowing the provider.
var (
	ErrRejected  = errors.New("provider rejected the request")
	ErrTransient = errors.New("provider call failed transiently")
	ErrUnknown   = errors.New("provider call outcome unknown")
)

// Is reports whether target is the sentinel of o; a provider's error type
// calls it from its own Is method.
func (o Outcome) Is(target error) bool {
	switch target {
	case ErrRejected:
		return o == Rejected
	case ErrTransient:
		return o == Transient
	case ErrUnknown:
		return o == Unknown
	}
	return false
}

// Classified is implemented by a provider's call error.
type Classified interface {
	error
	ProviderOutcome() Outcome
}

// Classify returns the outcome of a provider call's error: nil is a
// success, and an error that carries no outcome (a bug, not a provider's
// answer) counts as unknown, so nothing is retried blindly.
func Classify(err error) Outcome {
	if err == nil {
		return Success
	}
	var c Classified
	if errors.As(err, &c) {
		return c.ProviderOutcome()
	}
	return Unknown
}

// Unsent is implemented by a provider's call error that knows whether its
// request left the process. A worker takes back an announced call that
// provably never reached the provider, so that no lookup has to wait out a
// settle window for a request that cannot have had an effect.
type Unsent interface {
	NotSent() bool
}

// NotSent reports whether err says its request provably never reached the
// provider. Any other error (nil, one that does not say, or one that was
// sent) may have had an effect, so it reports false: never the unsafe way
// round.
func NotSent(err error) bool {
	var u Unsent
	return err != nil && errors.As(err, &u) && u.NotSent()
}

// Throttled is implemented by a provider's call error that says when a
// retry may be made (a 429's Retry-After): retrying sooner only spends an
// attempt on another refusal.
type Throttled interface {
	RetryAfter(now time.Time) time.Duration
}

// RetryAfter is how long err asks the caller to wait before retrying, from
// now; 0 when it does not say.
func RetryAfter(err error, now time.Time) time.Duration {
	var t Throttled
	if err != nil && errors.As(err, &t) {
		return max(0, t.RetryAfter(now))
	}
	return 0
}
