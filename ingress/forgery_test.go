package ingress

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// forgedVariant alters a genuine notification body the way an attacker
// holding one genuine body and its GT-Authentication header (no secret)
// can: the header is reused as is.
type forgedVariant struct {
	name string
	// alter returns the forged body from the genuine one (tid is its tid).
	alter func(t *testing.T, body string, tid int64) string
	// refused is true when the ingress must refuse it (400 or 401). False
	// means the signature still matches and nothing in the body is
	// ambiguous: it is published as its own event with its own key (the
	// ledger confirms it with Praxis before any money moves).
	refused bool
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	require.Contains(t, s, old)
	return strings.Replace(s, old, new, 1)
}

func forgedVariants() []forgedVariant {
	tidField := func(tid int64) string { return fmt.Sprintf(`"tid":%d,`, tid) }
	return []forgedVariant{
		{"case-folded TID beside tid", func(t *testing.T, b string, tid int64) string {
			return replaceOnce(t, b, tidField(tid), tidField(tid)+`"TID":999999,`)
		}, true},
		{"case-folded AMOUNT", func(t *testing.T, b string, tid int64) string {
			return replaceOnce(t, b, `"transaction_id":"psp-abc-001",`, `"transaction_id":"psp-abc-001","AMOUNT":99999999,`)
		}, true},
		{"case-folded transaction_status", func(t *testing.T, b string, tid int64) string {
			return replaceOnce(t, b, tidField(tid), tidField(tid)+`"Transaction_Status":"rejected",`)
		}, true},
		{"long s folds to session", func(t *testing.T, b string, tid int64) string {
			return replaceOnce(t, b, `"session":{`, "\"\u017fession\":{\"order_id\":\"x\"},\"session\":{")
		}, true},
		{"Kelvin sign folds to application_key", func(t *testing.T, b string, tid int64) string {
			return replaceOnce(t, b, `"conversion_rate":"1.000000",`, "\"application_\u212aey\":\"Other\",\"conversion_rate\":\"1.000000\",")
		}, true},
		{"duplicated tid", func(t *testing.T, b string, tid int64) string {
			return replaceOnce(t, b, tidField(tid), tidField(tid)+`"tid":999999,`)
		}, true},
		{"duplicated transaction object", func(t *testing.T, b string, tid int64) string {
			return replaceOnce(t, b, `"version":"1.3"`, `"transaction":{"tid":999999,"transaction_status":"approved","amount":99999999},"version":"1.3"`)
		}, true},
		{"duplicated key in an unknown object", func(t *testing.T, b string, tid int64) string {
			return replaceOnce(t, b, `"version":"1.3"`, `"extra":{"a":1,"a":2},"version":"1.3"`)
		}, true},
		{"order_id digit shifted into tid", func(t *testing.T, b string, tid int64) string {
			// "order-<tid>" + "<tid>" reads the same as "order-<tid without its last digit>" + "<last digit><tid>".
			s := fmt.Sprint(tid)
			b = replaceOnce(t, b, `"order_id":"order-`+s+`"`, `"order_id":"order-`+s[:len(s)-1]+`"`)
			return replaceOnce(t, b, tidField(tid), `"tid":`+s[len(s)-1:]+s+`,`)
		}, false},
		{"customer_token digit shifted into order_id", func(t *testing.T, b string, tid int64) string {
			b = replaceOnce(t, b, `"customer_token":"87cfb23a8f1e68e162c276b754d9c061"`, `"customer_token":"87cfb23a8f1e68e162c276b754d9c06"`)
			return replaceOnce(t, b, `"order_id":"order-`, `"order_id":"1order-`)
		}, false},
		{"amount digit shifted into conversion_rate", func(t *testing.T, b string, tid int64) string {
			return replaceOnce(t, b, `"amount":100,"conversion_rate":"1.000000","processed_currency":"USD","processed_amount":100,"fee"`,
				`"amount":10,"conversion_rate":"01.000000","processed_currency":"USD","processed_amount":100,"fee"`)
		}, true},
		{"timestamp digit shifted into customer_token", func(t *testing.T, b string, tid int64) string {
			// "<timestamp>" + "<token>" reads the same with the timestamp's
			// last digit moved to the token's front: a timestamp ten times smaller.
			i := strings.LastIndex(b, `"timestamp":`) + len(`"timestamp":`)
			ts := b[i : len(b)-1]
			b = b[:i] + ts[:len(ts)-1] + "}"
			return replaceOnce(t, b, `"customer_token":"`, `"customer_token":"`+ts[len(ts)-1:])
		}, true},
		{"edited status (not signed)", func(t *testing.T, b string, tid int64) string {
			return replaceOnce(t, b, `"transaction_status":"approved"`, `"transaction_status":"rejected"`)
		}, false},
		{"undecodable extra field (mistyped known field)", func(t *testing.T, b string, tid int64) string {
			return replaceOnce(t, b, `"avs_alert":0`, `"avs_alert":"0"`)
		}, true},
		{"unknown extra field", func(t *testing.T, b string, tid int64) string {
			return replaceOnce(t, b, `"version":"1.3"`, `"credited":true,"version":"1.3"`)
		}, false},
		{"invalid UTF-8 in an unsigned field", func(t *testing.T, b string, tid int64) string {
			return replaceOnce(t, b, `"John"`, "\"Jo\xffhn\"")
		}, true},
		{"reformatted (whitespace only)", func(t *testing.T, b string, tid int64) string {
			return strings.ReplaceAll(b, `,"`, `, "`)
		}, false},
		{"signed amount edited", func(t *testing.T, b string, tid int64) string {
			return replaceOnce(t, b, `"transaction_id":"psp-abc-001","currency":"USD","amount":100`, `"transaction_id":"psp-abc-001","currency":"USD","amount":999999`)
		}, true},
	}
}

