package rebilly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/money"
	"github.com/praxis-adapter/praxis-adapter/adapter/provider"
	"github.com/praxis-adapter/praxis-adapter/adapter/provider/httpcall"
)

// HeaderAPIKey carries the secret API key (API.md §1).
const HeaderAPIKey = "REB-APIKEY"

// Endpoint paths relative to the organization-scoped base URL. Operations
// name them with a {id} placeholder, so metrics and errors stay bounded.
const (
	PathCashiers             = "/cashiers"
	PathCashier              = "/cashiers/{id}"
	PathTransactions         = "/transactions"
	PathTransaction          = "/transactions/{id}"
	PathTransactionRefund    = "/transactions/{id}/refund"
	PathPayouts              = "/payouts"
	PathPayoutRequests       = "/payout-requests"
	PathPayoutRequest        = "/payout-requests/{id}"
	PathPayoutRequestCancel  = "/payout-requests/{id}/cancel"
	PathDepositRequest       = "/deposit-requests/{id}"
	maxResponseBytes         = 4 << 20
	maxIDLength              = 50
	defaultTimeout           = 30 * time.Second
	problemContentTypePrefix = "application/problem+json"
)

// Outcome is the provider-neutral classification of a call.
type Outcome = provider.Outcome

// The four outcomes of a Rebilly call, as this client assigns them.
const (
	// OutcomeSuccess: a 2xx whose body decodes.
	OutcomeSuccess = provider.Success
	// OutcomeRejected: Rebilly refused the request (4xx other than 408 and
	// 429, or a request this client refused to send). Do not retry.
	OutcomeRejected = provider.Rejected
	// OutcomeTransient: nothing happened — 429, 503, 408, a 5xx answer to a
	// read, or a failure before the request was sent. Retry after backing
	// off (Error.RateLimit says how long).
	OutcomeTransient = provider.Transient
	// OutcomeUnknown: the request was sent but no trustworthy answer came
	// back (timeout, broken connection, a 2xx that does not decode, a 500,
	// 502 or 504 to a write, a 409 to a create that carried a requestId).
	// A state-changing call must be settled by a lookup before any retry.
	OutcomeUnknown = provider.Unknown
)

// Sentinels that errors.Is matches against an *Error; the three outcome
// sentinels are the provider-neutral ones.
var (
	ErrRejected       = provider.ErrRejected
	ErrTransient      = provider.ErrTransient
	ErrUnknownOutcome = provider.ErrUnknown
	// ErrNotFound matches a 404: the resource does not exist (a lookup's
	// definite "no").
	ErrNotFound = errors.New("rebilly resource not found")
	// ErrDuplicateRequestID matches a 409 to a create that carried a
	// requestId: an earlier request with that id was (probably) accepted.
	// Rebilly's exact answer to a duplicate is UNCONFIRMED (API.md §8), so
	// the caller looks the transaction up by requestId.
	ErrDuplicateRequestID = errors.New("rebilly saw this requestId before")
)

// Error describes a call that did not succeed. Its message carries the
// operation, outcome, HTTP status, the problem's type and title and the
// names of invalid fields; never Detail or invalid-field messages, which
// may repeat customer values (they stay in Problem for an operator).
type Error struct {
	Outcome    Outcome
	Op         string // method and path template, e.g. "POST /transactions/{id}/refund"
	HTTPStatus int    // 0 when no response arrived
	Problem    *Problem
	RateLimit  RateLimit
	// Description says what went wrong on our side (no answer, undecodable
	// body); it never holds provider text.
	Description string
	Err         error
	// Sent is false only when the request provably never reached Rebilly:
	// a retry cannot double an effect.
	Sent bool
	// Duplicate is set for a 409 to a create that carried a requestId.
	Duplicate bool
}

// Error reads like "rebilly POST /cashiers: rejected: HTTP 422: Validation
// error: invalid fields currency, websiteId".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rebilly %s: %s", e.Op, e.Outcome)
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.HTTPStatus)
	}
	if p := e.Problem; p != nil {
		if p.Title != "" {
			fmt.Fprintf(&b, ": %s", p.Title)
		}
		if p.Type != "" {
			fmt.Fprintf(&b, " (%s)", p.Type)
		}
		if len(p.InvalidFields) > 0 {
			names := make([]string, 0, len(p.InvalidFields))
			for _, f := range p.InvalidFields {
				names = append(names, f.Field)
			}
			fmt.Fprintf(&b, ": invalid fields %s", strings.Join(names, ", "))
		}
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap exposes the transport or decoding error.
func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, ErrRejected) and friends match.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.HTTPStatus == http.StatusNotFound
	case ErrDuplicateRequestID:
		return e.Duplicate
	}
	return e.Outcome.Is(target)
}

