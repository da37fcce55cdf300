package praxis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/provider"
	"github.com/praxis-adapter/praxis-adapter/adapter/provider/httpcall"
)

// Endpoint paths of the current (1.3) API, relative to the base URL.
const (
	PathCashier           = "/cashier/cashier"
	PathVirtualTerminal   = "/cashier/virtual-terminal"
	PathManageTransaction = "/agent/manage-transaction"
	PathManageWithdrawal  = "/agent/manage-withdrawal-request"
	PathFindTransaction   = "/agent/find-transaction"
	PathFindOrder         = "/agent/find-order"
	PathRefund            = "/direct/refund"
)

// ContentType is what every request, response and webhook carries.
const ContentType = "application/json; charset=utf-8"

// maxResponseBytes bounds what the client reads from Praxis.
const maxResponseBytes = 4 << 20

// Outcome classifies a call so the caller knows whether, and how, it may retry.
type Outcome int

// The four outcomes of a Praxis call.
const (
	// OutcomeSuccess: status 0 with a verified signature.
	OutcomeSuccess Outcome = iota
	// OutcomeRejected: a business error (positive status). Do not retry.
	OutcomeRejected
	// OutcomeTransient: negative status, HTTP 5xx or 429, or a failure before
	// the request was sent. Retry with a fresh timestamp and signature.
	OutcomeTransient
	// OutcomeUnknown: the request was sent but no trustworthy answer came
	// back (timeout, broken connection, unsigned or mis-signed success). A
	// state-changing call must be reconciled by a lookup before any retry.
	OutcomeUnknown
)

// String names the outcome as metrics and results spell it.
func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeRejected:
		return "rejected"
	case OutcomeTransient:
		return "transient"
	case OutcomeUnknown:
		return "unknown"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Sentinels that errors.Is matches against an *Error's outcome.
var (
	ErrRejected       = errors.New("praxis rejected the request")
	ErrTransient      = errors.New("praxis call failed transiently")
	ErrUnknownOutcome = errors.New("praxis call outcome unknown")
	// ErrBadResponseSignature means a response carried a signature that does
	// not verify: its content cannot be trusted.
	ErrBadResponseSignature = errors.New("response signature does not verify")
)

// Error describes a call that did not succeed.
type Error struct {
	Outcome     Outcome
	Op          string // endpoint path
	HTTPStatus  int    // 0 when no response arrived
	Status      int    // Praxis status when a JSON envelope arrived
	Description string // Praxis description, or what went wrong
	Err         error  // underlying transport or decoding error
	// Sent is false only when the request provably never reached Praxis
	// (refused connection, failed write): a retry cannot double an effect.
	Sent bool
}

// Error reads like "praxis /agent/manage-transaction: rejected: status 400: Transaction not found!".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "praxis %s: %s", e.Op, e.Outcome)
	if e.HTTPStatus != 0 && e.HTTPStatus != http.StatusOK {
		fmt.Fprintf(&b, ": HTTP %d", e.HTTPStatus)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, ": status %d", e.Status)
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

// Is lets errors.Is(err, ErrRejected) and friends match on the outcome.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrRejected:
		return e.Outcome == OutcomeRejected
	case ErrTransient:
		return e.Outcome == OutcomeTransient
	case ErrUnknownOutcome:
		return e.Outcome == OutcomeUnknown
	}
	return false
}

// ProviderOutcome makes *Error a provider.Classified, so provider-neutral
// code (the worker's core) classifies Praxis errors like any other
// provider's: the two enumerations have the same values in the same order.
func (e *Error) ProviderOutcome() provider.Outcome { return provider.Outcome(e.Outcome) }

// NotSent makes *Error a provider.Unsent: true only when the request
// provably never reached Praxis.
func (e *Error) NotSent() bool { return !e.Sent }

// Classify returns the outcome of a call's error: nil is a success, and an
// error that is not an *Error (a bug, not a Praxis answer) counts as unknown.
func Classify(err error) Outcome {
	if err == nil {
		return OutcomeSuccess
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Outcome
	}
	return OutcomeUnknown
}

// Credentials identify one merchant application. Secrets[0] signs requests;
// every secret is accepted on responses, so a rotation needs no downtime.
type Credentials struct {
	MerchantID     string
	ApplicationKey string
	Secrets        []string
}

