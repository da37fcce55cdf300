package idempotency_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/idempotency/storetest"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

// newRedis returns a store on the test Redis with keys under a prefix no
// other test uses, and removes its keys when the test ends.
func newRedis(t testing.TB, cfg idempotency.RedisConfig) (*idempotency.Redis, *redis.Client, idempotency.RedisConfig) {
	t.Helper()
	rdb := testutil.Redis(t)
	prefix := testutil.Prefix(t)
	if cfg.Prefix == "" {
		cfg.Prefix = prefix + "idem:"
	}
	if cfg.RecordsPrefix == "" {
		cfg.RecordsPrefix = prefix + "rec:"
	}
	s, err := idempotency.NewRedis(rdb, cfg)
	require.NoError(t, err)
	return s, rdb, cfg
}

func TestRedisStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) idempotency.Store {
		s, _, _ := newRedis(t, idempotency.RedisConfig{})
		return s
	})
}

// TestRedisStoreAutoPipeline runs the same contract with concurrent calls
// batched into pipelines.
func TestRedisStoreAutoPipeline(t *testing.T) {
	storetest.Run(t, func(t *testing.T) idempotency.Store {
		s, _, _ := newRedis(t, idempotency.RedisConfig{AutoPipeline: true, Flushers: 2})
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestRedisRecords(t *testing.T) {
	storetest.RunRecords(t, func(t *testing.T) idempotency.Records {
		s, _, _ := newRedis(t, idempotency.RedisConfig{})
		return s
	})
}

func TestRedisConfig(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:0"}) // never dialled
	t.Cleanup(func() { _ = rdb.Close() })
	tests := []struct {
		name    string
		client  redis.UniversalClient
		cfg     idempotency.RedisConfig
		wantErr string
	}{
		{"defaults", rdb, idempotency.RedisConfig{}, ""},
		{"nil client", nil, idempotency.RedisConfig{}, "nil redis client"},
		{"same prefixes", rdb, idempotency.RedisConfig{Prefix: "p:", RecordsPrefix: "p:"}, "overlap"},
		{"nested prefixes", rdb, idempotency.RedisConfig{Prefix: "p:", RecordsPrefix: "p:rec:"}, "overlap"},
		{"records prefix over the default", rdb, idempotency.RedisConfig{RecordsPrefix: "praxis:"}, "overlap"},
		{"negative attempts TTL", rdb, idempotency.RedisConfig{AttemptsTTL: -time.Second}, "AttemptsTTL"},
		{"sub-millisecond attempts TTL", rdb, idempotency.RedisConfig{AttemptsTTL: time.Microsecond}, "AttemptsTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := idempotency.NewRedis(tt.client, tt.cfg)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				assert.NotNil(t, s)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
			assert.Nil(t, s)
		})
	}
}

// TestRedisKeyTTLs checks the Redis TTLs behind the contract: a claimed key
// outlives its claim by AttemptsTTL (so a successor sees the attempts), a
// done key lives doneTTL, a released key keeps its TTL, a record with ttl 0
// never expires.
func TestRedisKeyTTLs(t *testing.T) {
	ctx := context.Background()
	s, rdb, cfg := newRedis(t, idempotency.RedisConfig{AttemptsTTL: time.Hour})
	pttl := func(key string) time.Duration {
		t.Helper()
		d, err := rdb.PTTL(ctx, key).Result()
		require.NoError(t, err)
		return d
	}

	c, err := s.Claim(ctx, "k", 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, idempotency.Acquired, c.State)
	assert.InDelta(t, (time.Hour + 10*time.Second).Seconds(), pttl(cfg.Prefix+"k").Seconds(), 5, "claim TTL + AttemptsTTL")

	require.NoError(t, s.Release(ctx, c))
	assert.InDelta(t, (time.Hour + 10*time.Second).Seconds(), pttl(cfg.Prefix+"k").Seconds(), 5, "release keeps the key's TTL")

	c, err = s.Claim(ctx, "k", 10*time.Second)
	require.NoError(t, err)
	require.NoError(t, s.Complete(ctx, c, []byte("v"), 3*time.Hour))
	assert.InDelta(t, (3 * time.Hour).Seconds(), pttl(cfg.Prefix+"k").Seconds(), 5, "done TTL")

	raw, err := rdb.Get(ctx, cfg.Prefix+"k").Result()
	require.NoError(t, err)
	assert.Equal(t, "d2/0/0/0:0:"+c.Token+":v", raw, "the compact done record")

	// A call marker keeps its key for at least Keep, through a release and
	// the next claim.
	c, err = s.Claim(ctx, "m", 10*time.Second)
	require.NoError(t, err)
	c, err = s.Renew(ctx, c, idempotency.RenewOptions{Lease: 10 * time.Second, Call: true, Keep: 5 * time.Hour})
	require.NoError(t, err)
	assert.InDelta(t, (5 * time.Hour).Seconds(), pttl(cfg.Prefix+"m").Seconds(), 5, "keep")
	require.NoError(t, s.Release(ctx, c))
	c, err = s.Claim(ctx, "m", 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, 1, c.Calls)
	assert.InDelta(t, (5 * time.Hour).Seconds(), pttl(cfg.Prefix+"m").Seconds(), 5, "a takeover keeps the longer TTL")

	_, err = s.PutRecord(ctx, "r", []byte("x"), 0, 0)
	require.NoError(t, err)
	assert.Equal(t, time.Duration(-1), pttl(cfg.RecordsPrefix+"r"), "ttl 0: no expiry")
	v, err := s.PutRecord(ctx, "r2", []byte("x"), 0, time.Hour)
	require.NoError(t, err)
	assert.InDelta(t, time.Hour.Seconds(), pttl(cfg.RecordsPrefix+"r2").Seconds(), 5)
	_, err = s.PutRecord(ctx, "r2", []byte("y"), v, 0)
	require.NoError(t, err)
	assert.Equal(t, time.Duration(-1), pttl(cfg.RecordsPrefix+"r2"), "an update with ttl 0 persists the record")
}

// TestRedisForeignValue: a key this store did not write is an error, never
// a panic or a silent overwrite.
func TestRedisForeignValue(t *testing.T) {
	ctx := context.Background()
	s, rdb, cfg := newRedis(t, idempotency.RedisConfig{})
	for _, v := range []string{"processing", "p", "px:1:tok", "d1", ""} {
		require.NoError(t, rdb.Set(ctx, cfg.Prefix+"foreign", v, time.Minute).Err())
		_, err := s.Claim(ctx, "foreign", time.Second)
		assert.Error(t, err, "claim over %q", v)
		_, err = s.Get(ctx, "foreign")
		assert.Error(t, err, "get over %q", v)
		got, err := rdb.Get(ctx, cfg.Prefix+"foreign").Result()
		require.NoError(t, err)
		assert.Equal(t, v, got, "left untouched")
	}
	require.NoError(t, rdb.HSet(ctx, cfg.Prefix+"hash", "f", "v").Err())
	_, err := s.Claim(ctx, "hash", time.Second)
	assert.ErrorContains(t, err, "WRONGTYPE")
	require.NoError(t, rdb.Set(ctx, cfg.RecordsPrefix+"foreign", "no version", time.Minute).Err())
	_, _, err = s.GetRecord(ctx, "foreign")
	assert.Error(t, err)
	_, err = s.PutRecord(ctx, "foreign", []byte("x"), 0, 0)
	assert.Error(t, err)
}

func BenchmarkRedisClaimComplete(b *testing.B) {
	s, _, _ := newRedis(b, idempotency.RedisConfig{})
	storetest.BenchClaimComplete(b, s)
}

func BenchmarkRedisClaimCompleteParallel(b *testing.B) {
	s, _, _ := newRedis(b, idempotency.RedisConfig{})
	storetest.BenchClaimCompleteParallel(b, s)
}

func BenchmarkRedisClaimDuplicate(b *testing.B) {
	s, _, _ := newRedis(b, idempotency.RedisConfig{})
	storetest.BenchClaimDuplicate(b, s)
}

func BenchmarkRedisClaimCompleteParallelAutoPipeline(b *testing.B) {
	s, _, _ := newRedis(b, idempotency.RedisConfig{AutoPipeline: true})
	b.Cleanup(func() { _ = s.Close() })
	storetest.BenchClaimCompleteParallel(b, s)
}

// TestAutoPipelineRefusesCancelledContexts: a claim asked with a context
// that is already over fails and runs nothing, every time (a random select
// used to queue it about half the time).
func TestAutoPipelineRefusesCancelledContexts(t *testing.T) {
	// One flusher runs queued scripts in order, so once a later claim has
	// answered, every script queued before it has run (or never will).
	s, rdb, cfg := newRedis(t, idempotency.RedisConfig{AutoPipeline: true, Flushers: 1})
	t.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	const n = 200
	for i := 0; i < n; i++ {
		_, err := s.Claim(ctx, fmt.Sprintf("cancelled-%d", i), time.Minute)
		assert.ErrorIs(t, err, context.Canceled, "claim %d", i)
	}
	_, err := s.Claim(context.Background(), "live", time.Minute)
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		exists, err := rdb.Exists(context.Background(), cfg.Prefix+fmt.Sprintf("cancelled-%d", i)).Result()
		require.NoError(t, err)
		require.Zero(t, exists, "claim %d ran although its context was over", i)
	}
	exists, err := rdb.Exists(context.Background(), cfg.Prefix+"live").Result()
	require.NoError(t, err)
	require.Equal(t, int64(1), exists, "the key layout this test reads is the store's")
}
