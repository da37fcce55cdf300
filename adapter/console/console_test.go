package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

const testToken = "0123456789abcdef-operator"

func TestAuth(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	a := auth{token: []byte(testToken), now: func() time.Time { return now }}
	cookie := a.newSession("alice")
	withCookie := func(v string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/console/", nil)
		r.AddCookie(&http.Cookie{Name: cookieName, Value: v})
		return r
	}
	op, ok := a.who(withCookie(cookie))
	require.True(t, ok)
	assert.Equal(t, "alice", op.Name)

	tests := []struct {
		name string
		req  func() *http.Request
		ok   bool
	}{
		{"no credentials", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) }, false},
		{"tampered name", func() *http.Request { return withCookie("Ym9i" + cookie[strings.Index(cookie, "."):]) }, false},
		{"tampered mac", func() *http.Request { return withCookie(cookie[:len(cookie)-1] + "0") }, false},
		{"garbage", func() *http.Request { return withCookie("x.y") }, false},
		{"bearer", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set("Authorization", "Bearer "+testToken)
			return r
		}, true},
		{"wrong bearer", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set("Authorization", "Bearer "+testToken+"x")
			return r
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ok := a.who(tc.req())
			assert.Equal(t, tc.ok, ok)
		})
	}

	t.Run("expired", func(t *testing.T) {
		later := auth{token: a.token, now: func() time.Time { return now.Add(sessionTTL + time.Minute) }}
		_, ok := later.who(withCookie(cookie))
		assert.False(t, ok)
	})
	t.Run("another token logs everyone out", func(t *testing.T) {
		other := auth{token: []byte(testToken + "2"), now: a.now}
		_, ok := other.who(withCookie(cookie))
		assert.False(t, ok)
	})
	t.Run("no token, nobody acts", func(t *testing.T) {
		none := auth{now: a.now}
		assert.False(t, none.tokenOK(""))
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Authorization", "Bearer ")
		_, ok := none.who(r)
		assert.False(t, ok)
	})
	t.Run("guessing is slowed", func(t *testing.T) {
		clock := now
		l := auth{token: a.token, now: func() time.Time { return clock }, limit: &failLimiter{}}
		bearer := func(tok string) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			return r
		}
		for range maxFails {
			_, ok := l.who(bearer("guess"))
			require.False(t, ok)
		}
		_, ok := l.who(bearer(testToken))
		assert.False(t, ok, "after %d failures even the right token waits", maxFails)
		clock = clock.Add(failWindow + time.Second)
		_, ok = l.who(bearer(testToken))
		assert.True(t, ok, "the window passes")
	})
	t.Run("csrf", func(t *testing.T) {
		post := func(csrf, site string) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/console/dlq/replay", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(&http.Cookie{Name: cookieName, Value: cookie})
			if site != "" {
				r.Header.Set("Sec-Fetch-Site", site)
			}
			return r
		}
		good := a.csrf(op)
		assert.True(t, a.postOK(post(good, "same-origin"), op))
		assert.True(t, a.postOK(post(good, ""), op))
		assert.False(t, a.postOK(post(good, "cross-site"), op), "a cross-site form is refused")
		assert.False(t, a.postOK(post("", ""), op), "no token")
		assert.False(t, a.postOK(post(good[:10], ""), op), "wrong token")
	})
}

