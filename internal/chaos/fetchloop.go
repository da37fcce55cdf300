package chaos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// The ledger's fetch loop under a leader kill (issue 13, cause 4): the
// kill takes the ledger consumer's leader too, and the workers' fetch
// warnings and errors are counted per second.

// sampleFetchErrors reads praxis_ledger_fetch_errors_total from each
// worker's admin listener once a second until ctx ends.
func (s *suite) sampleFetchErrors(ctx context.Context) {
	last := map[string]float64{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			for _, w := range s.workers {
				v, ok := metricValue(ctx, "http://"+w.addr+"/metrics", "praxis_ledger_fetch_errors_total")
				if !ok {
					continue
				}
				d := v - last[w.name]
				if d < 0 { // the worker restarted: its counter began again
					d = v
				}
				last[w.name] = v
				s.causes.mu.Lock()
				if s.causes.fetchErrors == nil {
					s.causes.fetchErrors = map[int64]float64{}
				}
				s.causes.fetchErrors[now.Unix()] += d
				s.causes.mu.Unlock()
			}
		}
	}
}

// metricValue is an unlabelled metric's value in a Prometheus text page.
func metricValue(ctx context.Context, url, name string) (float64, bool) {
	ctx, cancel := context.WithTimeout(ctx, 900*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// ledgerFigure is the workers' ledger fetch warnings in [from, end): the
// peak per second and the total, and the fetch errors' peak per second
// where the binary counts them (praxis_ledger_fetch_errors_total; the
// fixed ledger logs only the first and every 20th failure in a row).
func (s *suite) ledgerFigure(from, end time.Time) string {
	perSec := map[int64]int{}
	total := 0
	for _, w := range s.workers {
		data, err := os.ReadFile(w.log)
		if err != nil {
			continue
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			if !bytes.Contains(line, []byte(`"message":"fetch `)) {
				continue
			}
			var e struct {
				Time    time.Time `json:"time"`
				Message string    `json:"message"`
			}
			if json.Unmarshal(line, &e) != nil || (e.Message != "fetch events" && e.Message != "fetch decisions") {
				continue
			}
			sec := e.Time.Unix()
			if sec < from.Unix() || !e.Time.Before(end) {
				continue
			}
			perSec[sec]++
			total++
		}
	}
	peak := 0
	for _, n := range perSec {
		peak = max(peak, n)
	}
	out := fmt.Sprintf("%d/s (%d)", peak, total)
	if s.causes.fetchErrors != nil {
		errPeak := 0.0
		for sec, n := range s.causes.fetchErrors {
			if sec >= from.Unix() && sec <= end.Unix() {
				errPeak = max(errPeak, n)
			}
		}
		out += fmt.Sprintf("; errors %.0f/s", errPeak)
	}
	return out
}

// ledgerConsumerTo moves the leadership of the ledger's consumer on the
// events stream to node n (a step-down with n preferred), so the kill of
// the stream's leader also takes the consumer's leader: the election in
// which issue 13 saw the ledger's fetch loop spin (cause 4). It says why
// when n does not lead the consumer afterwards.
func (s *suite) ledgerConsumerTo(ctx context.Context, n *natsNode) error {
	leader := func() string {
		c, err := s.js.Consumer(ctx, subjects.StreamEvents, subjects.ConsumerLedger)
		if err != nil {
			return "unknown: " + err.Error()
		}
		info, err := c.Info(ctx)
		if err != nil || info.Cluster == nil {
			return fmt.Sprintf("unknown (%v)", err)
		}
		return info.Cluster.Leader
	}
	if leader() == n.serverName {
		return nil
	}
	body := fmt.Sprintf(`{"placement":{"preferred":%q}}`, n.serverName)
	msg, err := s.nc.Request("$JS.API.CONSUMER.LEADER.STEPDOWN."+subjects.StreamEvents+"."+subjects.ConsumerLedger, []byte(body), 5*time.Second)
	if err != nil {
		return fmt.Errorf("step-down: %w", err)
	}
	var resp struct {
		Error *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if json.Unmarshal(msg.Data, &resp) == nil && resp.Error != nil {
		return fmt.Errorf("step-down: %s", resp.Error.Description)
	}
	last := ""
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if last = leader(); last == n.serverName {
			return nil
		}
	}
	return fmt.Errorf("after the step-down the leader is %s", last)
}
