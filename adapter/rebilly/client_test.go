package rebilly

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/provider"
	"github.com/praxis-adapter/praxis-adapter/adapter/provider/providertest"
)

func newTestClient(t *testing.T, url string) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{BaseURL: url, OrganizationID: "org_1", APIKey: "sk_test", Timeout: 2 * time.Second})
	require.NoError(t, err)
	return c
}

// TestClassification runs each hand-made answer through a write (a refund)
// and a read (GET transaction) and checks the outcome and the Sent flag.
func TestClassification(t *testing.T) {
	const problem422 = `{"type":"https://www.rebilly.com/docs/validation","title":"Validation error","status":422,
		"detail":"amount 99.99 exceeds john@example.com's balance","invalidFields":[{"field":"amount","message":"99.99 is too much"}]}`
	tests := []struct {
		name      string
		status    int
		body      string
		header    map[string]string
		write     Outcome
		read      Outcome
		notFound  bool
		wantInErr string
	}{
		{"success", 201, txnBody, nil, OutcomeSuccess, OutcomeSuccess, false, ""},
		{"success undecodable", 200, `{"id":"t","amount":"1","currency":"USD"}`, nil, OutcomeUnknown, OutcomeTransient, false, "success response does not decode"},
		{"success not JSON", 200, `<html>`, nil, OutcomeUnknown, OutcomeTransient, false, "does not decode"},
		{"validation", 422, problem422, map[string]string{"Content-Type": "application/problem+json"}, OutcomeRejected, OutcomeRejected, false, "HTTP 422: Validation error (https://www.rebilly.com/docs/validation): invalid fields amount"},
		{"problem as application/json", 403, `{"title":"Forbidden","status":403}`, nil, OutcomeRejected, OutcomeRejected, false, "HTTP 403: Forbidden"},
		{"not found", 404, `{"title":"Not found","status":404}`, nil, OutcomeRejected, OutcomeRejected, true, "HTTP 404"},
		{"unauthorized, no body", 401, ``, nil, OutcomeRejected, OutcomeRejected, false, "HTTP 401"},
		{"rate limited", 429, `{"title":"Too many requests","status":429}`, map[string]string{"X-RateLimit-Retry-After": "4102444800", "X-RateLimit-Limit": "3000", "X-RateLimit-Remaining": "0"}, OutcomeTransient, OutcomeTransient, false, "HTTP 429"},
		{"unavailable", 503, `oops`, nil, OutcomeTransient, OutcomeTransient, false, "HTTP 503"},
		{"server error", 500, `{"title":"Internal error","status":500}`, nil, OutcomeUnknown, OutcomeTransient, false, "HTTP 500"},
		{"gateway timeout", 504, ``, nil, OutcomeUnknown, OutcomeTransient, false, "HTTP 504"},
		{"conflict without requestId", 409, `{"title":"Conflict","status":409}`, nil, OutcomeRejected, OutcomeRejected, false, "HTTP 409"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "sk_test", r.Header.Get(HeaderAPIKey))
				assert.True(t, strings.HasPrefix(r.URL.Path, "/organizations/org_1/transactions/txn_1"), r.URL.Path)
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := newTestClient(t, srv.URL)
			_, werr := c.Refund(t.Context(), "txn_1", RefundRequest{Amount: "1.00"})
			_, rerr := c.GetTransaction(t.Context(), "txn_1")
			assert.Equal(t, tc.write, Classify(werr), "write: %v", werr)
			assert.Equal(t, tc.read, Classify(rerr), "read: %v", rerr)
			if tc.write == OutcomeSuccess {
				return
			}
			var e *Error
			require.ErrorAs(t, werr, &e)
			assert.True(t, e.Sent)
			assert.Equal(t, tc.status, e.HTTPStatus)
			assert.Equal(t, tc.notFound, errors.Is(werr, ErrNotFound))
			assert.Contains(t, werr.Error(), tc.wantInErr)
			for _, secret := range []string{"john@example.com", "99.99"} {
				assert.NotContains(t, werr.Error(), secret, "no customer value in the message")
			}
			if tc.status == 429 {
				assert.Equal(t, 3000, e.RateLimit.Limit)
				assert.Equal(t, 0, e.RateLimit.Remaining)
				assert.Equal(t, time.Unix(4102444800, 0), e.RateLimit.RetryAt)
			}
			if tc.status == 422 {
				require.NotNil(t, e.Problem)
				assert.Equal(t, "amount", e.Problem.InvalidFields[0].Field)
				assert.Contains(t, e.Problem.Detail, "john@example.com", "the detail is kept for an operator")
			}
		})
	}
}