func TestExtract(t *testing.T) {
	h := nats.Header{}
	h.Set(worker.HeaderDLQCommandID, "cap-1")
	h.Set(worker.HeaderDLQOutcome, "failed")
	h.Set(worker.HeaderDLQReason, "gave up after 2 deliveries")
	tests := []struct {
		name, subject string
		h             nats.Header
		body          string
		family, label string
		keys          []Key
		fields        map[string]string
	}{
		// An event is read from its envelope's verified attributes only:
		// data is the provider's body, which only the ingress's strict
		// decoder reads (its tid 999 and order "other" must not be indexed).
		{"event", "praxis.events.sandbox.deposit.approved", nil,
			`{"id":"sandbox:t:7:approved","praxisprocessor":"P","praxistid":"7","praxisstatus":"approved","praxisamount":"2500","praxiscurrency":"EUR","praxisorderid":"order-1",` +
				`"data":{"customer":{"first_name":"Jane","customer_token":"c"},"session":{"order_id":"other","cid":"cust-42","auth_token":"secret-token"},"transaction":{"tid":999,"transaction_status":"approved","amount":2500,"currency":"EUR","card":{"card_holder":"Jane Doe"}}}}`,
			FamilyEvent, "deposit.approved", []Key{{KeyTID, "7"}, {KeyOrder, "order-1"}},
			map[string]string{"event_id": "sandbox:t:7:approved", "status": "approved", "amount": "2500", "currency": "EUR", "processor": "P"}},
		{"command", "praxis.commands.sandbox.refund.create", nil,
			`{"id":"demo-3","reference_id":7,"amount":1000,"currency":"EUR","cid":"cust-42","order_id":"refund-1","customer_data":{"email":"jane@example.com","order_id":"nope"}}`,
			FamilyCommand, "refund.create", []Key{{KeyCommand, "demo-3"}, {KeyTID, "7"}, {KeyCID, "cust-42"}, {KeyOrder, "refund-1"}},
			map[string]string{"amount": "1000", "currency": "EUR"}},
		{"result", "praxis.results.sandbox.authorization.capture", nil,
			`{"id":"cap-1","outcome":"ok","tid":7,"reconciled":true,"praxis":{"status":0,"description":"ok"},"auth_token":"t"}`,
			FamilyResult, "authorization.capture", []Key{{KeyCommand, "cap-1"}, {KeyTID, "7"}},
			map[string]string{"outcome": "ok", "reconciled": "yes", "praxis_status": "0"}},
		{"dead letter", "praxis.dlq.sandbox.authorization.capture", h, `{"id":"cap-1","tid":7}`,
			FamilyDeadLetter, "authorization.capture", []Key{{KeyCommand, "cap-1"}, {KeyTID, "7"}},
			map[string]string{"outcome": "failed", "reason": "gave up after 2 deliveries"}},
		{"ledger", "praxis.ledger.sandbox.deposit.reversed", nil,
			`{"id":"sandbox:7:deposit.reversed","kind":"deposit.reversed","tid":8,"reference_tid":7,"order_id":"refund-1","cid":"cust-42","amount":1000,"currency":"EUR","praxis_status":"approved"}`,
			FamilyLedger, "deposit.reversed", []Key{{KeyTID, "8"}, {KeyTID, "7"}, {KeyOrder, "refund-1"}, {KeyCID, "cust-42"}},
			map[string]string{"instruction_id": "sandbox:7:deposit.reversed", "amount": "1000", "currency": "EUR", "praxis_status": "approved"}},
		{"rebilly ledger", "rebilly.ledger.rshop.deposit.credited", nil,
			`{"id":"rshop:rebilly:txn_1:deposit.credited","kind":"deposit.credited","order_id":"dep_req_1","cid":"cus_1","amount":1050,"currency":"EUR","provider":"rebilly","transaction_id":"txn_1","provider_status":"approved"}`,
			FamilyLedger, "deposit.credited", []Key{{KeyOrder, "dep_req_1"}, {KeyCID, "cus_1"}},
			map[string]string{"instruction_id": "rshop:rebilly:txn_1:deposit.credited", "amount": "1050", "currency": "EUR", "provider": "rebilly", "transaction_id": "txn_1", "provider_status": "approved"}},
		{"a future family is walked generically", "praxis.ledger_review.sandbox.held", nil,
			`{"tid":9,"order_id":"o-9","reason":"amount mismatch"}`,
			FamilyOther, "praxis.ledger_review.sandbox.held", []Key{{KeyTID, "9"}, {KeyOrder, "o-9"}}, map[string]string{}},
		{"not JSON", "praxis.events.sandbox.other.x", nil, `<xml/>`, FamilyOther, "praxis.events.sandbox.other.x", nil, map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			if h == nil {
				h = nats.Header{}
			}
			x := extract(DefaultExtractors(), tc.subject, h, []byte(tc.body))
			assert.Equal(t, tc.family, x.Family)
			assert.Equal(t, tc.label, x.Label)
			assert.ElementsMatch(t, tc.keys, x.Keys)
			assert.Equal(t, tc.fields, x.Fields)
			dump := fmt.Sprint(x)
			for _, pii := range []string{"Jane", "jane@", "secret-token", "nope"} {
				assert.NotContains(t, dump, pii, "customer data and secrets stay out of the index")
			}
		})
	}
}

