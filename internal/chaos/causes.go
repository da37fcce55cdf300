package chaos

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// The per-fault figures of issue 13's causes 4-6, measured from outside
// the adapter so old and new binaries give the same figures:
//   - cause 5 (clients stay on a stalled node): what the ingress whose NATS
//     node is paused answers to probes (pause.go);
//   - cause 4 (the ledger's fetch loop spins): the workers' ledger fetch
//     warnings per second (their JSON logs) and, where the binary has it,
//     praxis_ledger_fetch_errors_total per second (fetchloop.go);
//   - cause 6 (commands in flight on a killed worker wait the claim TTL):
//     the time from the kill to the result of each command the killed
//     worker held, seen by copying the workers' command deliveries (here).

// delivery is one command message of the commands stream as the workers
// received it: each delivery's time and delivery count.
type delivery struct {
	id     string
	times  []time.Time
	counts []uint64
}

// causeLog collects what the per-cause figures need during the load.
type causeLog struct {
	mu         sync.Mutex
	answers    []answer
	deliveries map[uint64]*delivery // by commands stream sequence
	// fetchErrors are the workers' praxis_ledger_fetch_errors_total
	// increments per second (Unix second); nil when no binary exports it.
	fetchErrors map[int64]float64
}

func newCauseLog() *causeLog {
	return &causeLog{deliveries: map[uint64]*delivery{}}
}

func (c *causeLog) addAnswer(a answer) {
	c.mu.Lock()
	c.answers = append(c.answers, a)
	c.mu.Unlock()
}

// watchDeliveries copies every command delivery the workers receive: a
// pull consumer delivers to the puller's _INBOX subject, which this
// connection can also subscribe to (one account, no permissions).
func (s *suite) watchDeliveries() (*nats.Subscription, error) {
	return s.nc.Subscribe("_INBOX.>", func(m *nats.Msg) {
		if !strings.HasPrefix(m.Reply, "$JS.ACK.") {
			return
		}
		md, err := m.Metadata()
		if err != nil || md.Stream != subjects.StreamCommands {
			return
		}
		var cmd struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(m.Data, &cmd)
		now := time.Now()
		s.causes.mu.Lock()
		defer s.causes.mu.Unlock()
		d := s.causes.deliveries[md.Sequence.Stream]
		if d == nil {
			d = &delivery{id: cmd.ID}
			s.causes.deliveries[md.Sequence.Stream] = d
		}
		d.times = append(d.times, now)
		d.counts = append(d.counts, md.NumDelivered)
	})
}

// causeFigures are one fault's figures for causes 4-6, as table cells.
type causeFigures struct {
	ingress, ledger, inFlight string
}

// figures computes f's cells: end closes its window (the next fault, at
// most 30 s later); firstResult is each command id's first result time.
func (s *suite) figures(f faultRecord, end time.Time, firstResult map[string]time.Time) causeFigures {
	c := s.causes
	c.mu.Lock()
	defer c.mu.Unlock()
	out := causeFigures{ingress: "—", ledger: s.ledgerFigure(f.at, end), inFlight: "—"}
	if f.ingress >= 0 {
		// The probes sent from the pause on: the seconds (since the pause)
		// with a -1, and when the first probe sent after the pause was
		// answered 0.
		secs := map[int]bool{}
		sent, minus1, first0 := 0, 0, time.Duration(-1)
		for _, a := range c.answers {
			if !a.probe || a.ingress != f.ingress || a.sent.Before(f.at) || !a.sent.Before(f.at.Add(probeTime)) {
				continue
			}
			sent++
			if !a.ok {
				minus1++
				secs[int(a.at.Sub(f.at)/time.Second)] = true
			} else if first0 < 0 || a.at.Sub(f.at) < first0 {
				first0 = a.at.Sub(f.at)
			}
		}
		out.ingress = fmt.Sprintf("-1 in %d s (%d of %d probes), first 0 after %s", len(secs), minus1, sent, seconds(first0))
	}
	if f.kind == "worker-kill" {
		var waits []time.Duration
		noResult := 0
		for _, d := range c.deliveries {
			before, redelivered := false, false
			for k, t := range d.times {
				if t.Before(f.at) {
					before = true
				} else if before && k > 0 && d.counts[k] > d.counts[k-1] && t.Before(f.at.Add(3*time.Minute)) {
					redelivered = true
				}
			}
			if !before || !redelivered {
				continue
			}
			r, ok := firstResult[d.id]
			switch {
			case !ok:
				noResult++
			case r.Before(f.at): // finished before the kill; redelivered for another reason
			default:
				waits = append(waits, r.Sub(f.at))
			}
		}
		sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
		switch {
		case len(waits) == 0:
			out.inFlight = fmt.Sprintf("none (%d without result)", noResult)
		default:
			out.inFlight = fmt.Sprintf("%d: p50 %.1fs, max %.1fs", len(waits), waits[len(waits)/2].Seconds(), waits[len(waits)-1].Seconds())
			if noResult > 0 {
				out.inFlight += fmt.Sprintf(", %d without result", noResult)
			}
		}
	}
	return out
}

func seconds(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}
