package rebillysim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
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
			if math.IsNaN(r) || r < 0 || r > 1 {
				return fmt.Errorf("%s.%s: not a probability between 0 and 1", where, name)
			}
			sum += r
		}
		if sum > 1+1e-9 {
			return fmt.Errorf("%s: rates add up to more than 1", where)
		}
	}
	if r := f.DuplicateRate; math.IsNaN(r) || r < 0 || r > 1 {
		return fmt.Errorf("faults.duplicate_rate: not a probability between 0 and 1")
	}
	return nil
}

func (f Faults) clone() Faults {
	out := f
	if f.Endpoints != nil {
		out.Endpoints = make(map[string]EndpointFaults, len(f.Endpoints))
		for k, v := range f.Endpoints {
			out.Endpoints[k] = v
		}
	}
	return out
}

func (f *Faults) endpoint(op string) EndpointFaults {
	if ef, ok := f.Endpoints[op]; ok {
		return ef
	}
	return f.Endpoints[AllEndpoints]
}

type faultKind int

const (
	faultNone faultKind = iota
	faultServerError
	faultErrorAfter
	faultLostReply
	faultTimeout
)

func (g *rng) draw(ef EndpointFaults) faultKind {
	total := ef.ServerErrorRate + ef.ErrorAfterEffectRate + ef.LostReplyRate + ef.TimeoutRate
	if total <= 0 {
		return faultNone
	}
	x := g.float()
	switch {
	case x < ef.ServerErrorRate:
		return faultServerError
	case x < ef.ServerErrorRate+ef.ErrorAfterEffectRate:
		return faultErrorAfter
	case x < ef.ServerErrorRate+ef.ErrorAfterEffectRate+ef.LostReplyRate:
		return faultLostReply
	case x < total:
		return faultTimeout
	}
	return faultNone
}

// rng is the simulator's seeded random source, with its own lock.
type rng struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newRNG(seed uint64) *rng { return &rng{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

func (g *rng) float() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.r.Float64()
}

func (g *rng) durationN(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Duration(g.r.Int64N(int64(d)))
}

func (g *rng) hit(p float64) bool { return p > 0 && (p >= 1 || g.float() < p) }

// id makes a Rebilly-looking id: prefix and 26 Crockford base-32 characters.
func (g *rng) id(prefix string) string {
	const digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := make([]byte, 26)
	g.mu.Lock()
	for i := range b {
		b[i] = digits[g.r.IntN(len(digits))]
	}
	g.mu.Unlock()
	return prefix + string(b)
}