func TestRedactedJSON(t *testing.T) {
	out := redactedJSON([]byte(`{"session":{"auth_token":"abc","order_id":"o"},"customer":{"customer_token":"ct"},"signature":"s","redirect_url":"https://x/?t=1","n":12345678901234567890}`))
	assert.NotContains(t, out, `"abc"`)
	assert.NotContains(t, out, `"ct"`)
	assert.NotContains(t, out, "https://x")
	assert.Contains(t, out, `"order_id": "o"`)
	assert.Contains(t, out, "12345678901234567890", "numbers are kept exactly")
	assert.Contains(t, redactedJSON([]byte("not json")), "not JSON")
}

func TestIndexIsBoundedAndFollowsLinks(t *testing.T) {
	_, nc, js := tu.JetStream(t)
	ix, err := NewIndex(t.Context(), nc, js, IndexConfig{Retention: time.Hour, MaxRefs: 10, Memory: true}, tu.Logger(t))
	require.NoError(t, err)
	now := time.Now().UTC()
	for i := range 15 {
		ref := Ref{ID: fmt.Sprintf("S:%d", i), Stream: "S", Seq: uint64(i), Time: now.Add(time.Duration(i) * time.Second), Keys: []Key{{KeyCID, "cust-1"}}}
		require.NoError(t, ix.Add(t.Context(), ref))
		require.NoError(t, ix.Add(t.Context(), ref), "adding a ref twice is harmless")
	}
	refs, err := ix.Lookup(t.Context(), Key{KeyCID, "cust-1"})
	require.NoError(t, err)
	require.Len(t, refs, 10, "at most MaxRefs per key")
	assert.Equal(t, uint64(5), refs[0].Seq, "the oldest are dropped first")

	old := Ref{ID: "S:old", Time: now.Add(-2 * time.Hour), Keys: []Key{{KeyTID, "1"}}}
	require.NoError(t, ix.Add(t.Context(), old))
	require.NoError(t, ix.Add(t.Context(), Ref{ID: "S:new", Time: now, Keys: []Key{{KeyTID, "1"}}}))
	refs, err = ix.Lookup(t.Context(), Key{KeyTID, "1"})
	require.NoError(t, err)
	require.Len(t, refs, 1, "refs older than the retention are dropped")

	// Odd values become valid bucket keys.
	odd := Key{KeyOrder, "ORDER #1/ü.*>"}
	require.NoError(t, ix.Add(t.Context(), Ref{ID: "S:odd", Time: now, Keys: []Key{odd}}))
	refs, err = ix.Lookup(t.Context(), odd)
	require.NoError(t, err)
	require.Len(t, refs, 1)

	// A timeline follows tid, order and command links, not cids.
	add := func(id string, at int, keys ...Key) {
		require.NoError(t, ix.Add(t.Context(), Ref{ID: id, Time: now.Add(time.Duration(at) * time.Millisecond), Keys: keys}))
	}
	add("deposit", 1, Key{KeyOrder, "order-1"}, Key{KeyTID, "100"}, Key{KeyCID, "cust-9"})
	add("refund", 2, Key{KeyCommand, "r-1"}, Key{KeyTID, "100"}, Key{KeyOrder, "refund-1"}, Key{KeyCID, "cust-9"})
	add("refund-event", 3, Key{KeyOrder, "refund-1"}, Key{KeyTID, "101"})
	add("other-order", 4, Key{KeyOrder, "order-2"}, Key{KeyCID, "cust-9"})
	tl, _, err := ix.Timeline(t.Context(), "order-1", 40)
	require.NoError(t, err)
	var ids []string
	for _, r := range tl {
		ids = append(ids, r.ID)
	}
	assert.Equal(t, []string{"deposit", "refund", "refund-event"}, ids)
	tl, _, err = ix.Timeline(t.Context(), "cust-9", 40)
	require.NoError(t, err)
	assert.Len(t, tl, 4, "a cid search shows the customer's every order")
}

