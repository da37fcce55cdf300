// Package subjects is the one place that spells NATS subjects, stream names
// and consumer names, and that creates the streams. Every other package
// builds subjects with these functions, so the table below, the README and
// the AsyncAPI document can be checked against one source.
//
//	praxis.events.<app>.<type>.<status>       verified Praxis webhooks (stream PRAXIS_EVENTS)
//	praxis.requests.<app>.validation          validation callback → CRM (request/reply, no stream)
//	praxis.requests.<app>.customer_sync       customer sync → CRM (request/reply, no stream)
//	praxis.commands.<app>.<command>           CRM commands (stream PRAXIS_COMMANDS, work queue)
//	praxis.results.<app>.<command>            one result per command (stream PRAXIS_RESULTS)
//	praxis.dlq.<app>.<command>                dead-lettered commands (stream PRAXIS_DLQ)
//	praxis.ledger.<app>.<kind>                ledger instructions (stream PRAXIS_LEDGER)
//	praxis.review.<app>.suspect|held|resolved records operators watch (stream PRAXIS_REVIEW)
//	praxis.review.<app>.resolve               an operator's decision on a hold (stream PRAXIS_REVIEW)
//
// <app> is the configured application name; <command> and <kind> have a dot
// inside (cashier.session, deposit.credited), so they span two tokens.
package subjects

import (
	"fmt"
	"strings"
)

// Root is the first token of every subject the adapter uses.
const Root = "praxis"

// Stream names.
const (
	StreamEvents   = "PRAXIS_EVENTS"
	StreamCommands = "PRAXIS_COMMANDS"
	StreamResults  = "PRAXIS_RESULTS"
	StreamDLQ      = "PRAXIS_DLQ"
	StreamLedger   = "PRAXIS_LEDGER"
	// StreamReview keeps what the ledger would not book on its own
	// (suspect notifications, held movements), operators' decisions and
	// their audit records.
	StreamReview = "PRAXIS_REVIEW"
)

// Durable consumer names.
const (
	// ConsumerWorker is the one pull consumer all worker replicas share.
	ConsumerWorker = "praxis-worker"
	// ConsumerLedger feeds the lifecycle tracker from the events stream.
	ConsumerLedger = "praxis-ledger"
	// ConsumerReview feeds operators' decisions on holds to the ledger.
	ConsumerReview = "praxis-ledger-review"
)

// Review kinds: the last token of praxis.review.<app>.<kind>.
const (
	// ReviewSuspect: a notification Praxis' lookup did not confirm within
	// the re-check horizon; nothing was booked for it.
	ReviewSuspect = "suspect"
	// ReviewHeld: a doubtful movement waiting for an operator's decision.
	ReviewHeld = "held"
	// ReviewResolve: an operator's decision on a hold (consumed by the ledger).
	ReviewResolve = "resolve"
	// ReviewResolved: the audit record of a decision and what it booked.
	ReviewResolved = "resolved"
)

// Event types: the <type> token of an event subject.
const (
	TypeDeposit       = "deposit"       // transaction_type sale
	TypePayout        = "payout"        // a payout paying a withdrawal request
	TypeRefund        = "refund"        // transaction_type refund
	TypeAuthorization = "authorization" // authorization, or authorize (docs 3.x)
	TypeWithdrawal    = "withdrawal"    // the withdrawal request itself
	TypeSession       = "session"       // transaction null (e.g. session expired)
	TypeSubscription  = "subscription"  // subscription webhook; status = event name
	TypeValidation    = "validation"    // audit of a validation decision; status approved|declined
	TypeOther         = "other"         // a transaction_type Praxis has not documented (kept, not dropped)
)

// Request kinds: the last token of a request subject.
const (
	RequestValidation   = "validation"
	RequestCustomerSync = "customer_sync"
)

// Wildcards for subscribers and stream definitions.
const (
	AllEvents   = Root + ".events.>"
	AllRequests = Root + ".requests.>"
	AllCommands = Root + ".commands.>"
	AllResults  = Root + ".results.>"
	AllDLQ      = Root + ".dlq.>"
	AllLedger   = Root + ".ledger.>"
	AllReview   = Root + ".review.>"
	// AllResolve filters operators' decisions, for the ledger's consumer.
	AllResolve = Root + ".review.*." + ReviewResolve
)

