package ingress

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/contracts"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

const (
	merchant   = "Test-Integration-Merchant"
	sandboxKey = "Sandbox"
	secret     = "MerchantSecretKey"
)

// harness is an ingress wired to a real embedded NATS server and a real
// idempotency store, served over real HTTP.
type harness struct {
	srv   *server.Server
	nc    *nats.Conn
	js    jetstream.JetStream
	store idempotency.Store
	ing   *Server
	http  *httptest.Server
	reg   *prometheus.Registry
	lists praxis.Lists
}

type storeKind string

const (
	redisStore storeKind = "redis"
	kvStore    storeKind = "kv"
)

func newHarness(t testing.TB, kind storeKind, mutate ...func(*Config)) *harness {
	t.Helper()
	return newHarnessWith(t, kind, nil, mutate...)
}

func newHarnessWith(t testing.TB, kind storeKind, tp trace.TracerProvider, mutate ...func(*Config)) *harness {
	t.Helper()
	h := &harness{srv: tu.NATS(t), reg: prometheus.NewRegistry(), lists: praxis.DefaultLists()}
	var err error
	// The ingress connection never buffers while disconnected: a publish
	// that cannot be sent must fail now, not land after Praxis heard -1.
	h.nc, err = nats.Connect(h.srv.ClientURL(), nats.ReconnectBufSize(-1), nats.MaxReconnects(-1),
		nats.ReconnectWait(20*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(h.nc.Close)
	h.js, err = jetstream.New(h.nc)
	require.NoError(t, err)
	require.NoError(t, subjects.EnsureStreams(t.Context(), h.js, subjects.StreamsConfig{}))
	switch kind {
	case redisStore:
		h.store, err = idempotency.NewRedis(tu.Redis(t), idempotency.RedisConfig{Prefix: tu.Prefix(t) + "idem:", RecordsPrefix: tu.Prefix(t) + "rec:"})
	case kvStore:
		h.store, err = idempotency.NewKV(t.Context(), h.js, idempotency.KVConfig{MaxAge: 7 * 24 * time.Hour})
	}
	require.NoError(t, err)
	cfg := Config{
		Applications: []Application{
			{Name: "sandbox", MerchantID: merchant, ApplicationKey: sandboxKey, Secrets: []string{secret, "previous-secret"}},
			{Name: "other", MerchantID: "Other-Merchant", ApplicationKey: sandboxKey, Secrets: []string{"other-secret"}},
		},
		Lists:          h.lists,
		PublishTimeout: 500 * time.Millisecond,
		RequestTimeout: 300 * time.Millisecond,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	h.ing, err = New(cfg, Deps{NC: h.nc, JS: h.js, Store: h.store, Log: tu.Logger(t), Registry: h.reg, Gatherer: h.reg, Tracing: tp})
	require.NoError(t, err)
	h.http = httptest.NewServer(h.ing.Handler())
	t.Cleanup(h.http.Close)
	return h
}

// notification builds a ~1.5 KB payment notification like V3.
func notification(merchantID string, tid int64, txType, status string, amount int64, ts int64) []byte {
	return []byte(fmt.Sprintf(`{"merchant_id":%q,"application_key":%q,"conversion_rate":"1.000000",
"customer":{"customer_token":"87cfb23a8f1e68e162c276b754d9c061","country":"GB","first_name":"John","last_name":"Johnson","avs_alert":0,"verification_alert":null},
"session":{"auth_token":"8a7sd87a8sd778ac961062c6bedddb8","intent":"payment","session_status":"successful","order_id":"order-%d","currency":"USD","amount":%d,"conversion_rate":"1.000000","processed_currency":"USD","processed_amount":%d,"payment_method":"Credit Card","gateway":"s-pTSZyK23E1Ee5KZpcNbX_aFl0HuhQ0","cid":"1","variable1":"your variable","variable2":null,"variable3":null},
"transaction":{"transaction_type":%q,"transaction_status":%q,"tid":%d,"transaction_id":"psp-abc-001","currency":"USD","amount":%d,"conversion_rate":"1.000000","processed_currency":"USD","processed_amount":%d,"fee":0,"payment_method":"Credit Card","payment_processor":"TestCardProcessor","gateway":"s-pTSZyK23E1Ee5KZpcNbX_aFl0HuhQ0","card":{"card_token":"tok","card_type":"VISA","card_number":"411111******1111","card_exp":"12/2030"},"wallet":null,"status_code":null,"status_details":null},
"version":"1.3","timestamp":%d}`, merchantID, sandboxKey, tid, amount, amount, txType, status, tid, amount, amount, ts))
}

type reply struct {
	HTTP        int
	Status      int    `json:"status"`
	Description string `json:"description"`
	Version     string `json:"version"`
	Timestamp   int64  `json:"timestamp"`
	Signature   string
	Raw         []byte
}

func (h *harness) post(t *testing.T, path string, body []byte, sig string, hdr ...string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.http.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", praxis.ContentType)
	if sig != "" {
		req.Header.Set(praxis.HeaderSignature, sig)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := reply{HTTP: resp.StatusCode, Signature: resp.Header.Get(praxis.HeaderSignature), Raw: raw}
	require.NoError(t, json.Unmarshal(raw, &r), "reply must be JSON: %s", raw)
	return r
}

func (h *harness) sign(t *testing.T, list praxis.ListName, body []byte, key string) string {
	sig, err := h.lists.Get(list).Sign(body, key)
	require.NoError(t, err)
	return sig.String()
}

// sendNotification signs body with the sandbox secret and posts it.
func (h *harness) sendNotification(t *testing.T, body []byte) reply {
	return h.post(t, PathNotification, body, h.sign(t, praxis.ListNotificationRequest, body, secret))
}

// count returns how many messages the events stream holds on subject.
func (h *harness) count(t *testing.T, subject string) uint64 {
	t.Helper()
	s, err := h.js.Stream(context.Background(), subjects.StreamEvents)
	require.NoError(t, err)
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subject))
	require.NoError(t, err)
	return info.State.Subjects[subject]
}

func (h *harness) total(t *testing.T) uint64 {
	s, err := h.js.Stream(context.Background(), subjects.StreamEvents)
	require.NoError(t, err)
	info, err := s.Info(context.Background())
	require.NoError(t, err)
	return info.State.Msgs
}

// assertSignedReply checks a reply's signature under the webhook reply list.
func (h *harness) assertSignedReply(t *testing.T, r reply, key string) {
	t.Helper()
	require.NotEmpty(t, r.Signature, "a reply to a verified webhook is signed")
	assert.NoError(t, h.lists.Get(praxis.ListWebhookReply).Verify(r.Raw, r.Signature, key))
	assert.Equal(t, praxis.Version, r.Version)
}

func stores(t *testing.T, f func(t *testing.T, kind storeKind)) {
	for _, k := range []storeKind{redisStore, kvStore} {
		t.Run(string(k), func(t *testing.T) { f(t, k) })
	}
}

func TestNotificationPublishedOnceUnderConcurrentDuplicates(t *testing.T) {
	stores(t, func(t *testing.T, kind storeKind) {
		h := newHarness(t, kind)
		body := notification(merchant, 1234567, "sale", "approved", 100, time.Now().Unix())
		var wg sync.WaitGroup
		replies := make([]reply, 5)
		for i := range replies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				replies[i] = h.sendNotification(t, body)
			}()
		}
		wg.Wait()
		for i, r := range replies {
			assert.Equal(t, 0, r.Status, "reply %d: %s", i, r.Description)
			assert.Equal(t, http.StatusOK, r.HTTP)
			h.assertSignedReply(t, r, secret)
		}
		assert.Equal(t, uint64(1), h.count(t, "praxis.events.sandbox.deposit.approved"))
		assert.Equal(t, uint64(1), h.total(t))

		// A later resend is answered from the store without publishing,
		// once the background completion has landed.
		require.NoError(t, h.ing.Drain(t.Context()))
		doneHits := testutil.ToFloat64(h.ing.metrics.DedupHits.WithLabelValues(KindNotification, "done"))
		r := h.sendNotification(t, body)
		assert.Equal(t, 0, r.Status)
		assert.Equal(t, uint64(1), h.total(t))
		assert.Equal(t, doneHits+1, testutil.ToFloat64(h.ing.metrics.DedupHits.WithLabelValues(KindNotification, "done")))
		rec, err := h.store.Get(t.Context(), txKey("sandbox", 1234567, "approved", body))
		require.NoError(t, err)
		assert.Equal(t, idempotency.Done, rec.State)
	})
}

