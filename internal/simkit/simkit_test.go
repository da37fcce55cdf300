package simkit

import (
	"context"
	"maps"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRNGIsSeeded(t *testing.T) {
	a, b := NewRNG(7), NewRNG(7)
	for range 5 {
		assert.Equal(t, a.Float(), b.Float())
	}
	assert.Equal(t, a.Hex(40), b.Hex(40))
	assert.Equal(t, a.Base32(26), b.Base32(26))
	assert.NotEqual(t, NewRNG(8).Hex(32), NewRNG(7).Hex(32))
}

func TestRNGTokens(t *testing.T) {
	g := NewRNG(1)
	for _, n := range []int{0, 1, 16, 17, 32} {
		h := g.Hex(n)
		assert.Len(t, h, n)
		assert.Regexp(t, `^[0-9a-f]*$`, h)
		c := g.Base32(n)
		assert.Len(t, c, n)
		assert.Regexp(t, `^[0-9A-HJKMNP-TV-Z]*$`, c)
	}
}

func TestHitAndDrawSkipTheDrawWhenOff(t *testing.T) {
	tests := []struct {
		name string
		do   func(g *RNG) any
		want any
	}{
		{"hit 0", func(g *RNG) any { return g.Hit(0) }, false},
		{"hit 1", func(g *RNG) any { return g.Hit(1) }, true},
		{"draw all zero", func(g *RNG) any { return g.Draw(0, 0, 0) }, -1},
		{"draw none", func(g *RNG) any { return g.Draw() }, -1},
		{"draw certain second", func(g *RNG) any { return g.Draw(0, 1) }, 1},
		{"duration of 0", func(g *RNG) any { return g.DurationN(0) }, time.Duration(0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, ref := NewRNG(3), NewRNG(3)
			got := tc.do(g)
			assert.Equal(t, tc.want, got)
			if tc.name != "draw certain second" {
				assert.Equal(t, ref.Float(), g.Float(), "no draw was taken")
			}
		})
	}
}

func TestDrawFollowsTheRates(t *testing.T) {
	g := NewRNG(11)
	counts := map[int]int{}
	const n = 20000
	for range n {
		counts[g.Draw(0.1, 0.2, 0.3)]++
	}
	for i, want := range map[int]float64{0: 0.1, 1: 0.2, 2: 0.3, -1: 0.4} {
		assert.InDelta(t, want, float64(counts[i])/n, 0.02, "fault %d", i)
	}
}

func TestValidRate(t *testing.T) {
	for r, want := range map[float64]bool{0: true, 0.5: true, 1: true, -0.1: false, 1.1: false, math.NaN(): false, math.Inf(1): false} {
		assert.Equal(t, want, ValidRate(r), "%g", r)
	}
}

type rec struct {
	Seq int64
	N   int
}

func newLog(limit int) *Deliveries[rec] {
	return NewDeliveries(limit, func(r *rec, seq int64) { r.Seq = seq })
}

func TestLogKeepsTheNewestAndNumbers(t *testing.T) {
	tests := []struct {
		limit, records int
		first          int
	}{
		{limit: 3, records: 2, first: 1},
		{limit: 3, records: 3, first: 1},
		{limit: 3, records: 7, first: 5},
		{limit: 1, records: 10, first: 10},
	}
	for _, tc := range tests {
		d := newLog(tc.limit)
		for i := 1; i <= tc.records; i++ {
			require.True(t, d.Record(d.Gen(), rec{N: i}))
		}
		got := d.Log()
		require.Len(t, got, min(tc.limit, tc.records))
		for i, r := range got {
			assert.Equal(t, tc.first+i, r.N)
			assert.Equal(t, int64(tc.first+i), r.Seq)
		}
	}
}

func TestResetForgetsAndStopsTheOldGeneration(t *testing.T) {
	d := newLog(10)
	old := d.Gen()
	stopped := make(chan struct{})
	require.True(t, d.Go(func(ctx context.Context, gen uint64) {
		assert.Equal(t, old, gen)
		<-ctx.Done()
		close(stopped)
	}))
	require.True(t, d.Record(old, rec{N: 1}))
	var also atomic.Bool
	d.Reset(func() { also.Store(true) })
	<-stopped
	assert.True(t, also.Load())
	assert.Empty(t, d.Log())
	assert.False(t, d.Record(old, rec{N: 2}), "a delivery of the state before Reset is not logged")
	assert.True(t, d.Record(d.Gen(), rec{N: 3}))
	assert.Equal(t, []rec{{Seq: 2, N: 3}}, d.Log())
	require.Eventually(t, func() bool { return d.Pending() == 0 }, 5*time.Second, time.Millisecond)
}

func TestCloseWaitsAndRefuses(t *testing.T) {
	d := newLog(10)
	var ran atomic.Bool
	require.True(t, d.Go(func(ctx context.Context, _ uint64) {
		<-ctx.Done()
		ran.Store(true)
	}))
	held := make(chan struct{})
	go func() { d.Hold(context.Background()); close(held) }()
	d.Close()
	assert.True(t, ran.Load(), "Close waits for the goroutines")
	<-held
	assert.False(t, d.Go(func(context.Context, uint64) { t.Error("ran after Close") }))
	d.Reset(nil)
	assert.False(t, d.Go(func(context.Context, uint64) { t.Error("ran after Close and Reset") }))
	d.Close()
	assert.Equal(t, 0, d.Pending())
}

func TestSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	assert.True(t, Sleep(ctx, 0))
	assert.True(t, Sleep(ctx, time.Millisecond))
	cancel()
	assert.False(t, Sleep(ctx, 0))
	assert.False(t, Sleep(ctx, time.Hour))
}

