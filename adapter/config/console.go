package config

import (
	"fmt"
	"time"

	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Console configures the operator console (adapter/console): a web page
// for stream health, dead letters and the transaction timeline. The
// operator token never lives in the YAML: name token_env or token_file.
type Console struct {
	// Enabled serves the console. Unset: on in `run` (one process with
	// ingress and worker), off in a role-only process.
	Enabled *bool `yaml:"enabled" env:"PRAXIS_CONSOLE_ENABLED"`
	// TokenEnv / TokenFile name where the operator token is. Without a
	// token the console is read-only and shows key fields only.
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// Retention is how long the timeline index remembers a key (default
	// 30 days, the events stream's retention).
	Retention time.Duration `yaml:"retention" env:"PRAXIS_CONSOLE_RETENTION"`
	// MaxRefsPerKey bounds the messages remembered per search key (default
	// 200); the oldest are forgotten first.
	MaxRefsPerKey int `yaml:"max_refs_per_key" env:"PRAXIS_CONSOLE_MAX_REFS_PER_KEY"`
	// AuditMaxAge keeps the audit stream's records (default 365 days).
	AuditMaxAge time.Duration `yaml:"audit_max_age"`
	// Held lists messages awaiting an operator's decision (held ledger
	// movements): the stream and subject filter to show. Empty: the view
	// says nothing is configured.
	Held ConsoleHeld `yaml:"held"`

	// Token is resolved at load from TokenEnv or TokenFile. Never printed.
	Token string `yaml:"-"`
}

// ConsoleHeld names where held records are.
type ConsoleHeld struct {
	Stream  string `yaml:"stream"`
	Subject string `yaml:"subject"`
}

// ConsoleEnabled reports whether a process running these roles serves
// the console: the setting when given, else only a single process that
// runs both the ingress and the worker (`run`).
func (c *Config) ConsoleEnabled(ingress, worker bool) bool {
	if c.Console.Enabled != nil {
		return *c.Console.Enabled
	}
	return ingress && worker
}

func (c *Console) setDefaults() {
	if c.Retention == 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.MaxRefsPerKey == 0 {
		c.MaxRefsPerKey = 200
	}
	if c.AuditMaxAge == 0 {
		c.AuditMaxAge = 365 * 24 * time.Hour
	}
	if c.Held.Stream == "" && c.Held.Subject == "" {
		// The ledger's held movements (praxis-adapter review).
		c.Held.Stream = subjects.StreamReview
		c.Held.Subject = subjects.Review("*", subjects.ReviewHeld)
	}
}

// resolveToken reads the operator token; problems are reported with the
// other validation errors.
func (c *Console) resolveToken(getenv func(string) string) []string {
	c.Token = ""
	tok, err := readSecret("console", "token_env", c.TokenEnv, "token_file", c.TokenFile, getenv, true)
	if err != nil {
		return []string{err.Error()}
	}
	c.Token = tok
	return nil
}

func (c *Console) validate(add func(format string, args ...any)) {
	if c.Retention < time.Hour {
		add("console.retention: %v is too short (at least 1h; default 720h)", c.Retention)
	}
	if c.MaxRefsPerKey < 10 || c.MaxRefsPerKey > 5000 {
		add("console.max_refs_per_key: %d must be between 10 and 5000 (default 200)", c.MaxRefsPerKey)
	}
	if c.Token != "" && len(c.Token) < 16 {
		add("console: the operator token is shorter than 16 characters; use a long random value (e.g. openssl rand -hex 32)")
	}
	if (c.Held.Stream == "") != (c.Held.Subject == "") {
		add("console.held: set both stream and subject, or neither")
	}
}

// String never shows the token.
func (c Console) String() string {
	return fmt.Sprintf("console{enabled:%v retention:%v token:%v}", c.Enabled, c.Retention, c.Token != "")
}
