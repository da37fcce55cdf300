package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Rebilly says how to reach Rebilly, for the applications whose provider
// is rebilly (../shared/rebilly/API.md).
type Rebilly struct {
	// BaseURL is Rebilly's API host (https://api.rebilly.com, or
	// https://api-sandbox.rebilly.com). Empty in `run` starts the built-in
	// Rebilly simulator and uses it instead.
	BaseURL string `yaml:"base_url" env:"REBILLY_BASE_URL"`
	// Timeout bounds one HTTP attempt (default praxis.timeout).
	Timeout time.Duration `yaml:"timeout" env:"REBILLY_TIMEOUT"`
	// Simulated says base_url is a praxis-adapter Rebilly simulator: only
	// then may it be http://.
	Simulated bool `yaml:"simulated" env:"REBILLY_SIMULATED"`
}

// RebillyApplication is the Rebilly part of an application (provider:
// rebilly). Secrets are named by environment variable or file, never
// written in the YAML.
type RebillyApplication struct {
	// OrganizationID scopes every API path (/organizations/<id>/...).
	// Required: org-less paths are UNCONFIRMED (API.md §1).
	OrganizationID string `yaml:"organization_id"`
	// WebsiteID is the default websiteId of cashiers (a command may name
	// another).
	WebsiteID string `yaml:"website_id"`
	// APIKeyEnv / APIKeyFile name where the secret API key (REB-APIKEY) is.
	APIKeyEnv  string `yaml:"api_key_env"`
	APIKeyFile string `yaml:"api_key_file"`
	// Webhook is how Rebilly's webhooks and notificationUrl calls
	// authenticate to the ingress. Rebilly signs nothing: what a call says
	// is only a trigger, confirmed by a GET (README, Security).
	Webhook RebillyWebhook `yaml:"webhook"`
	// PayoutDebitOn is when a payout debits the ledger: requested (the
	// payout request exists, default: the money is reserved while it can
	// still be reversed) or approved (its credit transaction is approved).
	PayoutDebitOn string `yaml:"payout_debit_on"`

	// APIKey and WebhookPassword are resolved at load. Never printed.
	APIKey          string `yaml:"-"`
	WebhookPassword string `yaml:"-"`
}

// RebillyWebhook configures the credentials Rebilly sends with webhooks
// (API.md §6: Basic or Digest, set on the webhook in Rebilly's dashboard).
type RebillyWebhook struct {
	// Auth is basic (default), digest, or none (only with a simulator or a
	// network that admits Rebilly alone; every call is confirmed by a GET
	// either way).
	Auth string `yaml:"auth"`
	// Username is the webhook's user name.
	Username string `yaml:"username"`
	// PasswordEnv / PasswordFile name where its password is.
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// Realm and Algorithm (MD5 default, or SHA-256) configure Digest.
	Realm     string `yaml:"realm"`
	Algorithm string `yaml:"algorithm"`
}

// Rebilly webhook authentication schemes.
const (
	WebhookAuthBasic  = "basic"
	WebhookAuthDigest = "digest"
	WebhookAuthNone   = "none"
)

// Rebilly payout debit stages.
const (
	RebillyDebitOnRequested = "requested"
	RebillyDebitOnApproved  = "approved"
)

// SimulatorAPIKey is the API key the built-in Rebilly simulator accepts in
// `run`; like DemoSecret it is refused against Rebilly itself.
const SimulatorAPIKey = "sk_sandbox_praxis_adapter_demo"

// ProviderOf is the application's provider (Praxis when not set).
func (a Application) ProviderOf() subjects.Provider {
	p, _ := subjects.ParseProvider(a.Provider)
	return p
}

// IsRebilly reports whether the application is served by Rebilly.
func (a Application) IsRebilly() bool { return a.ProviderOf() == subjects.Rebilly }

// Providers lists the providers the configured applications use, Praxis
// always first (its callbacks and streams exist in every deployment).
func (c *Config) Providers() []subjects.Provider {
	out := []subjects.Provider{subjects.Praxis}
	for _, a := range c.Applications {
		if a.IsRebilly() {
			return append(out, subjects.Rebilly)
		}
	}
	return out
}

// RebillyClientConfig is what the Rebilly client of an application needs.
func (c *Config) RebillyClientConfig(a Application) rebilly.ClientConfig {
	return rebilly.ClientConfig{
		BaseURL: c.Rebilly.BaseURL, OrganizationID: a.Rebilly.OrganizationID,
		APIKey: a.Rebilly.APIKey, Timeout: c.Rebilly.Timeout,
	}
}

func (c *Config) setRebillyDefaults() {
	if c.Rebilly.Timeout == 0 {
		c.Rebilly.Timeout = c.Praxis.Timeout
	}
	if c.Simulator.RebillyListen == "" {
		c.Simulator.RebillyListen = "127.0.0.1:8491"
	}
	for i := range c.Applications {
		a := &c.Applications[i]
		if !a.IsRebilly() {
			continue
		}
		if a.Rebilly.PayoutDebitOn == "" {
			a.Rebilly.PayoutDebitOn = RebillyDebitOnRequested
		}
		if a.Rebilly.Webhook.Auth == "" {
			a.Rebilly.Webhook.Auth = WebhookAuthBasic
		}
	}
}

