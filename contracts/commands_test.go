package contracts

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
)

// now is the clock the tests validate commands against.
var testNow = time.Date(2025, 5, 27, 20, 0, 0, 0, time.UTC)

// goAccepts runs the worker's own decoding and validation.
func goAccepts(name string, body []byte, now time.Time) error {
	_, err := command.Parse(name, body, now)
	return err
}

// withField returns the command body with key set to value (deleted when
// value is deleteField); key may be a dotted path into an object.
func withField(t *testing.T, body string, key string, value any) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &m))
	obj := m
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := obj[p].(map[string]any)
		require.True(t, ok, "%s is not an object in %s", p, body)
		obj = next
	}
	last := parts[len(parts)-1]
	if value == deleteField {
		delete(obj, last)
	} else {
		obj[last] = value
	}
	return mustJSON(t, m)
}

// deleteField marks a field to remove in withField.
var deleteField = &struct{}{}

// TestCommandSchemas: every command has a schema whose properties are its
// Go struct's JSON fields, whose example is command.Examples()'s, whose
// examples all pass the worker's validation, and whose required fields
// are exactly those the validator refuses to do without.
func TestCommandSchemas(t *testing.T) {
	checkCommandSchemas(t, "command.", command.Specs(), command.Examples(), command.Parse)
}

// TestRebillyCommandSchemas: the same for Rebilly's commands, whose
// schemas are rebilly.command.<name>.json.
func TestRebillyCommandSchemas(t *testing.T) {
	checkCommandSchemas(t, "rebilly.command.", command.RebillySpecs(), command.RebillyExamples(), command.ParseRebilly)
}

// checkCommandSchemas holds one provider's command schemas (prefix +
// name) to its specs, examples and parser.
func checkCommandSchemas(t *testing.T, prefix string, specs []command.Spec, examples map[string]string,
	parse func(string, []byte, time.Time) (command.Command, error)) {
	s := loadSchemas(t)
	goAccepts := func(name string, body []byte, now time.Time) error {
		_, err := parse(name, body, now)
		return err
	}
	require.Len(t, examples, len(specs), "one example per command")
	for _, spec := range specs {
		t.Run(spec.Name, func(t *testing.T) {
			name := prefix + spec.Name
			file := "contracts/schemas/" + name + ".json"
			doc, ok := s.docs[name]
			require.True(t, ok, "%s is missing: every command in command.Specs() needs a schema", file)

			typ := reflect.TypeOf(spec.New())
			all, _ := jsonFields(typ)
			assert.Equal(t, all, properties(doc), "%s: properties must be the JSON fields of %s", file, typ)
			assert.Equal(t, false, doc["additionalProperties"], "%s: the worker refuses unknown fields; say additionalProperties false", file)

			goExample, ok := examples[spec.Name]
			require.True(t, ok, "command.Examples() has no %s", spec.Name)
			require.NoError(t, goAccepts(spec.Name, []byte(goExample), testNow), "command.Examples()[%s] is refused by command.Parse", spec.Name)
			assert.NoError(t, s.validate(name, []byte(goExample)), "%s refuses command.Examples()[%s]", file, spec.Name)

			docExamples := asSlice(doc["examples"])
			require.NotEmpty(t, docExamples, "%s: add examples", file)
			var want any
			require.NoError(t, json.Unmarshal([]byte(goExample), &want))
			var first any
			require.NoError(t, json.Unmarshal(mustJSON(t, docExamples[0]), &first))
			assert.Equal(t, want, first, "%s: examples[0] must be command.Examples()[%s]", file, spec.Name)
			for i, ex := range docExamples {
				body := mustJSON(t, ex)
				now := testNow
				if exp, ok := asMap(ex)["expires"].(json.Number); ok {
					// A payment link's expiry is checked against the clock.
					sec, err := exp.Int64()
					require.NoError(t, err)
					now = time.Unix(sec, 0).Add(-24 * time.Hour)
				}
				assert.NoError(t, goAccepts(spec.Name, body, now), "%s: examples[%d] is refused by command.Parse", file, i)
			}

			// The envelope reads alike in every command of a provider (the
			// providers differ: front-end routing is Praxis-only).
			for _, env := range []string{"id", "application", "website"} {
				assert.Equal(t, object(s.docs[prefix+specs[0].Name], "properties")[env], object(doc, "properties")[env],
					"%s: the envelope field %s must read as in %s%s.json", file, env, prefix, specs[0].Name)
			}

			// required: a field is required by the schema exactly when the
			// validator refuses the example without it.
			required := stringList(doc["required"])
			var example map[string]any
			require.NoError(t, json.Unmarshal([]byte(goExample), &example))
			var goNeeds, schemaNeeds []string
			for key := range example {
				without := withField(t, goExample, key, deleteField)
				if goAccepts(spec.Name, without, testNow) != nil {
					goNeeds = append(goNeeds, key)
				}
				if s.validate(name, without) != nil {
					schemaNeeds = append(schemaNeeds, key)
				}
			}
			sort.Strings(goNeeds)
			sort.Strings(schemaNeeds)
			assert.Equal(t, goNeeds, schemaNeeds, "%s: the fields the schema needs in command.Examples()[%s] differ from those command.Parse needs", file, spec.Name)
			for _, r := range required {
				assert.Contains(t, goNeeds, r, "%s: %s is required by the schema but not by command.Parse (or missing from command.Examples()[%s])", file, r, spec.Name)
			}
		})
	}
}

