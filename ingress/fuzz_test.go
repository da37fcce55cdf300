package ingress

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

// FuzzWebhooks sends arbitrary bodies to every webhook handler, unsigned
// and validly signed (so they reach dedup, publishing and the CRM path):
// the ingress never panics, always answers one JSON envelope with an
// integer status, and answers 0 only with a signed HTTP 200.
func FuzzWebhooks(f *testing.F) {
	raw, err := os.ReadFile("../adapter/praxis/testdata/vectors.json")
	if err != nil {
		f.Fatal(err)
	}
	var vs []struct{ Body string }
	if err := json.Unmarshal(raw, &vs); err != nil {
		f.Fatal(err)
	}
	for _, v := range vs {
		f.Add([]byte(v.Body), uint8(0))
	}
	f.Add([]byte(`{"merchant_id":"Test-Integration-Merchant","application_key":"Sandbox","timestamp":1,"transaction":{"tid":-5,"transaction_status":"X Y"}}`), uint8(1))
	f.Add([]byte(`{"merchant_id":"Test-Integration-Merchant","application_key":"Sandbox","timestamp":1,"transaction":null,"session":{"order_id":"a:b%c","session_status":"expired"}}`), uint8(2))

	// One server for the whole run; timestamp windows off, so old or odd
	// timestamps still reach dedup, publishing and the CRM path.
	h := newHarness(f, kvStore, func(c *Config) { c.MaxTimestampAge, c.SyncMaxTimestampAge, c.MaxTimestampSkew = -1, -1, -1 })
	paths := []struct {
		path string
		list praxis.ListName
	}{
		{PathNotification, praxis.ListNotificationRequest},
		{PathValidation, praxis.ListValidationRequest},
		{PathCustomerSync, praxis.ListCustomerSyncRequest},
		{PathSubscription, praxis.ListSubscriptionRequest},
	}
	handler := h.ing.Handler()
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		p := paths[int(which)%len(paths)]
		for _, signed := range []bool{false, true} {
			req := httptest.NewRequest(http.MethodPost, p.path, bytes.NewReader(body))
			req.Header.Set("Content-Type", praxis.ContentType)
			if signed {
				if sig, err := h.lists.Get(p.list).Sign(body, secret); err == nil {
					req.Header.Set(praxis.HeaderSignature, sig.String())
				}
			}
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			var env struct {
				Status      *int    `json:"status"`
				Description *string `json:"description"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Status == nil || env.Description == nil {
				t.Fatalf("%s answered %d with %q: not a JSON envelope", p.path, rec.Code, rec.Body.String())
			}
			if *env.Status == 0 && (rec.Code != http.StatusOK || rec.Header().Get(praxis.HeaderSignature) == "") {
				t.Fatalf("%s: status 0 must be a signed HTTP 200, got %d", p.path, rec.Code)
			}
			if !signed && *env.Status == 0 {
				t.Fatalf("%s accepted an unsigned body", p.path)
			}
		}
	})
}
