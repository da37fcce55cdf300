package sim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/sim"
)

// TestForgeKeepsTheSignatureAndTheTruth: a replay is the genuine body; a
// status edit and a digit shifted between adjacent signed fields still
// verify under the genuine signature; a signed field edited alone does
// not; and find-transaction keeps answering the truth.
func TestForgeKeepsTheSignatureAndTheTruth(t *testing.T) {
	e := newEnv(t, nil)
	resp := e.session(t, e.request("payment", 2500))
	tx, err := e.sim.Pay(t.Context(), resp.Session.AuthToken, sim.PayOptions{PaymentMethod: "WireOnline"})
	require.NoError(t, err)
	waitStatuses(t, e.hook, tx.TID, "pending", "approved")
	genuine := e.hook.got()[len(e.hook.got())-1]
	list := praxis.DefaultLists().Get(praxis.ListNotificationRequest)
	raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

	cases := []struct {
		name  string
		f     sim.Forgery
		sigOK bool
		check func(t *testing.T, n *praxis.Notification)
		// refused names the field the strict decoder refuses the forged
		// body for (the ingress answers it 400), when it does.
		refused string
	}{
		{"replay", sim.Forgery{}, true, func(t *testing.T, n *praxis.Notification) {}, ""},
		{"status", sim.Forgery{Status: "chargeback"}, true, func(t *testing.T, n *praxis.Notification) {
			assert.Equal(t, "chargeback", n.Transaction.TransactionStatus)
		}, ""},
		{"shift rate into amount", sim.Forgery{Shift: &sim.Shift{From: "transaction.conversion_rate", To: "transaction.amount", N: 1}}, true,
			nil, "transaction.conversion_rate"},
		{"shift order_id into tid", sim.Forgery{Shift: &sim.Shift{From: "session.order_id", To: "transaction.tid", N: 1}}, true,
			func(t *testing.T, n *praxis.Notification) { assert.NotEqual(t, tx.TID, n.Transaction.TID) }, ""},
		{"unsigned cid", sim.Forgery{Set: map[string]json.RawMessage{"session.cid": raw("cust-x")}}, true,
			func(t *testing.T, n *praxis.Notification) { assert.Equal(t, "cust-x", n.Session.CID) }, ""},
		{"signed amount", sim.Forgery{Set: map[string]json.RawMessage{"transaction.amount": raw(1)}}, false,
			func(t *testing.T, n *praxis.Notification) { assert.Equal(t, int64(1), *n.Transaction.Amount) }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(e.hook.got())
			d, err := e.sim.Forge(t.Context(), tx.TID, c.f)
			require.NoError(t, err)
			assert.True(t, d.Forged)
			calls := e.hook.got()
			require.Len(t, calls, before+1)
			call := calls[len(calls)-1]
			assert.Equal(t, genuine.sig, call.sig, "the genuine signature header")
			assert.Equal(t, c.sigOK, list.Verify(call.body, call.sig, e.creds.Secrets[0]) == nil)
			if c.name == "replay" {
				assert.Equal(t, genuine.body, call.body)
			}
			n, err := praxis.Decode[praxis.Notification](call.body)
			if c.refused != "" {
				require.Error(t, err, "the strict decoder refuses a conversion_rate that lost its digit")
				assert.Contains(t, err.Error(), c.refused)
				return
			}
			require.NoError(t, err)
			c.check(t, n)
		})
	}
	truth, err := e.client.FindTransaction(t.Context(), e.creds, tx.TID)
	require.NoError(t, err)
	assert.Equal(t, "approved", truth.Transaction.TransactionStatus)
	assert.Equal(t, int64(2500), *truth.Transaction.Amount)

	_, err = e.sim.Forge(t.Context(), tx.TID+1000, sim.Forgery{})
	assert.ErrorIs(t, err, sim.ErrNotFound)
	_, err = e.sim.Forge(t.Context(), tx.TID, sim.Forgery{Shift: &sim.Shift{From: "merchant_id", To: "transaction.tid", N: 1}})
	assert.ErrorIs(t, err, sim.ErrInvalidInput, "not adjacent")

	// The test API.
	var d sim.Delivery
	code := simPost(t, e.srv.URL, fmt.Sprintf("/sim/transactions/%d/forge", tx.TID), `{"status":"refund"}`, &d)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "status=refund", d.Alteration)
	code = simPost(t, e.srv.URL, fmt.Sprintf("/sim/transactions/%d/replay", tx.TID), ``, &d)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "replay", d.Alteration)
}