// TestCommandConstraints: the schema and the worker's validation agree on
// each constraint. Where they deliberately differ, schemaOnly says why.
func TestCommandConstraints(t *testing.T) {
	s := loadSchemas(t)
	ex := command.Examples()
	long := func(n int) string { return strings.Repeat("x", n) }
	link := testNow.Add(24 * time.Hour).Unix()
	tests := []struct {
		command string
		name    string
		field   string
		value   any
		valid   bool
		// schemaOnly: the schema states a Praxis limit the worker leaves
		// to Praxis; the schema refuses what the worker passes on.
		schemaOnly string
	}{
		{command.CashierSession, "float amount", "amount", 10.5, false, ""},
		{command.CashierSession, "amount as text", "amount", "2500", false, ""},
		{command.CashierSession, "zero amount", "amount", 0, false, ""},
		{command.CashierSession, "no amount", "amount", deleteField, true, ""},
		{command.CashierSession, "negative balance", "balance", -1, false, ""},
		{command.CashierSession, "zero balance", "balance", 0, true, ""},
		{command.CashierSession, "unknown intent", "intent", "deposit", false, ""},
		{command.CashierSession, "authorization intent", "intent", "authorization", true, ""},
		{command.CashierSession, "unknown session_type", "session_type", "link", false, ""},
		{command.CashierSession, "cashier session_type", "session_type", "cashier", true, ""},
		{command.CashierSession, "expires without payment_link", "expires", link, false, ""},
		{command.CashierSession, "lower-case currency", "currency", "eur", false, ""},
		{command.CashierSession, "unknown currency", "currency", "XXX", false, ""},
		{command.CashierSession, "currency as number", "currency", 978, false, ""},
		{command.CashierSession, "e-mail cid", "cid", "jane@example.com", false, ""},
		{command.CashierSession, "international phone cid", "cid", "+44 20 1111 2222", false, ""},
		{command.CashierSession, "numeric cid", "cid", "4420111122229", true, ""},
		{command.CashierSession, "cid too long", "cid", long(51), false, ""},
		{command.CashierSession, "empty order_id", "order_id", "", false, ""},
		{command.CashierSession, "order_id too long", "order_id", long(51), false, ""},
		{command.CashierSession, "bad locale", "locale", "en_GB", false, ""},
		{command.CashierSession, "good locale", "locale", "de-DE", true, ""},
		{command.CashierSession, "ftp return_url", "return_url", "ftp://shop.example.com", false, ""},
		{command.CashierSession, "https return_url", "return_url", "https://shop.example.com/back", true, ""},
		{command.CashierSession, "url too long", "notification_url", "https://" + long(250), false, ""},
		{command.CashierSession, "variable too long", "variable1", long(257), false, ""},
		{command.CashierSession, "cashier_ui_preset too long", "cashier_ui_preset", long(257), false, ""},
		{command.CashierSession, "customer_token too long", "customer_token", long(33), false, ""},
		{command.CashierSession, "no customer", "customer_data", deleteField, false, ""},
		{command.CashierSession, "customer_data not an object", "customer_data", "Jane", false, ""},
		{command.CashierSession, "lower-case country", "customer_data.country", "gb", false, ""},
		{command.CashierSession, "no email", "customer_data.email", deleteField, false, ""},
		{command.CashierSession, "email without @", "customer_data.email", "jane.example.com", false, ""},
		{command.CashierSession, "first_name too long", "customer_data.first_name", long(26), false, ""},
		{command.CashierSession, "unknown customer field", "customer_data.nickname", "JD", false, ""},
		{command.CashierSession, "profile 6", "customer_data.profile", 6, false, ""},
		{command.CashierSession, "profile 5", "customer_data.profile", 5, true, ""},
		{command.CashierSession, "phone as number", "customer_data.phone", 44201112222, true, ""},
		{command.CashierSession, "city too long", "customer_data.city", long(51), true, "Praxis' limit of 50"},
		{command.CashierSession, "payment_method too long", "payment_method", long(51), true, "Praxis' limit of 50"},
		{command.CashierSession, "initial mit", "mit", map[string]any{"type": "initial", "expiry": 365}, true, ""},
		{command.CashierSession, "subsequent mit", "mit", map[string]any{"type": "subsequent"}, false, ""},
		{command.CashierSession, "mit with unknown field", "mit", map[string]any{"type": "initial", "cvv": "123"}, false, ""},
		{command.CashierSession, "session_configuration object", "session_configuration", map[string]any{"theme": "dark"}, true, ""},
		{command.CashierSession, "session_configuration text", "session_configuration", "dark", false, ""},
		{command.CashierSession, "agent_name on a cashier session", "agent_name", "agent-7", false, ""},
		{command.CashierSession, "typo field", "ammount", 100, false, ""},
		{command.CashierSession, "id with a space", "id", "cmd 1", false, ""},
		{command.CashierSession, "id too long", "id", long(129), false, ""},
		{command.CashierSession, "id with colon and dot", "id", "crm:cmd.1_a-b", true, ""},
		{command.CashierSession, "empty id", "id", "", false, ""},
		{command.CashierSession, "application as number", "application", 7, false, ""},
		{command.VirtualTerminal, "payment_link", "session_type", "payment_link", false, ""},
		{command.VirtualTerminal, "expires", "expires", link, false, ""},
		{command.VirtualTerminal, "no agent_name", "agent_name", deleteField, false, ""},
		{command.VirtualTerminal, "agent_name too long", "agent_name", long(33), false, ""},
		{command.VirtualTerminal, "empty customer_token", "customer_token", "", false, ""},
		{command.AuthorizationCapture, "zero tid", "tid", 0, false, ""},
		{command.AuthorizationCapture, "negative tid", "tid", -5, false, ""},
		{command.AuthorizationCapture, "tid as text", "tid", "1234567", false, ""},
		{command.AuthorizationCapture, "fractional tid", "tid", 1.5, false, ""},
		{command.AuthorizationCancel, "unknown field", "amount", 100, false, ""},
		{command.WithdrawalComplete, "gateway", "gateway", "s-pTSZyK23E1Ee5KZpcNbX_aFl0HuhQ0", true, ""},
		{command.WithdrawalComplete, "gateway too long", "gateway", long(33), false, ""},
		{command.WithdrawalComplete, "zero withdrawal_request_id", "withdrawal_request_id", 0, false, ""},
		{command.WithdrawalCancel, "gateway", "gateway", "s-pTSZyK23E1Ee5KZpcNbX_aFl0HuhQ0", false, ""},
		{command.RefundCreate, "zero amount", "amount", 0, false, ""},
		{command.RefundCreate, "float amount", "amount", 5.5, false, ""},
		{command.RefundCreate, "unknown currency", "currency", "EURO", false, ""},
		{command.RefundCreate, "phone cid", "cid", "0044 20 1111 2222", false, ""},
		{command.RefundCreate, "zero withdrawal_request_id", "withdrawal_request_id", 0, false, ""},
		{command.RefundCreate, "withdrawal_request_id", "withdrawal_request_id", 7654321, true, ""},
		{command.RefundCreate, "bad locale", "locale", "EN-gb", false, ""},
		{command.RefundCreate, "variable too long", "variable2", long(257), true, "Praxis' limit of 256"},
		{command.TransactionFind, "zero tid", "tid", 0, false, ""},
		{command.OrderFind, "empty order_id", "order_id", "", false, ""},
		{command.OrderFind, "order_id too long", "order_id", long(51), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.command+"/"+tt.name, func(t *testing.T) {
			body := withField(t, ex[tt.command], tt.field, tt.value)
			goErr := goAccepts(tt.command, body, testNow)
			schemaErr := s.validate("command."+tt.command, body)
			assert.Equal(t, tt.valid, goErr == nil, "command.Parse on %s: %v", body, goErr)
			wantSchema := tt.valid && tt.schemaOnly == ""
			assert.Equal(t, wantSchema, schemaErr == nil,
				"contracts/schemas/command.%s.json on %s: %v (the worker says %v)", tt.command, body, schemaErr, goErr)
		})
	}

	t.Run("payment link within 72h", func(t *testing.T) {
		body := withField(t, string(withField(t, ex[command.CashierSession], "session_type", "payment_link")), "expires", link)
		assert.NoError(t, goAccepts(command.CashierSession, body, testNow))
		assert.NoError(t, s.validate("command.cashier.session", body))
	})
}

