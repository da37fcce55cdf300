package praxis

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/provider"
)

const testSecret = "s3cret"

var testCreds = Credentials{MerchantID: "m1", ApplicationKey: "app1", Secrets: []string{testSecret}}

// signedReply writes body with a valid response signature for list.
func signedReply(t *testing.T, w http.ResponseWriter, list ListName, body string) {
	sig, err := DefaultLists().Get(list).Sign([]byte(body), testSecret)
	require.NoError(t, err)
	w.Header().Set(HeaderSignature, sig.String())
	_, _ = io.WriteString(w, body)
}

// resignedReply writes body with old replaced by new, under body's signature.
func resignedReply(t *testing.T, w http.ResponseWriter, body, old, new string) {
	sig, err := DefaultLists().Get(ListManageTransactionResponse).Sign([]byte(body), testSecret)
	require.NoError(t, err)
	require.Contains(t, body, old)
	w.Header().Set(HeaderSignature, sig.String())
	_, _ = io.WriteString(w, strings.Replace(body, old, new, 1))
}

func TestClientClassifiesOutcomes(t *testing.T) {
	okBody := `{"status":0,"description":"Ok","transaction":{"tid":7,"transaction_status":"approved","processed_currency":"EUR","processed_amount":100},"version":"1.3","timestamp":1}`
	tests := []struct {
		name     string
		handler  func(t *testing.T, w http.ResponseWriter)
		outcome  Outcome
		status   int
		sent     bool
		wantDesc string
	}{
		{"signed success", func(t *testing.T, w http.ResponseWriter) {
			signedReply(t, w, ListManageTransactionResponse, okBody)
		}, OutcomeSuccess, 0, true, ""},
		{"unsigned success is never trusted", func(t *testing.T, w http.ResponseWriter) {
			_, _ = io.WriteString(w, okBody)
		}, OutcomeUnknown, 0, true, "unsigned response claims success"},
		{"mis-signed success", func(t *testing.T, w http.ResponseWriter) {
			w.Header().Set(HeaderSignature, "00")
			_, _ = io.WriteString(w, okBody)
		}, OutcomeUnknown, 0, true, ""},
		{"basic error 401 unsigned", func(t *testing.T, w http.ResponseWriter) {
			_, _ = io.WriteString(w, `{"status":401,"description":"Account not found","version":"1.3","timestamp":1}`)
		}, OutcomeRejected, 401, true, "Account not found"},
		{"negative status", func(t *testing.T, w http.ResponseWriter) {
			_, _ = io.WriteString(w, `{"status":-1,"description":"Internal error","version":"1.3","timestamp":1}`)
		}, OutcomeTransient, -1, true, "Internal error"},
		{"HTTP 503", func(t *testing.T, w http.ResponseWriter) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}, OutcomeTransient, 0, true, ""},
		{"HTTP 403 IP not whitelisted", func(t *testing.T, w http.ResponseWriter) {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, "IP address not whitelisted")
		}, OutcomeRejected, 0, true, "Forbidden"},
		// The signature of okBody also matches these (the added keys are
		// not signed), but the strict reader refuses what parsers could
		// read differently.
		{"signed success with a case-variant key is not trusted", func(t *testing.T, w http.ResponseWriter) {
			resignedReply(t, w, okBody, `"tid":7,`, `"tid":7,"TID":8,`)
		}, OutcomeUnknown, 0, true, "not a Praxis JSON envelope"},
		{"signed success with a repeated key is not trusted", func(t *testing.T, w http.ResponseWriter) {
			resignedReply(t, w, okBody, `"transaction_status":"approved",`, `"transaction_status":"approved","transaction_status":"rejected",`)
		}, OutcomeUnknown, 0, true, "not a Praxis JSON envelope"},
		{"garbage 200", func(t *testing.T, w http.ResponseWriter) {
			_, _ = io.WriteString(w, "<html>")
		}, OutcomeUnknown, 0, true, "not a Praxis JSON envelope"},
		{"timeout after sending", func(t *testing.T, w http.ResponseWriter) {
			time.Sleep(300 * time.Millisecond)
		}, OutcomeUnknown, 0, true, "no answer after the request was sent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				// Every request arrives signed under the request list.
				assert.NoError(t, DefaultLists().Get(ListManageTransactionRequest).Verify(body, r.Header.Get(HeaderSignature), testSecret))
				assert.Equal(t, ContentType, r.Header.Get("Content-Type"))
				tc.handler(t, w)
			}))
			defer srv.Close()
			c, err := NewClient(ClientConfig{BaseURL: srv.URL, Timeout: 100 * time.Millisecond})
			require.NoError(t, err)
			resp, err := c.ManageTransaction(t.Context(), testCreds, IntentCaptureAuthorization, 7)
			assert.Equal(t, tc.outcome, Classify(err), "err: %v", err)
			if tc.outcome == OutcomeSuccess {
				require.NoError(t, err)
				assert.Equal(t, int64(7), resp.Transaction.TID)
				assert.NotEmpty(t, resp.Raw)
				return
			}
			var pe *Error
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tc.status, pe.Status)
			assert.Equal(t, tc.sent, pe.Sent)
			assert.Contains(t, pe.Error(), tc.wantDesc)
		})
	}
}