func TestEnvelope(t *testing.T) {
	h := newHarness(t, kvStore)
	body := notification(merchant, 42, "sale", "approved", 1250, time.Now().Unix())
	sub, err := h.nc.SubscribeSync("praxis.events.>")
	require.NoError(t, err)
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	r := h.post(t, PathNotification, body, h.sign(t, praxis.ListNotificationRequest, body, secret), "traceparent", tp)
	require.Equal(t, 0, r.Status, r.Description)
	msg, err := sub.NextMsg(2 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, "praxis.events.sandbox.deposit.approved", msg.Subject)
	assert.Equal(t, tp, msg.Header.Get("traceparent"))
	key := txKey("sandbox", 42, "approved", body)
	assert.Equal(t, key, msg.Header.Get("Nats-Msg-Id"))

	e, err := cloudevent.Decode(msg.Data)
	require.NoError(t, err)
	assert.Equal(t, "1.0", e.SpecVersion)
	assert.Equal(t, key, e.ID)
	assert.Equal(t, "/praxis/sandbox", e.Source)
	assert.Equal(t, "praxis.deposit.approved", e.Type)
	assert.Equal(t, "42", e.Subject)
	assert.Equal(t, merchant, e.Merchant)
	assert.Equal(t, "sandbox", e.Application)
	assert.Equal(t, "TestCardProcessor", e.Processor)
	assert.Equal(t, contracts.SchemaID("praxis.notification"), e.DataSchema, "events name their data's schema (issue 15)")
	// The verified key fields ride as extension attributes (issue #10.5).
	assert.Equal(t, "42", e.TID)
	assert.Equal(t, "approved", e.Status)
	assert.Equal(t, "1250", e.Amount)
	assert.Equal(t, "USD", e.Currency)
	assert.Equal(t, "1250", e.ProcessedAmount)
	assert.Equal(t, "USD", e.ProcessedCurrency)
	assert.Equal(t, "order-42", e.OrderID)
	assert.WithinDuration(t, time.Now(), e.Time, 5*time.Second)
	assert.Equal(t, string(body), string(e.Data), "data is the verified body exactly as received")
	assert.NoError(t, h.lists.Get(praxis.ListNotificationRequest).Verify(e.Data, r2sig(t, h, body), secret),
		"a consumer can re-verify the signature from data")
}