// ProviderOutcome makes *Error a provider.Classified.
func (e *Error) ProviderOutcome() Outcome { return e.Outcome }

// RetryAfter makes *Error a provider.Throttled: how long the rate-limit
// headers say to wait from now (0 when they said nothing), to the end of
// the second they name: the headers have whole-second precision, so the
// stated second itself may still be inside the limit's window.
func (e *Error) RetryAfter(now time.Time) time.Duration {
	if e.RateLimit.RetryAt.IsZero() {
		return 0
	}
	return RateLimit{RetryAt: e.RateLimit.RetryAt.Add(time.Second)}.RetryAfter(now)
}

// NotSent makes *Error a provider.Unsent: true only when the request
// provably never reached Rebilly.
func (e *Error) NotSent() bool { return !e.Sent }

// Classify returns the outcome of a call's error: nil is a success, and an
// error that is not an *Error (a bug, not a Rebilly answer) counts as
// unknown. It is provider.Classify.
func Classify(err error) Outcome { return provider.Classify(err) }

// RateLimit is what the rate-limit headers said (API.md §8). Rebilly's spec
// names X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Retry-After
// (a Unix timestamp); its PHP SDK reads Rate-Limit-Limit and Retry-After
// (seconds or an HTTP date). The header names on the wire are UNCONFIRMED,
// so all are read; -1 means "not said".
type RateLimit struct {
	Limit     int
	Remaining int
	// RetryAt is when a retry may be made; zero when not said.
	RetryAt time.Time
}

// RetryAfter is how long to wait from now; 0 when nothing was said or the
// time has passed.
func (r RateLimit) RetryAfter(now time.Time) time.Duration {
	if r.RetryAt.IsZero() || !r.RetryAt.After(now) {
		return 0
	}
	return r.RetryAt.Sub(now)
}

// ParseRateLimit reads every rate-limit header spelling; now resolves a
// Retry-After given in seconds.
func ParseRateLimit(h http.Header, now time.Time) RateLimit {
	rl := RateLimit{Limit: -1, Remaining: -1}
	num := func(names ...string) int {
		for _, n := range names {
			if v, err := strconv.Atoi(strings.TrimSpace(h.Get(n))); err == nil && v >= 0 {
				return v
			}
		}
		return -1
	}
	rl.Limit = num("X-RateLimit-Limit", "Rate-Limit-Limit", "RateLimit-Limit")
	rl.Remaining = num("X-RateLimit-Remaining", "Rate-Limit-Remaining", "RateLimit-Remaining")
	if v := strings.TrimSpace(h.Get("X-RateLimit-Retry-After")); v != "" {
		if ts, err := strconv.ParseInt(v, 10, 64); err == nil && ts > 0 {
			rl.RetryAt = time.Unix(ts, 0)
		} else if t, err := http.ParseTime(v); err == nil {
			rl.RetryAt = t
		}
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" && rl.RetryAt.IsZero() {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
			// A huge number of seconds is more likely a Unix timestamp.
			if secs > 1_000_000_000 {
				rl.RetryAt = time.Unix(secs, 0)
			} else {
				rl.RetryAt = now.Add(time.Duration(secs) * time.Second)
			}
		} else if t, err := http.ParseTime(v); err == nil {
			rl.RetryAt = t
		}
	}
	return rl
}

// Response is a successful call's decoded value with what came with it.
type Response[T any] struct {
	Value T
	// Raw is the body as received: what was decoded, and what a caller
	// publishes (the ledger reads it again with Decode, the same reader).
	Raw        []byte
	HTTPStatus int
	RateLimit  RateLimit
	// Total is the Pagination-Total header of a list (-1 when absent).
	Total int
}