// TestCommandStringRules: the schema's patterns for cid, id and locale
// decide like the worker's code, over seeded random strings drawn from the
// characters the rules care about.
func TestCommandStringRules(t *testing.T) {
	s := loadSchemas(t)
	rng := rand.New(rand.NewPCG(6, 2025))
	draw := func(alphabet string, maxLen int) string {
		n := rng.IntN(maxLen + 1)
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	ex := command.Examples()
	tests := []struct {
		name     string
		command  string
		field    string
		alphabet string
		maxLen   int
		fixed    []string
	}{
		{"cid", command.RefundCreate, "cid", "0123456789   ++--..()@@xyz0000", 20,
			[]string{"", "+4420111122", "+123456", "+1234567", "0012345678", "00123456789", "123-456-789", "12345678-9", "2024-01-15",
				"123456789012345", "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6", "a@b.c", "@b.c", "a@b", "jane@example", "(0)123 456 789", "+(44) 20.1111.2222"}},
		{"id", command.TransactionFind, "id", "aZ09-_.:/ é#", 12, []string{"", "a", "cmd:1.2_3-4", "cmd/1", strings.Repeat("a", 128), strings.Repeat("a", 129)}},
		{"locale", command.RefundCreate, "locale", "enGB-_ ", 6, []string{"en-GB", "en-gb", "EN-GB", "eng-GB", "en-GBR", "e1-GB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := append([]string(nil), tt.fixed...)
			for range 3000 {
				values = append(values, draw(tt.alphabet, tt.maxLen))
			}
			disagree := 0
			for _, v := range values {
				if tt.name == "locale" && v == "" {
					continue // "" means "use the configured locale" to the worker; the schema asks to leave the field out
				}
				body := withField(t, ex[tt.command], tt.field, v)
				goErr := goAccepts(tt.command, body, testNow)
				schemaErr := s.validate("command."+tt.command, body)
				if (goErr == nil) != (schemaErr == nil) {
					disagree++
					assert.Fail(t, fmt.Sprintf("contracts/schemas (%s of %s) and command.Parse disagree on %q", tt.field, tt.command, v),
						"worker: %v\nschema: %v", goErr, schemaErr)
					if disagree > 5 {
						return
					}
				}
			}
		})
	}
}