func r2sig(t *testing.T, h *harness, body []byte) string {
	return h.sign(t, praxis.ListNotificationRequest, body, secret)
}

func TestNotificationSubjects(t *testing.T) {
	h := newHarness(t, kvStore)
	now := time.Now().Unix()
	tests := []struct {
		body []byte
		want string
	}{
		{notification(merchant, 1, "sale", "pending", 100, now), "praxis.events.sandbox.deposit.pending"},
		{notification(merchant, 2, "authorize", "authorized", 100, now), "praxis.events.sandbox.authorization.authorized"},
		{notification(merchant, 3, "refund", "approved", 50, now), "praxis.events.sandbox.refund.approved"},
		{notification(merchant, 4, "sale", "canceled", 100, now), "praxis.events.sandbox.deposit.cancelled"},
		{bytes.Replace(notification(merchant, 5, "payout", "in progress", 100, now), []byte(`"intent":"payment"`), []byte(`"intent":"withdrawal"`), 1),
			"praxis.events.sandbox.withdrawal.in_progress"},
		{notification(merchant, 6, "payout", "approved", 100, now), "praxis.events.sandbox.payout.approved"},
		{notification("Other-Merchant", 7, "sale", "approved", 100, now), "praxis.events.other.deposit.approved"},
	}
	for _, tc := range tests {
		key := secret
		if bytes.Contains(tc.body, []byte("Other-Merchant")) {
			key = "other-secret"
		}
		r := h.post(t, PathNotification, tc.body, h.sign(t, praxis.ListNotificationRequest, tc.body, key))
		require.Equal(t, 0, r.Status, r.Description)
		h.assertSignedReply(t, r, key)
		assert.Equal(t, uint64(1), h.count(t, tc.want), tc.want)
	}
}

