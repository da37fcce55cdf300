package provider

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

type callErr struct{ o Outcome }

func (e callErr) Error() string            { return "call: " + e.o.String() }
func (e callErr) ProviderOutcome() Outcome { return e.o }
func (e callErr) Is(target error) bool     { return e.o.Is(target) }

func TestClassify(t *testing.T) {
	assert.Equal(t, Success, Classify(nil))
	assert.Equal(t, Unknown, Classify(errors.New("a bug")), "an unclassified error is never retried blindly")
	for _, o := range []Outcome{Rejected, Transient, Unknown} {
		err := fmt.Errorf("worker: %w", callErr{o})
		assert.Equal(t, o, Classify(err))
		assert.Equal(t, o == Rejected, errors.Is(err, ErrRejected))
		assert.Equal(t, o == Transient, errors.Is(err, ErrTransient))
		assert.Equal(t, o == Unknown, errors.Is(err, ErrUnknown))
	}
	assert.Equal(t, "outcome(9)", Outcome(9).String())
}

type throttledErr struct {
	callErr
	after time.Duration
	sent  bool
}

func (e throttledErr) RetryAfter(time.Time) time.Duration { return e.after }
func (e throttledErr) NotSent() bool                      { return !e.sent }

func TestRetryAfterAndNotSent(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name        string
		err         error
		wantAfter   time.Duration
		wantNotSent bool
	}{
		{"nil", nil, 0, false},
		{"plain error", errors.New("no idea"), 0, false},
		{"throttled, wrapped", fmt.Errorf("w: %w", throttledErr{callErr{Transient}, 3 * time.Second, true}), 3 * time.Second, false},
		{"negative is zero", throttledErr{callErr{Transient}, -time.Second, false}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.wantAfter, RetryAfter(tc.err, now))
			assert.Equal(t, tc.wantNotSent, NotSent(tc.err))
		})
	}
}
