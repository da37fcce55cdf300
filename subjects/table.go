package subjects

// Entry documents one family of subjects: the pattern (with <placeholders>),
// the stream that stores it ("" for request/reply), who publishes it, who
// consumes it, and the payload. The README, the AsyncAPI document and the
// deploy manifests are checked against this table by tests.
type Entry struct {
	Pattern   string
	Stream    string
	Publisher string
	Consumer  string
	Payload   string
}

// Table lists every subject family the adapter uses.
func Table() []Entry {
	return []Entry{
		{Root + ".events.<app>.<type>.<status>", StreamEvents, "ingress", "ledger, CRM, any subscriber",
			"CloudEvent; data = the verified Praxis webhook body, byte for byte"},
		{Root + ".requests.<app>." + RequestValidation, "", "ingress", "CRM (queue group), replies within the deadline",
			"CloudEvent of the validation callback; reply {status, description}"},
		{Root + ".requests.<app>." + RequestCustomerSync, "", "ingress", "CRM (queue group), replies within the deadline",
			"CloudEvent of the customer sync; reply {status, description, customer_data, balance, ...}"},
		{Root + ".commands.<app>.<command>", StreamCommands, "CRM", "worker (durable " + ConsumerWorker + ")",
			"a command: {id, ...fields}"},
		{Root + ".results.<app>.<command>", StreamResults, "worker", "CRM",
			"a command result: {id, outcome, ...}"},
		{Root + ".dlq.<app>.<command>", StreamDLQ, "worker", "operators (praxis-adapter dlq)",
			"the refused command, byte for byte; headers name the reason"},
		{Root + ".ledger.<app>.<kind>", StreamLedger, "ledger", "the merchant's ledgers",
			"a ledger instruction: one per money movement"},
		{Root + ".review.<app>." + ReviewSuspect, StreamReview, "ledger", "operators (alert praxis_ledger_suspects_total)",
			"a suspect record: a notification Praxis did not confirm; nothing booked"},
		{Root + ".review.<app>." + ReviewHeld, StreamReview, "ledger", "operators (alert praxis_ledger_holds_total)",
			"a held movement waiting for a decision (praxis-adapter review)"},
		{Root + ".review.<app>." + ReviewResolve, StreamReview, "operators (praxis-adapter review resolve)", "ledger (durable " + ConsumerReview + ")",
			"a decision on a hold: {id, anchor, ref, action, amount, by, why}"},
		{Root + ".review.<app>." + ReviewResolved, StreamReview, "ledger", "operators, auditors",
			"the audit record of a decision and what it booked"},
		{Root + ".audit.<app>." + AuditConsole, StreamAudit, "operator console", "auditors, the console's timeline",
			"an operator action: {time, who, action, why, outcome, ...}"},

		// Rebilly has the five families every provider has (see Provider),
		// in the same streams; no requests, review or audit of its own.
		{Rebilly.String() + ".events.<app>.<type>.<status>", StreamEvents, "ingress",
			"ledger (durable " + Rebilly.LedgerConsumer() + "), CRM, any subscriber",
			"CloudEvent; data = Rebilly's own GET body (transaction or payout request), byte for byte"},
		{Rebilly.String() + ".commands.<app>.<command>", StreamCommands, "CRM", "worker (durable " + Rebilly.WorkerConsumer() + ")",
			"a Rebilly command: {id, ...fields}"},
		{Rebilly.String() + ".results.<app>.<command>", StreamResults, "worker", "CRM",
			"a command result: {id, outcome, provider: rebilly, rebilly: {...}, ...}"},
		{Rebilly.String() + ".dlq.<app>.<command>", StreamDLQ, "worker", "operators (praxis-adapter dlq)",
			"the refused command, byte for byte; the same Praxis-Dlq-* headers name the reason"},
		{Rebilly.String() + ".ledger.<app>.<kind>", StreamLedger, "ledger", "the merchant's ledgers (" + AnyLedger + " takes every provider's)",
			"a ledger instruction with provider rebilly: one per money movement"},
	}
}

// EventTypes lists every <type> token of event subjects.
func EventTypes() []string {
	return []string{TypeDeposit, TypePayout, TypeRefund, TypeAuthorization, TypeWithdrawal, TypeSession,
		TypeSubscription, TypeValidation, TypeOther}
}
