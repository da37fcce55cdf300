// Package command is the contract between the CRM and the worker: the
// commands the CRM publishes on praxis.commands.<app>.<command>, how each
// is validated (with the exact reason a command is refused), and the result
// every command ends in on praxis.results.<app>.<command>. It knows nothing
// of NATS; the JSON Schemas in contracts/schemas/ describe the same shapes
// and a test keeps them in step with these structs.
package command

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

// Command names: the last two tokens of a command subject.
const (
	CashierSession       = "cashier.session"
	VirtualTerminal      = "cashier.virtual_terminal"
	AuthorizationCapture = "authorization.capture"
	AuthorizationCancel  = "authorization.cancel"
	WithdrawalComplete   = "withdrawal.complete"
	WithdrawalCancel     = "withdrawal.cancel"
	RefundCreate         = "refund.create"
	TransactionFind      = "transaction.find"
	OrderFind            = "order.find"
)

// Envelope is what every command carries besides its own fields.
type Envelope struct {
	// ID is the command id chosen by the CRM: the idempotency key. The
	// same id always yields the same single Praxis effect and result.
	ID string `json:"id"`
	// Application optionally repeats the subject's <app> token; if set it
	// must match. Commands routed by front end leave it empty.
	Application string `json:"application,omitempty"`
	// Website, with the command's currency, routes a command to the
	// application that serves that front end (subject token `frontend`).
	Website string `json:"website,omitempty"`
}

// Base returns the envelope; every command embeds one.
func (e *Envelope) Base() *Envelope { return e }

// Command is one decoded command.
type Command interface {
	Base() *Envelope
	// Validate checks the command on its own (no config needed); now
	// bounds time fields such as a payment link's expiry.
	Validate(now time.Time) error
}

// Session opens a cashier session, a payment link, or (with AgentName, as
// cashier.virtual_terminal) an agent-assisted session. Fields are those of
// API.md §5.1; amounts are integers in minor units.
type Session struct {
	Envelope
	Intent               string               `json:"intent"`
	SessionType          string               `json:"session_type,omitempty"`
	Expires              *int64               `json:"expires,omitempty"`
	Currency             string               `json:"currency"`
	Amount               *int64               `json:"amount,omitempty"`
	Balance              *int64               `json:"balance,omitempty"`
	CID                  string               `json:"cid"`
	Locale               string               `json:"locale,omitempty"`
	CustomerToken        string               `json:"customer_token,omitempty"`
	CustomerData         *praxis.CustomerData `json:"customer_data,omitempty"`
	PaymentMethod        string               `json:"payment_method,omitempty"`
	Gateway              string               `json:"gateway,omitempty"`
	ValidationURL        string               `json:"validation_url,omitempty"`
	NotificationURL      string               `json:"notification_url,omitempty"`
	ReturnURL            string               `json:"return_url,omitempty"`
	OrderID              string               `json:"order_id"`
	Variable1            string               `json:"variable1,omitempty"`
	Variable2            string               `json:"variable2,omitempty"`
	Variable3            string               `json:"variable3,omitempty"`
	MIT                  *praxis.MIT          `json:"mit,omitempty"`
	SessionConfiguration json.RawMessage      `json:"session_configuration,omitempty"`
	CashierUIPreset      string               `json:"cashier_ui_preset,omitempty"`
	AgentName            string               `json:"agent_name,omitempty"`

	virtualTerminal bool
}

// TransactionAction captures or cancels an authorization (by its tid).
type TransactionAction struct {
	Envelope
	TID int64 `json:"tid"`
}

// WithdrawalAction completes (pays out) or cancels a withdrawal request.
type WithdrawalAction struct {
	Envelope
	WithdrawalRequestID int64  `json:"withdrawal_request_id"`
	Gateway             string `json:"gateway,omitempty"`

	cancel bool
}

// Refund refunds (part of) an approved deposit through the Direct API.
type Refund struct {
	Envelope
	ReferenceID         int64  `json:"reference_id"`
	Amount              int64  `json:"amount"`
	Currency            string `json:"currency"`
	CID                 string `json:"cid"`
	OrderID             string `json:"order_id"`
	Locale              string `json:"locale,omitempty"`
	WithdrawalRequestID *int64 `json:"withdrawal_request_id,omitempty"`
	Variable1           string `json:"variable1,omitempty"`
	Variable2           string `json:"variable2,omitempty"`
	Variable3           string `json:"variable3,omitempty"`
}