// resolveRebillySecrets reads the API keys and webhook passwords.
func (c *Config) resolveRebillySecrets(getenv func(string) string) []string {
	var problems []string
	for i := range c.Applications {
		a := &c.Applications[i]
		if !a.IsRebilly() {
			continue
		}
		field := fmt.Sprintf("applications[%d].rebilly", i)
		key, err := readSecret(field, "api_key_env", a.Rebilly.APIKeyEnv, "api_key_file", a.Rebilly.APIKeyFile, getenv, true)
		if err != nil {
			problems = append(problems, err.Error())
		}
		a.Rebilly.APIKey = key
		pw, err := readSecret(field+".webhook", "password_env", a.Rebilly.Webhook.PasswordEnv, "password_file", a.Rebilly.Webhook.PasswordFile, getenv, true)
		if err != nil {
			problems = append(problems, err.Error())
		}
		a.Rebilly.WebhookPassword = pw
	}
	return problems
}

// validateRebilly checks the rebilly section and every Rebilly application.
func (c *Config) validateRebilly(add func(string, ...any)) {
	if b := c.Rebilly.BaseURL; b != "" {
		if !c.Rebilly.Simulated && !strings.HasPrefix(b, "https://") {
			add("rebilly.base_url: must start with https:// (e.g. https://api.rebilly.com); http:// is allowed only for a simulator (rebilly.simulated: true)")
		} else if !strings.HasPrefix(b, "https://") && !strings.HasPrefix(b, "http://") {
			add("rebilly.base_url: must start with http:// or https://")
		}
	}
	if c.Rebilly.Timeout < 0 {
		add("rebilly.timeout: must not be negative")
	}
	for i, a := range c.Applications {
		field := fmt.Sprintf("applications[%d]", i)
		if _, ok := subjects.ParseProvider(a.Provider); !ok {
			add("%s.provider: %q is not praxis or rebilly", field, a.Provider)
			continue
		}
		if !a.IsRebilly() {
			continue
		}
		r := a.Rebilly
		if r.OrganizationID == "" || !rebilly.ValidID(r.OrganizationID) {
			add("%s.rebilly.organization_id: required, at most 50 letters, digits or -_.@~", field)
		}
		if r.WebsiteID != "" && !rebilly.ValidID(r.WebsiteID) {
			add("%s.rebilly.website_id: at most 50 letters, digits or -_.@~", field)
		}
		if r.APIKey == "" && c.Rebilly.BaseURL != "" {
			add("%s.rebilly: no API key; set api_key_env or api_key_file (never the key itself in the YAML)", field)
		}
		if c.Rebilly.BaseURL != "" && !c.Rebilly.Simulated && r.APIKey == SimulatorAPIKey {
			add("%s.rebilly: the API key is the simulator's demo key, allowed only with a simulator (rebilly.simulated: true)", field)
		}
		switch r.Webhook.Auth {
		case WebhookAuthBasic, WebhookAuthDigest:
			if r.Webhook.Username == "" || (r.WebhookPassword == "" && (c.Rebilly.BaseURL != "" || r.Webhook.PasswordEnv != "" || r.Webhook.PasswordFile != "")) {
				if r.Webhook.Username == "" {
					add("%s.rebilly.webhook.username: required with auth %s", field, r.Webhook.Auth)
				} else {
					add("%s.rebilly.webhook: no password; set password_env or password_file", field)
				}
			}
			if r.Webhook.Auth == WebhookAuthDigest {
				switch strings.ToUpper(r.Webhook.Algorithm) {
				case "", "MD5", "SHA-256":
				default:
					add("%s.rebilly.webhook.algorithm: is not MD5 or SHA-256", field)
				}
			}
		case WebhookAuthNone:
			if c.Rebilly.BaseURL != "" && !c.Rebilly.Simulated {
				add("%s.rebilly.webhook.auth: none is allowed only with a simulator; set basic or digest and the credentials configured on the webhook in Rebilly", field)
			}
		default:
			add("%s.rebilly.webhook.auth: is not basic, digest or none", field)
		}
		switch r.PayoutDebitOn {
		case RebillyDebitOnRequested, RebillyDebitOnApproved:
		default:
			add("%s.rebilly.payout_debit_on: is not requested or approved", field)
		}
		if len(a.Frontends) > 0 {
			add("%s.frontends: front-end routing is Praxis-only; Rebilly commands name their application", field)
		}
	}
}

// ApplicationsOf lists the applications served by provider p, in config
// order: each provider's roles see only their own.
func (c *Config) ApplicationsOf(p subjects.Provider) []Application {
	var out []Application
	for _, a := range c.Applications {
		if a.ProviderOf() == p {
			out = append(out, a)
		}
	}
	return out
}
