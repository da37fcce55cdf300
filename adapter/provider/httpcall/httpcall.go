// Package httpcall makes one HTTP attempt to a payment provider and reports
// what every provider client needs before it reads the provider's answer:
// whether the request was written (so a failure may have been applied), the
// status and headers, and the body read whole up to a bound. Praxis
// (adapter/praxis) and Rebilly (adapter/rebilly) classify their answers
// differently, but they send, time out and read the same way, so that part
// lives here once (issue #14). It knows nothing of NATS, signatures or a
// provider's body.
package httpcall

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/provider"
)

// Client sends attempts; build it with NewClient. It is safe for
// concurrent use.
type Client struct {
	http       *http.Client
	timeout    time.Duration
	maxBody    int
	beforeSend func(ctx context.Context, r *http.Request)
}

// Config configures a Client.
type Config struct {
	// HTTP sends the requests; nil means DefaultHTTPClient().
	HTTP *http.Client
	// Timeout bounds one attempt, answer and body included.
	Timeout time.Duration
	// MaxBody bounds what is read of a response body.
	MaxBody int
	// BeforeSend, when set, may add headers to each request (trace
	// context); the protocol knows nothing of tracing.
	BeforeSend func(ctx context.Context, r *http.Request)
}

// NewClient builds a Client from cfg.
func NewClient(cfg Config) *Client {
	c := &Client{http: cfg.HTTP, timeout: cfg.Timeout, maxBody: cfg.MaxBody, beforeSend: cfg.BeforeSend}
	if c.http == nil {
		c.http = DefaultHTTPClient()
	}
	return c
}

// DefaultHTTPClient is the client a provider client uses when its config
// names none: many idle connections to the one provider host, so a burst of
// commands does not open and close a connection each.
func DefaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 512
	return &http.Client{Transport: t}
}

// Call is one attempt: build it with Client.NewCall, set headers on
// Request, then Do it once. Close it when done.
type Call struct {
	// Request is the request to send; the caller sets its headers.
	Request *http.Request
	client  *Client
	cancel  context.CancelFunc
	trace   httptrace.ClientTrace
	wrote   atomic.Bool
}

// NewCall starts an attempt of method on url with body (nil for none),
// bounded by the client's timeout from now. An error means the request
// could not be built: nothing was sent.
func (c *Client) NewCall(ctx context.Context, method, url string, body io.Reader) (*Call, error) {
	cl := &Call{client: c}
	cl.trace.WroteRequest = cl.wroteRequest
	ctx, cl.cancel = context.WithTimeout(ctx, c.timeout)
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, &cl.trace), method, url, body)
	if err != nil {
		cl.cancel()
		return nil, err
	}
	cl.Request = req
	return cl, nil
}

func (cl *Call) wroteRequest(info httptrace.WroteRequestInfo) {
	if info.Err == nil {
		cl.wrote.Store(true)
	}
}

// Close releases the attempt's timer. It is safe on a nil Call.
func (cl *Call) Close() {
	if cl != nil {
		cl.cancel()
	}
}

// Sent reports whether the whole request was written to the provider; when
// it was not, a retry cannot double an effect. It is false on a nil Call.
func (cl *Call) Sent() bool { return cl != nil && cl.wrote.Load() }

// Response is what came back from an attempt.
type Response struct {
	Status int
	Header http.Header
	// Body is the body as read: at most MaxBody bytes, and only whole when
	// Incomplete says nothing.
	Body []byte
	// ReadErr is why the body could not be read to its end.
	ReadErr error
	// TooLarge is set when the body is longer than MaxBody.
	TooLarge bool
	maxBody  int
}

// Do sends the request once (calling BeforeSend first) and reads the whole
// body, up to MaxBody. An error means no response arrived: NoAnswer says
// what that means.
func (cl *Call) Do() (Response, error) {
	if cl.client.beforeSend != nil {
		cl.client.beforeSend(cl.Request.Context(), cl.Request)
	}
	resp, err := cl.client.http.Do(cl.Request)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	r := Response{Status: resp.StatusCode, Header: resp.Header, maxBody: cl.client.maxBody}
	r.Body, r.ReadErr = io.ReadAll(io.LimitReader(resp.Body, int64(r.maxBody)+1))
	if len(r.Body) > r.maxBody {
		r.Body, r.TooLarge = r.Body[:r.maxBody], true
	}
	return r, nil
}

// Incomplete reports whether the body was not read whole and, if so, says
// what went wrong in the words of the provider's error (ReadErr holds the
// cause, if any). A provider answer read in part cannot be trusted: its
// outcome is unknown.
func (r *Response) Incomplete() (desc string, incomplete bool) {
	switch {
	case r.ReadErr != nil:
		return "response cut off", true
	case r.TooLarge:
		return fmt.Sprintf("response larger than %s", size(r.maxBody)), true
	}
	return "", false
}

// NoAnswer classifies an attempt that got no response: unknown when the
// request was written (the provider may have applied it), transient when it
// provably was not; desc says which.
func NoAnswer(sent bool) (o provider.Outcome, desc string) {
	if sent {
		return provider.Unknown, "no answer after the request was sent"
	}
	return provider.Transient, "request not sent"
}

// size spells a byte count the way the clients' errors always have (4 MiB).
func size(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
