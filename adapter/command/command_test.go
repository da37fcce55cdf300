package command

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var now = time.Unix(1_800_000_000, 0)

func TestExamplesParse(t *testing.T) {
	for _, reg := range []struct {
		provider string
		examples map[string]string
		specs    []Spec
		parse    func(string, []byte, time.Time) (Command, error)
	}{{"praxis", Examples(), Specs(), Parse}, {"rebilly", RebillyExamples(), RebillySpecs(), ParseRebilly}} {
		require.Len(t, reg.examples, len(reg.specs), "%s: one example per command", reg.provider)
		for name, body := range reg.examples {
			t.Run(reg.provider+"/"+name, func(t *testing.T) {
				cmd, err := reg.parse(name, []byte(body), now)
				require.NoError(t, err)
				assert.NotEmpty(t, cmd.Base().ID)
			})
		}
	}
}

func TestInvalidCommands(t *testing.T) {
	session := Examples()[CashierSession]
	with := func(body, old, new string) string { return strings.Replace(body, old, new, 1) }
	tests := []struct {
		name, command, body, reason string
	}{
		{"not JSON", CashierSession, `{"id":`, "not valid JSON"},
		{"not an object", CashierSession, `[1]`, "must be an object"},
		{"unknown command", "cashier.sessions", session, `unknown command "cashier.sessions"`},
		{"missing id", CashierSession, with(session, `"id":"cmd-1001",`, ``), "id is required"},
		{"id with spaces", CashierSession, with(session, `"cmd-1001"`, `"cmd 1001"`), "id may contain only"},
		{"unknown field", CashierSession, with(session, `"amount"`, `"ammount"`), `unknown field "ammount"`},
		{"non-integer amount", CashierSession, with(session, `2500`, `25.00`), "amount must be an integer"},
		{"string amount", CashierSession, with(session, `2500`, `"2500"`), "amount must be an integer"},
		{"negative amount", CashierSession, with(session, `2500`, `-5`), "amount -5 must be positive"},
		{"unknown currency", CashierSession, with(session, `"EUR"`, `"EUX"`), `currency "EUX" is not a known ISO 4217 code`},
		{"cid is an e-mail", CashierSession, with(session, `"cust-42"`, `"jane@example.com"`), "cid looks like an e-mail address"},
		{"cid is a phone", CashierSession, with(session, `"cust-42"`, `"+44 20 1111 2222"`), "cid looks like a phone number"},
		{"bad intent", CashierSession, with(session, `"payment"`, `"deposit"`), `intent "deposit"`},
		{"expires without payment link", CashierSession, with(session, `"intent"`, `"expires":1800000100,"intent"`), "expires applies only to session_type payment_link"},
		{"expires beyond 72h", CashierSession, with(session, `"intent"`, `"session_type":"payment_link","expires":1800300000,"intent"`), "at most 72h"},
		{"expires in the past", CashierSession, with(session, `"intent"`, `"session_type":"payment_link","expires":1700000000,"intent"`), "in the past"},
		{"no customer", CashierSession, `{"id":"c","intent":"payment","currency":"EUR","cid":"c1","order_id":"o"}`, "customer_data or customer_token is required"},
		{"order id too long", CashierSession, with(session, `"order-1001"`, `"`+strings.Repeat("o", 51)+`"`), "order_id is 51 characters"},
		{"bad locale", CashierSession, with(session, `"intent"`, `"locale":"english","intent"`), `locale "english"`},
		{"subsequent MIT", CashierSession, with(session, `"intent"`, `"mit":{"type":"subsequent"},"intent"`), "subsequent is not possible"},
		{"agent name on a cashier session", CashierSession, with(session, `"intent"`, `"agent_name":"a","intent"`), "agent_name belongs to"},
		{"virtual terminal without agent", VirtualTerminal, with(Examples()[VirtualTerminal], `"agent_name":"agent-7",`, ``), "agent_name is required"},
		{"capture without tid", AuthorizationCapture, `{"id":"c"}`, "tid is required"},
		{"capture with string tid", AuthorizationCapture, `{"id":"c","tid":"12"}`, "tid must be an integer"},
		{"cancel withdrawal with gateway", WithdrawalCancel, `{"id":"c","withdrawal_request_id":1,"gateway":"g"}`, "gateway applies to withdrawal.complete only"},
		{"refund without amount", RefundCreate, with(Examples()[RefundCreate], `"amount":500,`, ``), "amount is required"},
		{"refund to an e-mail cid", RefundCreate, with(Examples()[RefundCreate], `"cust-42"`, `"a@b.co"`), "cid looks like an e-mail"},
		{"bad notification url", CashierSession, with(session, `"intent"`, `"notification_url":"ftp://x","intent"`), "notification_url must be an http(s) URL"},
		{"unknown customer field", CashierSession, with(session, `"country":"GB"`, `"country":"GB","ssn":"1"`), "unknown field customer_data.ssn"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.command, []byte(tc.body), now)
			reason, ok := IsInvalid(err)
			require.True(t, ok, "want an InvalidError, got %v", err)
			assert.Contains(t, reason, tc.reason)
		})
	}
}