// ClientConfig configures a Client.
type ClientConfig struct {
	// BaseURL is Rebilly's API host, e.g. https://api-sandbox.rebilly.com
	// or https://api.rebilly.com (or the simulator).
	BaseURL string
	// OrganizationID scopes every path under /organizations/<id> (API.md
	// §1). Empty sends org-less paths, which the SDKs allow (the "default
	// organization"); whether the server accepts them is UNCONFIRMED.
	OrganizationID string
	// APIKey is the secret key sent as REB-APIKEY.
	APIKey string
	// Currencies converts amounts; the zero value is the ISO table.
	Currencies *money.Currencies
	// Timeout bounds one attempt; default 30 s.
	Timeout time.Duration
	// HTTPClient is optional; the default keeps many idle connections.
	HTTPClient *http.Client
	// Now is the clock for rate-limit arithmetic; default time.Now.
	Now func() time.Time
	// BeforeSend, when set, may add headers to each request (trace
	// context); the protocol knows nothing of tracing.
	BeforeSend func(ctx context.Context, r *http.Request)
}

// Client calls Rebilly's REST API. Each method makes exactly one attempt;
// retrying is the caller's decision, guided by Classify and RateLimit. It
// knows nothing of NATS.
type Client struct {
	base   string
	apiKey string
	cur    money.Currencies
	http   *httpcall.Client
	now    func() time.Time
}

// NewClient validates cfg (errors name the field, never a value) and builds
// a client.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	switch {
	case cfg.BaseURL == "":
		return nil, errors.New("rebilly client: base_url is empty")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return nil, errors.New("rebilly client: base_url must be an absolute https:// URL (http:// for the simulator)")
	case cfg.APIKey == "":
		return nil, errors.New("rebilly client: api_key is empty")
	case cfg.OrganizationID != "" && !ValidID(cfg.OrganizationID):
		return nil, errors.New("rebilly client: organization_id must be at most 50 letters, digits or -_.@~")
	}
	c := &Client{base: strings.TrimRight(cfg.BaseURL, "/"), apiKey: cfg.APIKey, now: cfg.Now}
	if cfg.OrganizationID != "" {
		c.base += "/organizations/" + cfg.OrganizationID
	}
	if cfg.Currencies != nil {
		c.cur = *cfg.Currencies
	} else if c.cur, err = money.NewCurrencies(nil); err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	c.http = httpcall.NewClient(httpcall.Config{HTTP: cfg.HTTPClient, Timeout: timeout, MaxBody: maxResponseBytes, BeforeSend: cfg.BeforeSend})
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Currencies is the table the client converts amounts with.
func (c *Client) Currencies() money.Currencies { return c.cur }

// ValidID reports whether id may appear in a path (API.md §3.1: at most 50
// characters of ^[@~\-\.\w]+$).
func ValidID(id string) bool {
	if id == "" || len(id) > maxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_@~-.", c) >= 0) {
			return false
		}
	}
	return id != "." && id != ".."
}

// call is one attempt: method on path (a template with {id}), body encoded
// once when not nil. requestID tells whether the body carries a requestId,
// so a 409 is read as a duplicate.
type call struct {
	method    string
	path      string
	id        string
	query     url.Values
	body      any
	requestID bool
}

func (cl call) op() string { return cl.method + " " + cl.path }

// do runs the call and returns the raw 2xx body; every failure is an *Error.
func (c *Client) do(ctx context.Context, cl call) ([]byte, int, RateLimit, http.Header, error) {
	var hc *httpcall.Call
	rl := RateLimit{Limit: -1, Remaining: -1}
	fail := func(o Outcome, status int, desc string, err error) error {
		return &Error{Outcome: o, Op: cl.op(), HTTPStatus: status, Description: desc, Err: err, Sent: hc.Sent(), RateLimit: rl}
	}
	path := cl.path
	if strings.Contains(path, "{id}") {
		if !ValidID(cl.id) {
			return nil, 0, rl, nil, fail(OutcomeRejected, 0, "id must be at most 50 letters, digits or -_.@~", nil)
		}
		path = strings.Replace(path, "{id}", url.PathEscape(cl.id), 1)
	}
	target := c.base + path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	var body io.Reader
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return nil, 0, rl, nil, fail(OutcomeRejected, 0, "encode request", err)
		}
		body = bytes.NewReader(b)
	}
	hc, err := c.http.NewCall(ctx, cl.method, target, body)
	if err != nil {
		return nil, 0, rl, nil, fail(OutcomeRejected, 0, "build request", err)
	}
	defer hc.Close()
	hc.Request.Header.Set(HeaderAPIKey, c.apiKey)
	hc.Request.Header.Set("Accept", "application/json")
	if cl.body != nil {
		hc.Request.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do()
	if err != nil {
		o, desc := httpcall.NoAnswer(hc.Sent())
		return nil, 0, rl, nil, fail(o, 0, desc, err)
	}
	rl = ParseRateLimit(resp.Header, c.now())
	status := resp.Status
	write := cl.method != http.MethodGet
	desc, cut := resp.Incomplete()
	if status >= 200 && status < 300 {
		if cut {
			return nil, status, rl, nil, fail(OutcomeUnknown, status, desc, resp.ReadErr)
		}
		return resp.Body, status, rl, resp.Header, nil
	}
	e := &Error{Op: cl.op(), HTTPStatus: status, Sent: true, RateLimit: rl}
	if !cut {
		if p, perr := Decode[Problem](resp.Body, c.cur); perr == nil && (p.Status != 0 || p.Title != "" || p.Type != "") {
			e.Problem = &p
		}
	}
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable, status == http.StatusRequestTimeout:
		e.Outcome = OutcomeTransient
	case status >= 500 && write:
		// 500, 502, 504 to a write: it may have been applied behind the
		// error (API.md §8, [TO]: "don't assume the request was not received").
		e.Outcome = OutcomeUnknown
	case status >= 500:
		e.Outcome = OutcomeTransient
	case status == http.StatusConflict && cl.requestID:
		e.Outcome, e.Duplicate = OutcomeUnknown, true
	default:
		e.Outcome = OutcomeRejected
	}
	return nil, status, rl, resp.Header, e
}

