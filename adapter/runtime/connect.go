package runtime

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/internal/redact"
)

// NATSOptions are the connection options every role and the CLI use for
// an external NATS: authentication (creds or nkey seed), TLS (a CA, a
// client certificate), the connection's name (<nats.name>-<role>), pings
// that leave a stalled server within seconds, and reconnects that never
// give up.
func NATSOptions(c config.NATS, role string) ([]nats.Option, error) {
	name := c.Name
	if name == "" {
		name = "praxis-adapter"
	}
	if role != "" {
		name += "-" + role
	}
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1)}
	if c.PingInterval > 0 {
		opts = append(opts, nats.PingInterval(c.PingInterval))
	}
	if c.MaxPingsOutstanding > 0 {
		opts = append(opts, nats.MaxPingsOutstanding(c.MaxPingsOutstanding))
	}
	if c.ReconnectWait > 0 {
		opts = append(opts, nats.ReconnectWait(c.ReconnectWait))
	}
	if c.ConnectTimeout > 0 {
		opts = append(opts, nats.Timeout(c.ConnectTimeout))
	}
	if c.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	if c.NKeySeedFile != "" {
		o, err := nats.NkeyOptionFromSeed(c.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nats.nkey_seed_file: %w", err)
		}
		opts = append(opts, o)
	}
	if c.TLS.CAFile != "" {
		opts = append(opts, nats.RootCAs(c.TLS.CAFile))
	}
	if c.TLS.CertFile != "" {
		opts = append(opts, nats.ClientCert(c.TLS.CertFile, c.TLS.KeyFile))
	}
	if c.TLS != (config.TLSFiles{}) {
		opts = append(opts, nats.Secure())
	}
	return opts, nil
}

// NewJetStream is the JetStream handle on nc, in nats.jetstream_domain
// when one is set.
func NewJetStream(nc *nats.Conn, c config.NATS) (jetstream.JetStream, error) {
	if c.JetStreamDomain != "" {
		return jetstream.NewWithDomain(nc, c.JetStreamDomain)
	}
	return jetstream.New(nc)
}

// NewRedisClient builds the client redis.mode asks for from redis.url:
// one server (redis:// or rediss://), Sentinel (go-redis' failover URL,
// master_name=… and addr=… for more sentinels) or Cluster (go-redis'
// cluster URL, addr=… for more seed nodes), trusting redis.ca_file and
// presenting a client certificate when set. Errors never show the URL: it
// may hold a password.
func NewRedisClient(c config.Redis) (redis.UniversalClient, error) {
	tlsFor := func(base *tls.Config) (*tls.Config, error) {
		if c.CAFile == "" && c.CertFile == "" {
			return base, nil
		}
		if base == nil {
			return nil, errors.New("redis.ca_file and redis.cert_file need a rediss:// URL")
		}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("redis.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("redis.ca_file: %s holds no PEM certificate", c.CAFile)
			}
			base.RootCAs = pool
		}
		if c.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("redis.cert_file/key_file: %w", err)
			}
			base.Certificates = []tls.Certificate{cert}
		}
		return base, nil
	}
	hide := func(err error) error {
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("redis.url (%s): not a valid URL for redis.mode %s", redact.URL(c.URL), c.Mode)
		}
		return fmt.Errorf("redis.url (%s, mode %s): %w", redact.URL(c.URL), c.Mode, redact.Error(err, c.URL))
	}
	switch c.Mode {
	case config.RedisSentinel:
		o, err := redis.ParseFailoverURL(c.URL)
		if err != nil {
			return nil, hide(err)
		}
		if err := finishRedis(c, &o.TLSConfig, &o.PoolSize, tlsFor); err != nil {
			return nil, err
		}
		return redis.NewFailoverClient(o), nil
	case config.RedisCluster:
		o, err := redis.ParseClusterURL(c.URL)
		if err != nil {
			return nil, hide(err)
		}
		if err := finishRedis(c, &o.TLSConfig, &o.PoolSize, tlsFor); err != nil {
			return nil, err
		}
		return redis.NewClusterClient(o), nil
	case config.RedisStandalone, "":
		o, err := redis.ParseURL(c.URL)
		if err != nil {
			return nil, hide(err)
		}
		if err := finishRedis(c, &o.TLSConfig, &o.PoolSize, tlsFor); err != nil {
			return nil, err
		}
		return redis.NewClient(o), nil
	}
	return nil, fmt.Errorf("redis.mode: %q is not standalone, sentinel or cluster", c.Mode)
}

// finishRedis applies the TLS files and the pool size (unless the URL set
// one) to parsed options of any mode.
func finishRedis(c config.Redis, tlsConf **tls.Config, poolSize *int, tlsFor func(*tls.Config) (*tls.Config, error)) error {
	t, err := tlsFor(*tlsConf)
	if err != nil {
		return err
	}
	*tlsConf = t
	if *poolSize == 0 {
		*poolSize = c.PoolSize
	}
	return nil
}

// redisAddrs describes where a client connects, for the start-up banner
// (addresses only, never credentials).
func redisAddrs(rdb redis.UniversalClient) string {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().Addr
	case *redis.ClusterClient:
		return fmt.Sprintf("cluster %v", c.Options().Addrs)
	}
	return "sentinel"
}
