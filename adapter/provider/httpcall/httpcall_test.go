package httpcall

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/provider"
)

func TestCallReportsWhatCameBack(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		maxBody  int
		status   int
		body     string
		tooLarge bool
		desc     string
	}{
		{"whole body", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "hello")
		}, 16, 200, "hello", false, ""},
		{"body at the bound", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "12345678")
		}, 8, 200, "12345678", false, ""},
		{"body over the bound", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "123456789")
		}, 8, 200, "12345678", true, "response larger than 8 bytes"},
		{"error status", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTeapot)
			_, _ = io.WriteString(w, "no")
		}, 16, 418, "no", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			c := NewClient(Config{Timeout: time.Second, MaxBody: tc.maxBody})
			cl, err := c.NewCall(t.Context(), http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			defer cl.Close()
			resp, err := cl.Do()
			require.NoError(t, err)
			assert.True(t, cl.Sent())
			assert.Equal(t, tc.status, resp.Status)
			assert.Equal(t, tc.body, string(resp.Body))
			assert.Equal(t, tc.tooLarge, resp.TooLarge)
			desc, cut := resp.Incomplete()
			assert.Equal(t, tc.desc != "", cut)
			assert.Equal(t, tc.desc, desc)
		})
	}
}

func TestCallSendsHeadersAndBeforeSend(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		assert.Equal(t, "payload", string(b))
		assert.Equal(t, "v", r.Header.Get("X-Set"))
		assert.Equal(t, "trace", r.Header.Get("X-Before"))
	}))
	defer srv.Close()
	c := NewClient(Config{Timeout: time.Second, MaxBody: 1, BeforeSend: func(ctx context.Context, r *http.Request) {
		_, ok := ctx.Deadline()
		assert.True(t, ok, "BeforeSend sees the attempt's context")
		r.Header.Set("X-Before", "trace")
	}})
	cl, err := c.NewCall(t.Context(), http.MethodPost, srv.URL, strings.NewReader("payload"))
	require.NoError(t, err)
	defer cl.Close()
	cl.Request.Header.Set("X-Set", "v")
	resp, err := cl.Do()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.Status)
}

func TestNoAnswer(t *testing.T) {
	refused := httptest.NewServer(http.NotFoundHandler())
	refusedURL := refused.URL
	refused.Close()
	stop := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer silent.Close()
	defer close(stop)
	tests := []struct {
		name    string
		url     string
		sent    bool
		outcome provider.Outcome
		desc    string
	}{
		{"connection refused: not sent", refusedURL, false, provider.Transient, "request not sent"},
		{"timeout after the request: sent", silent.URL, true, provider.Unknown, "no answer after the request was sent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewClient(Config{Timeout: 200 * time.Millisecond, MaxBody: 16})
			cl, err := c.NewCall(t.Context(), http.MethodPost, tc.url, strings.NewReader("x"))
			require.NoError(t, err)
			defer cl.Close()
			_, err = cl.Do()
			require.Error(t, err)
			assert.Equal(t, tc.sent, cl.Sent())
			o, desc := NoAnswer(cl.Sent())
			assert.Equal(t, tc.outcome, o)
			assert.Equal(t, tc.desc, desc)
		})
	}
}

func TestCutOffBodyIsIncomplete(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 4096)
		_, _ = conn.Read(buf)
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
		_ = conn.Close()
	}()
	c := NewClient(Config{Timeout: time.Second, MaxBody: 1 << 20})
	cl, err := c.NewCall(t.Context(), http.MethodGet, "http://"+ln.Addr().String(), nil)
	require.NoError(t, err)
	defer cl.Close()
	resp, err := cl.Do()
	require.NoError(t, err)
	desc, cut := resp.Incomplete()
	assert.True(t, cut)
	assert.Equal(t, "response cut off", desc)
	assert.Error(t, resp.ReadErr)
}

func TestBadRequestIsNotSent(t *testing.T) {
	c := NewClient(Config{Timeout: time.Second, MaxBody: 1})
	cl, err := c.NewCall(t.Context(), "BAD METHOD", "http://x", nil)
	require.Error(t, err)
	assert.Nil(t, cl)
	assert.False(t, cl.Sent())
	cl.Close() // safe on nil
}

func TestSizeSpelling(t *testing.T) {
	for n, want := range map[int]string{4 << 20: "4 MiB", 1 << 20: "1 MiB", 8: "8 bytes", 3<<20 + 1: "3145729 bytes"} {
		assert.Equal(t, want, size(n))
	}
}
