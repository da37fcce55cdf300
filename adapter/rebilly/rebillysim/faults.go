package rebillysim

import (
	"fmt"
	"maps"
	"time"

	"github.com/praxis-adapter/praxis-adapter/internal/simkit"
)

// AllEndpoints is the Faults.Endpoints key whose faults apply to every
// operation without an entry of its own.
const AllEndpoints = "*"

// EndpointFaults are the faults injected into one operation. The rates are
// probabilities drawn once per call, so their sum is at most 1.
type EndpointFaults struct {
	// Latency delays every answer; Jitter adds a uniform random [0, Jitter).
	Latency time.Duration
	Jitter  time.Duration
	// ServerErrorRate answers 503 without performing the call.
	ServerErrorRate float64
	// ErrorAfterEffectRate performs the call, then answers 500: the client
	// must treat the outcome as unknown.
	ErrorAfterEffectRate float64
	// LostReplyRate performs the call, then closes the connection without
	// an answer.
	LostReplyRate float64
	// TimeoutRate performs the call, then answers nothing until the client
	// gives up.
	TimeoutRate float64
}

// Faults are every fault the simulator injects. The zero value injects none.
type Faults struct {
	// Endpoints maps an operation ("POST /transactions/{id}/refund", as
	// rebilly.Error.Op spells it) or AllEndpoints to its faults.
	Endpoints map[string]EndpointFaults
	// DuplicateRate is the probability that an acknowledged notification or
	// webhook is delivered once more ("may be delivered multiple times").
	DuplicateRate float64
}

// Validate names the first fault setting that cannot work.
func (f Faults) Validate() error {
	for op, ef := range f.Endpoints {
		where := fmt.Sprintf("faults.endpoints[%q]", op)
		if op != AllEndpoints && !knownOp(op) {
			return fmt.Errorf("%s: unknown operation; known: * %v", where, operations)
		}
		if ef.Latency < 0 || ef.Jitter < 0 {
			return fmt.Errorf("%s: latency and jitter must not be negative", where)
		}
		sum := 0.0
		for name, r := range map[string]float64{"server_error_rate": ef.ServerErrorRate, "error_after_effect_rate": ef.ErrorAfterEffectRate,
			"lost_reply_rate": ef.LostReplyRate, "timeout_rate": ef.TimeoutRate} {
			if !simkit.ValidRate(r) {
				return fmt.Errorf("%s.%s: not a probability between 0 and 1", where, name)
			}
			sum += r
		}
		if sum > 1+1e-9 {
			return fmt.Errorf("%s: rates add up to more than 1", where)
		}
	}
	if !simkit.ValidRate(f.DuplicateRate) {
		return fmt.Errorf("faults.duplicate_rate: not a probability between 0 and 1")
	}
	return nil
}

func (f Faults) clone() Faults {
	out := f
	out.Endpoints = maps.Clone(f.Endpoints)
	return out
}

func (f *Faults) endpoint(op string) EndpointFaults {
	if ef, ok := f.Endpoints[op]; ok {
		return ef
	}
	return f.Endpoints[AllEndpoints]
}

// faultKind is the fault drawn for one call; the kinds after faultNone are
// in the order of the rates in draw.
type faultKind int

const (
	faultNone faultKind = iota
	faultServerError
	faultErrorAfter
	faultLostReply
	faultTimeout
)

func (s *Simulator) drawFault(ef EndpointFaults) faultKind {
	return faultKind(s.rng.Draw(ef.ServerErrorRate, ef.ErrorAfterEffectRate, ef.LostReplyRate, ef.TimeoutRate) + 1)
}
