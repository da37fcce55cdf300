// Package simkit is the skeleton every provider simulator (adapter/sim for
// Praxis, adapter/rebilly/rebillysim for Rebilly) shares: a seeded random
// source that draws faults, a delivery side that runs the callbacks to the
// merchant, stops them on Reset and Close and keeps a bounded log of their
// attempts, and a context-aware sleep. The simulators differ in what they
// deliver and how; the machinery around a delivery is the same, so it lives
// here once (issue #14: shared parts are shared, not copied).
//
// It knows nothing of a provider's wire format, of NATS or of the adapter.
package simkit
