package rebillysim

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/internal/simkit"
)

// Delivery kinds.
const (
	KindNotification = "notification"
	KindWebhook      = "webhook"
)

// Delivery records one attempt to call a notificationUrl or a webhook.
type Delivery struct {
	Seq           int64  `json:"seq"`
	Kind          string `json:"kind"`
	URL           string `json:"url"`
	TransactionID string `json:"transaction_id,omitempty"`
	Result        string `json:"result,omitempty"`
	Revision      int64  `json:"revision,omitempty"`
	EventType     string `json:"event_type,omitempty"`
	Attempt       int    `json:"attempt"`
	Duplicate     bool   `json:"duplicate,omitempty"`
	// Authorized tells the credential was sent (Basic at once, Digest after
	// the receiver's challenge).
	Authorized bool      `json:"authorized"`
	HTTPStatus int       `json:"http_status"`
	Error      string    `json:"error,omitempty"`
	WillResend bool      `json:"will_resend"`
	At         time.Time `json:"at"`
}

// Deliveries returns the delivery log, oldest first (at most
// Config.DeliveryLogLimit entries).
func (s *Simulator) Deliveries() []Delivery { return s.deliv.Log() }

// PendingDeliveries is how many notifications and webhooks are queued or
// being delivered, so tests can wait until the simulator is quiet.
func (s *Simulator) PendingDeliveries() int { return s.deliv.Pending() }

// outbound is one call to make until a 2xx answers it.
type outbound struct {
	kind, url, method string
	body              []byte
	hook              *Webhook
	rec               Delivery
}

// NotificationURL substitutes {id} and {result} into a notificationUrl, each
// escaped for where it stands (API.md §6: the encoding is UNCONFIRMED; ids
// and results contain nothing that needs it).
func NotificationURL(template, id, result string) string {
	r := strings.NewReplacer("{id}", url.QueryEscape(id), "{result}", url.QueryEscape(result))
	return r.Replace(template)
}

// notifyLocked queues the notificationUrl call of t's final result.
func (s *Simulator) notifyLocked(t *txn) {
	if t.notificationURL == "" {
		return
	}
	var body []byte
	if s.cfg.NotificationBody == "transaction" {
		body, _ = json.Marshal(s.wireTxn(t))
	}
	s.enqueue(&outbound{kind: KindNotification, url: NotificationURL(t.notificationURL, t.id, t.result), method: http.MethodPost, body: body,
		rec: Delivery{TransactionID: t.id, Result: t.result, Revision: t.revision}})
}

// webhookLocked queues a transaction event to every webhook that wants it.
func (s *Simulator) webhookLocked(event string, t, child *txn) {
	if len(s.cfg.Webhooks) == 0 {
		return
	}
	payload := map[string]any{
		"transactionId": t.id, "eventType": event,
		"_links": []rebilly.Link{{Rel: "transaction", Href: s.resourceURL("/transactions/" + t.id)}},
	}
	emb := map[string]any{"transaction": s.wireTxn(t)}
	if child != nil {
		emb["childTransaction"] = s.wireTxn(child)
	}
	payload["_embedded"] = emb
	body, _ := json.Marshal(payload)
	s.sendWebhooks(event, body, Delivery{TransactionID: t.id, Result: t.result, Revision: t.revision, EventType: event})
}

func (s *Simulator) payoutWebhookLocked(event string, p *payoutRequest) {
	if len(s.cfg.Webhooks) == 0 {
		return
	}
	body, _ := json.Marshal(map[string]any{
		"payoutRequestId": p.id, "eventType": event,
		"_embedded": map[string]any{"payoutRequest": s.wirePayout(p)},
		"_links":    []rebilly.Link{{Rel: "payoutRequest", Href: s.resourceURL("/payout-requests/" + p.id)}},
	})
	s.sendWebhooks(event, body, Delivery{EventType: event})
}