// send runs a call and decodes a 2xx body with the strict reader.
func send[T any](ctx context.Context, c *Client, cl call) (*Response[T], error) {
	raw, status, rl, h, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	v, err := Decode[T](raw, c.cur)
	if err != nil {
		o := OutcomeUnknown // a success we cannot read: what happened is unknown
		if cl.method == http.MethodGet {
			o = OutcomeTransient // a read changed nothing; reading again is safe
		}
		return nil, &Error{Outcome: o, Op: cl.op(), HTTPStatus: status, Description: "success response does not decode", Err: err, Sent: true, RateLimit: rl}
	}
	out := &Response[T]{Value: v, Raw: raw, HTTPStatus: status, RateLimit: rl, Total: -1}
	if n, err := strconv.Atoi(h.Get("Pagination-Total")); err == nil {
		out.Total = n
	}
	return out, nil
}

// CreateCashier is POST /cashiers (API.md §2). It has no dedupe field:
// after an unknown outcome, do not repeat it blindly. A 200 (rather than
// 201) means Rebilly returned an existing cashier (UNCONFIRMED matching).
func (c *Client) CreateCashier(ctx context.Context, req CashierRequest) (*Response[Cashier], error) {
	return send[Cashier](ctx, c, call{method: http.MethodPost, path: PathCashiers, body: req})
}

// GetCashier is GET /cashiers/{id}.
func (c *Client) GetCashier(ctx context.Context, id string) (*Response[Cashier], error) {
	return send[Cashier](ctx, c, call{method: http.MethodGet, path: PathCashier, id: id})
}

// CreateTransaction is POST /transactions; req.RequestID makes a repeat
// within 24 h one effect (API.md §8).
func (c *Client) CreateTransaction(ctx context.Context, req TransactionRequest) (*Response[Transaction], error) {
	return send[Transaction](ctx, c, call{method: http.MethodPost, path: PathTransactions, body: req, requestID: req.RequestID != ""})
}

// GetTransaction is GET /transactions/{id}: the confirmation read of every
// notification and the truth the ledger books from.
func (c *Client) GetTransaction(ctx context.Context, id string) (*Response[Transaction], error) {
	return send[Transaction](ctx, c, call{method: http.MethodGet, path: PathTransaction, id: id})
}

// GetDepositRequest is GET /deposit-requests/{id} (a cashier's
// lastDepositRequestId; its DepositURL is the hosted form).
func (c *Client) GetDepositRequest(ctx context.Context, id string) (*Response[DepositRequest], error) {
	return send[DepositRequest](ctx, c, call{method: http.MethodGet, path: PathDepositRequest, id: id})
}

// ListQuery is a collection query: Filter uses Rebilly's syntax
// ("field:value,value;field:value", [AD] collectionFilter), Sort a field
// with an optional leading "-".
type ListQuery struct {
	Filter string
	Sort   string
	Limit  int
	Offset int
}

