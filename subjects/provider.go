package subjects

import (
	"fmt"
	"strings"
)

// Provider is the first token of a payment provider's subjects. Every
// provider has the same families under its own prefix, so a CRM or an
// operator learns one structure:
//
//	<provider>.events.<app>.<type>.<status>
//	<provider>.commands.<app>.<command>
//	<provider>.results.<app>.<command>
//	<provider>.dlq.<app>.<command>
//	<provider>.ledger.<app>.<kind>
//
// Each family of every provider lives in the one stream of that family
// (PRAXIS_EVENTS holds praxis.events.> and rebilly.events.>, and so on; the
// names predate the second provider and are kept so existing deployments
// keep their data and permissions). Ledger instructions of every provider
// share one schema and one stream, so a downstream ledger subscribes to
// AnyLedger, one filter for all providers.
type Provider string

// The providers the adapter speaks to. Praxis' prefix is Root, so every
// subject that existed before the second provider is unchanged.
const (
	Praxis  Provider = Root
	Rebilly Provider = "rebilly"
)

// AnyLedger matches every provider's ledger instructions (one filter for a
// downstream ledger, on the PRAXIS_LEDGER stream or a core subscription).
const AnyLedger = "*.ledger.>"

// Providers lists every provider, Praxis first.
func Providers() []Provider { return []Provider{Praxis, Rebilly} }

// ParseProvider maps a configured provider name ("" is Praxis) to its
// Provider, reporting false for a name the adapter does not know.
func ParseProvider(name string) (Provider, bool) {
	switch strings.ToLower(name) {
	case "", string(Praxis):
		return Praxis, true
	case string(Rebilly):
		return Rebilly, true
	}
	return "", false
}

// String is the provider's prefix token.
func (p Provider) String() string { return string(p) }

// Event is <provider>.events.<app>.<type>.<status>.
func (p Provider) Event(app, typ, status string) string {
	return string(p) + ".events." + Token(app) + "." + Token(typ) + "." + Token(status)
}

// Command is <provider>.commands.<app>.<command>.
func (p Provider) Command(app, command string) string {
	return string(p) + ".commands." + Token(app) + "." + command
}

// Result is <provider>.results.<app>.<command>.
func (p Provider) Result(app, command string) string {
	return string(p) + ".results." + Token(app) + "." + command
}

// DeadLetter is <provider>.dlq.<app>.<command>.
func (p Provider) DeadLetter(app, command string) string {
	return string(p) + ".dlq." + Token(app) + "." + command
}

// Ledger is <provider>.ledger.<app>.<kind>.
func (p Provider) Ledger(app, kind string) string {
	return string(p) + ".ledger." + Token(app) + "." + kind
}

// Review is <provider>.review.<app>.<kind>.
func (p Provider) Review(app, kind string) string {
	return string(p) + ".review." + Token(app) + "." + kind
}

// AllEvents matches the provider's events.
func (p Provider) AllEvents() string { return string(p) + ".events.>" }

// AllCommands matches the provider's commands.
func (p Provider) AllCommands() string { return string(p) + ".commands.>" }

// AllResults matches the provider's results.
func (p Provider) AllResults() string { return string(p) + ".results.>" }

// AllDLQ matches the provider's dead letters.
func (p Provider) AllDLQ() string { return string(p) + ".dlq.>" }

// AllLedger matches the provider's ledger instructions.
func (p Provider) AllLedger() string { return string(p) + ".ledger.>" }

// AllReview matches the provider's review records.
func (p Provider) AllReview() string { return string(p) + ".review.>" }

// ParseCommand splits <provider>.commands.<app>.<command...>.
func (p Provider) ParseCommand(subject string) (app, command string, err error) {
	return parseTail(subject, string(p)+".commands.")
}

// ParseDeadLetter splits <provider>.dlq.<app>.<command...>.
func (p Provider) ParseDeadLetter(subject string) (app, command string, err error) {
	return parseTail(subject, string(p)+".dlq.")
}

// WorkerConsumer is the durable pull consumer the provider's workers share
// on the commands stream (filters of different providers never overlap, as
// a work-queue stream requires).
func (p Provider) WorkerConsumer() string {
	if p == Praxis {
		return ConsumerWorker
	}
	return string(p) + "-worker"
}

// LedgerConsumer is the durable consumer feeding the provider's events to
// the ledger.
func (p Provider) LedgerConsumer() string {
	if p == Praxis {
		return ConsumerLedger
	}
	return string(p) + "-ledger"
}

// ProviderOf returns the provider whose prefix starts subject.
func ProviderOf(subject string) (Provider, error) {
	first, _, _ := strings.Cut(subject, ".")
	p, ok := ParseProvider(first)
	if !ok || first == "" {
		return "", fmt.Errorf("subject %q does not start with a provider prefix (%v)", subject, Providers())
	}
	return p, nil
}

// ParseAnyDeadLetter splits any provider's <provider>.dlq.<app>.<command...>.
func ParseAnyDeadLetter(subject string) (p Provider, app, command string, err error) {
	if p, err = ProviderOf(subject); err != nil {
		return "", "", "", err
	}
	app, command, err = p.ParseDeadLetter(subject)
	return p, app, command, err
}

// ParseEvent splits any provider's <provider>.events.<app>.<type>.<status>.
func ParseEvent(subject string) (p Provider, app, typ, status string, ok bool) {
	p, err := ProviderOf(subject)
	if err != nil {
		return "", "", "", "", false
	}
	rest, ok := strings.CutPrefix(subject, string(p)+".events.")
	if !ok {
		return "", "", "", "", false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", "", false
	}
	return p, parts[0], parts[1], parts[2], true
}

// subjectsOf lists one family's wildcard for each provider, Praxis first.
func subjectsOf(ps []Provider, family func(Provider) string) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, family(p))
	}
	return out
}

// StreamOf names the stream that stores subject, whichever provider's it
// is ("" when no stream stores it: requests, inboxes).
func StreamOf(subject string) string {
	p, err := ProviderOf(subject)
	if err != nil {
		return ""
	}
	family, _, _ := strings.Cut(strings.TrimPrefix(subject, string(p)+"."), ".")
	switch family {
	case "events":
		return StreamEvents
	case "commands":
		return StreamCommands
	case "results":
		return StreamResults
	case "dlq":
		return StreamDLQ
	case "ledger":
		return StreamLedger
	case "review":
		return StreamReview
	case "audit":
		if p == Praxis {
			return StreamAudit
		}
	}
	return ""
}

// Families lists, for every provider, the wildcards of the stored families
// a watcher follows: events, ledger instructions, review records, results
// and dead letters.
func Families(ps ...Provider) []string {
	if len(ps) == 0 {
		ps = Providers()
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.AllEvents(), p.AllLedger(), p.AllReview(), p.AllResults(), p.AllDLQ())
	}
	return out
}
