package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// The ingress-node-pause fault (issue 13, cause 5): which node an ingress
// is connected to, and probes that show what that ingress answers while
// its node is paused.

// answer is one webhook delivery as the sender saw it.
type answer struct {
	ingress  int // index in suite.ingress
	sent, at time.Time
	ok       bool // answered status 0
	probe    bool // sent by probe, not the load
}

// probeTime is how long a probe sends to the paused node's ingress.
const probeTime = 25 * time.Second

// probe sends a fresh notification to ingress i every 200 ms for d and
// records each answer. The load cannot show when that ingress answers 0
// again: after a -1 its senders wait out the resend delay. The probes'
// deposits are not among the checked ones (a probe answered -1 is not
// resent).
func (s *suite) probe(ctx context.Context, i int, d time.Duration) {
	client := &http.Client{Timeout: 10 * time.Second}
	lists := praxis.DefaultLists().Get(praxis.ListNotificationRequest)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for end := time.Now().Add(d); time.Now().Before(end); {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		tid := s.probeTID.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := notificationBody(tid, s.ts)
			sig, _ := lists.Sign(body, secret)
			sent := time.Now()
			ok, _ := postNotification(ctx, client, s.ingress[i].addr, body, sig.String())
			s.causes.addAnswer(answer{ingress: i, sent: sent, at: time.Now(), ok: ok, probe: true})
		}()
	}
}

// nodeOf is the NATS node most of pid's TCP connections go to, read from
// /proc (its socket inodes, then their remote ports). A connection's name
// on the nodes' /connz would not do: binaries before nats.name named every
// ingress connection alike.
func (s *suite) nodeOf(pid int) (*natsNode, error) {
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if ino, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	count := map[*natsNode]int{}
	for _, table := range []string{"tcp", "tcp6"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "01" || !inodes[f[9]] { // 01: established
				continue
			}
			_, portHex, _ := strings.Cut(f[2], ":")
			port, err := strconv.ParseInt(portHex, 16, 32)
			if err != nil {
				continue
			}
			for _, n := range s.nodes {
				if n.client == int(port) {
					count[n]++
				}
			}
		}
	}
	var best *natsNode
	for n, c := range count {
		if best == nil || c > count[best] || (c == count[best] && n.serverName < best.serverName) {
			best = n
		}
	}
	if best == nil {
		return nil, fmt.Errorf("pid %d has no connection to a NATS node", pid)
	}
	return best, nil
}

// pickIngressNode chooses an ingress and the node it is connected to,
// preferring one whose node does not lead the events stream, so the pause
// shows the client's failover alone, not a leader election.
func (s *suite) pickIngressNode(ctx context.Context, rnd *rand.Rand) (int, *natsNode, error) {
	leader := s.pickNode(ctx, true)
	first := rnd.IntN(len(s.ingress))
	var fallback *natsNode
	fallbackIdx := -1
	for k := range s.ingress {
		i := (first + k) % len(s.ingress)
		n, err := s.nodeOf(s.ingress[i].pid())
		if err != nil {
			continue
		}
		if n != leader {
			return i, n, nil
		}
		if fallback == nil {
			fallback, fallbackIdx = n, i
		}
	}
	if fallback == nil {
		return -1, nil, fmt.Errorf("no ingress is connected to a NATS node")
	}
	// Every ingress is on the leader: move the leadership away first
	// (the stream's leader step-down), so the pause still shows only the
	// client's failover.
	if _, err := s.nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+subjects.StreamEvents, nil, 5*time.Second); err == nil {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && s.pickNode(ctx, true) == fallback; {
			time.Sleep(200 * time.Millisecond)
		}
	}
	return fallbackIdx, fallback, nil
}