type testFaults struct {
	Rate float64
	By   map[string]float64
}

func (f testFaults) Validate() error {
	if !ValidRate(f.Rate) {
		return assert.AnError
	}
	return nil
}

func cloneTestFaults(f testFaults) testFaults {
	f.By = maps.Clone(f.By)
	return f
}

func TestFaultSet(t *testing.T) {
	in := testFaults{Rate: 0.5, By: map[string]float64{"a": 1}}
	s := NewFaultSet(in, cloneTestFaults)
	in.By["a"] = 0 // the caller's edit does not reach the set
	assert.Equal(t, 1.0, s.Load().By["a"])

	require.ErrorIs(t, s.Set(testFaults{Rate: 2}), assert.AnError)
	assert.Equal(t, 0.5, s.Get().Rate, "a bad set changes nothing")

	require.NoError(t, s.Set(testFaults{Rate: 0.25, By: map[string]float64{"b": 0.5}}))
	got := s.Get()
	got.By["b"] = 1
	assert.Equal(t, 0.5, s.Load().By["b"], "Get returns a copy")
	assert.Equal(t, 0.25, s.Load().Rate)
}

func TestDeliveryDefaults(t *testing.T) {
	var (
		maxD, limit int
		timeout     time.Duration
		now         func() time.Time
	)
	DeliveryDefaults(&maxD, &timeout, &limit, &now)
	assert.Equal(t, DefaultMaxDeliveries, maxD)
	assert.Equal(t, DefaultWebhookTimeout, timeout)
	assert.Equal(t, DefaultDeliveryLogLimit, limit)
	require.NotNil(t, now)

	maxD, timeout, limit = 3, time.Second, 7
	fixed := func() time.Time { return time.Unix(1, 0) }
	now = fixed
	DeliveryDefaults(&maxD, &timeout, &limit, &now)
	assert.Equal(t, []any{3, time.Second, 7, time.Unix(1, 0)}, []any{maxD, timeout, limit, now()}, "set values are kept")
}

func TestCheckDelivery(t *testing.T) {
	tests := []struct {
		resend, timeout time.Duration
		maxD, limit     int
		want            string
	}{
		{time.Minute, time.Second, 1, 1, ""},
		{0, 0, 1, 1, ""},
		{-time.Second, time.Second, 1, 1, "resend_delay -1s: must not be negative"},
		{time.Minute, time.Second, 0, 1, "max_deliveries 0: must be at least 1"},
		{time.Minute, -time.Second, 1, 1, "webhook_timeout -1s: must not be negative"},
		{time.Minute, time.Second, 1, -1, "delivery_log_limit -1: must be at least 1"},
	}
	for _, tc := range tests {
		err := CheckDelivery(tc.resend, tc.maxD, tc.timeout, tc.limit)
		if tc.want == "" {
			assert.NoError(t, err)
			continue
		}
		assert.EqualError(t, err, tc.want)
	}
}