// FindTransaction reads a transaction by tid.
type FindTransaction struct {
	Envelope
	TID int64 `json:"tid"`
}

// FindOrder reads a session's state by order id.
type FindOrder struct {
	Envelope
	OrderID string `json:"order_id"`
}

// Spec describes one command: how to make an empty one, and whether it
// changes state at Praxis (then an unknown outcome is reconciled by a
// lookup before any retry).
type Spec struct {
	Name          string
	Summary       string
	StateChanging bool
	New           func() Command
}

// Specs lists every command, in documentation order.
func Specs() []Spec { return specsOf(Names(), Lookup) }

// specsOf looks every name up in one provider's registry.
func specsOf(names []string, lookup func(string) (Spec, bool)) []Spec {
	out := make([]Spec, len(names))
	for i, n := range names {
		out[i], _ = lookup(n)
	}
	return out
}

// Lookup finds a command's spec by name; it runs once per command on the
// worker's path, so it builds only the one spec asked for.
func Lookup(name string) (Spec, bool) {
	switch name {
	case CashierSession:
		return Spec{CashierSession, "open a cashier session or payment link (payment, authorization, withdrawal)", true, func() Command { return &Session{} }}, true
	case VirtualTerminal:
		return Spec{VirtualTerminal, "open an agent-assisted (MOTO) virtual terminal session", true, func() Command { return &Session{virtualTerminal: true} }}, true
	case AuthorizationCapture:
		return Spec{AuthorizationCapture, "capture an authorization", true, func() Command { return &TransactionAction{} }}, true
	case AuthorizationCancel:
		return Spec{AuthorizationCancel, "cancel an authorization", true, func() Command { return &TransactionAction{} }}, true
	case WithdrawalComplete:
		return Spec{WithdrawalComplete, "complete (pay out) a withdrawal request", true, func() Command { return &WithdrawalAction{} }}, true
	case WithdrawalCancel:
		return Spec{WithdrawalCancel, "cancel a withdrawal request", true, func() Command { return &WithdrawalAction{cancel: true} }}, true
	case RefundCreate:
		return Spec{RefundCreate, "refund (part of) an approved deposit", true, func() Command { return &Refund{} }}, true
	case TransactionFind:
		return Spec{TransactionFind, "read a transaction by tid", false, func() Command { return &FindTransaction{} }}, true
	case OrderFind:
		return Spec{OrderFind, "read a session by order id", false, func() Command { return &FindOrder{} }}, true
	}
	return Spec{}, false
}

// Names lists the command names, in documentation order.
func Names() []string {
	return []string{CashierSession, VirtualTerminal, AuthorizationCapture, AuthorizationCancel, WithdrawalComplete,
		WithdrawalCancel, RefundCreate, TransactionFind, OrderFind}
}

// InvalidError is a command refused by our validation; Reason is exact
// enough for the CRM's developer to fix the command.
type InvalidError struct {
	Reason string
}

func (e *InvalidError) Error() string { return "invalid command: " + e.Reason }

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// IsInvalid reports whether err is an InvalidError and returns its reason.
func IsInvalid(err error) (string, bool) {
	var ie *InvalidError
	if errors.As(err, &ie) {
		return ie.Reason, true
	}
	return "", false
}

// Parse decodes and validates the command called name from data. Unknown
// fields are refused (a typo like "ammount" must not be silently ignored),
// numbers must be integers where the field is an amount or id.
func Parse(name string, data []byte, now time.Time) (Command, error) {
	spec, ok := Lookup(name)
	if !ok {
		return nil, invalid("unknown command %q; known commands: %s", name, strings.Join(Names(), ", "))
	}
	return parseSpec(spec, data, now)
}