// ClientConfig configures a Client.
type ClientConfig struct {
	// BaseURL is Praxis' host, e.g. https://gw.praxisgate.com (no trailing path).
	BaseURL string
	// Timeout bounds one attempt; default 30 s.
	Timeout time.Duration
	// HTTPClient is optional; the default keeps many idle connections.
	HTTPClient *http.Client
	// Lists holds the signature field lists; zero means DefaultLists.
	Lists *Lists
	// Now is the clock used for timestamps; default time.Now.
	Now func() time.Time
	// BeforeSend, when set, may add headers to each request (the worker
	// injects W3C trace context); the protocol knows nothing of tracing.
	BeforeSend func(ctx context.Context, r *http.Request)
	// LightResponses fills a successful TransactionResponse with only the
	// summary fields (see Summary) read in the same pass that verifies the
	// signature, instead of decoding the whole body; Raw keeps everything
	// for Decode. For callers that need only the outcome (the worker).
	LightResponses bool
}

// Client calls the Praxis Cashier, Agent and Direct APIs. Each method makes
// exactly one attempt, with a fresh timestamp and signature; retrying is the
// caller's decision, guided by Classify. It knows nothing of NATS.
type Client struct {
	base    string
	http    *httpcall.Client
	lists   Lists
	now     func() time.Time
	readers map[ListName]*responseReader
	light   bool
}

// responseReader reads a response's status, description and signed fields
// in one pass over the body.
type responseReader struct {
	paths   *Paths
	list    FieldList
	sig     []int
	status  int
	desc    int
	summary [len(summaryFields)]int
}

// summaryFields are what a light TransactionResponse carries.
var summaryFields = [...]string{
	"transaction.tid", "transaction.transaction_type", "transaction.transaction_status",
	"transaction.amount", "transaction.currency", "transaction.processed_amount", "transaction.processed_currency",
	"session.session_status", "session.order_id", "session.auth_token", "customer.customer_token", "transaction",
}

// newResponseReader reads a response of shape schema (a session or a
// transaction response) in one strict pass: the same checks Decode applies.
func newResponseReader(fl FieldList, schema *Schema) *responseReader {
	names := append(append(fl.Fields(), "status", "description"), summaryFields[:]...)
	index := map[string]int{}
	var uniq []string
	for _, n := range names {
		if _, ok := index[n]; !ok {
			index[n] = len(uniq)
			uniq = append(uniq, n)
		}
	}
	r := &responseReader{paths: schema.CompilePaths(uniq...), list: fl, status: index["status"], desc: index["description"]}
	for _, f := range fl.Fields() {
		r.sig = append(r.sig, index[f])
	}
	for i, f := range summaryFields {
		r.summary[i] = index[f]
	}
	return r
}

// fillLight fills a TransactionResponse from the summary fields.
func (r *responseReader) fillLight(out *TransactionResponse, env Envelope, vals []Value) error {
	v := func(i int) Value { return vals[r.summary[i]] }
	text := func(i int) string { t, _ := v(i).Text(); return t }
	num := func(i int) (*int64, error) {
		if !v(i).Present() {
			return nil, nil
		}
		n, err := v(i).Int()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", summaryFields[i], err)
		}
		return &n, nil
	}
	out.Envelope = env
	if v(11).Kind == KindObject {
		t := &Transaction{TransactionType: text(1), TransactionStatus: text(2), Currency: text(4), ProcessedCurrency: text(6)}
		if v(0).Kind == KindNumber {
			tid, err := v(0).Int()
			if err != nil {
				return fmt.Errorf("transaction.tid: %w", err)
			}
			t.TID = tid
		}
		var err error
		if t.Amount, err = num(3); err != nil {
			return err
		}
		if t.ProcessedAmount, err = num(5); err != nil {
			return err
		}
		out.Transaction = t
	}
	if st, order, auth := text(7), text(8), text(9); st != "" || order != "" || auth != "" {
		out.Session = &Session{SessionStatus: st, OrderID: order, AuthToken: auth}
	}
	if tok := text(10); tok != "" {
		out.Customer = &Customer{CustomerToken: tok}
	}
	return nil
}