func TestExpiredSessionNotification(t *testing.T) {
	h := newHarness(t, kvStore)
	body := []byte(`{"merchant_id":"Test-Integration-Merchant","application_key":"Sandbox","conversion_rate":null,
"customer":{"customer_token":"87cfb23a8f1e68e162c276b754d9c061"},
"session":{"auth_token":"8a7","intent":"payment","session_status":"expired","order_id":"test-1560610956","currency":"USD","cid":"1"},
"transaction":null,"version":"1.3","timestamp":` + fmt.Sprint(time.Now().Unix()) + `}`)
	r := h.sendNotification(t, body)
	require.Equal(t, 0, r.Status, r.Description)
	assert.Equal(t, uint64(1), h.count(t, "praxis.events.sandbox.session.expired"))
}

func TestSecretRotation(t *testing.T) {
	h := newHarness(t, kvStore)
	body := notification(merchant, 77, "sale", "approved", 100, time.Now().Unix())
	r := h.post(t, PathNotification, body, h.sign(t, praxis.ListNotificationRequest, body, "previous-secret"))
	require.Equal(t, 0, r.Status, r.Description)
	h.assertSignedReply(t, r, "previous-secret")
}

func TestBadInputIsRefusedAndNothingPublished(t *testing.T) {
	h := newHarness(t, redisStore)
	now := time.Now().Unix()
	good := notification(merchant, 9, "sale", "approved", 100, now)
	goodSig := h.sign(t, praxis.ListNotificationRequest, good, secret)
	forged := []byte(strings.Replace(string(good), `"tid":9,`, `"tid":10,`, 1)) // a signed field
	noTid := []byte(strings.Replace(string(good), `"tid":9,`, ``, 1))
	strTid := []byte(strings.Replace(string(good), `"tid":9,`, `"tid":"9",`, 1))
	unknownApp := notification("Nobody", 9, "sale", "approved", 100, now)
	big := append([]byte(`{"merchant_id":"`), bytes.Repeat([]byte("x"), 2<<20)...)
	big = append(big, `"}`...)

	tests := []struct {
		name       string
		body       []byte
		sig        string
		ctype      string
		wantHTTP   int
		wantStatus int
		wantDesc   string
		reason     string
	}{
		{"forged signature", forged, goodSig, "", 401, -1, "Invalid signature", ReasonSignatureMismatch},
		{"missing signature", good, "", "", 401, -1, "GT-Authentication header is missing", ReasonSignatureMissing},
		{"2 MiB body", big, goodSig, "", 413, 400, "larger than the limit", ReasonBodyTooLarge},
		{"unknown application", unknownApp, h.sign(t, praxis.ListNotificationRequest, unknownApp, secret), "", 401, -1, "Website not found", ReasonUnknownApp},
		{"missing transaction.tid", noTid, h.sign(t, praxis.ListNotificationRequest, noTid, secret), "", 400, 400, "transaction.tid is missing", ReasonMissingField},
		{"string tid", strTid, h.sign(t, praxis.ListNotificationRequest, strTid, secret), "", 400, 400, "transaction.tid: must be an integer, got a string", ReasonMistypedField},
		{"not JSON", []byte(`{"merchant_id":`), goodSig, "", 400, 400, "Bad request", ReasonNotJSON},
		{"not an object", []byte(`["merchant_id"]`), goodSig, "", 400, 400, "not a JSON object", ReasonNotObject},
		{"wrong content type", good, goodSig, "text/plain", 415, 400, "is not application/json", ReasonContentType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.ToFloat64(h.ing.metrics.Rejected.WithLabelValues(KindNotification, tc.reason))
			var hdr []string
			if tc.ctype != "" {
				hdr = []string{"Content-Type", tc.ctype}
			}
			r := h.post(t, PathNotification, tc.body, tc.sig, hdr...)
			assert.Equal(t, tc.wantHTTP, r.HTTP)
			assert.Equal(t, tc.wantStatus, r.Status)
			assert.Contains(t, r.Description, tc.wantDesc)
			assert.Empty(t, r.Signature, "error replies are not signed")
			assert.Equal(t, before+1, testutil.ToFloat64(h.ing.metrics.Rejected.WithLabelValues(KindNotification, tc.reason)), "counted by reason")
		})
	}
	assert.Equal(t, uint64(0), h.total(t), "nothing unverified reaches NATS")

	// Wrong method.
	resp, err := http.Get(h.http.URL + PathNotification)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestNotificationWhileNATSIsDown(t *testing.T) {
	h := newHarness(t, redisStore)
	body := notification(merchant, 555, "sale", "approved", 100, time.Now().Unix())

	stopped := tu.StopNATS(t, h.srv)
	r := h.sendNotification(t, body)
	assert.Equal(t, -1, r.Status, "Praxis must resend: nothing was stored")
	assert.Contains(t, r.Description, "resend")
	h.assertSignedReply(t, r, secret)
	assert.Equal(t, float64(1), testutil.ToFloat64(h.ing.metrics.ClaimsReleased.WithLabelValues(KindNotification)))

	h.srv = stopped.Start(t)
	tu.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		if !h.nc.IsConnected() {
			return fmt.Errorf("not reconnected")
		}
		return nil
	})
	r = h.sendNotification(t, body)
	require.Equal(t, 0, r.Status, r.Description)
	r = h.sendNotification(t, body)
	require.Equal(t, 0, r.Status, r.Description)
	assert.Equal(t, uint64(1), h.count(t, "praxis.events.sandbox.deposit.approved"), "published once after the outage")
}

