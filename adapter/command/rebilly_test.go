package command

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
)

func TestRebillyRegistryIsSeparate(t *testing.T) {
	for _, n := range RebillyNames() {
		if n == RebillyTransactionFind || n == RebillyRefundCreate {
			spec, _ := Lookup(n)
			rspec, _ := RebillyLookup(n)
			assert.NotEqual(t, spec.Summary, rspec.Summary, "%s: same name, provider's own command", n)
			continue
		}
		_, ok := Lookup(n)
		assert.False(t, ok, "%s must not be a Praxis command", n)
	}
	_, err := ParseRebilly(CashierSession, []byte(Examples()[CashierSession]), now)
	reason, ok := IsInvalid(err)
	require.True(t, ok)
	assert.Contains(t, reason, `unknown command "cashier.session"`)
}

func TestInvalidRebillyCommands(t *testing.T) {
	ex := RebillyExamples()
	with := func(name, old, new string) string {
		require.Contains(t, ex[name], old)
		return strings.Replace(ex[name], old, new, 1)
	}
	tests := []struct {
		name, command, body, reason string
	}{
		{"unknown field", RebillyRefundCreate, with(RebillyRefundCreate, `"amount"`, `"ammount"`), `unknown field "ammount"`},
		{"decimal amount", RebillyRefundCreate, with(RebillyRefundCreate, `500`, `5.00`), "amount must be an integer"},
		{"zero amount", RebillyRefundCreate, with(RebillyRefundCreate, `500`, `0`), "amount is required and must be positive"},
		{"repeated key", RebillyRefundCreate, with(RebillyRefundCreate, `"amount":500`, `"amount":500,"amount":600`), "amount"},
		{"wrong case key", RebillyRefundCreate, with(RebillyRefundCreate, `"amount"`, `"Amount"`), "Amount"},
		{"bad transaction id", RebillyRefundCreate, with(RebillyRefundCreate, `txn_01HXYZ`, `txn/01`), "transaction_id must be at most 50"},
		{"missing transaction id", RebillyTransactionFind, `{"id":"c1"}`, "transaction_id is required"},
		{"unknown currency", RebillyPayoutRequestCreate, with(RebillyPayoutRequestCreate, `EUR`, `EUX`), `currency "EUX" is not a known`},
		{"missing customer", RebillyPayoutRequestCreate, with(RebillyPayoutRequestCreate, `"customer_id":"cus_42",`, ``), "customer_id is required"},
		{"negative payout", RebillyPayoutRequestCreate, with(RebillyPayoutRequestCreate, `2500`, `-1`), "amount is required and must be positive"},
		{"missing payout request", RebillyPayoutRequestCancel, `{"id":"c1"}`, "payout_request_id is required"},
		{"reverse without amount", RebillyPayoutRequestReverse, with(RebillyPayoutRequestReverse, `,"amount":2500`, ``), "amount is required"},
		{"limits crossed", RebillyCashierCreate, with(RebillyCashierCreate, `50000`, `10`), "deposit_minimum must not exceed deposit_maximum"},
		{"zero limit", RebillyCashierCreate, with(RebillyCashierCreate, `1000`, `0`), "deposit_minimum must be positive"},
		{"redirect not a URL", RebillyCashierCreate, with(RebillyCashierCreate, `"currency"`, `"redirect_url":"ftp://x","currency"`), "redirect_url must be an http(s) URL"},
		{"no id", RebillyCashierCreate, with(RebillyCashierCreate, `"id":"cmd-2001",`, ``), "id is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRebilly(tc.command, []byte(tc.body), now)
			reason, ok := IsInvalid(err)
			require.True(t, ok, "want an InvalidError, got %v", err)
			assert.Contains(t, reason, tc.reason)
		})
	}
}

func TestRebillyResultFills(t *testing.T) {
	var r Result
	r.FillRebillyTransaction(&rebilly.Transaction{ID: "txn_1", Type: rebilly.TypeRefund, Status: rebilly.StatusCompleted,
		Result: rebilly.ResultApproved, ParentTransactionID: "txn_0", Currency: "EUR", AmountMinor: 500})
	r.FillRebillyError(&rebilly.Error{HTTPStatus: 422, Problem: &rebilly.Problem{Status: 422, Title: "Invalid", Type: "about:blank",
		Detail: "customer jane@example.com", InvalidFields: []rebilly.InvalidField{{Field: "amount", Message: "jane"}}}})
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"provider":"rebilly"`)
	assert.Contains(t, string(b), `"amount":500`)
	assert.Contains(t, string(b), `"problem":{"status":422,"title":"Invalid","type":"about:blank"}`)
	assert.NotContains(t, string(b), "jane", "no problem detail or field message reaches a result")
}
