package providertest_test

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/provider"
	"github.com/praxis-adapter/praxis-adapter/adapter/provider/providertest"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

var creds = praxis.Credentials{MerchantID: "M", ApplicationKey: "App", Secrets: []string{"secret"}}

// praxisRefund runs the provider suite on Praxis' Direct API refund: its
// unknown outcome is settled by find-order on the refund's own order_id.
type praxisRefund struct {
	sim    *sim.Simulator
	client *praxis.Client
	orders *atomic.Int64
}

func newPraxisRefund(t *testing.T) providertest.Harness {
	s, err := sim.New(sim.Config{Applications: []sim.Application{{MerchantID: creds.MerchantID, ApplicationKey: creds.ApplicationKey, Secrets: creds.Secrets}},
		NoNotifications: true, Seed: 1}, testutil.Logger(t))
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, s.Close())
	})
	c, err := praxis.NewClient(praxis.ClientConfig{BaseURL: srv.URL, Timeout: time.Second})
	require.NoError(t, err)
	return praxisRefund{sim: s, client: c, orders: new(atomic.Int64)}
}

func (h praxisRefund) SetFault(t *testing.T, f providertest.Fault) {
	ef := map[providertest.Fault]sim.EndpointFaults{
		providertest.UnavailableBefore: {ServerErrorRate: 1},
		providertest.LostReplyAfter:    {TimeoutRate: 1}, // performed, then the connection closes
		providertest.TimeoutAfter:      {TimeoutRate: 1},
	}[f]
	require.NoError(t, h.sim.SetFaults(sim.Faults{Endpoints: map[string]sim.EndpointFaults{praxis.PathRefund: ef}}))
}

func (h praxisRefund) Effect(t *testing.T) (string, error) {
	n := h.orders.Add(1)
	amount := int64(1000)
	resp, err := h.client.CashierSession(t.Context(), creds, praxis.SessionRequest{
		Intent: praxis.IntentPayment, Currency: "EUR", Amount: &amount, CID: "cust-1", Locale: "en-GB",
		CustomerData:    &praxis.CustomerData{Country: "GB", FirstName: "Jane", LastName: "Doe", Email: "jane@example.com"},
		NotificationURL: "https://merchant.example/n", ReturnURL: "https://merchant.example/r", OrderID: fmt.Sprintf("dep-%d", n),
	})
	require.NoError(t, err)
	dep, err := h.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{})
	require.NoError(t, err)
	order := fmt.Sprintf("refund-%d", n)
	_, err = h.client.Refund(t.Context(), creds, praxis.RefundRequest{Currency: "EUR", Amount: 100, CID: "cust-1", Locale: "en-GB",
		OrderID: order, ReferenceID: dep.TID})
	return strconv.FormatInt(dep.TID, 10) + " " + order, err
}

func (h praxisRefund) Unreachable(t *testing.T) error {
	c, err := praxis.NewClient(praxis.ClientConfig{BaseURL: providertest.DeadURL(t), Timeout: time.Second})
	require.NoError(t, err)
	_, err = c.Refund(t.Context(), creds, praxis.RefundRequest{Currency: "EUR", Amount: 100, CID: "c", Locale: "en-GB", OrderID: "o", ReferenceID: 1})
	return err
}

// Classify maps Praxis' outcome onto the neutral one (same four values,
// same order).
func (praxisRefund) Classify(err error) (provider.Outcome, bool) {
	var pe *praxis.Error
	return provider.Outcome(praxis.Classify(err)), err == nil || (errors.As(err, &pe) && pe.Sent)
}

func (h praxisRefund) Applied(t *testing.T, key string) int {
	tid, err := strconv.ParseInt(strings.Fields(key)[0], 10, 64)
	require.NoError(t, err)
	return h.sim.Effects().Refunds[tid]
}

func (h praxisRefund) Settle(t *testing.T, key string) bool {
	resp, err := h.client.FindOrder(t.Context(), creds, strings.Fields(key)[1])
	if praxis.Classify(err) == praxis.OutcomeRejected {
		return false // "Transaction not found!": nothing happened
	}
	require.NoError(t, err)
	return resp.Transaction != nil && praxis.NormalizeType(resp.Transaction.TransactionType) == praxis.TypeRefund
}

// TestPraxisConformance: Praxis' client and simulator pass the same suite
// as Rebilly's.
func TestPraxisConformance(t *testing.T) {
	for o, want := range map[praxis.Outcome]provider.Outcome{praxis.OutcomeSuccess: provider.Success, praxis.OutcomeRejected: provider.Rejected,
		praxis.OutcomeTransient: provider.Transient, praxis.OutcomeUnknown: provider.Unknown} {
		require.Equal(t, want.String(), o.String(), "praxis.Outcome and provider.Outcome must keep the same order")
	}
	providertest.Run(t, newPraxisRefund)
}