func TestDuplicateRequestIDIsUnknown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusConflict)
		_, _ = w.Write([]byte(`{"title":"Conflict","status":409}`))
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL)
	_, err := c.CreateTransaction(t.Context(), TransactionRequest{Type: TypeSale, WebsiteID: "w", CustomerID: "c", Currency: "EUR", Amount: "1", RequestID: "cmd-1"})
	assert.Equal(t, OutcomeUnknown, Classify(err))
	assert.ErrorIs(t, err, ErrDuplicateRequestID)
}

func TestTransportOutcomes(t *testing.T) {
	t.Run("refused connection: transient, not sent", func(t *testing.T) {
		c := newTestClient(t, providertest.DeadURL(t))
		_, err := c.Refund(t.Context(), "txn_1", RefundRequest{Amount: "1"})
		assert.Equal(t, OutcomeTransient, Classify(err))
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.False(t, e.Sent)
	})
	t.Run("hang up after the request: unknown, sent", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}))
		defer srv.Close()
		c := newTestClient(t, srv.URL)
		_, err := c.Refund(t.Context(), "txn_1", RefundRequest{Amount: "1"})
		assert.Equal(t, OutcomeUnknown, Classify(err))
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.True(t, e.Sent)
	})
	t.Run("timeout: unknown", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		c, err := NewClient(ClientConfig{BaseURL: srv.URL, APIKey: "k", Timeout: 50 * time.Millisecond})
		require.NoError(t, err)
		_, err = c.CreateCashier(context.Background(), CashierRequest{CustomerID: "c", WebsiteID: "w", Currency: "EUR"})
		assert.Equal(t, OutcomeUnknown, Classify(err))
	})
	t.Run("bad id: rejected before sending", func(t *testing.T) {
		c := newTestClient(t, "http://127.0.0.1:1")
		_, err := c.GetTransaction(t.Context(), "../admin")
		assert.Equal(t, OutcomeRejected, Classify(err))
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.False(t, e.Sent)
	})
}

func TestNewClientErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  ClientConfig
		want string
	}{
		{ClientConfig{APIKey: "k"}, "base_url is empty"},
		{ClientConfig{BaseURL: "ftp://x", APIKey: "k"}, "base_url must be"},
		{ClientConfig{BaseURL: "https://x"}, "api_key is empty"},
		{ClientConfig{BaseURL: "https://x", APIKey: "k", OrganizationID: "a/b"}, "organization_id"},
	} {
		_, err := NewClient(tc.cfg)
		assert.ErrorContains(t, err, tc.want)
	}
}

func TestParseRateLimit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := http.Header{}
	h.Set("Rate-Limit-Limit", "100")
	h.Set("Retry-After", "30")
	rl := ParseRateLimit(h, now)
	assert.Equal(t, 100, rl.Limit)
	assert.Equal(t, -1, rl.Remaining)
	assert.Equal(t, 30*time.Second, rl.RetryAfter(now))
	h = http.Header{}
	h.Set("X-RateLimit-Retry-After", "1713187500")
	assert.Equal(t, time.Unix(1713187500, 0), ParseRateLimit(h, now).RetryAt)
	assert.Zero(t, ParseRateLimit(http.Header{}, now).RetryAfter(now))
}