func TestClientConnectionRefusedIsTransientAndUnsent(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := NewClient(ClientConfig{BaseURL: url, Timeout: time.Second})
	require.NoError(t, err)
	_, err = c.FindTransaction(t.Context(), testCreds, 1)
	assert.ErrorIs(t, err, ErrTransient)
	var pe *Error
	require.ErrorAs(t, err, &pe)
	assert.False(t, pe.Sent, "a refused connection never reached Praxis")
}

func TestClientFreshTimestampPerAttemptAndRotation(t *testing.T) {
	var seen []int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req FindOrderRequest
		require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		seen = append(seen, req.Timestamp)
		assert.Equal(t, FlexString(Version), req.Version)
		// Praxis signs with the new secret; the client still holds both.
		body := `{"status":0,"description":"Ok","customer":{"customer_token":"ct"},"transaction":{"tid":9,"transaction_status":"approved"},"version":"1.3","timestamp":2}`
		sig, _ := DefaultLists().Get(ListFindOrderResponse).Sign([]byte(body), "new-secret")
		w.Header().Set(HeaderSignature, sig.String())
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	var clock atomic.Int64
	clock.Store(1_700_000_000)
	c, err := NewClient(ClientConfig{BaseURL: srv.URL, Now: func() time.Time { return time.Unix(clock.Add(5), 0) }})
	require.NoError(t, err)
	creds := Credentials{MerchantID: "m", ApplicationKey: "a", Secrets: []string{"old-secret", "new-secret"}}
	for i := 0; i < 2; i++ {
		resp, err := c.FindOrder(t.Context(), creds, "o-1")
		require.NoError(t, err)
		assert.Equal(t, int64(9), resp.Transaction.TID)
	}
	assert.Equal(t, []int64{1_700_000_005, 1_700_000_010}, seen)
}

func TestNewClientValidates(t *testing.T) {
	_, err := NewClient(ClientConfig{})
	assert.ErrorContains(t, err, "base URL is empty")
	_, err = NewClient(ClientConfig{BaseURL: "gw.praxisgate.com"})
	assert.ErrorContains(t, err, "must start with https://")
}

func TestClientLightResponses(t *testing.T) {
	body := `{"status":0,"description":"Ok","customer":{"customer_token":"ct","first_name":"J"},` +
		`"session":{"session_status":"successful","order_id":"o-1","auth_token":"at"},` +
		`"transaction":{"tid":7,"transaction_type":"authorization","transaction_status":"approved","amount":100,"currency":"EUR",` +
		`"processed_currency":"EUR","processed_amount":100,"card":{"card_type":"VISA"},"brand_new":1},"version":"1.3","timestamp":1}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		signedReply(t, w, ListManageTransactionResponse, body)
	}))
	defer srv.Close()
	for _, light := range []bool{false, true} {
		c, err := NewClient(ClientConfig{BaseURL: srv.URL, LightResponses: light})
		require.NoError(t, err)
		assert.Equal(t, light, c.LightResponses())
		resp, err := c.ManageTransaction(t.Context(), testCreds, IntentCaptureAuthorization, 7)
		require.NoError(t, err)
		require.NotNil(t, resp.Transaction)
		assert.Equal(t, int64(7), resp.Transaction.TID)
		assert.Equal(t, "approved", resp.Transaction.TransactionStatus)
		assert.Equal(t, "authorization", resp.Transaction.TransactionType)
		assert.Equal(t, int64(100), *resp.Transaction.Amount)
		assert.Equal(t, "EUR", resp.Transaction.ProcessedCurrency)
		assert.Equal(t, "o-1", resp.Session.OrderID)
		assert.Equal(t, "ct", resp.Customer.CustomerToken)
		assert.Equal(t, body, string(resp.Raw))
		if light {
			assert.Nil(t, resp.Transaction.Card, "light responses carry only the summary")
			full, err := Decode[TransactionResponse](resp.Raw)
			require.NoError(t, err)
			assert.Equal(t, "VISA", full.Transaction.Card.CardType, "the rest is one Decode away")
		} else {
			assert.Equal(t, "VISA", resp.Transaction.Card.CardType)
			assert.JSONEq(t, "1", string(resp.Transaction.Extra["brand_new"]))
		}
	}
}

// The client converts httpcall's provider outcomes into its own: the two
// must keep the same values.
func TestOutcomesMatchProviderOutcomes(t *testing.T) {
	for o, p := range map[Outcome]provider.Outcome{
		OutcomeSuccess: provider.Success, OutcomeRejected: provider.Rejected,
		OutcomeTransient: provider.Transient, OutcomeUnknown: provider.Unknown,
	} {
		assert.Equal(t, o, Outcome(p))
		assert.Equal(t, o.String(), p.String())
	}
}

func TestErrorIsProviderNeutral(t *testing.T) {
	for _, o := range []Outcome{OutcomeSuccess, OutcomeRejected, OutcomeTransient, OutcomeUnknown} {
		e := &Error{Outcome: o, Sent: true}
		assert.Equal(t, o.String(), provider.Classify(e).String(), "praxis and provider outcomes share values")
		assert.False(t, provider.NotSent(e))
	}
	assert.True(t, provider.NotSent(fmt.Errorf("wrapped: %w", &Error{Outcome: OutcomeTransient})))
	assert.False(t, provider.NotSent(errors.New("no idea")), "an error that does not say may have been sent")
}
