// Package provider holds what every payment-provider protocol package
// shares, so the worker can branch on one vocabulary whichever provider
// answered: today the outcome of a provider call.
package provider

import "fmt"

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
