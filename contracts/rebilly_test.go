package contracts

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly/rebillysim"
)

// TestRebillyBodiesMatchTheSchemas: what Rebilly (the simulator, speaking
// the wire format through adapter/rebilly's types) answers to the GETs the
// ingress confirms with is valid against the data schemas, and the
// envelope around it (the attributes the ingress writes) against
// cloudevent.rebilly.json.
func TestRebillyBodiesMatchTheSchemas(t *testing.T) {
	s := loadSchemas(t)
	sim, err := rebillysim.New(rebillysim.Config{OrganizationID: "org_c", APIKeys: []string{"sk_c"}}, zerolog.Nop())
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); _ = sim.Close() })
	client, err := rebilly.NewClient(rebilly.ClientConfig{BaseURL: srv.URL, OrganizationID: "org_c", APIKey: "sk_c"})
	require.NoError(t, err)
	ctx := t.Context()

	c, err := client.CreateCashier(ctx, rebilly.CashierRequest{CustomerID: "cus_1", WebsiteID: "web_1", Currency: "EUR"})
	require.NoError(t, err)
	sale, err := sim.PayDeposit(ctx, c.Value.ID, rebillysim.PayOptions{Amount: 1999})
	require.NoError(t, err)
	refund, err := client.Refund(ctx, sale.ID, rebilly.RefundRequest{Amount: "5.00"})
	require.NoError(t, err)
	pr, err := client.UpsertPayoutRequest(ctx, "pout_req_c", rebilly.PayoutRequestInput{WebsiteID: "web_1", CustomerID: "cus_1", Currency: "EUR", Amount: "7.50"})
	require.NoError(t, err)
	_, err = client.CancelPayoutRequest(ctx, pr.Value.ID, "test")
	require.NoError(t, err)

	for _, id := range []string{sale.ID, refund.Value.ID} {
		got, err := client.GetTransaction(ctx, id)
		require.NoError(t, err)
		require.NoError(t, s.validate("rebilly.transaction", got.Raw), "contracts/schemas/rebilly.transaction.json refuses %s", got.Raw)
		tx := got.Value
		env := cloudevent.Append(nil, cloudevent.RebillyTransaction("org_c", &tx, got.Raw, time.Now(), SchemaID("rebilly.transaction")))
		assert.NoError(t, s.validate("cloudevent.rebilly", env), "contracts/schemas/cloudevent.rebilly.json refuses %s", env)
	}
	got, err := client.GetPayoutRequest(ctx, pr.Value.ID)
	require.NoError(t, err)
	assert.NoError(t, s.validate("rebilly.payout_request", got.Raw), "contracts/schemas/rebilly.payout_request.json refuses %s", got.Raw)
	p := got.Value
	env := cloudevent.Append(nil, cloudevent.RebillyPayoutRequest("org_c", &p, got.Raw, time.Now(), SchemaID("rebilly.payout_request")))
	assert.NoError(t, s.validate("cloudevent.rebilly", env), "contracts/schemas/cloudevent.rebilly.json refuses %s", env)

	for name, bad := range map[string]string{
		"amount as text": `{"id":"txn_1","currency":"EUR","amount":"1.00"}`,
		"no currency":    `{"id":"txn_1","amount":1.00}`,
		"unknown result": `{"id":"txn_1","currency":"EUR","amount":1.00,"result":"maybe"}`,
	} {
		assert.Error(t, s.validate("rebilly.transaction", []byte(bad)), name)
	}
}
