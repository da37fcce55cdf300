package simkit

import "sync/atomic"

// FaultSet holds a simulator's faults in force. A test switches a fault on
// in the middle of a flow while handlers read the faults on every call, so
// the set is swapped whole, atomically, and never shared with the caller.
type FaultSet[F interface{ Validate() error }] struct {
	p     atomic.Pointer[F]
	clone func(F) F
}

// NewFaultSet starts with initial (already validated, as a simulator's
// Config is); clone deep-copies an F so the caller's later edits cannot
// race the handlers.
func NewFaultSet[F interface{ Validate() error }](initial F, clone func(F) F) *FaultSet[F] {
	s := &FaultSet[F]{clone: clone}
	c := clone(initial)
	s.p.Store(&c)
	return s
}

// Set validates f and puts a copy of it in force.
func (s *FaultSet[F]) Set(f F) error {
	if err := f.Validate(); err != nil {
		return err
	}
	c := s.clone(f)
	s.p.Store(&c)
	return nil
}

// Get returns a copy of the faults in force.
func (s *FaultSet[F]) Get() F { return s.clone(*s.p.Load()) }

// Load returns the faults in force without copying them, for the handlers'
// hot path; the caller must not change them.
func (s *FaultSet[F]) Load() *F { return s.p.Load() }