// parseSpec decodes and validates a command of spec's type from data.
func parseSpec(spec Spec, data []byte, now time.Time) (Command, error) {
	cmd := spec.New()
	if err := decodeStrict(data, cmd); err != nil {
		return nil, err
	}
	if err := validateID(cmd.Base().ID); err != nil {
		return cmd, err
	}
	return cmd, cmd.Validate(now)
}

// PeekID reads just the command id from a body that may not be a valid
// command, so even a refused command's result can carry its id.
func PeekID(data []byte) string {
	var e struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(data, &e) != nil {
		return ""
	}
	if s, ok := e.ID.(string); ok && validateID(s) == nil {
		return s
	}
	return ""
}

// commandSchemas are the strict schemas of the command types, built once
// at package initialisation and only read afterwards.
var commandSchemas = func() map[reflect.Type]*praxis.Schema {
	m := map[reflect.Type]*praxis.Schema{}
	for _, name := range Names() {
		spec, _ := Lookup(name)
		t := reflect.TypeOf(spec.New())
		if _, ok := m[t]; !ok {
			m[t] = praxis.NewSchema("command "+name, t, nil)
		}
	}
	for _, t := range rebillyTypes() {
		m[t] = praxis.NewSchema("command "+t.Elem().Name(), t, nil)
	}
	return m
}()

// decodeStrict reads a command through the same strict scanner as Praxis
// bodies (praxis.Schema): keys must match a field exactly (encoding/json
// alone would read "TID" as tid), no key may repeat at any depth, the body
// must be valid UTF-8; then encoding/json, which refuses unknown fields.
func decodeStrict(data []byte, cmd Command) error {
	if sch := commandSchemas[reflect.TypeOf(cmd)]; sch != nil {
		if err := sch.Check(data); err != nil {
			var ke *praxis.KeyError
			switch {
			case errors.As(err, &ke) && errors.Is(err, praxis.ErrFieldFormat):
				return invalid("%s %s", ke.Path, ke.Problem)
			case errors.As(err, &ke):
				return invalid("%s: %s", ke.Path, ke.Problem)
			case errors.Is(err, praxis.ErrNotObject):
				return invalid("the command must be an object")
			}
			return invalid("%v", err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cmd); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return invalid("%s must be %s, got %s", te.Field, jsonTypeName(te.Type), te.Value)
		case errors.As(err, &se):
			return invalid("not valid JSON: %v", se)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return invalid("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		case errors.Is(err, io.EOF):
			return invalid("empty body; want a JSON object")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return invalid("not valid JSON: the body ends too early")
		}
		return invalid("not a JSON object of the expected shape: %v", err)
	}
	if dec.More() {
		return invalid("unexpected data after the JSON object")
	}
	return nil
}

func jsonTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer (amounts are in minor units, e.g. 1050 for 10.50)"
	case reflect.String:
		return "a string"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	case reflect.Bool:
		return "true or false"
	}
	return "a " + t.Kind().String()
}

func validateID(id string) error {
	if id == "" {
		return invalid("id is required: the command id is the idempotency key")
	}
	if len(id) > 128 {
		return invalid("id is %d characters; at most 128", len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return invalid("id may contain only letters, digits, '-', '_', '.' and ':'")
		}
	}
	return nil
}

// Fingerprint identifies a command's content, so an id reused for a
// different command is refused instead of answered with another's result.
func Fingerprint(name string, cmd Command) string {
	b, _ := json.Marshal(cmd)
	sum := sha256.Sum256(append([]byte(name+"\x00"), b...))
	return hex.EncodeToString(sum[:16])
}