func TestLooksLikePII(t *testing.T) {
	tests := map[string]string{
		"jane@example.com": "email", "+442011112222": "phone", "0044201112222": "phone", "(020) 1111-2222": "phone",
		"1234567890": "", "cust-42": "", "42": "", "a@b": "", "user@host.io": "email", "2024-01-15": "",
	}
	for in, want := range tests {
		assert.Equal(t, want, LooksLikePII(in), in)
	}
}

func TestPeekIDAndFingerprint(t *testing.T) {
	assert.Equal(t, "cmd-1", PeekID([]byte(`{"id":"cmd-1","amount":"x"}`)))
	assert.Equal(t, "", PeekID([]byte(`{"id":7}`)))
	assert.Equal(t, "", PeekID([]byte(`nope`)))

	a, _ := Parse(AuthorizationCapture, []byte(`{"id":"c","tid":1}`), now)
	b, _ := Parse(AuthorizationCapture, []byte(`{ "tid": 1, "id": "c" }`), now)
	c, _ := Parse(AuthorizationCapture, []byte(`{"id":"c","tid":2}`), now)
	assert.Equal(t, Fingerprint(AuthorizationCapture, a), Fingerprint(AuthorizationCapture, b), "formatting does not matter")
	assert.NotEqual(t, Fingerprint(AuthorizationCapture, a), Fingerprint(AuthorizationCapture, c))
	assert.NotEqual(t, Fingerprint(AuthorizationCapture, a), Fingerprint(AuthorizationCancel, a))
}

// TestCommandKeysAreExact is the regression test for issue #10 (commands):
// encoding/json matched "TID" to tid, so {"id":"c2","TID":C} captured C
// although unknown fields are documented as refused, and {"tid":A,"TID":B}
// captured B. Keys are exact now; repeats and case variants are refused.
func TestCommandKeysAreExact(t *testing.T) {
	tests := []struct {
		name, command, body, reason string
	}{
		{"upper-case TID alone", AuthorizationCapture, `{"id":"c2","TID":7654321}`, `TID`},
		{"TID next to tid", AuthorizationCapture, `{"id":"c2","tid":1234567,"TID":7654321}`, `TID`},
		{"repeated tid", AuthorizationCapture, `{"id":"c2","tid":1234567,"tid":7654321}`, `tid`},
		{"repeated id", AuthorizationCapture, `{"id":"c2","id":"c3","tid":1234567}`, `id`},
		{"Kelvin sign in a key", CashierSession, strings.Replace(Examples()[CashierSession], `"intent"`, "\"customer_to\u212aen\":\"t\",\"intent\"", 1), "customer_token"},
		{"long s in a key", CashierSession, strings.Replace(Examples()[CashierSession], `"customer_data"`, "\"cu\u017ftomer_data\"", 1), "customer_data"},
		{"upper-case nested key", CashierSession, strings.Replace(Examples()[CashierSession], `"country"`, `"COUNTRY"`, 1), "COUNTRY"},
		{"repeated nested key", CashierSession, strings.Replace(Examples()[CashierSession], `"country":"GB"`, `"country":"GB","country":"FR"`, 1), "country"},
		{"invalid UTF-8", OrderFind, "{\"id\":\"c2\",\"order_id\":\"o\xff\"}", "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := Parse(tc.command, []byte(tc.body), now)
			reason, ok := IsInvalid(err)
			require.True(t, ok, "want an InvalidError, got %v (command %+v)", err, cmd)
			assert.Contains(t, reason, tc.reason)
		})
	}
}