func (q ListQuery) values() url.Values {
	v := url.Values{}
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	if q.Sort != "" {
		v.Set("sort", q.Sort)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	return v
}

// Filter builds a collection filter from field/value pairs, refusing values
// that could break out of the syntax (ids never contain , ; or :).
func Filter(pairs ...string) (string, error) {
	if len(pairs)%2 != 0 {
		return "", errors.New("rebilly filter: want field/value pairs")
	}
	parts := make([]string, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		if strings.ContainsAny(pairs[i+1], ",;:") || pairs[i+1] == "" {
			return "", fmt.Errorf("rebilly filter: %s value must be non-empty and free of the separators comma, semicolon and colon", pairs[i])
		}
		parts = append(parts, pairs[i]+":"+pairs[i+1])
	}
	return strings.Join(parts, ";"), nil
}

// ListTransactions is GET /transactions (reconciliation).
func (c *Client) ListTransactions(ctx context.Context, q ListQuery) (*Response[Transactions], error) {
	return send[Transactions](ctx, c, call{method: http.MethodGet, path: PathTransactions, query: q.values()})
}

// FindByRequestID lists the transactions created with requestID: how a
// create whose outcome is unknown (timeout, 409 duplicate) is settled.
func (c *Client) FindByRequestID(ctx context.Context, requestID string) (*Response[Transactions], error) {
	f, err := Filter("requestId", requestID)
	if err != nil {
		return nil, &Error{Outcome: OutcomeRejected, Op: "GET " + PathTransactions, Description: "requestId is not filterable"}
	}
	return c.ListTransactions(ctx, ListQuery{Filter: f, Limit: 10})
}

// Refund is POST /transactions/{id}/refund (also the way to void). No
// dedupe field: settle an unknown outcome with RefundsOf, never by
// repeating.
func (c *Client) Refund(ctx context.Context, transactionID string, req RefundRequest) (*Response[Transaction], error) {
	return send[Transaction](ctx, c, call{method: http.MethodPost, path: PathTransactionRefund, id: transactionID, body: req})
}

// CreatePayout is POST /payouts (a credit transaction), deduped by
// req.RequestID.
func (c *Client) CreatePayout(ctx context.Context, req PayoutRequestBody) (*Response[Transaction], error) {
	return send[Transaction](ctx, c, call{method: http.MethodPost, path: PathPayouts, body: req, requestID: req.RequestID != ""})
}

// UpsertPayoutRequest is PUT /payout-requests/{id} with a client-chosen
// id: the idempotent way to create a payout request (a repeat finds the
// request and changes nothing new). 201 created, 200 already there.
func (c *Client) UpsertPayoutRequest(ctx context.Context, id string, req PayoutRequestInput) (*Response[PayoutRequest], error) {
	return send[PayoutRequest](ctx, c, call{method: http.MethodPut, path: PathPayoutRequest, id: id, body: req})
}

// GetPayoutRequest is GET /payout-requests/{id}.
func (c *Client) GetPayoutRequest(ctx context.Context, id string) (*Response[PayoutRequest], error) {
	return send[PayoutRequest](ctx, c, call{method: http.MethodGet, path: PathPayoutRequest, id: id})
}

// CancelPayoutRequest is POST /payout-requests/{id}/cancel.
func (c *Client) CancelPayoutRequest(ctx context.Context, id, reason string) (*Response[PayoutRequest], error) {
	return send[PayoutRequest](ctx, c, call{method: http.MethodPost, path: PathPayoutRequestCancel, id: id, body: CancelPayoutRequest{Reason: reason}})
}

// ListPayoutRequests is GET /payout-requests.
func (c *Client) ListPayoutRequests(ctx context.Context, q ListQuery) (*Response[PayoutRequests], error) {
	return send[PayoutRequests](ctx, c, call{method: http.MethodGet, path: PathPayoutRequests, query: q.values()})
}

// PendingPayoutRequests lists a customer's pending payout requests in
// currency, oldest first: the candidates of a reverse withdrawal.
func (c *Client) PendingPayoutRequests(ctx context.Context, customerID, currency string, limit int) (*Response[PayoutRequests], error) {
	f, err := Filter("customerId", customerID, "status", PayoutPending, "currency", currency)
	if err != nil {
		return nil, &Error{Outcome: OutcomeRejected, Op: "GET " + PathPayoutRequests, Description: "customerId or currency is not filterable"}
	}
	return c.ListPayoutRequests(ctx, ListQuery{Filter: f, Sort: "createdTime", Limit: limit})
}
