package idempotency_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/idempotency/storetest"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

// newKV returns a store in its own embedded NATS server.
func newKV(t testing.TB, cfg idempotency.KVConfig) (*idempotency.KV, jetstream.JetStream) {
	t.Helper()
	_, _, js := testutil.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := idempotency.NewKV(ctx, js, cfg)
	require.NoError(t, err)
	return s, js
}

func TestKVStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) idempotency.Store {
		s, _ := newKV(t, idempotency.KVConfig{})
		return s
	})
}

func TestKVRecords(t *testing.T) {
	storetest.RunRecords(t, func(t *testing.T) idempotency.Records {
		s, _ := newKV(t, idempotency.KVConfig{})
		return s
	})
}

func TestKVConfig(t *testing.T) {
	_, _, js := testutil.JetStream(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		js      jetstream.JetStream
		cfg     idempotency.KVConfig
		wantErr string
	}{
		{"defaults", js, idempotency.KVConfig{}, ""},
		{"memory storage, own names", js, idempotency.KVConfig{Bucket: "a", RecordsBucket: "b", Storage: jetstream.MemoryStorage}, ""},
		{"nil JetStream", nil, idempotency.KVConfig{}, "nil JetStream"},
		{"same buckets", js, idempotency.KVConfig{Bucket: "x", RecordsBucket: "x"}, "must differ"},
		{"records bucket named like the default claims bucket", js, idempotency.KVConfig{RecordsBucket: idempotency.DefaultKVBucket}, "must differ"},
		{"bad bucket name", js, idempotency.KVConfig{Bucket: "has.dot"}, `"has.dot"`},
		{"negative replicas", js, idempotency.KVConfig{Replicas: -1}, "Replicas"},
		{"too many replicas", js, idempotency.KVConfig{Replicas: 7}, "Replicas"},
		{"negative max age", js, idempotency.KVConfig{MaxAge: -time.Hour}, "MaxAge"},
		{"negative records max age", js, idempotency.KVConfig{RecordsMaxAge: -time.Hour}, "RecordsMaxAge"},
		{"replicas beyond a single server", js, idempotency.KVConfig{Bucket: "r3", RecordsBucket: "r3rec", Replicas: 3}, `"r3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := idempotency.NewKV(ctx, tt.js, tt.cfg)
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.NoError(t, s.Ping(ctx))
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
			assert.Nil(t, s)
		})
	}

	// The defaults: file storage, one replica, MaxAge 24h on the claims
	// bucket, none on the records bucket.
	for bucket, wantAge := range map[string]time.Duration{
		idempotency.DefaultKVBucket:        idempotency.DefaultKVMaxAge,
		idempotency.DefaultKVRecordsBucket: 0,
	} {
		kv, err := js.KeyValue(ctx, bucket)
		require.NoError(t, err)
		st, err := kv.Status(ctx)
		require.NoError(t, err)
		assert.Equal(t, wantAge, st.TTL(), bucket)
		assert.Equal(t, int64(1), st.History(), bucket)
		info := st.(*jetstream.KeyValueBucketStatus).StreamInfo()
		assert.Equal(t, jetstream.FileStorage, info.Config.Storage, bucket)
		assert.Equal(t, 1, info.Config.Replicas, bucket)
	}
}

// TestKVMaxAgeCapsTTLs: without per-message TTLs the bucket's MaxAge is the
// longest a key can live, so longer TTLs are refused, not cut short.
func TestKVMaxAgeCapsTTLs(t *testing.T) {
	ctx := context.Background()
	s, _ := newKV(t, idempotency.KVConfig{MaxAge: time.Hour})

	_, err := s.Claim(ctx, "k", 2*time.Hour)
	assert.ErrorContains(t, err, "MaxAge")
	_, err = s.Get(ctx, "k")
	assert.ErrorIs(t, err, idempotency.ErrNotFound, "a refused claim stores nothing")

	c, err := s.Claim(ctx, "k", time.Minute)
	require.NoError(t, err)
	require.Equal(t, idempotency.Acquired, c.State)
	assert.ErrorContains(t, s.Complete(ctx, c, []byte("v"), 25*time.Hour), "MaxAge")
	rec, err := s.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, idempotency.Busy, rec.State, "a refused Complete leaves the claim held")
	assert.NoError(t, s.Complete(ctx, c, []byte("v"), time.Hour), "a done TTL equal to MaxAge is fine")
}

// TestKVDeletedKeysAreAbsent: a key deleted or purged by hand (a delete
// marker) counts as absent, in both buckets.
func TestKVDeletedKeysAreAbsent(t *testing.T) {
	ctx := context.Background()
	s, js := newKV(t, idempotency.KVConfig{})
	claims, err := js.KeyValue(ctx, idempotency.DefaultKVBucket)
	require.NoError(t, err)
	records, err := js.KeyValue(ctx, idempotency.DefaultKVRecordsBucket)
	require.NoError(t, err)

	for _, tt := range []struct {
		name   string
		remove func(kv jetstream.KeyValue, key string) error
	}{
		{"delete", func(kv jetstream.KeyValue, key string) error { return kv.Delete(ctx, key) }},
		{"purge", func(kv jetstream.KeyValue, key string) error { return kv.Purge(ctx, key) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key := "removed-" + tt.name
			c, err := s.Claim(ctx, key, time.Minute)
			require.NoError(t, err)
			require.NoError(t, s.Complete(ctx, c, []byte("v"), time.Hour))
			require.NoError(t, tt.remove(claims, key))

			_, err = s.Get(ctx, key)
			assert.ErrorIs(t, err, idempotency.ErrNotFound)
			c, err = s.Claim(ctx, key, time.Minute)
			require.NoError(t, err)
			assert.Equal(t, idempotency.Acquired, c.State)
			assert.Equal(t, 1, c.Attempts)
			assert.NoError(t, s.Complete(ctx, c, nil, time.Hour))

			_, err = s.PutRecord(ctx, key, []byte("r"), 0, 0)
			require.NoError(t, err)
			require.NoError(t, tt.remove(records, key))
			_, _, err = s.GetRecord(ctx, key)
			assert.ErrorIs(t, err, idempotency.ErrNotFound)
			v, err := s.PutRecord(ctx, key, []byte("again"), 0, 0)
			require.NoError(t, err)
			val, got, err := s.GetRecord(ctx, key)
			require.NoError(t, err)
			assert.Equal(t, v, got)
			assert.Equal(t, "again", string(val))
		})
	}
}

// TestKVSurvivesRestart is why the embedded store is a KV bucket and not a
// map: a restarted process still knows what it already did.
func TestKVSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	srv := testutil.NATSAt(t, dir)
	js, err := jetstream.New(testutil.Connect(t, srv))
	require.NoError(t, err)
	s, err := idempotency.NewKV(ctx, js, idempotency.KVConfig{})
	require.NoError(t, err)
	done, err := s.Claim(ctx, "done", time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.Complete(ctx, done, []byte("sent to praxis"), time.Hour))
	held, err := s.Claim(ctx, "held", time.Minute)
	require.NoError(t, err)
	version, err := s.PutRecord(ctx, "tx", []byte("state"), 0, 0)
	require.NoError(t, err)
	srv.Shutdown()
	srv.WaitForShutdown()

	srv = testutil.NATSAt(t, dir)
	js, err = jetstream.New(testutil.Connect(t, srv))
	require.NoError(t, err)
	s, err = idempotency.NewKV(ctx, js, idempotency.KVConfig{})
	require.NoError(t, err)

	c, err := s.Claim(ctx, "done", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Done, c.State)
	assert.Equal(t, "sent to praxis", string(c.Value))
	c, err = s.Claim(ctx, "held", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Busy, c.State, "a claim survives the restart")
	assert.NoError(t, s.Complete(ctx, held, []byte("v"), time.Hour), "and its holder's token still works")
	val, got, err := s.GetRecord(ctx, "tx")
	require.NoError(t, err)
	assert.Equal(t, version, got)
	assert.Equal(t, "state", string(val))
}

func BenchmarkKVClaimComplete(b *testing.B) {
	s, _ := newKV(b, idempotency.KVConfig{})
	storetest.BenchClaimComplete(b, s)
}

func BenchmarkKVClaimCompleteParallel(b *testing.B) {
	s, _ := newKV(b, idempotency.KVConfig{})
	storetest.BenchClaimCompleteParallel(b, s)
}

func BenchmarkKVClaimDuplicate(b *testing.B) {
	s, _ := newKV(b, idempotency.KVConfig{})
	storetest.BenchClaimDuplicate(b, s)
}
