// Package chaos is the fault-injection suite behind `make chaos`: a 3-node
// JetStream cluster (nats-server built from the module in go.mod, one
// process per node), Redis with AOF, two ingress and two worker processes
// of our binary and the simulator, under a bounded load while it kills -9
// or SIGSTOPs components; then it checks what a user relies on. It is a
// development tool, not part of the product, and not part of `make test`.
package chaos

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one child process the suite can kill, pause and restart.
type proc struct {
	name string
	bin  string
	args []string
	env  []string
	log  string // file receiving stdout and stderr

	mu  sync.Mutex
	cmd *exec.Cmd
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd = cmd
	go func() { _ = cmd.Wait(); _ = f.Close() }()
	return nil
}

func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(sig)
	}
}

// pid is the running process's id (0 before start).
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// kill is kill -9, and waits until the process is gone.
func (p *proc) kill() {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Kill()
	for i := 0; i < 200; i++ {
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func freePorts(n int) ([]int, error) {
	out := make([]int, 0, n)
	seen := map[int]bool{}
	for len(out) < n {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// natsNode is one nats-server of the cluster.
type natsNode struct {
	*proc
	serverName string
	client     int
	monitor    int
}

func (n *natsNode) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.client) }

// healthy: the node serves clients and its JetStream is current.
func (n *natsNode) healthy(ctx context.Context) error {
	return httpOK(ctx, fmt.Sprintf("http://127.0.0.1:%d/healthz", n.monitor))
}

func startNATSCluster(dir, bin string) ([]*natsNode, error) {
	ports, err := freePorts(9)
	if err != nil {
		return nil, err
	}
	var nodes []*natsNode
	for i := 0; i < 3; i++ {
		var routes []string
		for j := 0; j < 3; j++ {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[6+j]))
			}
		}
		name := fmt.Sprintf("n%d", i+1)
		sd := filepath.Join(dir, "nats-"+name)
		n := &natsNode{serverName: name, client: ports[i], monitor: ports[3+i], proc: &proc{name: "nats " + name, bin: bin,
			log: filepath.Join(dir, "nats-"+name+".log"),
			args: []string{"-n", name, "-a", "127.0.0.1", "-p", strconv.Itoa(ports[i]), "-m", strconv.Itoa(ports[3+i]),
				"-js", "-sd", sd, "--cluster_name", "chaos", "--cluster", fmt.Sprintf("nats://127.0.0.1:%d", ports[6+i]),
				"--routes", strings.Join(routes, ",")}}}
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		if err := n.start(); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, n := range nodes {
		if err := waitFor(ctx, n.healthy); err != nil {
			return nodes, fmt.Errorf("%s not healthy: %w (log %s)", n.name, err, n.log)
		}
	}
	return nodes, nil
}

// redisProc is Redis with an append-only file, restarted from it.
type redisProc struct {
	*proc
	port int
}

func (r *redisProc) url() string { return fmt.Sprintf("redis://127.0.0.1:%d", r.port) }

func startRedis(dir, bin string) (*redisProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	d := filepath.Join(dir, "redis")
	if err := os.MkdirAll(d, 0o750); err != nil {
		return nil, err
	}
	r := &redisProc{port: port, proc: &proc{name: "redis", bin: bin, log: filepath.Join(dir, "redis.log"),
		args: []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", d, "--appendonly", "yes",
			"--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction"}}}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

func httpOK(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return nil
}

// waitFor polls check until it succeeds or ctx ends.
func waitFor(ctx context.Context, check func(context.Context) error) error {
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sentinelSet is Redis with automatic failover: a primary and a replica
// (both with AOF) watched by three sentinels, master set "chaos".
type sentinelSet struct {
	data      []*redisProc // data[0] starts as the primary
	sentinels []*proc
	ports     []int // sentinel ports
}

const sentinelMaster = "chaos"

// url is go-redis' failover URL over the three sentinels.
func (s *sentinelSet) url() string {
	return fmt.Sprintf("redis://127.0.0.1:%d?master_name=%s&addr=127.0.0.1:%d&addr=127.0.0.1:%d", s.ports[0], sentinelMaster, s.ports[1], s.ports[2])
}

// startSentinel runs redis-server as the primary, a replica and three
// sentinels (redis-server --sentinel: no redis-sentinel binary needed).
func startSentinel(dir, bin string) (*sentinelSet, error) {
	ss := &sentinelSet{}
	for i := 0; i < 2; i++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		d := filepath.Join(dir, fmt.Sprintf("redis-%d", i))
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, err
		}
		args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", d, "--appendonly", "yes",
			"--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction"}
		if i == 1 {
			args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(ss.data[0].port))
		}
		r := &redisProc{port: port, proc: &proc{name: fmt.Sprintf("redis-%d", i), bin: bin, args: args,
			log: filepath.Join(dir, fmt.Sprintf("redis-%d.log", i))}}
		if err := r.start(); err != nil {
			return nil, err
		}
		ss.data = append(ss.data, r)
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	ss.ports = ports
	for i, port := range ports {
		conf := filepath.Join(dir, fmt.Sprintf("sentinel-%d.conf", i))
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\nsentinel monitor %s 127.0.0.1 %d 2\nsentinel down-after-milliseconds %s 2000\nsentinel failover-timeout %s 10000\n",
			port, sentinelMaster, ss.data[0].port, sentinelMaster, sentinelMaster)
		if err := os.WriteFile(conf, []byte(text), 0o640); err != nil {
			return nil, err
		}
		p := &proc{name: fmt.Sprintf("sentinel-%d", i), bin: bin, args: []string{conf, "--sentinel"},
			log: filepath.Join(dir, fmt.Sprintf("sentinel-%d.log", i))}
		if err := p.start(); err != nil {
			return nil, err
		}
		ss.sentinels = append(ss.sentinels, p)
	}
	return ss, nil
}

func (s *sentinelSet) kill() {
	for _, p := range s.sentinels {
		p.kill()
	}
	for _, r := range s.data {
		r.kill()
	}
}
