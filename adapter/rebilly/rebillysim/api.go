package rebillysim

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/internal/simkit"
)

// maxRequestBytes bounds a request body.
const maxRequestBytes = 1 << 20

// Operations, spelled as rebilly.Error.Op spells them (fault keys, call
// counters).
var operations = []string{
	"POST " + rebilly.PathCashiers, "GET " + rebilly.PathCashier,
	"POST " + rebilly.PathTransactions, "GET " + rebilly.PathTransactions, "GET " + rebilly.PathTransaction,
	"POST " + rebilly.PathTransactionRefund, "POST " + rebilly.PathPayouts,
	"POST " + rebilly.PathPayoutRequests, "GET " + rebilly.PathPayoutRequests, "GET " + rebilly.PathPayoutRequest,
	"PUT " + rebilly.PathPayoutRequest, "POST " + rebilly.PathPayoutRequestCancel,
	"GET " + rebilly.PathDepositRequest, "POST " + PathStorefrontCancel,
}

// PathStorefrontCancel is the storefront reverse withdrawal (API.md §4).
const PathStorefrontCancel = "/storefront/cashiers/{id}/cancel-payout-requests"

func knownOp(op string) bool {
	for _, o := range operations {
		if o == op {
			return true
		}
	}
	return false
}

// handler answers one operation: a value and status, or a problem.
type handler func(r *http.Request, body []byte) (any, int, *problem)

// routes wires the API (behind the organization prefix) and the test API.
func (s *Simulator) routes() http.Handler {
	api := http.NewServeMux()
	add := func(op string, h handler) {
		method, path, _ := strings.Cut(op, " ")
		api.Handle(method+" "+path, s.wrap(op, h))
	}
	add("POST "+rebilly.PathCashiers, func(_ *http.Request, b []byte) (any, int, *problem) {
		req, p := decodeReq[rebilly.CashierRequest](s, b)
		if p != nil {
			return nil, 0, p
		}
		return s.createCashier(req)
	})
	add("GET "+rebilly.PathCashier, func(r *http.Request, _ []byte) (any, int, *problem) {
		if c, ok := s.Cashier(r.PathValue("id")); ok {
			return c, http.StatusOK, nil
		}
		return nil, 0, notFound("Cashier")
	})
	add("POST "+rebilly.PathTransactions, func(_ *http.Request, b []byte) (any, int, *problem) {
		req, p := decodeReq[rebilly.TransactionRequest](s, b)
		if p != nil {
			return nil, 0, p
		}
		if req.Type == rebilly.TypeCredit {
			return nil, 0, invalid("type", "must be sale, authorize or setup")
		}
		return s.createTransaction(req, "transaction.create")
	})
	add("GET "+rebilly.PathTransactions, s.listTransactions)
	add("GET "+rebilly.PathTransaction, func(r *http.Request, _ []byte) (any, int, *problem) {
		if t, ok := s.Transaction(r.PathValue("id")); ok {
			return t, http.StatusOK, nil
		}
		return nil, 0, notFound("Transaction")
	})
	add("POST "+rebilly.PathTransactionRefund, func(r *http.Request, b []byte) (any, int, *problem) {
		req, p := decodeReq[rebilly.RefundRequest](s, b)
		if p != nil {
			return nil, 0, p
		}
		return s.refund(r.PathValue("id"), req)
	})
	add("POST "+rebilly.PathPayouts, func(_ *http.Request, b []byte) (any, int, *problem) {
		req, p := decodeReq[rebilly.PayoutRequestBody](s, b)
		if p != nil {
			return nil, 0, p
		}
		return s.createTransaction(rebilly.TransactionRequest{Type: rebilly.TypeCredit, WebsiteID: req.WebsiteID, CustomerID: req.CustomerID,
			Currency: req.Currency, Amount: req.Amount, RequestID: req.RequestID, Description: req.Description}, "payout.create")
	})
	add("POST "+rebilly.PathPayoutRequests, func(_ *http.Request, b []byte) (any, int, *problem) {
		req, p := decodeReq[rebilly.PayoutRequestInput](s, b)
		if p != nil {
			return nil, 0, p
		}
		return s.putPayoutRequest("", req)
	})
	add("GET "+rebilly.PathPayoutRequests, s.listPayoutRequests)
	add("GET "+rebilly.PathPayoutRequest, func(r *http.Request, _ []byte) (any, int, *problem) {
		if p, ok := s.PayoutRequest(r.PathValue("id")); ok {
			return p, http.StatusOK, nil
		}
		return nil, 0, notFound("Payout request")
	})
	add("PUT "+rebilly.PathPayoutRequest, func(r *http.Request, b []byte) (any, int, *problem) {
		req, p := decodeReq[rebilly.PayoutRequestInput](s, b)
		if p != nil {
			return nil, 0, p
		}
		if !rebilly.ValidID(r.PathValue("id")) {
			return nil, 0, invalid("id", "at most 50 letters, digits or -_.@~")
		}
		return s.putPayoutRequest(r.PathValue("id"), req)
	})
	add("POST "+rebilly.PathPayoutRequestCancel, func(r *http.Request, b []byte) (any, int, *problem) {
		var req rebilly.CancelPayoutRequest
		if len(strings.TrimSpace(string(b))) > 0 {
			var p *problem
			if req, p = decodeReq[rebilly.CancelPayoutRequest](s, b); p != nil {
				return nil, 0, p
			}
		}
		return s.cancelPayoutRequest(r.PathValue("id"), req.Reason)
	})
	add("GET "+rebilly.PathDepositRequest, s.getDepositRequest)
	add("POST "+PathStorefrontCancel, s.storefrontCancel)

	root := http.NewServeMux()
	s.testRoutes(root)
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/organizations/")
		if ok {
			org, tail, _ := strings.Cut(rest, "/")
			if org != s.cfg.OrganizationID {
				s.writeProblem(w, &problem{status: http.StatusForbidden, title: "Forbidden", detail: "Unknown organization"}, RateHeaders{})
				return
			}
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/" + tail
			r2.URL.RawPath = ""
			api.ServeHTTP(w, r2)
			return
		}
		if s.cfg.AllowOrgless {
			api.ServeHTTP(w, r)
			return
		}
		s.writeProblem(w, notFound("Resource"), RateHeaders{})
	})
	return root
}