func TestFilterAndRequestID(t *testing.T) {
	f, err := Filter("customerId", "cus_1", "status", "pending")
	require.NoError(t, err)
	assert.Equal(t, "customerId:cus_1;status:pending", f)
	_, err = Filter("customerId", "a;status:x")
	assert.Error(t, err)

	assert.Equal(t, "cmd-1", RequestIDFor("cmd-1"))
	long := RequestIDFor("app:" + strings.Repeat("a", 80))
	assert.Len(t, long, 50)
	assert.True(t, strings.HasPrefix(long, "x-"))
	assert.Equal(t, long, RequestIDFor("app:"+strings.Repeat("a", 80)), "deterministic")
	assert.NotEqual(t, "x-abc", RequestIDFor("x-abc"), "the reserved prefix is always hashed")
	assert.NotEqual(t, RequestIDFor("a.b"), RequestIDFor("a:b"))
}

func TestSelectReverse(t *testing.T) {
	pr := func(id, created string, amount int64, status, currency string) PayoutRequest {
		return PayoutRequest{ID: id, CreatedTime: created, AmountMinor: amount, Status: status, Currency: currency}
	}
	reqs := []PayoutRequest{
		pr("p3", "2026-01-03T00:00:00Z", 3000, PayoutPending, "EUR"),
		pr("p1", "2026-01-01T00:00:00Z", 1000, PayoutPending, "EUR"),
		pr("p2", "2026-01-02T00:00:00Z", 5000, PayoutPending, "EUR"),
		pr("p0", "2025-12-31T00:00:00Z", 700, PayoutApproved, "EUR"),
		pr("pu", "2025-12-30T00:00:00Z", 100, PayoutPending, "USD"),
		pr("p1", "2026-01-01T00:00:00Z", 1000, PayoutPending, "EUR"),     // listed twice
		pr("p4", "2026-01-02T01:00:00+01:00", 200, PayoutPending, "EUR"), // the same instant as p2, sorts after by id
	}
	ids := func(s ReverseSelection) []string {
		var out []string
		for _, p := range s.Cancel {
			out = append(out, p.ID)
		}
		return out
	}
	tests := []struct {
		name  string
		limit int64
		want  []string
		total int64
	}{
		{"everything", 0, []string{"p1", "p2", "p4", "p3"}, 9200},
		{"exact", 6000, []string{"p1", "p2"}, 6000},
		{"stops at the first that overshoots", 6100, []string{"p1", "p2"}, 6000},
		{"oldest too big", 999, nil, 0},
		{"more than pending", 1_000_000, []string{"p1", "p2", "p4", "p3"}, 9200},
		{"one", 1000, []string{"p1"}, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := SelectReverse(reqs, "EUR", tc.limit)
			assert.Equal(t, tc.want, ids(s))
			assert.Equal(t, tc.total, s.Total)
			assert.Equal(t, int64(9200), s.Pending)
		})
	}
	assert.Empty(t, SelectReverse(nil, "EUR", 0).Cancel)
}

func TestErrorRetryAfterWaitsOutTheStatedSecond(t *testing.T) {
	now := time.Unix(1_800_000_000, 500_000_000)
	tests := []struct {
		name    string
		retryAt time.Time
		want    time.Duration
	}{
		{"not said", time.Time{}, 0},
		{"this second", time.Unix(1_800_000_000, 0), 500 * time.Millisecond},
		{"in two seconds", time.Unix(1_800_000_002, 0), 2500 * time.Millisecond},
		{"long past", time.Unix(1_700_000_000, 0), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &Error{Outcome: OutcomeTransient, HTTPStatus: 429, RateLimit: RateLimit{RetryAt: tc.retryAt}}
			assert.Equal(t, tc.want, e.RetryAfter(now))
			assert.Equal(t, tc.want, provider.RetryAfter(fmt.Errorf("w: %w", e), now))
		})
	}
}