// TestForgedCopiesNeverDisplaceTheGenuine is the end-to-end regression test
// for issue #10 causes 1 and 3: every forged variant is sent before and
// after the genuine notification (reusing the genuine signature); the
// genuine copy is always answered 0 and stored under its own key, no
// ambiguous variant is accepted, and every stored event decodes with the
// ledger's decoder.
func TestForgedCopiesNeverDisplaceTheGenuine(t *testing.T) {
	h := newHarness(t, kvStore)
	tried, accepted, displaced := 0, 0, 0
	tid := int64(4000001)
	for _, v := range forgedVariants() {
		for _, forgedFirst := range []bool{true, false} {
			tid++
			name := v.name + map[bool]string{true: " / forged first", false: " / genuine first"}[forgedFirst]
			t.Run(name, func(t *testing.T) {
				genuine := compact(t, notification(merchant, tid, "sale", "approved", 100, time.Now().Unix()))
				sig := h.sign(t, praxis.ListNotificationRequest, genuine, secret)
				forged := []byte(v.alter(t, string(genuine), tid))
				require.NotEqual(t, genuine, forged)
				sendForged := func() {
					tried++
					r := h.post(t, PathNotification, forged, sig)
					if r.Status == 0 {
						accepted++
					}
					if v.refused {
						assert.NotEqual(t, 0, r.Status, "refused: %s", r.Description)
						if r.HTTP == 400 {
							assert.Regexp(t, "Input validation failed|Bad request|Timestamp", r.Description)
						}
					} else {
						assert.Equal(t, 0, r.Status, "accepted as its own event: %s", r.Description)
					}
				}
				if forgedFirst {
					sendForged()
				}
				r := h.sendNotification(t, genuine)
				require.Equal(t, 0, r.Status, r.Description)
				if !forgedFirst {
					sendForged()
				}
				key := txKey("sandbox", tid, "approved", genuine)
				msg := h.storedByKey(t, key)
				if msg == nil {
					displaced++
				}
				require.NotNil(t, msg, "the genuine notification is stored under its own key")
				e, err := cloudevent.Decode(msg.Data())
				require.NoError(t, err)
				assert.Equal(t, string(genuine), string(e.Data), "the stored event under the genuine key is the genuine body")
			})
		}
	}
	// Every event the ingress stored decodes with the ledger's decoder.
	for _, m := range h.storedEvents(t) {
		e, err := cloudevent.Decode(m.Data())
		require.NoError(t, err)
		_, err = praxis.Decode[praxis.Notification](e.Data)
		assert.NoError(t, err, "stored event %s", e.ID)
	}
	t.Logf("forged variants tried: %d, accepted as their own event: %d, genuine copies displaced: %d", tried, accepted, displaced)
	assert.Zero(t, displaced)
}

