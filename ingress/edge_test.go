package ingress

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// edgeIngress is an ingress on an embedded NATS and KV store, logging to log.
func edgeIngress(t *testing.T, log zerolog.Logger) (*httptest.Server, *prometheus.Registry) {
	t.Helper()
	srv := tu.NATS(t)
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.NoError(t, subjects.EnsureStreams(t.Context(), js, subjects.StreamsConfig{}))
	store, err := idempotency.NewKV(t.Context(), js, idempotency.KVConfig{MaxAge: 7 * 24 * time.Hour})
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	ing, err := New(Config{
		Applications:   []Application{{Name: "sandbox", MerchantID: merchant, ApplicationKey: sandboxKey, Secrets: []string{secret}}},
		Lists:          praxis.DefaultLists(),
		MaxBodyBytes:   8 << 10,
		PublishTimeout: 500 * time.Millisecond,
		RequestTimeout: 300 * time.Millisecond,
	}, Deps{NC: nc, JS: js, Store: store, Log: log, Registry: reg})
	require.NoError(t, err)
	// Background dedup completions finish before NATS closes (their
	// failure would be another test's subject).
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, ing.Drain(ctx))
	})
	h := httptest.NewServer(ing.Handler())
	t.Cleanup(h.Close)
	return h, reg
}

func rawPost(t *testing.T, url, contentType string, body []byte, sig string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	if sig != "" {
		req.Header.Set(praxis.HeaderSignature, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestLogsCarryNoFieldValues: whatever a webhook carries, on the success
// path and on every reject path, no log line repeats a value of its
// fields, its Content-Type or a raw numeric token (the reject line used to
// quote the Content-Type and the description with the token in it).
func TestLogsCarryNoFieldValues(t *testing.T) {
	lists := praxis.DefaultLists()
	sign := func(b []byte) string {
		sig, err := lists.Get(praxis.ListNotificationRequest).Sign(b, secret)
		require.NoError(t, err)
		return sig.String()
	}
	good := notification(merchant, 7700001, "sale", "approved", 98765, time.Now().Unix())
	hugeTS := bytes.Replace(good, []byte(`"timestamp":`), []byte(`"timestamp":123456789012345678901234,"x":`), 1)
	badTID := bytes.Replace(good, []byte(`"tid":7700001`), []byte(`"tid":"zq-tid-value-zq"`), 1)
	unknownApp := bytes.Replace(good, []byte(merchant), []byte("zq-merchant-value-zq"), 1)
	const ctype = "application/zq-ctype-value-zq"
	cases := []struct {
		name  string
		ctype string
		body  []byte
		sig   string
		want  int
	}{
		{"accepted", praxis.ContentType, good, sign(good), 200},
		{"wrong content type", ctype, good, sign(good), http.StatusUnsupportedMediaType},
		{"bad signature", praxis.ContentType, good, strings.Repeat("ab", 48), http.StatusUnauthorized},
		{"unknown application", praxis.ContentType, unknownApp, sign(unknownApp), http.StatusUnauthorized},
		{"timestamp token too long", praxis.ContentType, hugeTS, sign(hugeTS), http.StatusBadRequest},
		{"mistyped tid", praxis.ContentType, badTID, sign(badTID), http.StatusBadRequest},
		{"not JSON", praxis.ContentType, append([]byte("zq-notjson-value-zq "), good...), "", http.StatusBadRequest},
		{"too large", praxis.ContentType, append(bytes.Repeat([]byte(" "), 9<<10), good...), sign(good), http.StatusRequestEntityTooLarge},
	}
	var watch []string
	for _, c := range cases {
		watch = append(watch, tu.FieldValues(c.body, "tid")...)
	}
	watch = append(watch, ctype, "zq-notjson-value-zq", "123456789012345678901234", "zq-tid-value-zq")
	h, _ := edgeIngress(t, tu.Logger(t, watch...))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, rawPost(t, h.URL+PathNotification, c.ctype, c.body, c.sig))
		})
	}
}

// TestRejectLogsAreRateLimited: a flood of unauthenticated webhooks is
// counted in full but logged at a bounded rate (it was a line each).
func TestRejectLogsAreRateLimited(t *testing.T) {
	var logs tu.SyncBuffer
	h, reg := edgeIngress(t, zerolog.New(&logs))
	body := notification(merchant, 7700002, "sale", "approved", 2500, time.Now().Unix())
	const n = 200
	for i := 0; i < n; i++ {
		require.Equal(t, http.StatusUnauthorized, rawPost(t, h.URL+PathNotification, praxis.ContentType, body, strings.Repeat("cd", 48)))
	}
	lines := strings.Count(logs.String(), `"message":"webhook rejected"`)
	assert.GreaterOrEqual(t, lines, 1)
	assert.LessOrEqual(t, lines, rejectLogBurst+5, "a burst, then about one line per second")
	assert.Equal(t, float64(n), testutil.ToFloat64(mustRejected(t, reg)), "every reject is counted")
}

func mustRejected(t *testing.T, reg *prometheus.Registry) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "praxis_ingress_rejected_total" {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "sum"})
	g.Set(total)
	return g
}

// TestWebhookReadyzKeepsReasonsInside: the webhook listener's /readyz says
// "not ready" without why (it used to print the reason, e.g. the store's
// error with internal addresses, to the internet); the admin listener
// says why.
func TestWebhookReadyzKeepsReasonsInside(t *testing.T) {
	srv := tu.NATS(t)
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.NoError(t, subjects.EnsureStreams(t.Context(), js, subjects.StreamsConfig{}))
	store, err := idempotency.NewKV(t.Context(), js, idempotency.KVConfig{MaxAge: 7 * 24 * time.Hour})
	require.NoError(t, err)
	ing, err := New(Config{Applications: []Application{{Name: "sandbox", MerchantID: merchant, ApplicationKey: sandboxKey, Secrets: []string{secret}}},
		Lists: praxis.DefaultLists()}, Deps{NC: nc, JS: js, Store: store, Log: tu.Logger(t), Registry: prometheus.NewRegistry()})
	require.NoError(t, err)
	ing.SetDraining()
	rec := httptest.NewRecorder()
	ing.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, PathReadyz, nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "not ready\n", rec.Body.String())
}
