// Package simkittest holds test support for simulator tests: the record of
// what a fake merchant endpoint received, which the Praxis and Rebilly
// simulator tests both need.
package simkittest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

// Calls records the calls a test's fake endpoint received; an HTTP
// server's goroutines add to it while the test reads and waits. The zero
// value is ready to use.
type Calls[C any] struct {
	mu   sync.Mutex
	list []C
}

// Add records c and returns how many calls came before it.
func (cs *Calls[C]) Add(c C) int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.list = append(cs.list, c)
	return len(cs.list) - 1
}

// All returns the calls so far, oldest first.
func (cs *Calls[C]) All() []C {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]C(nil), cs.list...)
}

// Wait waits up to total, checking every poll, until at least n calls
// arrived, and returns them all; it fails the test when they do not.
func (cs *Calls[C]) Wait(t testing.TB, n int, total, poll time.Duration) []C {
	t.Helper()
	testutil.Eventually(t, total, poll, func() error {
		if got := len(cs.All()); got < n {
			return fmt.Errorf("%d calls, want %d", got, n)
		}
		return nil
	})
	return cs.All()
}