// NewClient validates cfg and builds a client.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("praxis client: base URL is empty")
	}
	if !strings.HasPrefix(cfg.BaseURL, "http://") && !strings.HasPrefix(cfg.BaseURL, "https://") {
		return nil, fmt.Errorf("praxis client: base URL %q must start with https:// (or http:// for the simulator)", cfg.BaseURL)
	}
	c := &Client{base: strings.TrimRight(cfg.BaseURL, "/"), now: cfg.Now, light: cfg.LightResponses}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	c.http = httpcall.NewClient(httpcall.Config{HTTP: cfg.HTTPClient, Timeout: timeout, MaxBody: maxResponseBytes, BeforeSend: cfg.BeforeSend})
	if cfg.Lists != nil {
		c.lists = *cfg.Lists
	} else {
		c.lists = DefaultLists()
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.readers = map[ListName]*responseReader{}
	for _, l := range []ListName{ListCashierResponse, ListVirtualTerminalResponse, ListManageTransactionResponse,
		ListManageWithdrawalResponse, ListFindTransactionResponse, ListFindOrderResponse, ListRefundResponse} {
		schema := transactionResponseSchema
		if l == ListCashierResponse || l == ListVirtualTerminalResponse {
			schema = sessionResponseSchema
		}
		c.readers[l] = newResponseReader(c.lists.Get(l), schema)
	}
	return c, nil
}

// LightResponses reports whether transaction responses carry only their
// summary (see ClientConfig.LightResponses); Decode(resp.Raw) gives the rest.
func (c *Client) LightResponses() bool { return c.light }

func (c *Client) auth(cr Credentials) Auth {
	return Auth{MerchantID: cr.MerchantID, ApplicationKey: cr.ApplicationKey, Version: Version, Timestamp: c.now().Unix()}
}

// CashierSession opens a cashier session or payment link (API.md §5.1–5.2).
func (c *Client) CashierSession(ctx context.Context, cr Credentials, req SessionRequest) (*SessionResponse, error) {
	req.Auth = c.auth(cr)
	var out SessionResponse
	return &out, c.call(ctx, cr, PathCashier, ListCashierRequest, ListCashierResponse, req, &out)
}

// VirtualTerminal opens an agent-assisted session; req.AgentName is required.
func (c *Client) VirtualTerminal(ctx context.Context, cr Credentials, req SessionRequest) (*SessionResponse, error) {
	req.Auth = c.auth(cr)
	var out SessionResponse
	return &out, c.call(ctx, cr, PathVirtualTerminal, ListVirtualTerminalRequest, ListVirtualTerminalResponse, req, &out)
}

// ManageTransaction captures or cancels an authorization (intent
// IntentCaptureAuthorization or IntentCancelAuthorization).
func (c *Client) ManageTransaction(ctx context.Context, cr Credentials, intent string, tid int64) (*TransactionResponse, error) {
	req := ManageTransactionRequest{Auth: c.auth(cr), Intent: intent, TID: tid}
	var out TransactionResponse
	return &out, c.call(ctx, cr, PathManageTransaction, ListManageTransactionRequest, ListManageTransactionResponse, req, &out)
}

// ManageWithdrawal completes or cancels a withdrawal request.
func (c *Client) ManageWithdrawal(ctx context.Context, cr Credentials, req ManageWithdrawalRequest) (*TransactionResponse, error) {
	req.Auth = c.auth(cr)
	var out TransactionResponse
	return &out, c.call(ctx, cr, PathManageWithdrawal, ListManageWithdrawalRequest, ListManageWithdrawalResponse, req, &out)
}

// FindTransaction reads a transaction's current state.
func (c *Client) FindTransaction(ctx context.Context, cr Credentials, tid int64) (*TransactionResponse, error) {
	req := FindTransactionRequest{Auth: c.auth(cr), TID: tid}
	var out TransactionResponse
	return &out, c.call(ctx, cr, PathFindTransaction, ListFindTransactionRequest, ListFindTransactionResponse, req, &out)
}

// FindOrder reads a cashier session's state by the merchant's order id.
func (c *Client) FindOrder(ctx context.Context, cr Credentials, orderID string) (*TransactionResponse, error) {
	req := FindOrderRequest{Auth: c.auth(cr), OrderID: orderID}
	var out TransactionResponse
	return &out, c.call(ctx, cr, PathFindOrder, ListFindOrderRequest, ListFindOrderResponse, req, &out)
}

// Refund refunds (part of) an approved deposit through the Direct API.
func (c *Client) Refund(ctx context.Context, cr Credentials, req RefundRequest) (*TransactionResponse, error) {
	req.Auth = c.auth(cr)
	req.TransactionType = TypeRefund
	var out TransactionResponse
	return &out, c.call(ctx, cr, PathRefund, ListRefundRequest, ListRefundResponse, req, &out)
}