// Validate checks a session command.
func (c *Session) Validate(now time.Time) error {
	switch c.Intent {
	case praxis.IntentPayment, praxis.IntentAuthorization, praxis.IntentWithdrawal:
	case "":
		return invalid("intent is required: payment, authorization or withdrawal")
	default:
		return invalid("intent %q is not payment, authorization or withdrawal", c.Intent)
	}
	switch c.SessionType {
	case "", praxis.SessionTypeCashier:
		if c.Expires != nil {
			return invalid("expires applies only to session_type payment_link")
		}
	case praxis.SessionTypePaymentLink:
		if c.virtualTerminal {
			return invalid("session_type payment_link is not available for a virtual terminal")
		}
		if c.Expires != nil {
			at := time.Unix(*c.Expires, 0)
			if !at.After(now) {
				return invalid("expires %d is in the past", *c.Expires)
			}
			if at.Sub(now) > 72*time.Hour {
				return invalid("expires %d is %s ahead; a payment link may live at most 72h", *c.Expires, at.Sub(now).Truncate(time.Minute))
			}
		}
	default:
		return invalid("session_type %q is not cashier or payment_link", c.SessionType)
	}
	if err := checkCurrency(c.Currency); err != nil {
		return err
	}
	if c.Amount != nil && *c.Amount <= 0 {
		return invalid("amount %d must be positive (omit it to let the customer choose)", *c.Amount)
	}
	if c.Balance != nil && *c.Balance < 0 {
		return invalid("balance %d must not be negative", *c.Balance)
	}
	if err := checkCID(c.CID); err != nil {
		return err
	}
	if err := checkLen("order_id", c.OrderID, 50, true); err != nil {
		return err
	}
	if err := checkLocale(c.Locale); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"notification_url", c.NotificationURL}, {"validation_url", c.ValidationURL}, {"return_url", c.ReturnURL}} {
		if err := checkURL(f.name, f.v); err != nil {
			return err
		}
	}
	for _, f := range []struct{ name, v string }{{"variable1", c.Variable1}, {"variable2", c.Variable2}, {"variable3", c.Variable3}, {"cashier_ui_preset", c.CashierUIPreset}} {
		if err := checkLen(f.name, f.v, 256, false); err != nil {
			return err
		}
	}
	if err := checkLen("customer_token", c.CustomerToken, 32, false); err != nil {
		return err
	}
	if c.CustomerToken == "" && c.CustomerData == nil {
		return invalid("customer_data or customer_token is required (Praxis needs one of them)")
	}
	if c.CustomerData != nil {
		if err := checkCustomerData(c.CustomerData); err != nil {
			return err
		}
	}
	if c.MIT != nil {
		if len(c.MIT.Extra) > 0 {
			return invalid("mit has unknown fields; it takes type, expiry and mit_reference_id")
		}
		switch c.MIT.Type {
		case "initial":
			if c.Intent != praxis.IntentPayment {
				return invalid("mit.type initial needs intent payment")
			}
		case "subsequent":
			return invalid("mit.type subsequent is not possible through the cashier; use the Direct API")
		default:
			return invalid("mit.type %q is not initial", c.MIT.Type)
		}
	}
	if len(c.SessionConfiguration) > 0 && !isJSONObject(c.SessionConfiguration) {
		return invalid("session_configuration must be an object")
	}
	if c.virtualTerminal {
		if err := checkLen("agent_name", c.AgentName, 32, true); err != nil {
			return err
		}
	} else if c.AgentName != "" {
		return invalid("agent_name belongs to cashier.virtual_terminal, not cashier.session")
	}
	return nil
}

// Validate checks a capture or cancel.
func (c *TransactionAction) Validate(time.Time) error {
	if c.TID <= 0 {
		return invalid("tid is required: the tid of the authorized transaction")
	}
	return nil
}

// Validate checks a withdrawal completion or cancellation.
func (c *WithdrawalAction) Validate(time.Time) error {
	if c.WithdrawalRequestID <= 0 {
		return invalid("withdrawal_request_id is required: the tid of the withdrawal request")
	}
	if c.cancel && c.Gateway != "" {
		return invalid("gateway applies to withdrawal.complete only")
	}
	return checkLen("gateway", c.Gateway, 32, false)
}

// Validate checks a refund.
func (c *Refund) Validate(time.Time) error {
	if c.ReferenceID <= 0 {
		return invalid("reference_id is required: the tid of the approved deposit to refund")
	}
	if c.Amount <= 0 {
		return invalid("amount is required and must be positive (minor units)")
	}
	if err := checkCurrency(c.Currency); err != nil {
		return err
	}
	if err := checkCID(c.CID); err != nil {
		return err
	}
	if err := checkLen("order_id", c.OrderID, 50, true); err != nil {
		return err
	}
	if c.WithdrawalRequestID != nil && *c.WithdrawalRequestID <= 0 {
		return invalid("withdrawal_request_id must be positive when given")
	}
	return checkLocale(c.Locale)
}

