package praxis

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClassifyLookup(t *testing.T) {
	rejected := func(status int, desc string) error {
		return &Error{Outcome: OutcomeRejected, Status: status, Description: desc, Sent: true}
	}
	tests := []struct {
		name string
		err  error
		want LookupVerdict
	}{
		{"signed success", nil, LookupFound},
		{"Transaction not found!", rejected(400, "Transaction not found!"), LookupNotFound},
		{"lower case", rejected(400, "transaction not found"), LookupNotFound},
		{"order not found", rejected(400, "Order not found"), LookupNotFound},
		{"generic error", rejected(999, "Generic Error"), LookupUnknown},
		{"agent api disabled", rejected(403, "Agent API disabled"), LookupUnknown},
		{"account not found is auth", rejected(401, "Account not found"), LookupUnknown},
		{"website not found is auth", rejected(401, "Website not found"), LookupUnknown},
		{"http 404 without envelope", &Error{Outcome: OutcomeRejected, HTTPStatus: 404, Description: "Not Found"}, LookupUnknown},
		{"negative status", &Error{Outcome: OutcomeTransient, Status: -1, Description: "Transaction not found"}, LookupUnknown},
		{"timeout", &Error{Outcome: OutcomeUnknown, Err: context.DeadlineExceeded}, LookupUnknown},
		{"not a praxis error", errors.New("boom"), LookupUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ClassifyLookup(tt.err))
		})
	}
}
func TestReadFindTransaction(t *testing.T) {
	tx := &TransactionResponse{Transaction: &Transaction{TID: 7}}
	cases := []struct {
		name string
		resp *TransactionResponse
		err  error
		want LookupVerdict
	}{
		{"found", tx, nil, LookupFound},
		{"another tid", &TransactionResponse{Transaction: &Transaction{TID: 8}}, nil, LookupUnknown},
		{"no transaction", &TransactionResponse{}, nil, LookupUnknown},
		{"not found", nil, &Error{Outcome: OutcomeRejected, Status: 400, Description: "Transaction not found!"}, LookupNotFound},
		{"agent API disabled", nil, &Error{Outcome: OutcomeRejected, Status: 403, Description: "Agent API is disabled"}, LookupUnknown},
		{"timeout", nil, &Error{Outcome: OutcomeUnknown, Description: "no answer after the request was sent"}, LookupUnknown},
		{"5xx", nil, &Error{Outcome: OutcomeTransient, HTTPStatus: 503}, LookupUnknown},
		{"not an *Error", nil, errors.New("boom: not found"), LookupUnknown},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, ReadFindTransaction(7, c.resp, c.err), c.name)
	}
	assert.Equal(t, "not_found", LookupNotFound.String())
}
