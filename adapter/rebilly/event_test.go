package rebilly

import (
	"net/http/httptest"
	"strings"
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
		{Transaction{Type: TypeCredit}, EventPayout},
		{Transaction{Type: TypeVoid}, EventOther},
		{Transaction{Type: "3ds-authentication"}, EventOther},
	} {
		assert.Equal(t, tc.want, EventType(&tc.tx), tc.tx.Type)
	}
	assert.Equal(t, "rebilly:org_1:t:txn_1:3", EventKey("org_1", &Transaction{ID: "txn_1", Revision: 3}))
	assert.Equal(t, "rebilly:org_1:p:pr_1:2026-01-01T00:00:00Z",
		PayoutEventKey("org_1", &PayoutRequest{ID: "pr_1", UpdatedTime: "2026-01-01T00:00:00Z", Status: PayoutPending}))
	assert.Equal(t, "rebilly:org_1:p:pr_1:spending", PayoutEventKey("org_1", &PayoutRequest{ID: "pr_1", Status: PayoutPending}))
	long := PayoutEventKey("o", &PayoutRequest{ID: "p", UpdatedTime: strings.Repeat("x", 65)})
	assert.Regexp(t, `^rebilly:o:p:p:~[0-9a-f]{16}$`, long, "a long part is bounded")
	assert.NotEqual(t, long, PayoutEventKey("o", &PayoutRequest{ID: "p", UpdatedTime: strings.Repeat("x", 66)}))
	assert.Regexp(t, `^rebilly:o:p:p:~[0-9a-f]{16}$`, PayoutEventKey("o", &PayoutRequest{ID: "p", UpdatedTime: "a b\n"}), "header-safe")
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