func (s *Simulator) sendWebhooks(event string, body []byte, rec Delivery) {
	for i := range s.cfg.Webhooks {
		w := &s.cfg.Webhooks[i]
		if len(w.EventsFilter) > 0 && !contains(w.EventsFilter, event) {
			continue
		}
		s.enqueue(&outbound{kind: KindWebhook, url: w.URL, method: http.MethodPost, body: body, hook: w, rec: rec})
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// enqueue starts a goroutine that delivers o until a 2xx, MaxDeliveries or
// Close. Deliveries are not ordered ("may be delayed or delivered multiple
// times"): consumers order by revision.
func (s *Simulator) enqueue(o *outbound) {
	s.deliv.Go(func(ctx context.Context, gen uint64) { s.run(ctx, gen, o) })
}

func (s *Simulator) run(ctx context.Context, gen uint64, o *outbound) {
	for attempt := 1; attempt <= s.cfg.MaxDeliveries; attempt++ {
		d := o.rec
		d.Kind, d.URL, d.Attempt, d.At = o.kind, o.url, attempt, s.now()
		d.HTTPStatus, d.Authorized, d.Error = s.attempt(ctx, o)
		ok := d.HTTPStatus >= 200 && d.HTTPStatus < 300
		d.WillResend = !ok && attempt < s.cfg.MaxDeliveries
		s.deliv.Record(gen, d)
		if ok {
			if s.rng.Hit(s.faults.Load().DuplicateRate) {
				d.Duplicate, d.Attempt = true, attempt+1
				d.HTTPStatus, d.Authorized, d.Error = s.attempt(ctx, o)
				d.WillResend = false
				s.deliv.Record(gen, d)
			}
			return
		}
		if !d.WillResend || !simkit.Sleep(ctx, s.cfg.ResendDelay) {
			return
		}
	}
}

// attempt makes one call; for a Digest credential it answers the
// receiver's challenge once (RFC 7616).
func (s *Simulator) attempt(ctx context.Context, o *outbound) (status int, authorized bool, errText string) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WebhookTimeout)
	defer cancel()
	send := func(auth string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, o.method, o.url, bytes.NewReader(o.body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("User-Agent", "Rebilly/sim")
		if len(o.body) > 0 {
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
		}
		if o.hook != nil {
			for k, v := range o.hook.Headers {
				req.Header.Set(k, v)
			}
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return s.client.Do(req)
	}
	auth := ""
	if o.hook != nil && o.hook.AuthType == AuthBasic {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.SetBasicAuth(o.hook.Username, o.hook.Password)
		auth = r.Header.Get("Authorization")
	}
	resp, err := send(auth)
	if err != nil {
		return 0, auth != "", "no answer"
	}
	drain(resp)
	if resp.StatusCode == http.StatusUnauthorized && o.hook != nil && o.hook.AuthType == AuthDigest {
		ch := resp.Header.Get("WWW-Authenticate")
		if auth, err = digestAuthorization(ch, o.hook.Username, o.hook.Password, o.method, requestURI(o.url), s.newID("")); err != nil {
			return resp.StatusCode, false, "digest challenge unusable"
		}
		if resp, err = send(auth); err != nil {
			return 0, true, "no answer"
		}
		drain(resp)
	}
	return resp.StatusCode, auth != "", ""
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

func requestURI(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "/"
	}
	return u.RequestURI()
}

// digestAuthorization answers a Digest challenge (qop=auth, MD5 or
// SHA-256) as an HTTP client does.
func digestAuthorization(challenge, user, pass, method, uri, cnonce string) (string, error) {
	scheme, params, ok := strings.Cut(challenge, " ")
	if !ok || !strings.EqualFold(scheme, "Digest") {
		return "", fmt.Errorf("not a Digest challenge")
	}
	p := rebilly.ParseAuthParams(params)
	realm, nonce := p["realm"], p["nonce"]
	if nonce == "" {
		return "", fmt.Errorf("challenge has no nonce")
	}
	var h func() hash.Hash
	switch alg := p["algorithm"]; strings.ToUpper(alg) {
	case "", "MD5":
		h = md5.New
	case "SHA-256":
		h = sha256.New
	default:
		return "", fmt.Errorf("unsupported algorithm")
	}
	sum := func(s string) string {
		x := h()
		x.Write([]byte(s))
		return hex.EncodeToString(x.Sum(nil))
	}
	ha1 := sum(user + ":" + realm + ":" + pass)
	ha2 := sum(method + ":" + uri)
	const nc = "00000001"
	resp := sum(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2)
	out := fmt.Sprintf(`Digest username=%q, realm=%q, nonce=%q, uri=%q, qop=auth, nc=%s, cnonce=%q, response=%q`,
		user, realm, nonce, uri, nc, cnonce, resp)
	if a := p["algorithm"]; a != "" {
		out += ", algorithm=" + a
	}
	if o := p["opaque"]; o != "" {
		out += fmt.Sprintf(", opaque=%q", o)
	}
	return out, nil
}
