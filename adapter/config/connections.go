package config

import (
	"os"
	"strings"
	"time"
)

// validateConnections checks the NATS and Redis connection settings: files
// that must exist, pairs that go together, modes that exist. Messages name
// the field and never echo a URL (it may carry a password).
func (c *Config) validateConnections(add func(format string, args ...any)) {
	n := c.NATS
	fileExists := func(field, path string) {
		if path == "" {
			return
		}
		if _, err := os.Stat(path); err != nil {
			add("%s: %v", field, err)
		}
	}
	fileExists("nats.creds_file", n.CredsFile)
	fileExists("nats.nkey_seed_file", n.NKeySeedFile)
	fileExists("nats.tls.ca_file", n.TLS.CAFile)
	fileExists("nats.tls.cert_file", n.TLS.CertFile)
	fileExists("nats.tls.key_file", n.TLS.KeyFile)
	if n.CredsFile != "" && n.NKeySeedFile != "" {
		add("nats.nkey_seed_file: set creds_file or nkey_seed_file, not both")
	}
	if (n.TLS.CertFile == "") != (n.TLS.KeyFile == "") {
		add("nats.tls: cert_file and key_file go together (a client certificate and its key)")
	}
	if n.URL == "" && (n.CredsFile != "" || n.NKeySeedFile != "" || n.TLS != (TLSFiles{}) || n.JetStreamDomain != "") {
		add("nats: creds_file, nkey_seed_file, tls and jetstream_domain apply to an external NATS; set nats.url (NATS_URL) too")
	}
	if n.JetStreamDomain != "" && strings.ContainsAny(n.JetStreamDomain, " .*>") {
		add("nats.jetstream_domain: %q must be one token without spaces, dots or wildcards", n.JetStreamDomain)
	}
	if strings.ContainsAny(n.Name, "\r\n") || n.Name == "" {
		add("nats.name: must be one line of text")
	}
	if n.PingInterval < 100*time.Millisecond {
		add("nats.ping_interval: %v is too short (default 2s)", n.PingInterval)
	}
	if n.MaxPingsOutstanding < 1 {
		add("nats.max_pings_outstanding: %d must be at least 1 (default 2)", n.MaxPingsOutstanding)
	}
	if n.ReconnectWait < 10*time.Millisecond {
		add("nats.reconnect_wait: %v is too short (default 250ms)", n.ReconnectWait)
	}
	if n.ConnectTimeout < 100*time.Millisecond {
		add("nats.connect_timeout: %v is too short (default 5s)", n.ConnectTimeout)
	}

	r := c.Redis
	switch r.Mode {
	case RedisStandalone, RedisSentinel, RedisCluster:
	default:
		add("redis.mode: %q is not standalone, sentinel or cluster", r.Mode)
	}
	fileExists("redis.ca_file", r.CAFile)
	fileExists("redis.cert_file", r.CertFile)
	fileExists("redis.key_file", r.KeyFile)
	if (r.CertFile == "") != (r.KeyFile == "") {
		add("redis: cert_file and key_file go together (a client certificate and its key)")
	}
	if r.URL == "" && (r.CAFile != "" || r.CertFile != "" || r.Mode != RedisStandalone) {
		add("redis: mode, ca_file, cert_file and key_file apply to an external Redis; set redis.url (REDIS_URL) too")
	}
	if r.PoolSize < 1 {
		add("redis.pool_size: %d must be at least 1 (default 256)", r.PoolSize)
	}
}