func TestSubscriptionNotification(t *testing.T) {
	h := newHarness(t, kvStore)
	body := []byte(`{"event":"PaymentFailed","merchant_id":"Test-Integration-Merchant","application_key":"Sandbox","cid":"user-1234",
"plan_id":"i2VANeFxKR1aZGoH","subscription_id":"1GQ0xJonekLvqKTUdH1ELyYs","subscription_status":"inactive","event_data":{},"version":1.3,"timestamp":` + fmt.Sprint(time.Now().Unix()) + `}`)
	sig := h.sign(t, praxis.ListSubscriptionRequest, body, secret)
	for i := 0; i < 2; i++ {
		r := h.post(t, PathSubscription, body, sig)
		require.Equal(t, 0, r.Status, r.Description)
		h.assertSignedReply(t, r, secret)
	}
	assert.Equal(t, uint64(1), h.count(t, "praxis.events.sandbox.subscription.paymentfailed"))
}

func validationBody(amount int64) []byte { return validationBodyAt(amount, time.Now().Unix()) }

func validationBodyAt(amount, ts int64) []byte {
	return []byte(fmt.Sprintf(`{"merchant_id":"Test-Integration-Merchant","application_key":"Sandbox",
"customer":{"customer_token":"87cfb23a8f1e68e162c276b754d9c061"},
"session":{"auth_token":"8a7","intent":"payment","session_status":"open","order_id":"test-1","currency":"EUR","amount":100,"cid":"1"},
"transaction_attempt":{"intent":"payment","currency":"EUR","amount":%d,"conversion_rate":"1.000000","attempted_currency":"EUR","attempted_amount":%d,
"payment_method":"Credit Card","card_data":{"card_number":"411111******1111","card_exp":"12/2024","cvv":"***"}},
"version":"1.3","timestamp":%d}`, amount, amount, ts))
}

