package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/lifecycle"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/ingress"
	tu "github.com/praxis-adapter/praxis-adapter/internal/testutil"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// recordingJS remembers the last message the ingress published, so the
// differential test reads exactly the envelope the ingress built.
type recordingJS struct {
	jetstream.JetStream
	mu   sync.Mutex
	last *nats.Msg
}

func (r *recordingJS) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	ack, err := r.JetStream.PublishMsg(ctx, msg, opts...)
	if err == nil {
		r.mu.Lock()
		r.last = &nats.Msg{Subject: msg.Subject, Data: append([]byte(nil), msg.Data...), Header: msg.Header}
		r.mu.Unlock()
	}
	return ack, err
}

func (r *recordingJS) take() *nats.Msg {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.last
	r.last = nil
	return m
}

const (
	diffMerchant = "Test-Integration-Merchant"
	diffKey      = "Sandbox"
	diffSecret   = "MerchantSecretKey"
)

// differentialSeeds are V3 and variants an attacker would try: case-folded
// keys, repeated keys and objects, digits shifted between signed fields,
// an edited status, undecodable and extra fields, invalid UTF-8.
func differentialSeeds(tb testing.TB) [][]byte {
	raw, err := os.ReadFile("../praxis/testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var vs []struct{ ID, Body string }
	if err := json.Unmarshal(raw, &vs); err != nil {
		tb.Fatal(err)
	}
	var v3 string
	for _, v := range vs {
		if v.ID == "V3" {
			var b bytes.Buffer
			if err := json.Compact(&b, []byte(v.Body)); err != nil {
				tb.Fatal(err)
			}
			v3 = b.String()
		}
	}
	if v3 == "" {
		tb.Fatal("no V3 vector")
	}
	r := func(old, new string) []byte { return []byte(strings.Replace(v3, old, new, 1)) }
	return [][]byte{
		[]byte(v3),
		r(`"tid":1234567,`, `"tid":1234567,"TID":7654321,`),
		r(`"tid":1234567,`, `"TID":7654321,`),
		r(`"tid":1234567,`, `"tid":1234567,"tid":7654321,`),
		r(`"transaction_id":"psp-abc-001",`, `"transaction_id":"psp-abc-001","AMOUNT":999999,`),
		r(`"session":{`, "\"\u017fession\":{\"order_id\":\"x\"},\"session\":{"),
		r(`"application_key"`, "\"application_\u212aey\""),
		r(`"version":"1.3"`, `"transaction":{"tid":7654321,"transaction_status":"approved","amount":999999},"version":"1.3"`),
		r(`"order_id":"test-1560610955"`, `"order_id":"test-156061095"`),
		r(`"tid":1234567,`, `"tid":51234567,`),
		r(`"transaction_status":"approved"`, `"transaction_status":"rejected"`),
		r(`"avs_alert":0`, `"avs_alert":"0"`),
		r(`"version":"1.3"`, `"credited":true,"version":"1.3"`),
		r(`"John"`, "\"Jo\xffhn\""),
		r(`"conversion_rate":"1.000000","processed_currency":"USD","processed_amount":100,"fee"`, `"conversion_rate":"01.000000","processed_currency":"USD","processed_amount":100,"fee"`),
		r(`"currency":"USD","amount":100,"conversion_rate":"1.000000","processed_currency":"USD","processed_amount":100,"fee"`, `"currency":"usd","amount":100,"conversion_rate":"1.000000","processed_currency":"USD","processed_amount":100,"fee"`),
		r(`"card":null`, `"card":{"card_type":"VISA","CARD_TYPE":"MC"}`),
		r(`"transaction":{`, `"transaction":{"fee":"12.5",`),
		r(`"tid":1234567,`, `"tid":1234567.0,`),
		r(`"transaction_id":"psp-abc-001","currency":"USD","amount":100`, `"transaction_id":"psp-abc-001","currency":"USD","amount":-100`),
		r(`"transaction_status":"approved"`, `"transaction_status":""`),
		r(`"transaction_type":"sale"`, `"transaction_type":"payout","withdrawal_request_id":-5`),
		r(`"transaction":{"transaction_type":"sale",`, `"transaction":null,"x":{"transaction_type":"sale",`),
	}
}

// FuzzIngressLedgerAgree is the differential test of issue #10: a body the
// ingress answers status 0 to (validly signed, so it reaches publishing) is,
// by construction, one the ledger can decode, and both read the same key
// fields. Ingress acceptance is compared with praxis.Decode[Notification]
// and with the ledger's parse of the CloudEvent the ingress published.
func FuzzIngressLedgerAgree(f *testing.F) {
	for _, s := range differentialSeeds(f) {
		f.Add(s)
	}
	srv := tu.NATS(f)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := subjects.EnsureStreams(ctx, js, subjects.StreamsConfig{}); err != nil {
		f.Fatal(err)
	}
	store, err := idempotency.NewKV(ctx, js, idempotency.KVConfig{MaxAge: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	rec := &recordingJS{JetStream: js}
	lists := praxis.DefaultLists()
	ing, err := ingress.New(ingress.Config{
		Applications: []ingress.Application{{Name: "sandbox", MerchantID: diffMerchant, ApplicationKey: diffKey, Secrets: []string{diffSecret}}},
		Lists:        lists,
		// Windows off: the seeds carry 2020 timestamps.
		MaxTimestampAge: -1, SyncMaxTimestampAge: -1, MaxTimestampSkew: -1,
	}, ingress.Deps{NC: nc, JS: rec, Store: store, Log: tu.Logger(f), Registry: prometheus.NewRegistry()})
	if err != nil {
		f.Fatal(err)
	}
	handler := ing.Handler()
	sigList := lists.Get(praxis.ListNotificationRequest)

	f.Fuzz(func(t *testing.T, body []byte) {
		sig, err := sigList.Sign(body, diffSecret)
		if err != nil {
			return // not signable: the ingress refuses it before anything else
		}
		req := httptest.NewRequest(http.MethodPost, ingress.PathNotification, bytes.NewReader(body))
		req.Header.Set("Content-Type", praxis.ContentType)
		req.Header.Set(praxis.HeaderSignature, sig.String())
		w := httptest.NewRecorder()
		rec.take()
		handler.ServeHTTP(w, req)
		var reply struct{ Status int }
		if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil {
			t.Fatalf("reply is not JSON: %s", w.Body.Bytes())
		}
		msg := rec.take()
		if reply.Status != 0 {
			return
		}
		// Accepted: the typed decoder must read it.
		n, err := praxis.Decode[praxis.Notification](body)
		if err != nil {
			t.Fatalf("the ingress answered 0 but praxis.Decode refuses the body: %v", err)
		}
		if msg == nil {
			return // a duplicate of a body already published and checked
		}
		ev, err := cloudevent.Decode(msg.Data)
		if err != nil {
			t.Fatalf("published envelope does not decode: %v", err)
		}
		if !bytes.Equal(ev.Data, body) {
			t.Fatalf("published data is not the verified body")
		}
		p, skip, err := parse(msg.Subject, msg.Data, nil)
		if err != nil && errors.Is(err, errUnusable) {
			t.Fatalf("the ingress answered 0 but the ledger terminates the event: %v", err)
		}
		if err != nil || skip || n.Transaction == nil {
			return
		}
		// The lifecycle takes it: booked, or deliberately flagged, never
		// refused as bad input.
		if _, err := lifecycle.Apply(lifecycle.State{}, p.in, lifecycle.Policy{}); errors.Is(err, lifecycle.ErrBadInput) {
			t.Fatalf("the ingress answered 0 but the lifecycle refuses the event: %v", err)
		}
		// Both read the same key fields.
		if got := strconv.FormatInt(p.in.TID, 10); got != ev.TID || n.Transaction.TID != p.in.TID {
			t.Fatalf("tid: ledger %s, event attribute %s", got, ev.TID)
		}
		if praxis.NormalizeStatus(p.in.Status) != ev.Status {
			t.Fatalf("status: ledger %q, event attribute %q", p.in.Status, ev.Status)
		}
		if p.in.Currency != ev.Currency {
			t.Fatalf("currency: ledger %q, event attribute %q", p.in.Currency, ev.Currency)
		}
		amount := ""
		if p.in.Amount != nil {
			amount = strconv.FormatInt(*p.in.Amount, 10)
		}
		if amount != ev.Amount {
			t.Fatalf("amount: ledger %q, event attribute %q", amount, ev.Amount)
		}
	})
}