// TestLongKeyFieldsAlwaysFit: an order id, status or event too long for a
// readable key part is hashed into the key, never -1 (issue #12); a status
// too long for a subject token is refused 400 naming the field.
func TestLongKeyFieldsAlwaysFit(t *testing.T) {
	h := newHarness(t, kvStore)
	now := time.Now().Unix()
	long := strings.Repeat("x", 4000)
	body := []byte(`{"merchant_id":"Test-Integration-Merchant","application_key":"Sandbox","customer":{"customer_token":"t"},
"session":{"intent":"payment","session_status":"expired","order_id":"` + long + `"},"transaction":null,"version":"1.3","timestamp":` + fmt.Sprint(now) + `}`)
	r := h.sendNotification(t, body)
	require.Equal(t, 0, r.Status, r.Description)

	longStatus := bytes.Replace(notification(merchant, 5, "sale", "approved", 100, now), []byte(`"approved"`), []byte(`"`+long+`"`), 1)
	r = h.sendNotification(t, longStatus)
	assert.Equal(t, 400, r.HTTP)
	assert.Contains(t, r.Description, "transaction.transaction_status")

	sub := []byte(`{"event":"PaymentFailed","merchant_id":"Test-Integration-Merchant","application_key":"Sandbox","cid":"c",
"plan_id":"p","subscription_id":"` + long + `","subscription_status":"inactive","version":1.3,"timestamp":` + fmt.Sprint(now) + `}`)
	r = h.post(t, PathSubscription, sub, h.sign(t, praxis.ListSubscriptionRequest, sub, secret))
	require.Equal(t, 0, r.Status, r.Description)
	for _, m := range h.storedEvents(t) {
		assert.LessOrEqual(t, len(m.Headers().Get("Nats-Msg-Id")), 256)
	}
}

func compact(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	require.NoError(t, jsonCompact(&out, b))
	return out.Bytes()
}

// storedEvents fetches every message the events stream holds.
func (h *harness) storedEvents(t *testing.T) []jetstream.Msg {
	t.Helper()
	n := h.total(t)
	if n == 0 {
		return nil
	}
	s, err := h.js.Stream(t.Context(), subjects.StreamEvents)
	require.NoError(t, err)
	cons, err := s.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	var out []jetstream.Msg
	for uint64(len(out)) < n {
		batch, err := cons.Fetch(int(n)-len(out), jetstream.FetchMaxWait(2*time.Second))
		require.NoError(t, err)
		got := 0
		for m := range batch.Messages() {
			out = append(out, m)
			got++
		}
		require.NoError(t, batch.Error())
		require.NotZero(t, got, "stream holds %d messages, fetched %d", n, len(out))
	}
	return out
}

// storedByKey returns the stored event whose Nats-Msg-Id is key, or nil.
func (h *harness) storedByKey(t *testing.T, key string) jetstream.Msg {
	for _, m := range h.storedEvents(t) {
		if m.Headers().Get("Nats-Msg-Id") == key {
			return m
		}
	}
	return nil
}

func jsonCompact(dst *bytes.Buffer, b []byte) error { return json.Compact(dst, b) }

