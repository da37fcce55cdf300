package ledger

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/adapter/lifecycle"
	"github.com/praxis-adapter/praxis-adapter/adapter/money"
	"github.com/praxis-adapter/praxis-adapter/adapter/processor"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// DefaultKeyPrefix namespaces the ledger's records (states and refund links).
const DefaultKeyPrefix = "ledger:"

// Config configures the service. Zero values take the defaults.
type Config struct {
	// DebitOn maps an application name to its payout debit stage
	// (requested, authorized or in_progress: config.Application.PayoutDebitOn).
	// When it is not empty it is also the set of known applications: events
	// of others are still booked, at DefaultDebitOn, but counted under the
	// metric label "unknown" so labels stay bounded.
	DebitOn map[string]string
	// DefaultDebitOn applies to applications not in DebitOn (default in_progress).
	DefaultDebitOn string
	// Processors maps payment_processor (or gateway) names when the event
	// does not already carry a mapped praxisprocessor; nil keeps them as is.
	Processors *processor.Mapper
	// KeyPrefix goes before every record key (default DefaultKeyPrefix).
	KeyPrefix string
	// StateTTL keeps an anchor's state this long after its last event
	// (default 0: for ever). A state that expired is a new anchor to a late
	// event: a chargeback after expiry would credit the deposit again before
	// reversing it. Set it only beyond the longest chargeback window.
	StateTTL time.Duration
	// MaxInFlight is how many anchors are processed at once (default 16).
	// Events of one anchor are handled in stream order within a process.
	MaxInFlight int
	// AckWait is the consumer's redelivery timer (default 30s).
	AckWait time.Duration
	// PullWait bounds one fetch; it is also how fast Run notices a stop (default 1s).
	PullWait time.Duration
	// DrainTimeout bounds finishing in-flight events on stop (default 20s).
	DrainTimeout time.Duration
	// RetryBase and RetryMax shape the redelivery backoff after a failure
	// (defaults 500ms and 30s).
	RetryBase time.Duration
	RetryMax  time.Duration
	// OpTimeout bounds one store call or publish (default 5s).
	OpTimeout time.Duration
	// MaxCASRounds bounds compare-and-set retries of one event (default 16).
	MaxCASRounds int
	// DuplicateWindow is PRAXIS_LEDGER's duplicate window (default 2m, as
	// subjects.StreamsConfig): AckWait and RetryMax must be shorter.
	DuplicateWindow time.Duration
	// Trust lists applications in trust_signature mode: their notifications
	// are booked as signed, without a Praxis lookup. For merchants without
	// Agent API access only; never the default (see README, Security).
	Trust map[string]bool
	// RecheckHorizon is how long a notification Praxis' lookup does not
	// (yet) confirm is looked up again before it becomes a suspect record
	// (default 5m). A genuine status may be a few seconds ahead of Praxis'
	// lookup.
	RecheckHorizon time.Duration
	// MinRechecks is the fewest lookups before a suspect record, so a
	// backlog older than the horizon is still looked up again (default 3).
	MinRechecks int
	// RecheckBase and RecheckMax shape the delay between re-checks
	// (defaults 1s, and 30s or a quarter of the horizon if shorter).
	RecheckBase time.Duration
	RecheckMax  time.Duration
	// LookupRate bounds find-transaction calls per second per application
	// (default 50); LookupBurst is the bucket (default 100).
	LookupRate  float64
	LookupBurst int
	// LookupShare is how long one lookup's answer serves other events of
	// the same tid that were stored before it began (default 2s).
	LookupShare time.Duration
	// Rebilly also consumes Rebilly's events (rebilly.events.>, a second
	// durable consumer, RebillyConsumerConfig) and books them from the
	// GET each event carries (no lookup: the ingress made it).
	Rebilly bool
	// RebillyApps maps each Rebilly application to its settings
	// (RebillyAppsOf); its names are also metric labels. An application
	// not in it debits payouts at requested.
	RebillyApps map[string]RebillyApp
	// Currencies converts Rebilly's decimal amounts to minor units (nil:
	// the ISO table, money.NewCurrencies(nil)); the same table as the
	// ingress's, or the two would read one amount differently.
	Currencies *money.Currencies
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.DefaultDebitOn == "" {
		c.DefaultDebitOn = lifecycle.DefaultDebitOn
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = DefaultKeyPrefix
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 16
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.PullWait == 0 {
		c.PullWait = time.Second
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 20 * time.Second
	}
	if c.RetryBase == 0 {
		c.RetryBase = 500 * time.Millisecond
	}
	if c.RetryMax == 0 {
		c.RetryMax = 30 * time.Second
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = 5 * time.Second
	}
	if c.MaxCASRounds == 0 {
		c.MaxCASRounds = 16
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = subjects.StreamsConfig{}.WithDefaults().DuplicateWindow
	}
	if c.RecheckHorizon == 0 {
		c.RecheckHorizon = 5 * time.Minute
	}
	if c.MinRechecks == 0 {
		c.MinRechecks = 3
	}
	if c.RecheckBase == 0 {
		c.RecheckBase = time.Second
	}
	if c.RecheckMax == 0 {
		// A few re-checks fit in the horizon.
		c.RecheckMax = min(30*time.Second, max(c.RecheckBase, c.RecheckHorizon/4))
	}
	if c.LookupRate == 0 {
		c.LookupRate = 50
	}
	if c.LookupBurst == 0 {
		c.LookupBurst = 100
	}
	if c.LookupShare == 0 {
		c.LookupShare = 2 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports the first unusable setting, naming it.
func (c Config) Validate() error {
	for app, stage := range c.DebitOn {
		if err := (lifecycle.Policy{DebitOn: stage}).Validate(); err != nil {
			return fmt.Errorf("ledger: application %q: %w", app, err)
		}
	}
	for app, a := range c.RebillyApps {
		if !validRebillyDebitOn(a.PayoutDebitOn) {
			return fmt.Errorf("ledger: Rebilly application %q: payout debit stage %q is not %s or %s", app, a.PayoutDebitOn, RebillyDebitOnRequested, RebillyDebitOnApproved)
		}
	}
	if err := (lifecycle.Policy{DebitOn: c.DefaultDebitOn}).Validate(); err != nil {
		return fmt.Errorf("ledger: default: %w", err)
	}
	switch {
	case c.MaxInFlight < 1:
		return fmt.Errorf("ledger: MaxInFlight %d must be at least 1", c.MaxInFlight)
	case c.MaxCASRounds < 1:
		return fmt.Errorf("ledger: MaxCASRounds %d must be at least 1", c.MaxCASRounds)
	case c.AckWait >= c.DuplicateWindow:
		return fmt.Errorf("ledger: AckWait %v must be shorter than the ledger stream's duplicate window %v, or a crash after publishing could publish twice", c.AckWait, c.DuplicateWindow)
	case c.RetryMax >= c.DuplicateWindow:
		return fmt.Errorf("ledger: RetryMax %v must be shorter than the ledger stream's duplicate window %v, or a retry after publishing could publish twice", c.RetryMax, c.DuplicateWindow)
	case c.RetryBase <= 0 || c.RetryMax < c.RetryBase:
		return fmt.Errorf("ledger: RetryBase %v and RetryMax %v must be positive and in order", c.RetryBase, c.RetryMax)
	case c.StateTTL < 0:
		return fmt.Errorf("ledger: StateTTL %v must not be negative (0 keeps states for ever)", c.StateTTL)
	case c.OpTimeout <= 0 || c.PullWait <= 0 || c.DrainTimeout <= 0:
		return errors.New("ledger: OpTimeout, PullWait and DrainTimeout must be positive")
	case c.RecheckBase <= 0 || c.RecheckMax < c.RecheckBase:
		return fmt.Errorf("ledger: RecheckBase %v and RecheckMax %v must be positive and in order", c.RecheckBase, c.RecheckMax)
	case c.RecheckHorizon < c.RecheckMax:
		return fmt.Errorf("ledger: RecheckHorizon %v must be at least RecheckMax %v", c.RecheckHorizon, c.RecheckMax)
	case c.RecheckMax >= c.AckWait*10:
		return fmt.Errorf("ledger: RecheckMax %v is too long beside AckWait %v", c.RecheckMax, c.AckWait)
	case c.MinRechecks < 1:
		return fmt.Errorf("ledger: MinRechecks %d must be at least 1", c.MinRechecks)
	case c.LookupRate < 0 || c.LookupBurst < 1:
		return fmt.Errorf("ledger: LookupRate %v must not be negative and LookupBurst %d must be at least 1", c.LookupRate, c.LookupBurst)
	case c.LookupShare < 0:
		return fmt.Errorf("ledger: LookupShare %v must not be negative", c.LookupShare)
	}
	return nil
}

// DebitOnOf maps each configured application to its payout debit stage,
// for Config.DebitOn.
func DebitOnOf(apps []config.Application) map[string]string {
	m := make(map[string]string, len(apps))
	for _, a := range apps {
		m[a.Name] = a.PayoutDebitOn
	}
	return m
}

// Deps are the connections the service uses; it closes none of them.
type Deps struct {
	JS       jetstream.JetStream
	Records  idempotency.Records
	Log      zerolog.Logger
	Registry prometheus.Registerer
	// Lookup asks Praxis about a tid; required unless every application
	// is in Trust (events of an application it cannot look up become
	// suspect records).
	Lookup Lookup
}

// TrustOf lists the applications configured with trust_signature.
func TrustOf(apps []config.Application) map[string]bool {
	m := map[string]bool{}
	for _, a := range apps {
		if a.TrustSignature {
			m[a.Name] = true
		}
	}
	return m
}

// ReviewConsumerConfig is the durable consumer of operators' decisions.
func ReviewConsumerConfig(c Config) jetstream.ConsumerConfig {
	c.setDefaults()
	return jetstream.ConsumerConfig{
		Durable:       subjects.ConsumerReview,
		Description:   "praxis-adapter ledger: operators' decisions on held movements",
		FilterSubject: subjects.AllResolve,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

// ConsumerConfig is the durable consumer every replica shares. One filter
// (praxis.events.>) because NATS 2.9 has no multi-subject filters; events
// without money are acked unread.
func ConsumerConfig(c Config) jetstream.ConsumerConfig {
	c.setDefaults()
	return jetstream.ConsumerConfig{
		Durable:       subjects.ConsumerLedger,
		Description:   "praxis-adapter lifecycle tracker: one ledger instruction per money movement",
		FilterSubject: subjects.AllEvents,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    -1, // an outage must never strand a movement
		MaxAckPending: 10_000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}