// call marshals req once, signs those exact bytes, sends them, and verifies
// and classifies the answer. out is filled only on success.
func (c *Client) call(ctx context.Context, cr Credentials, path string, reqList, respList ListName, req any, out rawKeeper) error {
	var hc *httpcall.Call
	fail := func(o Outcome, httpStatus, status int, desc string, err error) error {
		return &Error{Outcome: o, Op: path, HTTPStatus: httpStatus, Status: status, Description: desc, Err: err, Sent: hc.Sent()}
	}
	if len(cr.Secrets) == 0 || cr.Secrets[0] == "" {
		return fail(OutcomeRejected, 0, 0, "no merchant secret configured", nil)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fail(OutcomeRejected, 0, 0, "encode request", err)
	}
	sig, err := c.lists.Get(reqList).Sign(body, cr.Secrets[0])
	if err != nil {
		return fail(OutcomeRejected, 0, 0, "sign request", err)
	}

	hc, err = c.http.NewCall(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fail(OutcomeRejected, 0, 0, "build request", err)
	}
	defer hc.Close()
	hc.Request.Header.Set("Content-Type", ContentType)
	hc.Request.Header.Set(HeaderSignature, sig.String())
	resp, err := hc.Do()
	if err != nil {
		o, desc := httpcall.NoAnswer(hc.Sent())
		return fail(Outcome(o), 0, 0, desc, err)
	}
	if desc, cut := resp.Incomplete(); cut {
		return fail(OutcomeUnknown, resp.Status, 0, desc, resp.ReadErr)
	}
	raw := resp.Body

	// One pass reads the envelope and the signed fields.
	rr := c.readers[respList]
	var valBuf [24]Value
	vals := valBuf[:]
	if rr.paths.Len() > len(valBuf) {
		vals = make([]Value, rr.paths.Len())
	}
	var env Envelope
	envErr := rr.paths.Extract(raw, vals)
	if envErr == nil {
		st, desc := vals[rr.status], vals[rr.desc]
		n, err := st.Int()
		if err != nil {
			envErr = fmt.Errorf("status: %w", err)
		}
		env.Status = int(n)
		env.Description, _ = desc.Text()
	}
	switch {
	case resp.Status >= 500 || resp.Status == http.StatusTooManyRequests:
		return fail(OutcomeTransient, resp.Status, env.Status, env.Description, nil)
	case envErr != nil && resp.Status == http.StatusOK:
		return fail(OutcomeUnknown, resp.Status, 0, "response is not a Praxis JSON envelope", envErr)
	case envErr != nil:
		return fail(OutcomeRejected, resp.Status, 0, http.StatusText(resp.Status), envErr)
	}

	header := resp.Header.Get(HeaderSignature)
	if header == "" {
		// Basic error responses carry no signature (SIGNATURE.md §1); an
		// unsigned success is never trusted.
		switch {
		case env.Status > 0:
			return fail(OutcomeRejected, resp.Status, env.Status, env.Description, nil)
		case env.Status < 0:
			return fail(OutcomeTransient, resp.Status, env.Status, env.Description, nil)
		case resp.Status != http.StatusOK:
			return fail(OutcomeRejected, resp.Status, 0, http.StatusText(resp.Status), nil)
		default:
			return fail(OutcomeUnknown, resp.Status, 0, "unsigned response claims success", ErrSignatureMissing)
		}
	}
	var textBuf [512]byte
	sigVals := make([]Value, len(rr.sig))
	for i, idx := range rr.sig {
		sigVals[i] = vals[idx]
	}
	text, err := AppendSigningText(textBuf[:0], sigVals, rr.list.Fields())
	if err == nil {
		_, err = MatchSecret(text, header, cr.Secrets...)
	}
	if err != nil {
		return fail(OutcomeUnknown, resp.Status, env.Status, env.Description, fmt.Errorf("%w: %w", ErrBadResponseSignature, err))
	}
	switch {
	case env.Status > 0:
		return fail(OutcomeRejected, resp.Status, env.Status, env.Description, nil)
	case env.Status < 0:
		return fail(OutcomeTransient, resp.Status, env.Status, env.Description, nil)
	case resp.Status != http.StatusOK:
		return fail(OutcomeRejected, resp.Status, 0, http.StatusText(resp.Status), nil)
	}
	if tr, ok := out.(*TransactionResponse); ok && c.light {
		if err := rr.fillLight(tr, env, vals); err != nil {
			return fail(OutcomeUnknown, resp.Status, 0, "signed success response does not decode", err)
		}
		out.setRaw(raw)
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fail(OutcomeUnknown, resp.Status, 0, "signed success response does not decode", err)
	}
	out.setRaw(raw)
	return nil
}