// TestCustomerSyncReplay: the customer sync signature covers
// merchant_id, application_key, timestamp and cid concatenated, so digits
// can move between timestamp and cid under the same signature; and a
// captured sync could be replayed. The strict integer timestamp and the
// sync window refuse both before the CRM is asked, so no other customer's
// data is returned (issue #10.4).
func TestCustomerSyncReplay(t *testing.T) {
	now := time.Now()
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	h := newHarness(t, kvStore, func(c *Config) { c.Now = func() time.Time { return time.Unix(0, clock.Load()) } })
	var mu sync.Mutex
	asked := map[string]int{}
	_, err := h.nc.Subscribe("praxis.requests.sandbox.customer_sync", func(m *nats.Msg) {
		e, err := cloudevent.Decode(m.Data)
		if err == nil {
			mu.Lock()
			asked[e.Subject]++
			mu.Unlock()
		}
		_ = m.Respond([]byte(`{"status":0,"description":"Ok","balance":5000,"currency":"EUR"}`))
	})
	require.NoError(t, err)
	ts := fmt.Sprint(now.Unix())
	body := func(ts, cid string) []byte {
		return []byte(`{"merchant_id":"Test-Integration-Merchant","application_key":"Sandbox","cid":"` + cid + `","version":"1.3","timestamp":` + ts + `}`)
	}
	genuine := body(ts, "42")
	sig := h.sign(t, praxis.ListCustomerSyncRequest, genuine, secret)

	r := h.post(t, PathCustomerSync, genuine, sig)
	require.Equal(t, 0, r.Status, r.Description)

	for _, tc := range []struct {
		name string
		body []byte
		desc string
	}{
		{"timestamp digit moved into cid", body(ts[:len(ts)-1], ts[len(ts)-1:]+"42"), "Timestamp expired"},
		{"cid digit moved into timestamp", body(ts+"4", "2"), "greater than current time"},
		{"timestamp as a string", []byte(strings.Replace(string(genuine), `"timestamp":`+ts, `"timestamp":"`+ts+`"`, 1)), "timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.post(t, PathCustomerSync, tc.body, sig)
			assert.Equal(t, 400, r.HTTP)
			assert.Contains(t, r.Description, tc.desc)
		})
	}
	clock.Store(now.Add(6 * time.Minute).UnixNano())
	r = h.post(t, PathCustomerSync, genuine, sig)
	assert.Equal(t, 400, r.HTTP, "a sync replayed after the 5-minute window is refused")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, map[string]int{"42": 1}, asked, "the CRM was asked once, for the genuine cid only")
}

// TestTimestampWindows: the default windows (issue #10.4).
func TestTimestampWindows(t *testing.T) {
	h := newHarness(t, kvStore)
	now := time.Now()
	tests := []struct {
		name string
		path string
		list praxis.ListName
		body []byte
		ok   bool
	}{
		{"notification resent after 71h", PathNotification, praxis.ListNotificationRequest, notification(merchant, 71, "sale", "approved", 100, now.Add(-71*time.Hour).Unix()), true},
		{"notification older than done_ttl (72h)", PathNotification, praxis.ListNotificationRequest, notification(merchant, 73, "sale", "approved", 100, now.Add(-73*time.Hour).Unix()), false},
		{"notification 1m ahead (skew)", PathNotification, praxis.ListNotificationRequest, notification(merchant, 1, "sale", "approved", 100, now.Add(time.Minute).Unix()), true},
		{"notification 5m ahead", PathNotification, praxis.ListNotificationRequest, notification(merchant, 5, "sale", "approved", 100, now.Add(5*time.Minute).Unix()), false},
		{"validation 4m old", PathValidation, praxis.ListValidationRequest, validationBodyAt(100, now.Add(-4*time.Minute).Unix()), true},
		{"validation 10m old", PathValidation, praxis.ListValidationRequest, validationBodyAt(100, now.Add(-10*time.Minute).Unix()), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.post(t, tc.path, tc.body, h.sign(t, tc.list, tc.body, secret))
			if tc.ok {
				assert.Equal(t, 200, r.HTTP, r.Description)
				return
			}
			assert.Equal(t, 400, r.HTTP)
			assert.Contains(t, r.Description, "Timestamp")
		})
	}
}

// BenchmarkDedupKey is what the body digest adds to each notification.
func BenchmarkDedupKey(b *testing.B) {
	body := notification(merchant, 1234567, "sale", "approved", 100, 1590611640)
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		buf = appendBodyDigest(append(appendBoundedPart(buf[:0], "sandbox"), ":t:1234567:approved:"...), body)
	}
}
