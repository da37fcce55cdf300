// Package testutil starts the real dependencies tests need, in-process where
// possible: an embedded NATS server with JetStream on a random port and a
// temporary store, and a Redis client for REDIS_URL. Tests wait on
// conditions with Eventually instead of sleeping.
package testutil

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

// NATS starts an embedded JetStream server on a random loopback port with
// its store in a temp dir; it shuts down when the test ends.
func NATS(t testing.TB) *server.Server {
	t.Helper()
	return NATSAt(t, t.TempDir())
}

// NATSAt starts an embedded JetStream server storing in dir, so a test can
// restart a server on the same data (crash tests).
func NATSAt(t testing.TB, dir string) *server.Server {
	t.Helper()
	return startNATS(t, dir, server.RANDOM_PORT)
}

// Stopped is a shut-down embedded server that can be started again on the
// same port with the same JetStream store: an outage, or a crash.
type Stopped struct {
	Port int
	Dir  string
}

// StopNATS shuts srv down, as in an outage.
func StopNATS(t testing.TB, srv *server.Server) Stopped {
	t.Helper()
	st := Stopped{Port: srv.Addr().(*net.TCPAddr).Port, Dir: srv.JetStreamConfig().StoreDir}
	srv.Shutdown()
	srv.WaitForShutdown()
	return st
}

// Start brings the stopped server back; clients with reconnect enabled
// reconnect on their own.
func (s Stopped) Start(t testing.TB) *server.Server {
	t.Helper()
	return startNATS(t, s.Dir, s.Port)
}

func startNATS(t testing.TB, dir string, port int) *server.Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      port,
		JetStream: true,
		StoreDir:  dir,
		NoLog:     true,
		NoSigs:    true,
	})
	if err != nil {
		t.Fatalf("start embedded NATS: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatalf("embedded NATS not ready after 10s")
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

// Connect opens a client connection to srv, closed when the test ends.
func Connect(t testing.TB, srv *server.Server, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("connect to embedded NATS: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// JetStream starts a server and returns a connection and its JetStream API.
func JetStream(t testing.TB) (*server.Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	srv := NATS(t)
	nc := Connect(t, srv)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return srv, nc, js
}

// RedisURL is REDIS_URL, or the local default.
func RedisURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379"
}

// Redis returns a client for REDIS_URL. When Redis cannot be reached the
// test is skipped with a clear message, except under CI (CI set), where
// Redis tests must run and the test fails instead.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("REDIS_URL %q: %v", RedisURL(), err)
	}
	// Probe once, without go-redis' dial retries, so a machine without
	// Redis skips quickly.
	probeOpts := *opts
	probeOpts.MaxRetries = -1
	probeOpts.DialTimeout = time.Second
	probe := redis.NewClient(&probeOpts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = probe.Ping(ctx).Err()
	_ = probe.Close()
	rdb := redis.NewClient(opts)
	if err != nil {
		_ = rdb.Close()
		msg := fmt.Sprintf("Redis at %s is not reachable (%v); start one or set REDIS_URL", RedisURL(), err)
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (CI is set, so Redis tests must run)", msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Eventually calls check every interval until it returns nil or total
// elapses, then fails the test with check's last error (nats-server's
// checkFor). It never sleeps longer than needed.
func Eventually(t testing.TB, total, interval time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	var err error
	for {
		if err = check(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", total, err)
		}
		time.Sleep(interval)
	}
}

// Prefix returns a unique key prefix for a test, so tests sharing one Redis
// never see each other's keys, and deletes the test's keys when it ends
// (best effort: without Redis there is nothing to delete).
func Prefix(t testing.TB) string {
	p := fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano())
	t.Cleanup(func() { DeleteRedisKeys(RedisURL(), p) })
	return p
}

// DeleteRedisKeys removes every key under prefix from the Redis at url.
func DeleteRedisKeys(url, prefix string) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return
	}
	opts.MaxRetries = -1
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var batch []string
	iter := rdb.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 1000 {
			rdb.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		rdb.Unlink(ctx, batch...)
	}
}

// globEscape escapes the characters SCAN MATCH treats specially.
func globEscape(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(out)
}