// decodeReq reads a request body with the protocol package's strict reader.
func decodeReq[T any](s *Simulator, body []byte) (T, *problem) {
	v, err := rebilly.Decode[T](body, s.cur)
	if err != nil {
		var zero T
		return zero, &problem{status: http.StatusBadRequest, title: "Bad request", detail: strings.TrimPrefix(err.Error(), rebilly.ErrDecode.Error()+": ")}
	}
	return v, nil
}

// RateHeaders are the rate-limit headers of one answer.
type RateHeaders struct {
	Limit, Remaining int
	RetryAt          time.Time
}

// wrap adds call counting, authentication, the rate limit, latency and
// fault injection around one operation.
func (s *Simulator) wrap(op string, h handler) http.HandlerFunc {
	method, _, _ := strings.Cut(op, " ")
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.effects.Calls[op]++
		s.mu.Unlock()
		storefront := strings.HasPrefix(r.URL.Path, "/storefront/")
		if !storefront && !s.validKey(r.Header.Get(rebilly.HeaderAPIKey)) {
			s.writeProblem(w, &problem{status: http.StatusUnauthorized, title: "Unauthorized", detail: "Invalid or missing API key"}, RateHeaders{})
			return
		}
		rh, limited := s.rateLimit(method != http.MethodGet)
		if limited {
			s.writeProblem(w, &problem{status: http.StatusTooManyRequests, title: "Too many requests", detail: "Rate limit exceeded"}, rh)
			return
		}
		f := s.faults.Load()
		ef := f.endpoint(op)
		if d := ef.Latency + s.rng.DurationN(ef.Jitter); d > 0 && !simkit.Sleep(r.Context(), d) {
			return
		}
		fault := s.drawFault(ef)
		if fault == faultServerError {
			s.writeProblem(w, &problem{status: http.StatusServiceUnavailable, title: "Service unavailable", detail: "Try again later"}, rh)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
		if err != nil || len(body) > maxRequestBytes {
			s.writeProblem(w, &problem{status: http.StatusBadRequest, title: "Bad request", detail: "Body too large or unreadable"}, rh)
			return
		}
		v, status, p := h(r, body)
		switch fault {
		case faultErrorAfter:
			s.writeProblem(w, &problem{status: http.StatusInternalServerError, title: "Internal server error", detail: "Unexpected error"}, rh)
			return
		case faultLostReply:
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.Close()
				return
			}
			fallthrough
		case faultTimeout:
			s.deliv.Hold(r.Context())
			return
		}
		if p != nil {
			s.writeProblem(w, p, rh)
			return
		}
		setRateHeaders(w.Header(), rh)
		if pg, ok := v.(paged); ok {
			for k, val := range pg.headers {
				w.Header().Set(k, val)
			}
		}
		s.writeJSON(w, status, v)
	}
}

