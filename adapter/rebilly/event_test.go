package rebilly

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEventTypeAndKey(t *testing.T) {
	for _, tc := range []struct {
		tx   Transaction
		want string
	}{
		{Transaction{Type: TypeSale}, EventDeposit},
		{Transaction{Type: TypeCapture}, EventDeposit},
		{Transaction{Type: TypeAuthorize}, EventAuthorization},
		{Transaction{Type: TypeRefund}, EventRefund},
		{Transaction{Type: TypeCredit, PayoutRequestID: "pr"}, EventPayout},
		{Transaction{Type: TypeCredit}, EventOther},
		{Transaction{Type: "3ds-authentication"}, EventOther},
	} {
		assert.Equal(t, tc.want, EventType(&tc.tx), tc.tx.Type)
	}
	assert.Equal(t, "rebilly:org_1:txn_1:3", EventKey("org_1", &Transaction{ID: "txn_1", Revision: 3}))
	assert.NotEqual(t, EventKey("o", &Transaction{ID: "t", UpdatedTime: "2026-01-01T00:00:00Z", Result: ResultUnknown}),
		EventKey("o", &Transaction{ID: "t", UpdatedTime: "2026-01-01T00:00:05Z", Result: ResultApproved}), "no revision: changes stay apart")
}

func TestNotificationID(t *testing.T) {
	for _, tc := range []struct {
		query, want string
		ok          bool
	}{
		{"id=txn_1&result=approved", "txn_1", true},
		{"result=approved&id=txn_1", "txn_1", true},
		{"id=txn_1&id=txn_2", "", false},
		{"id=", "", false},
		{"id=..%2Fadmin", "", false},
		{"result=approved", "", false},
	} {
		r := httptest.NewRequest("POST", "/rebilly/notify/k?"+tc.query, nil)
		id, err := NotificationID(r)
		if !tc.ok {
			require.ErrorIs(t, err, ErrBadNotification, tc.query)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, id)
	}
}

func BenchmarkDecodeTransaction(b *testing.B) {
	cur := iso(b)
	body := []byte(txnBody)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Decode[Transaction](body, cur); err != nil {
			b.Fatal(err)
		}
	}
}
