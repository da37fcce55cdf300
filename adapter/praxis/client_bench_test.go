package praxis

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// replyTransport answers every request with one signed body, without a
// network, so the benchmark counts the client's own work and allocations.
type replyTransport struct {
	body []byte
	sig  string
}

func (rt *replyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	h := http.Header{}
	h.Set(HeaderSignature, rt.sig)
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(bytes.NewReader(rt.body)), Request: r}, nil
}

const benchManageBody = `{"status":0,"description":"Ok","customer":{"customer_token":"ct"},` +
	`"session":{"session_status":"successful","order_id":"o-1","auth_token":"at"},` +
	`"transaction":{"tid":7,"transaction_type":"authorization","transaction_status":"approved","amount":100,"currency":"EUR",` +
	`"processed_currency":"EUR","processed_amount":100},"version":"1.3","timestamp":1}`

func benchClient(b *testing.B, light bool, hc *http.Client) *Client {
	c, err := NewClient(ClientConfig{BaseURL: "http://praxis.invalid", HTTPClient: hc, LightResponses: light,
		Now: func() time.Time { return time.Unix(1_700_000_000, 0) }})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchManage(b *testing.B, c *Client) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ManageTransaction(b.Context(), testCreds, IntentCaptureAuthorization, 7); err != nil {
			b.Fatal(err)
		}
	}
}

func benchTransport(b *testing.B) *http.Client {
	sig, err := DefaultLists().Get(ListManageTransactionResponse).Sign([]byte(benchManageBody), testSecret)
	if err != nil {
		b.Fatal(err)
	}
	return &http.Client{Transport: &replyTransport{body: []byte(benchManageBody), sig: sig.String()}}
}

// BenchmarkClientManageTransaction measures one signed call (sign, send,
// read, verify, decode) against an in-memory transport.
func BenchmarkClientManageTransaction(b *testing.B) {
	benchManage(b, benchClient(b, false, benchTransport(b)))
}

// BenchmarkClientManageTransactionLight is the worker's light mode.
func BenchmarkClientManageTransactionLight(b *testing.B) {
	benchManage(b, benchClient(b, true, benchTransport(b)))
}

// BenchmarkClientManageTransactionHTTP is the light call over a loopback
// HTTP server, the transport's own cost included.
func BenchmarkClientManageTransactionHTTP(b *testing.B) {
	sig, err := DefaultLists().Get(ListManageTransactionResponse).Sign([]byte(benchManageBody), testSecret)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set(HeaderSignature, sig.String())
		_, _ = io.WriteString(w, benchManageBody)
	}))
	defer srv.Close()
	c, err := NewClient(ClientConfig{BaseURL: srv.URL, LightResponses: true})
	if err != nil {
		b.Fatal(err)
	}
	benchManage(b, c)
}
