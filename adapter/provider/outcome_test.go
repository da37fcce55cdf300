package provider

import (
	"errors"
	"fmt"
	"testing"

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
