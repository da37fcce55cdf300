package sim

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/internal/simkit"
)

// WithdrawalMode is the account option that decides how
// complete-withdrawal-request pays a withdrawal request (API.md §5.5).
type WithdrawalMode string

// The two documented withdrawal modes.
const (
	// WithdrawalSameID completes the request under its own tid.
	WithdrawalSameID WithdrawalMode = "same_id"
	// WithdrawalSplit creates a separate payout tid per completion.
	WithdrawalSplit WithdrawalMode = "split"
)

// Application is one merchant application the simulator answers for.
type Application struct {
	MerchantID     string `json:"merchant_id"`
	ApplicationKey string `json:"application_key"`
	// Secrets[0] signs responses and webhooks; every secret is accepted on
	// requests, so tests can rehearse a rotation.
	Secrets        []string       `json:"-"`
	WithdrawalMode WithdrawalMode `json:"withdrawal_mode"`
	// HoldPayouts stops completed withdrawals at in_progress (same_id) or
	// pending (split) until the test API settles them, so tests can drive
	// PSP-side outcomes (rejected, error).
	HoldPayouts bool `json:"hold_payouts"`
}

// Config configures a Simulator. Zero values get the defaults documented on
// each field.
type Config struct {
	Applications []Application
	// BaseURL prefixes the cashier page in redirect_url; "" derives it from
	// the request's Host.
	BaseURL string
	// Lists are the signature field lists; nil means praxis.DefaultLists.
	Lists *praxis.Lists
	// ResendDelay is the pause before a notification is resent; default 5 minutes
	// (Praxis documents "approximately 5 minutes").
	ResendDelay time.Duration
	// MaxDeliveries bounds the attempts per notification; default 10.
	MaxDeliveries int
	// WebhookTimeout bounds one notification or validation call; default 10 s.
	WebhookTimeout time.Duration
	// MaxConcurrentDeliveries bounds the webhook calls in flight at once, so a
	// burst of thousands of transactions does not open thousands of
	// connections to the merchant; default 64.
	MaxConcurrentDeliveries int
	// FreshResendTimestamp re-signs each resend with a new timestamp; by
	// default a resend repeats the body and signature (UNCONFIRMED in Praxis).
	FreshResendTimestamp bool
	// SessionLifetime is how long a cashier session accepts customer actions;
	// default 15 minutes (API.md §4.3).
	SessionLifetime time.Duration
	// DeliveryLogLimit bounds the in-memory delivery log (oldest dropped
	// first) so long benchmarks do not grow without bound; default 100000.
	DeliveryLogLimit int
	// NoNotifications sends no payment notifications at all (validation
	// callbacks still run). For command benchmarks only: Praxis' own cost of
	// notifying must not be charged to the machine that measures the worker.
	NoNotifications bool
	// Faults are the faults injected from the start; SetFaults changes them.
	Faults Faults
	// Seed seeds the simulator's random source (faults, tokens).
	Seed uint64
	// Now is the clock; default time.Now.
	Now func() time.Time
	// HTTPClient sends webhooks; default a client with WebhookTimeout.
	HTTPClient *http.Client
	// FirstTID is where the tid counter starts (default 1,000,000, which
	// keeps tests readable). A long-lived simulator whose events land in a
	// persistent stream must not hand out a tid it handed out before a
	// restart, or the ledger deduplicates the new deposit away: `run` and
	// `sim` pass ClockTID(now).
	FirstTID int64
}

// ClockTID is a first tid derived from the wall clock (microseconds since
// 2020), so a restarted simulator never reuses a tid from an earlier run
// unless that run created more than a million transactions a second. It
// stays far below Praxis' 18-digit limit.
func ClockTID(now time.Time) int64 {
	const epoch = 1_577_836_800 // 2020-01-01T00:00:00Z
	return now.UnixMicro() - epoch*1_000_000
}

func (c *Config) setDefaults() {
	if c.ResendDelay == 0 {
		c.ResendDelay = 5 * time.Minute
	}
	simkit.DeliveryDefaults(&c.MaxDeliveries, &c.WebhookTimeout, &c.DeliveryLogLimit, &c.Now)
	if c.MaxConcurrentDeliveries == 0 {
		c.MaxConcurrentDeliveries = 64
	}
	if c.SessionLifetime == 0 {
		c.SessionLifetime = 15 * time.Minute
	}
	if c.FirstTID == 0 {
		c.FirstTID = firstTID
	}
	for i := range c.Applications {
		if c.Applications[i].WithdrawalMode == "" {
			c.Applications[i].WithdrawalMode = WithdrawalSameID
		}
	}
}

// Validate reports the first configuration error, naming the field.
func (c *Config) Validate() error {
	if len(c.Applications) == 0 {
		return errors.New("sim config: applications: at least one is required")
	}
	keys := make(map[string]bool, len(c.Applications))
	for i, a := range c.Applications {
		where := fmt.Sprintf("sim config: applications[%d]", i)
		switch {
		case a.MerchantID == "":
			return fmt.Errorf("%s.merchant_id: required", where)
		case a.ApplicationKey == "":
			return fmt.Errorf("%s.application_key: required", where)
		case len(a.Secrets) == 0 || a.Secrets[0] == "":
			return fmt.Errorf("%s.secrets: at least one non-empty secret is required", where)
		case a.WithdrawalMode != WithdrawalSameID && a.WithdrawalMode != WithdrawalSplit:
			return fmt.Errorf("%s.withdrawal_mode: %q is neither %q nor %q", where, a.WithdrawalMode, WithdrawalSameID, WithdrawalSplit)
		case keys[a.ApplicationKey]:
			// Balances and the test API name an application by its key alone.
			return fmt.Errorf("%s.application_key: %q is used twice", where, a.ApplicationKey)
		}
		keys[a.ApplicationKey] = true
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("sim config: base_url %q: want an absolute http(s) URL", c.BaseURL)
		}
		c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	}
	if err := simkit.CheckDelivery(c.ResendDelay, c.MaxDeliveries, c.WebhookTimeout, c.DeliveryLogLimit); err != nil {
		return fmt.Errorf("sim config: %w", err)
	}
	switch {
	case c.MaxConcurrentDeliveries < 1:
		return fmt.Errorf("sim config: max_concurrent_deliveries %d: must be at least 1", c.MaxConcurrentDeliveries)
	case c.SessionLifetime < 0:
		return fmt.Errorf("sim config: session_lifetime %v: must not be negative", c.SessionLifetime)
	}
	if err := c.Faults.Validate(); err != nil {
		return fmt.Errorf("sim config: %w", err)
	}
	return nil
}