// Validate checks a transaction lookup.
func (c *FindTransaction) Validate(time.Time) error {
	if c.TID <= 0 {
		return invalid("tid is required")
	}
	return nil
}

// Validate checks an order lookup.
func (c *FindOrder) Validate(time.Time) error {
	return checkLen("order_id", c.OrderID, 50, true)
}

func checkCurrency(code string) error {
	switch {
	case code == "":
		return invalid("currency is required (ISO 4217, e.g. EUR)")
	case !praxis.KnownCurrency(code):
		return invalid("currency %q is not a known ISO 4217 code", code)
	}
	return nil
}

func checkLen(name, v string, max int, required bool) error {
	if v == "" && required {
		return invalid("%s is required", name)
	}
	if len(v) > max {
		return invalid("%s is %d characters; Praxis accepts at most %d", name, len(v), max)
	}
	return nil
}

func checkLocale(l string) error {
	if l == "" {
		return nil
	}
	if len(l) != 5 || l[2] != '-' || !isLower(l[0]) || !isLower(l[1]) || !isUpper(l[3]) || !isUpper(l[4]) {
		return invalid("locale %q is not language-COUNTRY like en-GB", l)
	}
	return nil
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

func checkURL(name, v string) error {
	if v == "" {
		return nil
	}
	if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
		return invalid("%s must be an http(s) URL", name)
	}
	return checkLen(name, v, 256, false)
}

// checkCID refuses customer ids that look like personal data: Praxis
// forbids PII in cid (hash e-mails instead). The reason never repeats the
// value, so it can be logged.
func checkCID(cid string) error {
	if err := checkLen("cid", cid, 50, true); err != nil {
		return err
	}
	switch LooksLikePII(cid) {
	case "email":
		return invalid("cid looks like an e-mail address; Praxis forbids personal data in cid (use your customer id or a hash)")
	case "phone":
		return invalid("cid looks like a phone number; Praxis forbids personal data in cid (use your customer id or a hash)")
	}
	return nil
}

// LooksLikePII says whether s looks like an e-mail address ("email") or a
// phone number ("phone"), or neither (""). A plain run of digits is an
// ordinary numeric customer id and is not flagged; a phone number is a
// '+' or '00' international prefix, or at least nine digits broken up by
// phone-style separators (so a date like 2024-01-15 is not flagged).
func LooksLikePII(s string) string {
	if at := strings.IndexByte(s, '@'); at > 0 && strings.Contains(s[at:], ".") {
		return "email"
	}
	digits, seps := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == ' ' || c == '-' || c == '(' || c == ')' || c == '.' || (c == '+' && i == 0):
			seps++
		default:
			return ""
		}
	}
	if digits < 7 || digits > 15 {
		return ""
	}
	if strings.HasPrefix(s, "+") || (strings.HasPrefix(s, "00") && digits >= 9) || (seps > 0 && digits >= 9) {
		return "phone"
	}
	return ""
}

func checkCustomerData(d *praxis.CustomerData) error {
	if len(d.Country) != 2 || !isUpper(d.Country[0]) || !isUpper(d.Country[1]) {
		return invalid("customer_data.country must be an ISO 3166 alpha-2 code like GB")
	}
	for _, f := range []struct {
		name string
		v    string
		max  int
	}{{"customer_data.first_name", d.FirstName, 25}, {"customer_data.last_name", d.LastName, 25}, {"customer_data.email", d.Email, 50}} {
		if err := checkLen(f.name, f.v, f.max, true); err != nil {
			return err
		}
	}
	if !strings.Contains(d.Email, "@") {
		return invalid("customer_data.email is not an e-mail address")
	}
	if d.Profile != nil && (*d.Profile < 0 || *d.Profile > 5) {
		return invalid("customer_data.profile must be 0 to 5")
	}
	if len(d.Extra) > 0 {
		keys := make([]string, 0, len(d.Extra))
		for k := range d.Extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return invalid("unknown field customer_data.%s", keys[0])
	}
	return nil
}

func isJSONObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{' && json.Valid(raw)
}