// Token makes s safe as one subject token: lower case, and every byte other
// than a-z, 0-9, '_' and '-' replaced by '_'. That covers what NATS forbids
// or treats specially ('.', '*', '>', whitespace) and keeps subjects plain
// ASCII for filters and metrics. An empty s becomes "unknown" so a subject
// never has an empty token.
func Token(s string) string {
	if s == "" {
		return "unknown"
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if !tokenByteOK(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + ('a' - 'A')
		case tokenByteOK(c):
			b[i] = c
		default:
			b[i] = '_'
		}
	}
	return string(b)
}

// tokenByteOK reports whether an ASCII byte may stand as-is in a token.
func tokenByteOK(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-':
		return true
	}
	return false
}

// AppName normalises a configured application name or application key into
// the <app> token. Names are validated at start, so this is a formality for
// configured names and a safety net for keys.
func AppName(s string) string { return Token(s) }

// Event is praxis.events.<app>.<type>.<status>.
func Event(app, typ, status string) string {
	return Root + ".events." + Token(app) + "." + Token(typ) + "." + Token(status)
}

// AppendEvent appends Event's subject to dst without allocating a string,
// for the ingress hot path. app must already be a Token.
func AppendEvent(dst []byte, app, typ, status string) []byte {
	dst = append(dst, Root+".events."...)
	dst = append(dst, app...)
	dst = append(dst, '.')
	dst = appendToken(dst, typ)
	dst = append(dst, '.')
	return appendToken(dst, status)
}

func appendToken(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !tokenByteOK(s[i]) {
			return append(dst, Token(s)...)
		}
	}
	if s == "" {
		return append(dst, "unknown"...)
	}
	return append(dst, s...)
}

// Request is praxis.requests.<app>.<kind>.
func Request(app, kind string) string {
	return Root + ".requests." + Token(app) + "." + kind
}

// Command is praxis.commands.<app>.<command>.
func Command(app, command string) string {
	return Root + ".commands." + Token(app) + "." + command
}

// Result is praxis.results.<app>.<command>.
func Result(app, command string) string {
	return Root + ".results." + Token(app) + "." + command
}

// DeadLetter is praxis.dlq.<app>.<command>.
func DeadLetter(app, command string) string {
	return Root + ".dlq." + Token(app) + "." + command
}

// Ledger is praxis.ledger.<app>.<kind>.
func Ledger(app, kind string) string {
	return Root + ".ledger." + Token(app) + "." + kind
}

// Review is praxis.review.<app>.<kind> (see the Review kinds).
func Review(app, kind string) string {
	return Root + ".review." + Token(app) + "." + kind
}

// ParseCommand splits praxis.commands.<app>.<command...> into the app token
// and the command name (which may span several tokens, e.g. cashier.session).
func ParseCommand(subject string) (app, command string, err error) {
	return parseTail(subject, Root+".commands.")
}

// ParseDeadLetter splits praxis.dlq.<app>.<command...>.
func ParseDeadLetter(subject string) (app, command string, err error) {
	return parseTail(subject, Root+".dlq.")
}

func parseTail(subject, prefix string) (app, rest string, err error) {
	tail, ok := strings.CutPrefix(subject, prefix)
	if !ok {
		return "", "", fmt.Errorf("subject %q does not start with %q", subject, prefix)
	}
	app, rest, ok = strings.Cut(tail, ".")
	if !ok || app == "" || rest == "" {
		return "", "", fmt.Errorf("subject %q: want %s<application>.<name>", subject, prefix)
	}
	return app, rest, nil
}

// EventType maps a notification's transaction to the <type> token.
// transactionType is Praxis' transaction_type ("" when transaction is
// null); a payout-type transaction of a withdrawal session that does not
// reference a withdrawal request is the withdrawal request itself.
func EventType(transactionType, sessionIntent string, hasWithdrawalRequestID, hasTransaction bool) string {
	if !hasTransaction {
		return TypeSession
	}
	switch strings.ToLower(transactionType) {
	case "sale":
		return TypeDeposit
	case "refund":
		return TypeRefund
	case "authorization", "authorize":
		return TypeAuthorization
	case "withdrawal", "withdrawal_request":
		return TypeWithdrawal
	case "payout":
		if strings.EqualFold(sessionIntent, "withdrawal") && !hasWithdrawalRequestID {
			return TypeWithdrawal
		}
		return TypePayout
	}
	return TypeOther
}
