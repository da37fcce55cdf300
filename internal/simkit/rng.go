package simkit

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// RNG is a simulator's seeded random source: one seed replays the same
// faults and tokens, which makes a failing chaos run repeatable.
// math/rand/v2 sources are not safe for concurrent use, so it carries its
// own lock.
type RNG struct {
	mu sync.Mutex
	r  *rand.Rand
}

// NewRNG seeds a PCG source with seed.
func NewRNG(seed uint64) *RNG {
	return &RNG{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Float is a uniform draw from [0, 1).
func (g *RNG) Float() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.r.Float64()
}

// DurationN is a uniform draw from [0, d); 0 for d <= 0, without drawing.
func (g *RNG) DurationN(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Duration(g.r.Int64N(int64(d)))
}

// Hit draws once and reports whether an event of probability p happens;
// p of 0 (or 1) draws nothing, so a fault that is off does not shift the
// sequence of the others.
func (g *RNG) Hit(p float64) bool {
	if p <= 0 {
		return false
	}
	if p >= 1 {
		return true
	}
	return g.Float() < p
}

// Draw picks at most one of several exclusive faults whose probabilities
// are rates (their sum at most 1): it returns the index of the fault that
// happens, or -1 for none. When every rate is 0 it draws nothing.
func (g *RNG) Draw(rates ...float64) int {
	total := 0.0
	for _, r := range rates {
		total += r
	}
	if total <= 0 {
		return -1
	}
	x := g.Float()
	upTo := 0.0
	for i, r := range rates {
		upTo += r
		if x < upTo {
			return i
		}
	}
	return -1
}

// Hex is a token of n lowercase hex characters.
func (g *RNG) Hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	g.mu.Lock()
	for i := 0; i < n; i += 16 {
		v := g.r.Uint64()
		for j := i; j < n && j < i+16; j++ {
			b[j] = digits[v&15]
			v >>= 4
		}
	}
	g.mu.Unlock()
	return string(b)
}

// Base32 is a token of n Crockford base-32 characters (upper case).
func (g *RNG) Base32(n int) string {
	const digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := make([]byte, n)
	g.mu.Lock()
	for i := range b {
		b[i] = digits[g.r.IntN(len(digits))]
	}
	g.mu.Unlock()
	return string(b)
}

// ValidRate reports whether r is a probability: a number in [0, 1].
func ValidRate(r float64) bool { return !math.IsNaN(r) && r >= 0 && r <= 1 }