func TestValidationRoundTripsThroughCRM(t *testing.T) {
	h := newHarness(t, kvStore)
	audit, err := h.nc.SubscribeSync("praxis.events.sandbox.validation.>")
	require.NoError(t, err)
	_, err = h.nc.QueueSubscribe(subjects.Request("sandbox", subjects.RequestValidation), "crm", func(m *nats.Msg) {
		e, err := cloudevent.Decode(m.Data)
		if err != nil {
			_ = m.Respond([]byte(`not json`))
			return
		}
		if e.DataSchema != contracts.SchemaID("praxis.validation_request") {
			_ = m.Respond([]byte(`wrong dataschema`))
			return
		}
		v, err := praxis.Decode[praxis.ValidationRequest](e.Data) // the one strict decoder
		if err != nil {
			_ = m.Respond([]byte(`not json`))
			return
		}
		if *v.TransactionAttempt.Amount > 1000 {
			_ = m.Respond([]byte(`{"status":1,"description":"Deposit limit exceeded"}`))
			return
		}
		_ = m.Respond([]byte(`{"status":0,"description":"Ok"}`))
	})
	require.NoError(t, err)

	for _, tc := range []struct {
		amount int64
		status int
		desc   string
	}{{100, 0, "Ok"}, {5000, 1, "Deposit limit exceeded"}} {
		body := validationBody(tc.amount)
		r := h.post(t, PathValidation, body, h.sign(t, praxis.ListValidationRequest, body, secret))
		assert.Equal(t, tc.status, r.Status)
		assert.Equal(t, tc.desc, r.Description)
		h.assertSignedReply(t, r, secret)
		msg, err := audit.NextMsg(2 * time.Second)
		require.NoError(t, err, "every decision is audited")
		verdict := "approved"
		if tc.status != 0 {
			verdict = "declined"
		}
		assert.Equal(t, "praxis.events.sandbox.validation."+verdict, msg.Subject)
		e, err := cloudevent.Decode(msg.Data)
		require.NoError(t, err)
		var a validationAudit
		require.NoError(t, json.Unmarshal(e.Data, &a))
		assert.Equal(t, "crm", a.Decision.Source)
		assert.Equal(t, tc.desc, a.Decision.Description)
		assert.JSONEq(t, string(body), string(a.Request))
	}
}

func TestValidationFallsBackToDefault(t *testing.T) {
	tests := []struct {
		name      string
		responder func(nc *nats.Conn) error // nil: no responder at all
		reason    string
		def       praxis.Reply
	}{
		{"no responders", nil, "no_responders", praxis.Reply{Status: 0, Description: "Ok"}},
		{"timeout", func(nc *nats.Conn) error {
			_, err := nc.Subscribe("praxis.requests.sandbox.validation", func(m *nats.Msg) {}) // never answers
			return err
		}, "timeout", praxis.Reply{Status: 3, Description: "Please try again later"}},
		{"malformed answer", func(nc *nats.Conn) error {
			_, err := nc.Subscribe("praxis.requests.sandbox.validation", func(m *nats.Msg) { _ = m.Respond([]byte(`{"status":"0"}`)) })
			return err
		}, "malformed", praxis.Reply{Status: 0, Description: "Ok"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, kvStore, func(c *Config) { c.ValidationDefault = tc.def })
			if tc.responder != nil {
				// The ingress's own connection: its requests follow the
				// subscription in order, so no race with interest propagation.
				require.NoError(t, tc.responder(h.nc))
			}
			body := validationBody(100)
			r := h.post(t, PathValidation, body, h.sign(t, praxis.ListValidationRequest, body, secret))
			assert.Equal(t, tc.def.Status, r.Status)
			assert.Equal(t, tc.def.Description, r.Description)
			h.assertSignedReply(t, r, secret)
			assert.Equal(t, float64(1), testutil.ToFloat64(h.ing.metrics.CRMFallbacks.WithLabelValues(KindValidation, tc.reason)))
		})
	}
}

