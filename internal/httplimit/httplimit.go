// Package httplimit bounds what clients can hold on one HTTP listener
// before any of them is authenticated: open connections (the longest-idle
// one is closed to make room, or the newcomer is answered 503), requests
// being served (503 with Retry-After beyond the cap), and the timeouts and
// header size of net/http. Memory then stays bounded whatever arrives,
// instead of growing with every slow or idle client.
package httplimit

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Limits are one listener's bounds.
type Limits struct {
	MaxConnections        int
	MaxConcurrentRequests int
	ReadHeaderTimeout     time.Duration
	ReadTimeout           time.Duration
	WriteTimeout          time.Duration
	IdleTimeout           time.Duration
	MaxHeaderBytes        int
	// RetryAfter is the Retry-After of a shed request (default 5s).
	RetryAfter time.Duration
	// ShedBody is the body of a shed answer (default: a Praxis-style
	// envelope with status -1, which makes Praxis resend).
	ShedBody []byte
	// ShedContentType goes with ShedBody.
	ShedContentType string
}

// Metrics are the listeners' series; the `listener` label is a fixed name
// per listener (webhook, admin), `reason` one of connections, requests.
type Metrics struct {
	Shed        *prometheus.CounterVec
	IdleClosed  *prometheus.CounterVec
	Connections *prometheus.GaugeVec
	InFlight    *prometheus.GaugeVec
}

// NewMetrics registers the listener metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_http_shed_total",
			Help: "Connections or requests answered 503 (Retry-After) because the listener was at its cap, by listener and reason (connections, requests).",
		}, []string{"listener", "reason"}),
		IdleClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "praxis_http_idle_closed_total",
			Help: "Idle or header-less connections closed to make room for a new one at max_connections.",
		}, []string{"listener"}),
		Connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "praxis_http_connections",
			Help: "Open connections by listener.",
		}, []string{"listener"}),
		InFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "praxis_http_requests_in_flight",
			Help: "Requests being served by listener.",
		}, []string{"listener"}),
	}
	reg.MustRegister(m.Shed, m.IdleClosed, m.Connections, m.InFlight)
	return m
}

// Server returns an http.Server for h bounded by l, and the listener to
// serve it on (ln wrapped so connections are capped). name is the metric
// label of this listener.
func Server(name string, ln net.Listener, h http.Handler, l Limits, m *Metrics) (*http.Server, net.Listener) {
	if l.RetryAfter <= 0 {
		l.RetryAfter = 5 * time.Second
	}
	if l.ShedBody == nil {
		l.ShedBody = []byte(`{"status":-1,"description":"Service overloaded; resend later","version":"1.3","timestamp":0}`)
		l.ShedContentType = "application/json; charset=utf-8"
	}
	t := &tracker{limits: l, name: name, metrics: m, conns: make(map[net.Conn]*connState)}
	if m != nil {
		t.connGauge = m.Connections.WithLabelValues(name)
		t.flightGauge = m.InFlight.WithLabelValues(name)
		t.shedConns = m.Shed.WithLabelValues(name, "connections")
		t.shedReqs = m.Shed.WithLabelValues(name, "requests")
		t.idleClosed = m.IdleClosed.WithLabelValues(name)
	}
	if l.MaxConcurrentRequests > 0 {
		t.slots = make(chan struct{}, l.MaxConcurrentRequests)
	}
	srv := &http.Server{
		Handler:           t.handler(h),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ConnState:         t.connState,
	}
	return srv, &listener{Listener: ln, t: t}
}

// connState is what the tracker knows of one connection.
type connState struct {
	active bool      // a request is being served
	since  time.Time // when it became idle (or was accepted)
}

// tracker counts connections and requests of one listener.
type tracker struct {
	limits  Limits
	name    string
	metrics *Metrics

	mu    sync.Mutex
	conns map[net.Conn]*connState
	slots chan struct{}

	connGauge, flightGauge          prometheus.Gauge
	shedConns, shedReqs, idleClosed prometheus.Counter
}

// listener caps the connections of a tracker.
type listener struct {
	net.Listener
	t *tracker
}

// Accept admits a connection: within the cap it is tracked; at the cap
// the longest-idle connection (one without a request in progress: idle
// keep-alive, or still sending its headers) is closed to make room; if
// every connection is serving a request, the newcomer is answered 503
// and closed.
func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.t.admit(c) {
			return c, nil
		}
	}
}

func (t *tracker) admit(c net.Conn) bool {
	max := t.limits.MaxConnections
	t.mu.Lock()
	var victim net.Conn
	if max > 0 && len(t.conns) >= max {
		var oldest time.Time
		for vc, st := range t.conns {
			if !st.active && (victim == nil || st.since.Before(oldest)) {
				victim, oldest = vc, st.since
			}
		}
		if victim == nil {
			t.mu.Unlock()
			t.shed(c)
			return false
		}
		// Forget it now, so the room is ours; its StateClosed is a no-op.
		delete(t.conns, victim)
	}
	t.conns[c] = &connState{since: time.Now()}
	t.mu.Unlock()
	if victim != nil {
		_ = victim.Close()
		if t.idleClosed != nil {
			t.idleClosed.Inc()
			t.connGauge.Dec()
		}
	}
	if t.connGauge != nil {
		t.connGauge.Inc()
	}
	return true
}

// shed answers a connection the listener has no room for and closes it.
func (t *tracker) shed(c net.Conn) {
	if t.shedConns != nil {
		t.shedConns.Inc()
	}
	go func() {
		_ = c.SetDeadline(time.Now().Add(time.Second))
		_, _ = c.Write(t.rawShed())
		_ = c.Close()
	}()
}

func (t *tracker) rawShed() []byte {
	b := []byte("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: ")
	b = strconv.AppendInt(b, int64(t.limits.RetryAfter/time.Second), 10)
	b = append(b, "\r\nContent-Type: "...)
	b = append(b, t.limits.ShedContentType...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(t.limits.ShedBody)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, t.limits.ShedBody...)
}

// connState follows net/http's view of each connection. A connection is
// active from the end of its request headers to the end of its answer.
func (t *tracker) connState(c net.Conn, s http.ConnState) {
	t.mu.Lock()
	st, ok := t.conns[c]
	switch s {
	case http.StateActive:
		if ok {
			st.active = true
		}
	case http.StateIdle:
		if ok {
			st.active, st.since = false, time.Now()
		}
	case http.StateClosed, http.StateHijacked:
		delete(t.conns, c)
	}
	t.mu.Unlock()
	if ok && (s == http.StateClosed || s == http.StateHijacked) && t.connGauge != nil {
		t.connGauge.Dec()
	}
}

// handler caps the requests being served; beyond the cap it answers 503
// with Retry-After at once, reading nothing.
func (t *tracker) handler(h http.Handler) http.Handler {
	if t.slots == nil {
		return h
	}
	retry := strconv.Itoa(int(t.limits.RetryAfter / time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case t.slots <- struct{}{}:
		default:
			if t.shedReqs != nil {
				t.shedReqs.Inc()
			}
			hd := w.Header()
			hd.Set("Retry-After", retry)
			hd.Set("Content-Type", t.limits.ShedContentType)
			hd.Set("Connection", "close")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write(t.limits.ShedBody)
			return
		}
		if t.flightGauge != nil {
			t.flightGauge.Inc()
		}
		defer func() {
			<-t.slots
			if t.flightGauge != nil {
				t.flightGauge.Dec()
			}
		}()
		h.ServeHTTP(w, r)
	})
}
