package rebillysim

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/money"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/internal/simkit"
)

// DuplicateMode is how a create with a requestId seen in the last 24 h is
// answered; Rebilly's answer is UNCONFIRMED (API.md §8), so both readings
// can be rehearsed. Either way the duplicate has no effect.
type DuplicateMode string

// The two duplicate readings.
const (
	// DuplicateConflict answers 409 Conflict with a problem body.
	DuplicateConflict DuplicateMode = "conflict"
	// DuplicateReturn answers 200 with the transaction first created.
	DuplicateReturn DuplicateMode = "return"
)

// Auth types of a webhook credential (API.md §7).
const (
	AuthNone   = "none"
	AuthBasic  = "basic"
	AuthDigest = "digest"
)

// Webhook is one organization-wide webhook (GlobalWebhook): where events go
// and with which credential.
type Webhook struct {
	URL string
	// EventsFilter lists the event types sent; empty sends all.
	EventsFilter []string
	// AuthType is none, basic or digest; Username and Password are the
	// credential.
	AuthType string
	Username string
	Password string
	// Headers are static custom headers added to every delivery.
	Headers map[string]string
}

// RateLimit is the per-organization limit on non-GET requests (API.md §8:
// sandbox 3000 per 10 minutes). Zero Limit means no limit.
type RateLimit struct {
	Limit  int
	Window time.Duration
}

// Config configures a Simulator. Zero values get the defaults documented on
// each field.
type Config struct {
	// OrganizationID is the organization served under
	// /organizations/<id>/...; default "org_sim".
	OrganizationID string
	// APIKeys are the accepted secret keys (REB-APIKEY); at least one.
	APIKeys []string
	// AllowOrgless also serves the org-less paths (API.md §1: UNCONFIRMED).
	AllowOrgless bool
	// Duplicate is the answer to a repeated requestId; default conflict.
	Duplicate DuplicateMode
	// ReturnExistingCashier answers POST /cashiers for a customer, website
	// and currency that already has an unexpired cashier with that cashier
	// and 200 (API.md §2.2: the matching rule is UNCONFIRMED); default off,
	// every POST creates a cashier (201).
	ReturnExistingCashier bool
	// ProblemContentType is the media type of error bodies; default
	// application/problem+json (API.md §8: UNCONFIRMED, the spec says
	// application/json).
	ProblemContentType string
	// NotificationBody is what a notificationUrl call carries: "" (empty
	// body, the default) or "transaction" (the transaction JSON). UNCONFIRMED.
	NotificationBody string
	// CashierLifetime is a cashier's expirationTime; default 1 h (API.md §2.2).
	CashierLifetime time.Duration
	// RateLimit limits non-GET calls; zero means unlimited.
	RateLimit RateLimit
	// Webhooks receive transaction and payout-request events.
	Webhooks []Webhook
	// ResendDelay is the pause before a failed notification or webhook is
	// sent again (UNCONFIRMED schedule); default 1 minute.
	ResendDelay time.Duration
	// MaxDeliveries bounds the attempts per notification; default 10.
	MaxDeliveries int
	// WebhookTimeout bounds one delivery attempt; default 10 s.
	WebhookTimeout time.Duration
	// DeliveryLogLimit bounds the in-memory delivery log (oldest dropped
	// first); default 100000.
	DeliveryLogLimit int
	// Currencies converts amounts; nil means the ISO table.
	Currencies *money.Currencies
	// Faults are the faults injected from the start; SetFaults changes them.
	Faults Faults
	// Seed seeds the random source (faults, ids).
	Seed uint64
	// Now is the clock; default time.Now.
	Now func() time.Time
	// HTTPClient delivers notifications and webhooks; default one with
	// WebhookTimeout.
	HTTPClient *http.Client
}

func (c *Config) setDefaults() {
	if c.OrganizationID == "" {
		c.OrganizationID = "org_sim"
	}
	if c.Duplicate == "" {
		c.Duplicate = DuplicateConflict
	}
	if c.ProblemContentType == "" {
		c.ProblemContentType = "application/problem+json"
	}
	if c.CashierLifetime == 0 {
		c.CashierLifetime = time.Hour
	}
	if c.ResendDelay == 0 {
		c.ResendDelay = time.Minute
	}
	simkit.DeliveryDefaults(&c.MaxDeliveries, &c.WebhookTimeout, &c.DeliveryLogLimit, &c.Now)
	for i := range c.Webhooks {
		if c.Webhooks[i].AuthType == "" {
			c.Webhooks[i].AuthType = AuthNone
		}
	}
}

// Validate reports the first configuration error, naming the field (never
// a secret's value).
func (c *Config) Validate() error {
	if len(c.APIKeys) == 0 {
		return errors.New("rebilly sim config: api_keys: at least one is required")
	}
	for i, k := range c.APIKeys {
		if k == "" {
			return fmt.Errorf("rebilly sim config: api_keys[%d]: empty", i)
		}
	}
	if !rebilly.ValidID(c.OrganizationID) {
		return errors.New("rebilly sim config: organization_id: at most 50 letters, digits or -_.@~")
	}
	switch {
	case c.Duplicate != DuplicateConflict && c.Duplicate != DuplicateReturn:
		return fmt.Errorf("rebilly sim config: duplicate: %q is neither %q nor %q", c.Duplicate, DuplicateConflict, DuplicateReturn)
	case c.NotificationBody != "" && c.NotificationBody != "transaction":
		return fmt.Errorf("rebilly sim config: notification_body: %q is neither empty nor \"transaction\"", c.NotificationBody)
	case c.CashierLifetime < 0:
		return fmt.Errorf("rebilly sim config: cashier_lifetime %v: must not be negative", c.CashierLifetime)
	case c.RateLimit.Limit < 0 || (c.RateLimit.Limit > 0 && c.RateLimit.Window <= 0):
		return errors.New("rebilly sim config: rate_limit: limit must not be negative, and a limit needs a positive window")
	}
	if err := simkit.CheckDelivery(c.ResendDelay, c.MaxDeliveries, c.WebhookTimeout, c.DeliveryLogLimit); err != nil {
		return fmt.Errorf("rebilly sim config: %w", err)
	}
	for i, w := range c.Webhooks {
		where := fmt.Sprintf("rebilly sim config: webhooks[%d]", i)
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s.url: want an absolute http(s) URL", where)
		}
		switch w.AuthType {
		case AuthNone:
		case AuthBasic, AuthDigest:
			if w.Username == "" || strings.Contains(w.Username, ":") {
				return fmt.Errorf("%s.username: required, without ':'", where)
			}
		default:
			return fmt.Errorf("%s.auth_type: %q is not none, basic or digest", where, w.AuthType)
		}
	}
	if err := c.Faults.Validate(); err != nil {
		return fmt.Errorf("rebilly sim config: %w", err)
	}
	return nil
}
