package sim_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

// BenchmarkFindTransaction measures one signed Agent API round trip
// (client sign → simulator verify, look up, sign → client verify).
func BenchmarkFindTransaction(b *testing.B) {
	e := newEnv(b, nil)
	resp := e.session(b, e.request(praxis.IntentPayment, 100))
	tx, err := e.sim.Pay(b.Context(), resp.Session.AuthToken, sim.PayOptions{})
	require.NoError(b, err)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.client.FindTransaction(b.Context(), e.creds, tx.TID); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkAuthorizeAndCapture measures a worker-like flow: open a session
// (HTTP), the customer authorizes (Go), capture (HTTP), with every
// notification delivered to a local receiver.
func BenchmarkAuthorizeAndCapture(b *testing.B) {
	e := newEnv(b, nil)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := e.client.CashierSession(b.Context(), e.creds, e.request(praxis.IntentAuthorization, 100))
			if err != nil {
				b.Error(err)
				return
			}
			tx, err := e.sim.Pay(b.Context(), resp.Session.AuthToken, sim.PayOptions{})
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := e.client.ManageTransaction(b.Context(), e.creds, praxis.IntentCaptureAuthorization, tx.TID); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flows/s")
}

// BenchmarkHandlerCapture measures the simulator alone (no network, no
// client): authenticate, capture, sign the answer, queue the notification.
func BenchmarkHandlerCapture(b *testing.B) {
	e := newEnv(b, func(c *sim.Config) { c.Applications[0].HoldPayouts = true })
	h := e.sim.Handler()
	tids := make([]int64, b.N)
	for i := range tids {
		resp := e.session(b, e.request(praxis.IntentAuthorization, 100))
		tx, err := e.sim.Pay(b.Context(), resp.Session.AuthToken, sim.PayOptions{})
		require.NoError(b, err)
		tids[i] = tx.TID
	}
	bodies := make([][]byte, b.N)
	sigs := make([]string, b.N)
	for i, tid := range tids {
		bodies[i] = fmt.Appendf(nil, `{"merchant_id":%q,"application_key":%q,"intent":"capture-authorization","tid":%d,"version":"1.3","timestamp":%d}`,
			merchantID, appKey, tid, time.Now().Unix())
		sig, err := praxis.DefaultLists().Get(praxis.ListManageTransactionRequest).Sign(bodies[i], secret)
		require.NoError(b, err)
		sigs[i] = sig.String()
	}
	// Let the setup's notifications drain so they do not run in the timed loop.
	testutil.Eventually(b, time.Minute, 10*time.Millisecond, func() error {
		if n := e.sim.PendingNotifications(); n > 0 {
			return fmt.Errorf("%d setup notifications pending", n)
		}
		return nil
	})
	b.ResetTimer()
	for i := range b.N {
		req := httptest.NewRequest(http.MethodPost, praxis.PathManageTransaction, bytes.NewReader(bodies[i]))
		req.Header.Set(praxis.HeaderSignature, sigs[i])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Header().Get(praxis.HeaderSignature) == "" {
			b.Fatalf("capture %d failed: %s", tids[i], rec.Body)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "captures/s")
}
