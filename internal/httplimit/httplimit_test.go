package httplimit

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

// serve starts a bounded server whose handler blocks while block is open
// (for paths under /block).
func serve(t *testing.T, l Limits, block chan struct{}) (string, *Metrics) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	m := NewMetrics(prometheus.NewRegistry())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/block") {
			<-block
		}
		_, _ = io.WriteString(w, "ok")
	})
	srv, bln := Server("webhook", ln, h, l, m)
	go func() { _ = srv.Serve(bln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), m
}

type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

// get sends a keep-alive GET and reads the answer.
func (c *rawConn) get(t *testing.T, path string) *http.Response {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	require.NoError(t, err)
	resp, err := http.ReadResponse(c.r, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func TestIdleConnectionsMakeRoom(t *testing.T) {
	addr, m := serve(t, Limits{MaxConnections: 2, MaxConcurrentRequests: 10, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}, nil)
	a, b := dial(t, addr), dial(t, addr)
	assert.Equal(t, 200, a.get(t, "/").StatusCode)
	assert.Equal(t, 200, b.get(t, "/").StatusCode)
	// A third connection closes an idle one (the longest idle as the server
	// saw it: net/http may report a's idleness after b's under load, so the
	// test does not insist on which) and is served.
	c := dial(t, addr)
	assert.Equal(t, 200, c.get(t, "/").StatusCode)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.IdleClosed.WithLabelValues("webhook")))
	closed, served := 0, 0
	for _, x := range []*rawConn{a, b} {
		_ = x.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := fmt.Fprintf(x, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			closed++
			continue
		}
		resp, err := http.ReadResponse(x.r, nil)
		if err != nil {
			closed++
			continue
		}
		_ = resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
		served++
	}
	assert.Equal(t, 1, closed, "exactly one idle connection was closed to make room")
	assert.Equal(t, 1, served, "the other idle one still works")
}

func TestBusyConnectionsShedNewcomers(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	addr, m := serve(t, Limits{MaxConnections: 2, MaxConcurrentRequests: 10, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}, block)
	for i := 0; i < 2; i++ {
		c := dial(t, addr)
		_, err := fmt.Fprintf(c, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
	}
	tu.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
		if n := testutil.ToFloat64(m.InFlight.WithLabelValues("webhook")); n != 2 {
			return fmt.Errorf("%v in flight", n)
		}
		return nil
	})
	c := dial(t, addr)
	resp, err := http.ReadResponse(c.r, nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "5", resp.Header.Get("Retry-After"))
	assert.Contains(t, string(body), `"status":-1`, "Praxis resends on status -1")
	assert.Equal(t, 1.0, testutil.ToFloat64(m.Shed.WithLabelValues("webhook", "connections")))
}

func TestRequestCapSheds(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	addr, m := serve(t, Limits{MaxConnections: 10, MaxConcurrentRequests: 1, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}, block)
	a := dial(t, addr)
	_, err := fmt.Fprintf(a, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	tu.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
		if n := testutil.ToFloat64(m.InFlight.WithLabelValues("webhook")); n != 1 {
			return fmt.Errorf("%v in flight", n)
		}
		return nil
	})
	resp := dial(t, addr).get(t, "/")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "5", resp.Header.Get("Retry-After"))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.Shed.WithLabelValues("webhook", "requests")))
}

// TestSlowBodyIsCut: a body that trickles is cut at read_timeout, so a
// slow client holds its request slot and buffer for a bounded time.
func TestSlowBodyIsCut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	read := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.Copy(io.Discard, r.Body)
		read <- err
	})
	srv, bln := Server("webhook", ln, h, Limits{MaxConnections: 10, MaxConcurrentRequests: 10,
		ReadHeaderTimeout: time.Second, ReadTimeout: 300 * time.Millisecond, IdleTimeout: time.Minute}, nil)
	go func() { _ = srv.Serve(bln) }()
	t.Cleanup(func() { _ = srv.Close() })
	c := dial(t, ln.Addr().String())
	_, err = fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n")
	require.NoError(t, err)
	start := time.Now()
	select {
	case err := <-read:
		assert.Error(t, err, "the body read fails at the deadline")
		assert.Less(t, time.Since(start), 3*time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("a never-finished body was not cut by read_timeout")
	}
}
