package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stepKind is what the fault proxy does with one request.
type stepKind int

const (
	// The zero stepKind (no step queued) forwards the request and its
	// answer unchanged.
	_ stepKind = iota
	// stepSlow waits delay, then forwards: Praxis slow inside the timeout.
	stepSlow
	// stepLostReply forwards (the effect happens), then closes the
	// connection without an answer.
	stepLostReply
	// stepUnsigned answers an unsigned error without forwarding:
	// {"status":status,"description":desc} with HTTP httpStatus, or a
	// plain-text body when status is 0.
	stepUnsigned
	// stepLate holds the request until the client gives up, then forwards
	// it after delay: Praxis processing after its client left.
	stepLate
	// stepHook runs hook, then forwards.
	stepHook
)

// step is one programmed answer of the fault proxy.
type step struct {
	kind       stepKind
	delay      time.Duration
	httpStatus int
	status     int
	desc       string
	hook       func()
}

var (
	genericError     = step{kind: stepUnsigned, httpStatus: http.StatusOK, status: 999, desc: "Generic Error"}
	agentAPIDisabled = step{kind: stepUnsigned, httpStatus: http.StatusForbidden, status: 403, desc: "Agent API disabled"}
	plain404         = step{kind: stepUnsigned, httpStatus: http.StatusNotFound, desc: "404 page not found"}
	fakeNotFound     = step{kind: stepUnsigned, httpStatus: http.StatusOK, status: 400, desc: "Transaction not found!"}
	lostReply        = step{kind: stepLostReply}
)

// randomFaults makes the proxy answer unprogrammed requests with random
// faults: each request draws once.
type randomFaults struct {
	SlowRate, LostRate, LateRate float64
	Slow                         time.Duration // upper bound of a slow answer's delay
	Late                         time.Duration // upper bound of a late forward's delay
}

// faultProxy stands between the worker and the simulator and answers as a
// real Praxis sometimes does. Steps are programmed per request key (the
// path plus the tid, withdrawal_request_id or order_id of the body), so
// concurrent commands each get their own script; a key with no step left
// passes (or draws from random). It counts what reached the simulator.
type faultProxy struct {
	t      testing.TB
	target string
	client *http.Client
	srv    *httptest.Server

	mu        sync.Mutex
	steps     map[string][]step
	forwarded map[string]int
	random    *randomFaults
	rng       *rand.Rand
	late      sync.WaitGroup
	// beforeEach, when set before the first request, runs at the start of
	// every request.
	beforeEach func()
	// history records, per key, what the proxy did and when.
	history map[string][]string
	born    time.Time
}

// what returns the proxy's history of key k, for failure messages.
func (p *faultProxy) what(k string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.history[k]...)
}

func (p *faultProxy) note(k, what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.history[k] = append(p.history[k], fmt.Sprintf("%v %s", time.Since(p.born).Round(time.Millisecond), what))
}

func newFaultProxy(t testing.TB, target string) *faultProxy {
	p := &faultProxy{t: t, target: target, client: &http.Client{}, steps: map[string][]step{}, forwarded: map[string]int{},
		rng: rand.New(rand.NewPCG(1, 2)), history: map[string][]string{}, born: time.Now()}
	p.srv = httptest.NewServer(p)
	t.Cleanup(func() {
		p.srv.Close()
		p.late.Wait() // late forwards finish before the simulator closes
	})
	return p
}

// key names a request: its path and the object it acts on.
func key(path string, ident any) string { return fmt.Sprintf("%s:%v", path, ident) }

func requestKey(path string, body []byte) string {
	var b struct {
		TID                 int64  `json:"tid"`
		WithdrawalRequestID int64  `json:"withdrawal_request_id"`
		OrderID             string `json:"order_id"`
	}
	_ = json.Unmarshal(body, &b)
	switch {
	case b.TID != 0:
		return key(path, b.TID)
	case b.WithdrawalRequestID != 0:
		return key(path, b.WithdrawalRequestID)
	}
	return key(path, b.OrderID)
}

// push programs the next answers for requests with key k.
func (p *faultProxy) push(k string, steps ...step) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.steps[k] = append(p.steps[k], steps...)
}

func (p *faultProxy) setRandom(r *randomFaults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.random = r
}

// sent is how many requests with key k reached the simulator.
func (p *faultProxy) sent(k string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.forwarded[k]
}

func (p *faultProxy) next(k string) step {
	p.mu.Lock()
	defer p.mu.Unlock()
	if q := p.steps[k]; len(q) > 0 {
		p.steps[k] = q[1:]
		return q[0]
	}
	if r := p.random; r != nil {
		x := p.rng.Float64()
		switch {
		case x < r.LostRate:
			return lostReply
		case x < r.LostRate+r.LateRate:
			return step{kind: stepLate, delay: time.Duration(p.rng.Int64N(int64(r.Late) + 1))}
		case x < r.LostRate+r.LateRate+r.SlowRate:
			return step{kind: stepSlow, delay: time.Duration(p.rng.Int64N(int64(r.Slow) + 1))}
		}
	}
	return step{}
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if p.beforeEach != nil {
		p.beforeEach()
	}
	k := requestKey(r.URL.Path, body)
	st := p.next(k)
	p.note(k, fmt.Sprintf("request: step %d delay %v", st.kind, st.delay))
	switch st.kind {
	case stepUnsigned:
		if st.status == 0 {
			http.Error(w, st.desc, st.httpStatus)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st.httpStatus)
		_, _ = fmt.Fprintf(w, `{"status":%d,"description":%q,"version":"1.3","timestamp":%d}`, st.status, st.desc, time.Now().Unix())
		return
	case stepLate:
		<-r.Context().Done() // the client gave up
		hdr := r.Header.Clone()
		p.late.Add(1)
		go func() {
			defer p.late.Done()
			time.Sleep(st.delay)
			if resp, err := p.forward(context.Background(), k, r.URL.Path, hdr, body); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		}()
		return
	case stepSlow:
		time.Sleep(st.delay) // processed even if the client gives up meanwhile, as Praxis would
	case stepHook:
		st.hook()
	}
	resp, err := p.forward(r.Context(), k, r.URL.Path, r.Header, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if st.kind == stepLostReply {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	for name, v := range resp.Header {
		w.Header()[name] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

func (p *faultProxy) forward(ctx context.Context, k, path string, hdr http.Header, body []byte) (*http.Response, error) {
	// Once a request has arrived, Praxis processes it whether or not its
	// client is still waiting: the forward is not cancelled with it.
	ctx = context.WithoutCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.target+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = hdr.Clone()
	// A request counts as reaching the simulator once it was written in
	// full.
	var wrote atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) { wrote.Store(info.Err == nil) },
	}))
	resp, err := p.client.Do(req)
	if wrote.Load() {
		p.mu.Lock()
		p.forwarded[k]++
		p.mu.Unlock()
	}
	p.note(k, fmt.Sprintf("forwarded (written %v): err %v", wrote.Load(), err))
	return resp, err
}