func (s *Simulator) validKey(k string) bool {
	ok := false
	for _, want := range s.cfg.APIKeys {
		if len(k) == len(want) && subtleEqual(k, want) {
			ok = true
		}
	}
	return ok
}

// rateLimit counts a non-GET call against the window; GETs only read the
// counters.
func (s *Simulator) rateLimit(counts bool) (RateHeaders, bool) {
	rl := s.cfg.RateLimit
	if rl.Limit == 0 {
		return RateHeaders{Limit: -1}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.window.IsZero() || !now.Before(s.window.Add(rl.Window)) {
		s.window, s.used = now, 0
	}
	h := RateHeaders{Limit: rl.Limit, RetryAt: s.window.Add(rl.Window)}
	if counts {
		if s.used >= rl.Limit {
			return h, true
		}
		s.used++
	}
	h.Remaining = rl.Limit - s.used
	return h, false
}

func setRateHeaders(h http.Header, rh RateHeaders) {
	if rh.Limit < 0 || (rh.Limit == 0 && rh.RetryAt.IsZero()) {
		return
	}
	h.Set("X-RateLimit-Limit", strconv.Itoa(rh.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(rh.Remaining))
}

func (s *Simulator) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.writeProblem(w, &problem{status: http.StatusInternalServerError, title: "Internal server error"}, RateHeaders{})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeProblem answers an RFC 9457 problem; a 429 carries
// X-RateLimit-Retry-After as a Unix timestamp (API.md §8).
func (s *Simulator) writeProblem(w http.ResponseWriter, p *problem, rh RateHeaders) {
	setRateHeaders(w.Header(), rh)
	if p.status == http.StatusTooManyRequests {
		w.Header().Set("X-RateLimit-Retry-After", strconv.FormatInt(rh.RetryAt.Unix(), 10))
	}
	body, _ := json.Marshal(rebilly.Problem{
		Type:  "https://www.rebilly.com/catalog/all/section/errors/" + strings.ToLower(strings.ReplaceAll(p.title, " ", "-")),
		Title: p.title, Status: p.status, Detail: p.detail, InvalidFields: p.invalid,
	})
	w.Header().Set("Content-Type", s.cfg.ProblemContentType)
	w.WriteHeader(p.status)
	_, _ = w.Write(body)
}

// filterOf parses Rebilly's collection filter into field → allowed values.
func filterOf(raw string, allowed ...string) (map[string][]string, *problem) {
	out := map[string][]string{}
	if raw == "" {
		return out, nil
	}
	for _, part := range strings.Split(raw, ";") {
		field, vals, ok := strings.Cut(part, ":")
		if !ok || !contains(allowed, field) {
			return nil, invalid("filter", "unsupported filter field; supported: "+strings.Join(allowed, ", "))
		}
		out[field] = strings.Split(vals, ",")
	}
	return out, nil
}

func matches(f map[string][]string, field, v string) bool {
	vals, ok := f[field]
	return !ok || contains(vals, v)
}

// page applies limit and offset and sets the pagination headers.
func page[T any](r *http.Request, items []T) ([]T, map[string]string, *problem) {
	q := r.URL.Query()
	limit, offset := 100, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			return nil, nil, invalid("limit", "must be between 0 and 1000")
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, nil, invalid("offset", "must not be negative")
		}
		offset = n
	}
	h := map[string]string{"Pagination-Total": strconv.Itoa(len(items)), "Pagination-Limit": strconv.Itoa(limit), "Pagination-Offset": strconv.Itoa(offset)}
	if offset > len(items) {
		offset = len(items)
	}
	items = items[offset:]
	if len(items) > limit {
		items = items[:limit]
	}
	return items, h, nil
}

