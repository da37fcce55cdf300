package praxis

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

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
