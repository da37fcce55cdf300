package rebillysim_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/provider"
	"github.com/praxis-adapter/praxis-adapter/adapter/provider/providertest"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly/rebillysim"
)

// refundHarness runs the provider suite on Rebilly's refund, the call with
// no dedupe field: an unknown outcome is settled by the parent's children.
type refundHarness struct{ e *env }

func (h refundHarness) SetFault(t *testing.T, f providertest.Fault) {
	ef := map[providertest.Fault]rebillysim.EndpointFaults{
		providertest.UnavailableBefore: {ServerErrorRate: 1},
		providertest.LostReplyAfter:    {LostReplyRate: 1},
		providertest.TimeoutAfter:      {TimeoutRate: 1},
	}[f]
	require.NoError(t, h.e.sim.SetFaults(rebillysim.Faults{Endpoints: map[string]rebillysim.EndpointFaults{"POST " + rebilly.PathTransactionRefund: ef}}))
}

func (h refundHarness) Effect(t *testing.T) (string, error) {
	c := h.e.cashier(t, nil)
	dep, err := h.e.sim.PayDeposit(t.Context(), c.ID, rebillysim.PayOptions{Amount: 1000})
	require.NoError(t, err)
	_, err = h.e.client.Refund(t.Context(), dep.ID, rebilly.RefundRequest{Amount: "1.00"})
	return dep.ID, err
}

func (h refundHarness) Unreachable(t *testing.T) error {
	c, err := rebilly.NewClient(rebilly.ClientConfig{BaseURL: providertest.DeadURL(t), APIKey: apiKey, Timeout: time.Second})
	require.NoError(t, err)
	_, err = c.Refund(t.Context(), "txn_1", rebilly.RefundRequest{Amount: "1.00"})
	return err
}

func (refundHarness) Classify(err error) (provider.Outcome, bool) {
	var re *rebilly.Error
	return rebilly.Classify(err), err == nil || (errors.As(err, &re) && re.Sent)
}

func (h refundHarness) Applied(_ *testing.T, key string) int {
	return h.e.sim.Effects().Applied["refund:"+key]
}

func (h refundHarness) Settle(t *testing.T, key string) bool {
	refunds, err := h.e.client.RefundsOf(t.Context(), key)
	require.NoError(t, err)
	return len(refunds) > 0
}

func TestProviderConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T) providertest.Harness { return refundHarness{newEnv(t, nil)} })
}