// TestReadOnlyWithoutToken: with no operator token nobody can act, bodies
// stay hidden, and nothing is audited or replayed.
func TestReadOnlyWithoutToken(t *testing.T) {
	_, nc, js := tu.JetStream(t)
	require.NoError(t, subjects.EnsureStreams(t.Context(), js, subjects.StreamsConfig{Memory: true}))
	c, err := New(t.Context(), Config{Memory: true, Index: IndexConfig{Retention: time.Hour}}, Deps{NC: nc, JS: js, Log: tu.Logger(t)})
	require.NoError(t, err)
	h := nats.Header{}
	h.Set(worker.HeaderDLQCommandID, "cmd-9")
	_, err = js.PublishMsg(t.Context(), &nats.Msg{Subject: subjects.DeadLetter("sandbox", "refund.create"), Header: h,
		Data: []byte(`{"id":"cmd-9","customer_data":{"email":"jane@example.com"}}`)})
	require.NoError(t, err)
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)

	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		return resp.StatusCode, readAll(t, resp)
	}
	code, page := get("/console")
	assert.Equal(t, http.StatusOK, code, "/console redirects to the console")
	assert.Contains(t, page, "Transaction timeline")
	code, page = get("/console/dlq")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, page, "cmd-9")
	assert.Contains(t, page, "read-only")
	assert.NotContains(t, page, "Replay selected")
	code, page = get("/console/dlq/1")
	assert.Equal(t, http.StatusOK, code)
	assert.NotContains(t, page, "jane@example.com", "bodies are for operators only")

	for _, form := range []url.Values{{"seq": {"1"}, "why": {"x"}}, {"name": {"eve"}, "token": {""}}} {
		path := "/console/dlq/replay"
		if form.Has("token") {
			path = "/console/login"
		}
		resp, err := http.PostForm(srv.URL+path, form)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, resp.StatusCode, path)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/console/dlq/replay", strings.NewReader("seq=1&why=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer anything-at-all-1234")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	s, err := js.Stream(t.Context(), subjects.StreamAudit)
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	assert.Zero(t, info.State.Msgs, "nothing was audited: nothing happened")
	cs, err := js.Stream(t.Context(), subjects.StreamCommands)
	require.NoError(t, err)
	cinfo, err := cs.Info(t.Context())
	require.NoError(t, err)
	assert.Zero(t, cinfo.State.Msgs, "nothing was replayed")
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	var b strings.Builder
	_, err := io.Copy(&b, resp.Body)
	require.NoError(t, err)
	return b.String()
}

