package runtime

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/idempotency/storetest"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

func TestNewRedisClientModes(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Redis
		want string // client type, or error text
	}{
		{"standalone", config.Redis{URL: "redis://127.0.0.1:6379/0", Mode: config.RedisStandalone}, "*redis.Client"},
		{"sentinel", config.Redis{URL: "redis://127.0.0.1:26379?master_name=mymaster&addr=127.0.0.1:26380", Mode: config.RedisSentinel}, "*redis.Client"},
		{"cluster", config.Redis{URL: "redis://127.0.0.1:7000?addr=127.0.0.1:7001", Mode: config.RedisCluster}, "*redis.ClusterClient"},
		{"bad url hides the password", config.Redis{URL: "redis://user:hunter2@host:port/0", Mode: config.RedisStandalone}, "not a valid URL for redis.mode standalone"},
		{"ca without tls", config.Redis{URL: "redis://127.0.0.1:6379", Mode: config.RedisStandalone, CAFile: "/etc/hosts"}, "error: redis.ca_file and redis.cert_file need a rediss:// URL"},
		{"ca file without certificates", config.Redis{URL: "rediss://127.0.0.1:6379", Mode: config.RedisCluster, CAFile: "/etc/hosts"}, "error: redis.ca_file: /etc/hosts holds no PEM certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.PoolSize = 8
			rdb, err := NewRedisClient(tc.cfg)
			if err != nil {
				assert.Contains(t, "error: "+err.Error(), tc.want)
				assert.NotContains(t, err.Error(), "hunter2")
				return
			}
			t.Cleanup(func() { _ = rdb.Close() })
			assert.Equal(t, tc.want, typeName(rdb))
		})
	}
}

func typeName(rdb redis.UniversalClient) string {
	switch rdb.(type) {
	case *redis.Client:
		return "*redis.Client"
	case *redis.ClusterClient:
		return "*redis.ClusterClient"
	}
	return "other"
}

// TestStoreOnRedisCluster runs the idempotency store's whole contract on a
// real 3-node Redis Cluster built from the cluster URL: every script
// touches one key, so no CROSSSLOT error, also with auto-pipelining, whose
// batches span slots and nodes.
func TestStoreOnRedisCluster(t *testing.T) {
	url := testutil.RedisCluster(t)
	rdb, err := NewRedisClient(config.Redis{URL: url, Mode: config.RedisCluster, PoolSize: 16})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	for _, pipe := range []bool{false, true} {
		name := "direct"
		if pipe {
			name = "autopipeline"
		}
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) idempotency.Store {
				s, err := idempotency.NewRedis(rdb, idempotency.RedisConfig{Prefix: name + ":" + t.Name() + ":idem:",
					RecordsPrefix: name + ":" + t.Name() + ":rec:", AutoPipeline: pipe, AttemptsTTL: time.Hour})
				require.NoError(t, err)
				t.Cleanup(func() { _ = s.Close() })
				return s
			})
			storetest.RunRecords(t, func(t *testing.T) idempotency.Records {
				s, err := idempotency.NewRedis(rdb, idempotency.RedisConfig{Prefix: name + ":" + t.Name() + ":idem:",
					RecordsPrefix: name + ":" + t.Name() + ":rec:"})
				require.NoError(t, err)
				return s
			})
		})
	}
}

// TestStoreOnRedisSentinel runs the store's contract through a Sentinel
// (redis.mode sentinel): the client finds the primary by asking it.
func TestStoreOnRedisSentinel(t *testing.T) {
	url := testutil.RedisSentinel(t)
	rdb, err := NewRedisClient(config.Redis{URL: url, Mode: config.RedisSentinel, PoolSize: 16})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	storetest.Run(t, func(t *testing.T) idempotency.Store {
		s, err := idempotency.NewRedis(rdb, idempotency.RedisConfig{Prefix: t.Name() + ":idem:", RecordsPrefix: t.Name() + ":rec:",
			AutoPipeline: true, AttemptsTTL: time.Hour})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
