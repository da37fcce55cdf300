package frontend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/ingress"
)

// Defaults for SessionRulesConfig.
const (
	// DefaultSessionPrefix namespaces the session records.
	DefaultSessionPrefix = "session:"
	// DefaultSessionTTL outlives every session: cashier sessions live 15
	// minutes, payment links at most 72 hours (API.md §4.3, §5.2).
	DefaultSessionTTL = 73 * time.Hour
	// DefaultDeclineStatus is the validation reply status of a decline; any
	// non-zero status blocks the attempt (API.md §7.2).
	DefaultDeclineStatus = 1
)

// SessionRulesConfig configures SessionRules.
type SessionRulesConfig struct {
	// Currencies formats amounts in the descriptions shown to customers
	// (config.Config.Currencies()); the zero value means the defaults.
	Currencies praxis.Currencies
	// KeyPrefix goes before every session key (default DefaultSessionPrefix).
	KeyPrefix string
	// TTL keeps a session's record (default DefaultSessionTTL).
	TTL time.Duration
	// DeclineStatus is the reply status of a decline (default 1).
	DeclineStatus int
}

// SessionRules remembers what a cashier.session command fixed (the amount,
// or a withdrawal's balance) and answers the validation callback of an
// attempt that breaks it, without asking the CRM. It is both the worker's
// SessionRecorder and the ingress's ValidationRules.
type SessionRules struct {
	records idempotency.Records
	cfg     SessionRulesConfig
}

var (
	_ worker.SessionRecorder  = (*SessionRules)(nil)
	_ ingress.ValidationRules = (*SessionRules)(nil)
)

// NewSessionRules returns the rules stored in records.
func NewSessionRules(cfg SessionRulesConfig, records idempotency.Records) (*SessionRules, error) {
	if records == nil {
		return nil, errors.New("frontend: NewSessionRules: nil records")
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultSessionPrefix
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultSessionTTL
	}
	if cfg.DeclineStatus == 0 {
		cfg.DeclineStatus = DefaultDeclineStatus
	}
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("frontend: session TTL %v must be positive", cfg.TTL)
	}
	if cfg.Currencies.Factor("JPY") != 1 {
		// The zero value has no table (every currency would show 2
		// decimals): use the documented defaults.
		cur, err := praxis.NewCurrencies(nil)
		if err != nil {
			return nil, fmt.Errorf("frontend: currencies: %w", err)
		}
		cfg.Currencies = cur
	}
	return &SessionRules{records: records, cfg: cfg}, nil
}

// sessionRule is what a session fixed, as stored.
type sessionRule struct {
	Intent   string `json:"intent"`
	Currency string `json:"currency"`
	Amount   *int64 `json:"amount,omitempty"`
	Balance  *int64 `json:"balance,omitempty"`
}

func (r *SessionRules) key(app, orderID string) string {
	return r.cfg.KeyPrefix + app + ":" + orderID
}

// RecordSession remembers the session's fixed amount, or a withdrawal's
// balance, by (app, order id). A session that fixes neither records nothing.
func (r *SessionRules) RecordSession(ctx context.Context, app string, s *command.Session) error {
	if s == nil {
		return errors.New("frontend: RecordSession: nil session")
	}
	rule := sessionRule{Intent: s.Intent, Currency: strings.ToUpper(s.Currency), Amount: s.Amount}
	if s.Intent == praxis.IntentWithdrawal {
		rule.Balance = s.Balance
	}
	if rule.Amount == nil && rule.Balance == nil {
		return nil
	}
	if s.OrderID == "" {
		return errors.New("frontend: RecordSession: the session has no order_id")
	}
	raw, err := json.Marshal(rule)
	if err != nil {
		return fmt.Errorf("frontend: encode session rule: %w", err)
	}
	key := r.key(app, s.OrderID)
	for range 4 {
		_, ver, err := r.records.GetRecord(ctx, key)
		if err != nil && !errors.Is(err, idempotency.ErrNotFound) {
			return fmt.Errorf("frontend: read session %s of %s: %w", s.OrderID, app, err)
		}
		_, err = r.records.PutRecord(ctx, key, raw, ver, r.cfg.TTL)
		if err == nil {
			return nil
		}
		if !errors.Is(err, idempotency.ErrVersionConflict) {
			return fmt.Errorf("frontend: record session %s of %s: %w", s.OrderID, app, err)
		}
	}
	return fmt.Errorf("frontend: record session %s of %s: the record keeps changing", s.OrderID, app)
}

// Decide declines an attempt whose amount differs from the session's fixed
// amount, or a withdrawal above the session's balance, with a description
// the customer reads. ok=false means no rule applies: ask the CRM. An
// attempt whose currency, intent or amount cannot be compared is left to
// the CRM too.
func (r *SessionRules) Decide(ctx context.Context, app string, att ingress.ValidationAttempt) (praxis.Reply, bool, error) {
	if att.OrderID == "" || att.Amount == nil {
		return praxis.Reply{}, false, nil
	}
	raw, _, err := r.records.GetRecord(ctx, r.key(app, att.OrderID))
	if errors.Is(err, idempotency.ErrNotFound) {
		return praxis.Reply{}, false, nil
	}
	if err != nil {
		return praxis.Reply{}, false, fmt.Errorf("frontend: read session %s of %s: %w", att.OrderID, app, err)
	}
	var rule sessionRule
	if err := json.Unmarshal(raw, &rule); err != nil {
		return praxis.Reply{}, false, fmt.Errorf("frontend: session %s of %s: stored rule does not decode: %w", att.OrderID, app, err)
	}
	cur := strings.ToUpper(att.Currency)
	if cur == "" {
		cur = rule.Currency
	}
	if cur != rule.Currency || (att.Intent != "" && !strings.EqualFold(att.Intent, rule.Intent)) {
		return praxis.Reply{}, false, nil
	}
	amount := *att.Amount
	what := "payment"
	if rule.Intent == praxis.IntentWithdrawal {
		what = "withdrawal"
	}
	switch {
	case rule.Amount != nil && amount != *rule.Amount:
		return r.decline(fmt.Sprintf("This %s must be exactly %s; %s was entered.", what, r.money(*rule.Amount, cur), r.money(amount, cur))), true, nil
	case rule.Balance != nil && amount > *rule.Balance:
		return r.decline(fmt.Sprintf("The withdrawal of %s exceeds your available balance of %s.", r.money(amount, cur), r.money(*rule.Balance, cur))), true, nil
	}
	return praxis.Reply{}, false, nil
}

func (r *SessionRules) money(amount int64, cur string) string {
	return r.cfg.Currencies.Format(amount, cur) + " " + cur
}

func (r *SessionRules) decline(desc string) praxis.Reply {
	return praxis.Reply{Status: r.cfg.DeclineStatus, Description: desc}
}
