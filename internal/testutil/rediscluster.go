package testutil

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServerBin is where tests look for redis-server (PATH first).
func RedisServerBin() string {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	return "/usr/bin/redis-server"
}

// requireRedisServer returns redis-server's path, or skips the test (fails
// it under CI) when it is not installed.
func requireRedisServer(t testing.TB, what string) string {
	t.Helper()
	bin := RedisServerBin()
	if _, err := os.Stat(bin); err != nil {
		msg := fmt.Sprintf("redis-server is not installed; the %s test needs it", what)
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (CI is set)", msg)
		}
		t.Skip(msg)
	}
	return bin
}

// RedisCluster starts a 3-primary Redis Cluster from redis-server as child
// processes in a temp dir and returns a go-redis cluster URL for it
// (redis://a?addr=b&addr=c). Without redis-server the test is skipped,
// except under CI, where it fails.
func RedisCluster(t testing.TB) string {
	t.Helper()
	bin := requireRedisServer(t, "Redis Cluster")
	dir := t.TempDir()
	var addrs []string
	for i := range 3 {
		port := freeClusterPort(t)
		d := filepath.Join(dir, strconv.Itoa(i))
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(d, "nodes.conf"), "--dir", d, "--save", "", "--appendonly", "no",
			"--cluster-node-timeout", "2000")
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", port))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		Eventually(t, 10*time.Second, 20*time.Millisecond, func() error { return c.Ping(ctx).Err() })
		_ = c.Close()
	}
	// Assign the 16384 slots evenly and introduce the nodes to each other.
	per := 16384 / len(addrs)
	for i, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		lo, hi := i*per, (i+1)*per-1
		if i == len(addrs)-1 {
			hi = 16383
		}
		if err := c.ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			t.Fatalf("cluster addslots on %s: %v", a, err)
		}
		if i > 0 {
			host, port, _ := net.SplitHostPort(addrs[0])
			p, _ := strconv.Atoi(port)
			if err := c.ClusterMeet(ctx, host, strconv.Itoa(p)).Err(); err != nil {
				t.Fatalf("cluster meet: %v", err)
			}
		}
		_ = c.Close()
	}
	Eventually(t, 20*time.Second, 50*time.Millisecond, func() error {
		for _, a := range addrs {
			c := redis.NewClient(&redis.Options{Addr: a})
			info, err := c.ClusterInfo(ctx).Result()
			_ = c.Close()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_state:ok") {
				return fmt.Errorf("%s: cluster not ok yet", a)
			}
		}
		return nil
	})
	return "redis://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]
}

// freeClusterPort picks a free port whose cluster bus port (+10000) is
// free too.
func freeClusterPort(t testing.TB) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if port+10000 > 65535 {
			continue
		}
		bus, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+10000))
		if err != nil {
			continue
		}
		_ = bus.Close()
		return port
	}
	t.Fatal("no free port pair for a Redis Cluster node")
	return 0
}

// RedisSentinel starts a Redis primary and one sentinel watching it
// (redis-server --sentinel, master set "testmaster") and returns a go-redis
// failover URL for it. Skipped without redis-server, except under CI.
func RedisSentinel(t testing.TB) string {
	t.Helper()
	bin := requireRedisServer(t, "Redis Sentinel")
	dir := t.TempDir()
	start := func(args ...string) {
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	primary := freeClusterPort(t)
	start("--port", strconv.Itoa(primary), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no")
	sentinel := freeClusterPort(t)
	conf := filepath.Join(dir, "sentinel.conf")
	text := fmt.Sprintf("port %d\nbind 127.0.0.1\nsentinel monitor testmaster 127.0.0.1 %d 1\n", sentinel, primary)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	start(conf, "--sentinel")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sc := redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", sentinel), MaxRetries: -1})
	defer sc.Close()
	Eventually(t, 15*time.Second, 50*time.Millisecond, func() error {
		_, err := sc.GetMasterAddrByName(ctx, "testmaster").Result()
		return err
	})
	return fmt.Sprintf("redis://127.0.0.1:%d?master_name=testmaster", sentinel)
}