// TestHeldResolve: the held view lists the configured subject's records,
// and an operator's resolve is audited, then handed to Deps.Resolve.
func TestHeldResolve(t *testing.T) {
	_, nc, js := tu.JetStream(t)
	require.NoError(t, subjects.EnsureStreams(t.Context(), js, subjects.StreamsConfig{Memory: true}))
	var got []ResolveRequest
	c, err := New(t.Context(), Config{Token: testToken, Memory: true, Index: IndexConfig{Retention: time.Hour},
		HeldStream: subjects.StreamLedger, HeldSubject: subjects.Root + ".ledger.*.held.>"},
		Deps{NC: nc, JS: js, Log: tu.Logger(t), Resolve: func(_ context.Context, req ResolveRequest) error {
			got = append(got, req)
			return nil
		}})
	require.NoError(t, err)
	ack, err := js.Publish(t.Context(), subjects.Ledger("sandbox", "held.deposit"), []byte(`{"tid":77,"order_id":"o-77","reason":"amount differs"}`))
	require.NoError(t, err)
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + "/console/held")
	require.NoError(t, err)
	page := readAll(t, resp)
	resp.Body.Close()
	assert.Contains(t, page, "tid&nbsp;77")
	assert.Contains(t, page, "amount differs")

	form := url.Values{"seq": {fmt.Sprint(ack.Sequence)}, "decision": {"book"}, "why": {"checked with Praxis"}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/console/held/resolve", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("X-Praxis-Operator", "bob")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Len(t, got, 1)
	assert.Equal(t, ResolveRequest{Stream: subjects.StreamLedger, Seq: ack.Sequence, Decision: "book", Who: "bob", Why: "checked with Praxis"}, got[0])

	s, err := js.Stream(t.Context(), subjects.StreamAudit)
	require.NoError(t, err)
	info, err := s.Info(t.Context(), jetstream.WithSubjectFilter(subjects.Audit("sandbox", subjects.AuditConsole)))
	require.NoError(t, err)
	assert.Equal(t, uint64(2), info.State.Msgs, "audited before and after")
}

// BenchmarkIndexAdd is the index's cost per message carrying four keys
// (tid, order, cid, command id), the usual for an event or a result.
func BenchmarkIndexAdd(b *testing.B) {
	_, nc, js := tu.JetStream(b)
	ix, err := NewIndex(b.Context(), nc, js, IndexConfig{Retention: time.Hour, MaxRefs: 200}, tu.Logger(b))
	require.NoError(b, err)
	now := time.Now().UTC()
	b.ResetTimer()
	for i := range b.N {
		ref := Ref{ID: fmt.Sprintf("S:%d", i), Stream: "S", Seq: uint64(i), Time: now, Family: FamilyEvent,
			Keys:   []Key{{KeyTID, fmt.Sprint(1000000 + i/3)}, {KeyOrder, fmt.Sprintf("order-%d", i/3)}, {KeyCID, fmt.Sprintf("cust-%d", i%50)}, {KeyCommand, fmt.Sprintf("cmd-%d", i)}},
			Fields: map[string]string{"status": "approved", "amount": "2500", "currency": "EUR"}}
		if err := ix.Add(b.Context(), ref); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndexStream is the indexer's throughput on the events stream:
// b.N deposit events published, then indexed through the durable consumer.
func BenchmarkIndexStream(b *testing.B) {
	_, nc, js := tu.JetStream(b)
	require.NoError(b, subjects.EnsureStreams(b.Context(), js, subjects.StreamsConfig{}))
	require.NoError(b, subjects.EnsureAuditStream(b.Context(), js, subjects.AuditStream(1, 0, false)))
	for i := range b.N {
		body := fmt.Sprintf(`{"id":"e-%d","data":{"session":{"order_id":"order-%d","cid":"cust-%d"},"transaction":{"tid":%d,"transaction_status":"approved","amount":2500,"currency":"EUR"}}}`, i, i/3, i%50, 1000000+i/3)
		_, err := js.PublishAsync(subjects.Event("sandbox", "deposit", "approved"), []byte(body))
		require.NoError(b, err)
	}
	<-js.PublishAsyncComplete()
	ix, err := NewIndex(b.Context(), nc, js, IndexConfig{Retention: time.Hour, MaxRefs: 200}, tu.Logger(b))
	require.NoError(b, err)
	b.ResetTimer()
	stop, err := ix.Start(b.Context())
	require.NoError(b, err)
	defer stop()
	s, err := js.Stream(b.Context(), subjects.StreamEvents)
	require.NoError(b, err)
	cons, err := s.Consumer(b.Context(), subjects.ConsumerConsoleIndex)
	require.NoError(b, err)
	tu.Eventually(b, 5*time.Minute, 5*time.Millisecond, func() error {
		info, err := cons.Info(b.Context())
		require.NoError(b, err)
		if info.NumPending+uint64(info.NumAckPending) > 0 {
			return fmt.Errorf("%d still to index", info.NumPending+uint64(info.NumAckPending))
		}
		return nil
	})
}