func TestCustomerSync(t *testing.T) {
	body := []byte(`{"merchant_id":"Test-Integration-Merchant","application_key":"Sandbox","cid":"1","order_id":"test-1560610955","version":"1.3","timestamp":` + fmt.Sprint(time.Now().Unix()) + `}`)
	tests := []struct {
		name    string
		answer  string // "" = no responder
		status  int
		balance *int64
	}{
		{"answered", `{"status":0,"description":"Ok","customer_data":{"country":"GB","first_name":"John","email":"j@example.com","phone":44201112222},"balance":5000,"currency":"EUR"}`, 0, ptr(int64(5000))},
		{"no balance on success is malformed", `{"status":0,"description":"Ok"}`, -1, nil},
		{"mistyped customer field", `{"status":0,"description":"Ok","balance":1,"customer_data":{"first_name":7}}`, -1, nil},
		{"no responder", "", -1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, kvStore)
			if tc.answer != "" {
				_, err := h.nc.Subscribe("praxis.requests.sandbox.customer_sync", func(m *nats.Msg) { _ = m.Respond([]byte(tc.answer)) })
				require.NoError(t, err)
			}
			raw := h.postRaw(t, PathCustomerSync, body, h.sign(t, praxis.ListCustomerSyncRequest, body, secret))
			var got praxis.CustomerSyncReply
			require.NoError(t, json.Unmarshal(raw.Raw, &got))
			assert.Equal(t, tc.status, got.Status)
			assert.Equal(t, tc.balance, got.Balance)
			assert.NoError(t, h.lists.Get(praxis.ListCustomerSyncReply).Verify(raw.Raw, raw.Signature, secret))
		})
	}
}

func (h *harness) postRaw(t *testing.T, path string, body []byte, sig string) reply {
	return h.post(t, path, body, sig)
}

func ptr[T any](v T) *T { return &v }

func TestHealthAndReadiness(t *testing.T) {
	h := newHarness(t, kvStore)
	get := func(path string) int {
		resp, err := http.Get(h.http.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, 200, get(PathHealthz))
	assert.Equal(t, 200, get(PathReadyz))
	assert.Equal(t, 200, get(PathMetrics))
	h.ing.SetDraining()
	assert.Equal(t, 503, get(PathReadyz), "not ready while draining")
	assert.Equal(t, 200, get(PathHealthz), "but alive")
}

func TestReplyHeadersConfigurable(t *testing.T) {
	h := newHarness(t, kvStore, func(c *Config) {
		c.ReplySignatureHeaders = []string{"GT-Authentication", "external-request-signature"}
	})
	body := notification(merchant, 8, "sale", "approved", 100, time.Now().Unix())
	req, err := http.NewRequest(http.MethodPost, h.http.URL+PathNotification, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set(praxis.HeaderSignature, h.sign(t, praxis.ListNotificationRequest, body, secret))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.NotEmpty(t, resp.Header.Get("GT-Authentication"))
	assert.Equal(t, resp.Header.Get("GT-Authentication"), resp.Header.Get("External-Request-Signature"))
}

// txKey is the dedup key the ingress gives a transaction notification.
func txKey(app string, tid int64, status string, body []byte) string {
	k := NotificationKey(app, tid, status, body)
	if want := string(appendBodyDigest([]byte(fmt.Sprintf("%s:t:%d:%s:", app, tid, status)), body)); k != want {
		panic("NotificationKey disagrees with the documented key format: " + k + " != " + want)
	}
	return k
}

// TestDataSchemasExist: every dataschema the ingress stamps on an event
// names a schema the contracts package ships.
func TestDataSchemasExist(t *testing.T) {
	for _, id := range []string{dataSchemaNotification, dataSchemaSubscription, dataSchemaValidation,
		dataSchemaCustomerSync, dataSchemaValidationAudit} {
		name, _, _ := strings.Cut(strings.TrimPrefix(id, contracts.SchemaIDBase), "#")
		require.True(t, strings.HasPrefix(id, contracts.SchemaIDBase), id)
		_, err := contracts.Schema(strings.TrimSuffix(name, ".json"))
		assert.NoError(t, err, "dataschema %s names no shipped schema", id)
	}
}