// listAnswer sorts (oldest first, or newest first for sort=-createdTime),
// pages and answers a list; an empty list is [] rather than null.
func listAnswer[T any](r *http.Request, out []T) (any, int, *problem) {
	if r.URL.Query().Get("sort") == "-createdTime" {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	items, h, p := page(r, out)
	if p != nil {
		return nil, 0, p
	}
	if items == nil {
		items = []T{}
	}
	return paged{items, h}, http.StatusOK, nil
}

// paged carries the pagination headers with a list answer.
type paged struct {
	items   any
	headers map[string]string
}

// MarshalJSON writes the list itself.
func (p paged) MarshalJSON() ([]byte, error) { return json.Marshal(p.items) }

func (s *Simulator) listTransactions(r *http.Request, _ []byte) (any, int, *problem) {
	f, p := filterOf(r.URL.Query().Get("filter"), "requestId", "customerId", "websiteId", "type", "status", "result",
		"parentTransactionId", "depositRequestId", "payoutRequestId")
	if p != nil {
		return nil, 0, p
	}
	s.mu.Lock()
	var out []rebilly.Transaction
	for _, id := range s.txnOrder {
		t := s.txns[id]
		if matches(f, "requestId", t.requestID) && matches(f, "customerId", t.customerID) && matches(f, "websiteId", t.websiteID) &&
			matches(f, "type", t.typ) && matches(f, "status", t.status) && matches(f, "result", t.result) &&
			matches(f, "parentTransactionId", t.parentID) && matches(f, "depositRequestId", t.depositRequestID) &&
			matches(f, "payoutRequestId", t.payoutRequestID) {
			out = append(out, s.wireTxn(t))
		}
	}
	s.mu.Unlock()
	return listAnswer(r, out)
}

func (s *Simulator) listPayoutRequests(r *http.Request, _ []byte) (any, int, *problem) {
	f, p := filterOf(r.URL.Query().Get("filter"), "customerId", "websiteId", "status", "currency")
	if p != nil {
		return nil, 0, p
	}
	s.mu.Lock()
	var out []rebilly.PayoutRequest
	for _, pr := range s.sortedPayouts() {
		if matches(f, "customerId", pr.customerID) && matches(f, "websiteId", pr.websiteID) && matches(f, "status", pr.status) &&
			matches(f, "currency", pr.currency) {
			out = append(out, s.wirePayout(pr))
		}
	}
	s.mu.Unlock()
	return listAnswer(r, out)
}

func (s *Simulator) getDepositRequest(r *http.Request, _ []byte) (any, int, *problem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deposits[r.PathValue("id")]
	if d == nil {
		return nil, 0, notFound("Deposit request")
	}
	c := s.cashiers[d.cashierID]
	return rebilly.DepositRequest{
		ID: d.id, WebsiteID: c.websiteID, CustomerID: c.customerID, Currency: c.currency, Status: d.status,
		TransactionIDs: append([]string(nil), d.transactionIDs...), RedirectURL: c.redirectURL, ExpirationTime: stamp(c.expires),
		Links: []rebilly.Link{{Rel: "self", Href: s.resourceURL("/deposit-requests/" + d.id)}, {Rel: "deposit", Href: "/sim/cashiers/" + c.id}},
	}, http.StatusOK, nil
}

// storefrontCancel is the reverse withdrawal, authorized by the cashier's
// token as a Bearer credential (UNCONFIRMED that cashierToken works so).
func (s *Simulator) storefrontCancel(r *http.Request, b []byte) (any, int, *problem) {
	id := r.PathValue("id")
	s.mu.Lock()
	c := s.cashiers[id]
	token := ""
	if c != nil {
		token = c.token
	}
	s.mu.Unlock()
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if c == nil || !ok || !subtleEqual(bearer, token) {
		return nil, 0, &problem{status: http.StatusUnauthorized, title: "Unauthorized", detail: "Invalid cashier token"}
	}
	var req struct {
		Amount rebilly.Decimal `json:"amount"`
	}
	if len(strings.TrimSpace(string(b))) > 0 {
		var p *problem
		if req, p = decodeReq[struct {
			Amount rebilly.Decimal `json:"amount"`
		}](s, b); p != nil {
			return nil, 0, p
		}
	}
	return s.reverseWithdrawal(id, req.Amount)
}

func subtleEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
