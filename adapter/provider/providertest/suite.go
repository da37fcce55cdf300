// Package providertest is the conformance suite every provider's protocol
// package and simulator pass together (Watermill's shared pubsub tests, or
// idempotency/storetest here): whatever the provider, a state-changing call
// is classified the same way, an effect whose reply was lost is reported
// unknown and found by a lookup, and nothing the adapter cannot see happens
// twice. Rebilly (adapter/rebilly/rebillysim) and Praxis (praxis_test.go
// here, over adapter/praxis and adapter/sim) both run it.
package providertest

import (
	"net"
	"testing"

	"github.com/praxis-adapter/praxis-adapter/adapter/provider"
)

// Fault is a simulator fault the suite switches on for the effect's
// operation.
type Fault int

// The faults every provider simulator offers.
const (
	// NoFault answers normally.
	NoFault Fault = iota
	// UnavailableBefore answers a transient error without applying the call.
	UnavailableBefore
	// LostReplyAfter applies the call, then drops the connection.
	LostReplyAfter
	// TimeoutAfter applies the call, then answers nothing until the client
	// gives up.
	TimeoutAfter
)

// Harness is one provider's client and simulator behind the suite's face.
// Each method fails the test on an error that is not the call's own.
type Harness interface {
	// SetFault switches f on for the effect's operation (and off for the
	// rest).
	SetFault(t *testing.T, f Fault)
	// Effect prepares a fresh target (a deposit to refund, say) and makes
	// one state-changing call on it. key names the effect for Applied and
	// Settle, even when the call fails; err is the client's error.
	Effect(t *testing.T) (key string, err error)
	// Unreachable makes the same call against an address nobody listens on.
	Unreachable(t *testing.T) error
	// Classify is the protocol package's classification of err, and
	// whether the request was sent.
	Classify(err error) (outcome provider.Outcome, sent bool)
	// Applied counts how often the simulator applied the effect key.
	Applied(t *testing.T, key string) int
	// Settle is the lookup an unknown outcome is settled by: whether the
	// provider shows the effect key.
	Settle(t *testing.T, key string) bool
}

// Run runs the suite; newHarness builds a fresh provider for each case.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	cases := []struct {
		name    string
		fault   Fault
		outcome provider.Outcome
		sent    bool
		applied int
	}{
		{"success is applied once", NoFault, provider.Success, true, 1},
		{"unavailable is transient and applies nothing", UnavailableBefore, provider.Transient, true, 0},
		{"lost reply is unknown, applied once, and found by lookup", LostReplyAfter, provider.Unknown, true, 1},
		{"timeout is unknown, applied once, and found by lookup", TimeoutAfter, provider.Unknown, true, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.SetFault(t, tc.fault)
			key, err := h.Effect(t)
			outcome, sent := h.Classify(err)
			if outcome != tc.outcome || sent != tc.sent {
				t.Fatalf("call classified %s (sent %v), want %s (sent %v): %v", outcome, sent, tc.outcome, tc.sent, err)
			}
			if n := h.Applied(t, key); n != tc.applied {
				t.Fatalf("effect applied %d times, want %d", n, tc.applied)
			}
			h.SetFault(t, NoFault)
			if found := h.Settle(t, key); found != (tc.applied > 0) {
				t.Fatalf("lookup found the effect: %v, want %v", found, tc.applied > 0)
			}
			if n := h.Applied(t, key); n != tc.applied {
				t.Fatalf("the lookup changed the effect count to %d", n)
			}
		})
	}
	t.Run("unreachable is transient and not sent", func(t *testing.T) {
		h := newHarness(t)
		outcome, sent := h.Classify(h.Unreachable(t))
		if outcome != provider.Transient || sent {
			t.Fatalf("classified %s (sent %v), want transient, not sent", outcome, sent)
		}
	})
}

// DeadURL is an http:// URL of a local port nobody listens on, for
// Harness.Unreachable.
func DeadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return "http://" + addr
}
