package contracts

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/cloudevent"
	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/ledger"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
)

func TestAccessors(t *testing.T) {
	names := SchemaNames()
	require.NotEmpty(t, names)
	assert.IsIncreasing(t, names, "SchemaNames is sorted")
	assert.Contains(t, names, "command.cashier.session")
	assert.True(t, strings.HasPrefix(string(AsyncAPI()), "asyncapi: 3.0.0\n"), "AsyncAPI returns the document")

	tests := []struct {
		name    string
		arg     string
		wantErr error
	}{
		{"plain name", "command.cashier.session", nil},
		{"with .json", "command.result.json", nil},
		{"shared definitions", "defs", nil},
		{"unknown", "command.cashier.sesion", ErrUnknownSchema},
		{"empty", "", ErrUnknownSchema},
		{"path traversal", "../asyncapi.yaml", ErrUnknownSchema},
		{"sub directory", "schemas/defs", ErrUnknownSchema},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Schema(tt.arg)
			if tt.wantErr != nil {
				require.Error(t, err)
				assert.True(t, errors.Is(err, tt.wantErr), "error %v should be %v", err, tt.wantErr)
				assert.Nil(t, b)
				return
			}
			require.NoError(t, err)
			assert.True(t, json.Valid(b), "schema is JSON")
		})
	}
	t.Run("returned bytes are copies", func(t *testing.T) {
		a := AsyncAPI()
		a[0] = 'X'
		assert.Equal(t, byte('a'), AsyncAPI()[0])
		s, err := Schema("defs")
		require.NoError(t, err)
		s[0] = 'X'
		again, err := Schema("defs")
		require.NoError(t, err)
		assert.Equal(t, byte('{'), again[0])
	})
}

// TestSchemaFiles: every file is a draft 2020-12 schema that compiles
// (the compiler checks it against the meta-schema), says what it is for,
// and carries examples that are valid against it.
func TestSchemaFiles(t *testing.T) {
	s := loadSchemas(t)
	for _, name := range SchemaNames() {
		t.Run(name, func(t *testing.T) {
			file := "contracts/schemas/" + name + ".json"
			doc := s.docs[name]
			assert.Equal(t, "https://json-schema.org/draft/2020-12/schema", doc["$schema"], "%s: $schema must be draft 2020-12", file)
			assert.NotEmpty(t, doc["title"], "%s: add a title", file)
			assert.NotEmpty(t, doc["description"], "%s: add a description saying what the message is for", file)
			s.compile(name)

			if name == "defs" {
				// A library of definitions, not a message: each definition
				// that carries examples must accept them.
				for defName := range object(doc, "$defs") {
					for i, ex := range asSlice(s.def(defName)["examples"]) {
						err := s.validate("defs#/$defs/"+defName, mustJSON(t, ex))
						assert.NoError(t, err, "%s: $defs/%s examples[%d] is not valid against its definition", file, defName, i)
					}
				}
				return
			}
			examples := asSlice(doc["examples"])
			require.NotEmpty(t, examples, "%s: add at least one example", file)
			for i, ex := range examples {
				err := s.validate(name, mustJSON(t, ex))
				assert.NoError(t, err, "%s: examples[%d] is not valid against the schema", file, i)
			}
		})
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// TestSchemasMatchGoTypes: a schema's properties are exactly the JSON
// fields of the Go type that reads or writes the message, so a field added
// to (or renamed in) the code cannot be missing from the contract. For
// types the adapter writes, required is exactly the fields always written.
func TestSchemasMatchGoTypes(t *testing.T) {
	s := loadSchemas(t)
	tests := []struct {
		schema        string // file name, or defs#<definition>
		goType        any
		checkRequired bool // the adapter writes this type: required = the fields it always writes
	}{
		{"command.result", command.Result{}, true},
		{"cloudevent", cloudevent.Event{}, true},
		{"cloudevent.rebilly", cloudevent.RebillyEvent{}, true},
		{"rebilly.transaction", rebilly.Transaction{}, false},
		{"rebilly.payout_request", rebilly.PayoutRequest{}, false},
		{"ledger.instruction", ledger.Instruction{}, true},
		{"praxis.notification", praxis.Notification{}, false},
		{"praxis.validation_request", praxis.ValidationRequest{}, false},
		{"praxis.customer_sync_request", praxis.CustomerSyncRequest{}, false},
		{"praxis.subscription_notification", praxis.SubscriptionNotification{}, false},
		{"reply.customer_sync", praxis.CustomerSyncReply{}, false},
		{"defs#customer_data", praxis.CustomerData{}, false},
		{"defs#command_mit", praxis.MIT{}, false},
		{"defs#praxis_status", command.Status{}, true},
		{"defs#rebilly_result", command.RebillyResult{}, false}, // every field is optional: which apply depends on the command
		{"defs#rebilly_problem", command.RebillyProblem{}, true},
		{"defs#praxis_customer", praxis.Customer{}, false},
		{"defs#praxis_address", praxis.Address{}, false},
		{"defs#praxis_session", praxis.Session{}, false},
		{"defs#praxis_transaction", praxis.Transaction{}, false},
		{"defs#praxis_card", praxis.Card{}, false},
		{"defs#praxis_wallet", praxis.Wallet{}, false},
		{"defs#praxis_mit", praxis.MIT{}, false},
		{"defs#praxis_transaction_attempt", praxis.TransactionAttempt{}, false},
		{"defs#praxis_card_data", praxis.CardData{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			var doc map[string]any
			where := "contracts/schemas/" + tt.schema + ".json"
			if def, ok := strings.CutPrefix(tt.schema, "defs#"); ok {
				doc = s.def(def)
				where = "contracts/schemas/defs.json $defs/" + def
			} else {
				doc = s.docs[tt.schema]
				require.NotNil(t, doc, "%s is missing", where)
			}
			typ := reflect.TypeOf(tt.goType)
			all, always := jsonFields(typ)
			assert.Equal(t, all, properties(doc), "%s: properties must be the JSON fields of %s; fix the schema (or the struct)", where, typ)
			if tt.checkRequired {
				assert.Equal(t, always, stringList(doc["required"]), "%s: required must be the fields %s always writes (no omitempty)", where, typ)
			}
		})
	}
}

// TestValidationReplySchema: the CRM's validation answer is read as
// exactly status and description (ingress parseReply).
func TestValidationReplySchema(t *testing.T) {
	s := loadSchemas(t)
	doc := s.docs["reply.validation"]
	assert.Equal(t, []string{"description", "status"}, properties(doc), "contracts/schemas/reply.validation.json: the ingress reads status and description")
	assert.Equal(t, []string{"description", "status"}, stringList(doc["required"]), "contracts/schemas/reply.validation.json")
	tests := []struct {
		name  string
		reply string
		valid bool
	}{
		{"approve", `{"status":0,"description":"Ok"}`, true},
		{"decline", `{"status":1,"description":"Deposit limit exceeded"}`, true},
		{"status as text", `{"status":"0","description":"Ok"}`, false},
		{"no description", `{"status":0}`, false},
		{"not an object", `[0,"Ok"]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.validate("reply.validation", []byte(tt.reply))
			assert.Equal(t, tt.valid, err == nil, "contracts/schemas/reply.validation.json on %s: %v", tt.reply, err)
		})
	}
}

// TestCurrencyEnum: the currency enum is exactly what praxis.KnownCurrency
// accepts, checked over every three-letter code.
func TestCurrencyEnum(t *testing.T) {
	s := loadSchemas(t)
	enum := map[string]bool{}
	for _, c := range stringList(s.def("currency")["enum"]) {
		enum[c] = true
	}
	var missing, extra []string
	code := []byte("AAA")
	for a := byte('A'); a <= 'Z'; a++ {
		for b := byte('A'); b <= 'Z'; b++ {
			for c := byte('A'); c <= 'Z'; c++ {
				code[0], code[1], code[2] = a, b, c
				known := praxis.KnownCurrency(string(code))
				switch {
				case known && !enum[string(code)]:
					missing = append(missing, string(code))
				case !known && enum[string(code)]:
					extra = append(extra, string(code))
				}
			}
		}
	}
	assert.Empty(t, missing, "contracts/schemas/defs.json $defs/currency: add these codes praxis.KnownCurrency accepts")
	assert.Empty(t, extra, "contracts/schemas/defs.json $defs/currency: remove these codes praxis.KnownCurrency refuses")
	for c := range enum {
		assert.Len(t, c, 3, "contracts/schemas/defs.json $defs/currency: %q is not a three-letter code", c)
	}
}

// TestPraxisVectors: Praxis' own bodies (the signature vectors of
// adapter/praxis/testdata) are valid against the schemas the adapter
// publishes them under.
func TestPraxisVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "adapter", "praxis", "testdata", "vectors.json"))
	require.NoError(t, err)
	var vectors []struct {
		ID   string `json:"id"`
		Body string `json:"body"`
	}
	require.NoError(t, json.Unmarshal(raw, &vectors))
	bodies := map[string]string{}
	for _, v := range vectors {
		bodies[v.ID] = v.Body
	}
	s := loadSchemas(t)
	tests := []struct {
		vector string
		schema string
	}{
		{"V3", "praxis.notification"},
		{"V7", "praxis.notification"},
		{"V8", "praxis.validation_request"},
		{"V9", "reply.validation"},
		{"V13", "praxis.subscription_notification"},
		{"V14", "praxis.customer_sync_request"},
	}
	for _, tt := range tests {
		t.Run(tt.vector, func(t *testing.T) {
			body, ok := bodies[tt.vector]
			require.True(t, ok, "vector %s is missing from adapter/praxis/testdata/vectors.json", tt.vector)
			assert.NoError(t, s.validate(tt.schema, []byte(body)), "contracts/schemas/%s.json refuses Praxis' vector %s", tt.schema, tt.vector)
		})
	}
}

// TestCloudEvents: envelopes built the way the ingress builds them are
// valid against the per-kind schemas, and each schema's examples decode as
// an envelope whose data decodes as the Praxis type.
func TestCloudEvents(t *testing.T) {
	s := loadSchemas(t)
	now := time.Date(2025, 5, 27, 20, 34, 0, 500, time.UTC)
	notification := `{"merchant_id":"M","application_key":"Sandbox","customer":{"customer_token":"t"},"session":{"order_id":"o-1","session_status":"successful"},` +
		`"transaction":{"transaction_type":"sale","transaction_status":"approved","tid":42,"amount":100,"currency":"EUR"},"version":"1.3","timestamp":1590611640}`
	expired := `{"merchant_id":"M","application_key":"Sandbox","session":{"order_id":"o-2","session_status":"expired"},"transaction":null,"version":"1.3","timestamp":1590611640}`
	subscription := `{"event":"PaymentFailed","merchant_id":"M","application_key":"Sandbox","cid":"c","plan_id":"p","subscription_id":"s-1","subscription_status":"inactive","event_data":{},"version":1.3,"timestamp":1680712861}`
	validation := `{"merchant_id":"M","application_key":"Sandbox","session":{"order_id":"o-3"},"transaction_attempt":{"amount":100,"currency":"EUR"},"version":"1.3","timestamp":1590611639}`
	sync := `{"merchant_id":"M","application_key":"Sandbox","cid":"c-1","version":"1.3","timestamp":1590612000}`
	audit := `{"request":` + validation + `,"decision":{"status":0,"description":"Ok","source":"crm"}}`

	tests := []struct {
		name   string
		schema string
		fields cloudevent.Fields
		valid  bool
	}{
		{"deposit", "cloudevent.notification", cloudevent.Fields{ID: "sandbox:t:42:approved:100::EUR", Type: "praxis.deposit.approved", Subject: "42", Data: []byte(notification)}, true},
		{"expired session", "cloudevent.notification", cloudevent.Fields{ID: "sandbox:s:o-2:expired", Type: "praxis.session.expired", Subject: "o-2", Data: []byte(expired)}, true},
		{"notification without tid", "cloudevent.notification", cloudevent.Fields{ID: "x", Type: "praxis.deposit.approved", Subject: "42",
			Data: []byte(strings.Replace(notification, `"tid":42,`, "", 1))}, false},
		{"notification typed as subscription", "cloudevent.notification", cloudevent.Fields{ID: "x", Type: "praxis.subscription.paymentfailed", Subject: "42", Data: []byte(notification)}, false},
		{"subscription", "cloudevent.subscription", cloudevent.Fields{ID: "sandbox:sub:s-1:PaymentFailed:1680712861", Type: "praxis.subscription.paymentfailed", Subject: "s-1", Data: []byte(subscription)}, true},
		{"validation audit", "cloudevent.validation_audit", cloudevent.Fields{ID: "sandbox:v:o-3:1590611639:1", Type: "praxis.validation.approved", Subject: "o-3", Data: []byte(audit)}, true},
		{"validation audit, unknown source", "cloudevent.validation_audit", cloudevent.Fields{ID: "x", Type: "praxis.validation.approved", Subject: "o-3",
			Data: []byte(strings.Replace(audit, `"crm"`, `"guess"`, 1))}, false},
		{"validation request", "cloudevent.validation_request", cloudevent.Fields{ID: "sandbox:validation:o-3:1590611639", Type: "praxis.validation.requested", Subject: "o-3", Data: []byte(validation)}, true},
		{"customer sync request", "cloudevent.customer_sync_request", cloudevent.Fields{ID: "sandbox:customer_sync:c-1:1590612000", Type: "praxis.customer_sync.requested", Subject: "c-1", Data: []byte(sync)}, true},
		{"customer sync without cid", "cloudevent.customer_sync_request", cloudevent.Fields{ID: "x", Type: "praxis.customer_sync.requested", Subject: "c-1",
			Data: []byte(strings.Replace(sync, `"cid":"c-1",`, "", 1))}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.fields
			f.Source, f.Time, f.RawMerchant, f.Application, f.Processor = "/praxis/sandbox", now, []byte(`"M"`), "sandbox", "testcard"
			env := cloudevent.Append(nil, f)
			require.True(t, json.Valid(env), "cloudevent.Append wrote invalid JSON")
			err := s.validate(tt.schema, env)
			assert.Equal(t, tt.valid, err == nil, "contracts/schemas/%s.json on %s: %v", tt.schema, env, err)
			assert.NoError(t, s.validate("cloudevent", env), "contracts/schemas/cloudevent.json refuses an envelope the ingress writes")
		})
	}

	decoders := map[string]func([]byte) error{
		"cloudevent.notification": func(b []byte) error { _, err := praxis.Decode[praxis.Notification](b); return err },
		"cloudevent.subscription": func(b []byte) error {
			_, err := praxis.Decode[praxis.SubscriptionNotification](b)
			return err
		},
		"cloudevent.validation_request": func(b []byte) error {
			_, err := praxis.Decode[praxis.ValidationRequest](b)
			return err
		},
		"cloudevent.customer_sync_request": func(b []byte) error {
			_, err := praxis.Decode[praxis.CustomerSyncRequest](b)
			return err
		},
		"cloudevent.validation_audit": func(b []byte) error {
			var a struct {
				Request  json.RawMessage `json:"request"`
				Decision json.RawMessage `json:"decision"`
			}
			if err := json.Unmarshal(b, &a); err != nil {
				return err
			}
			_, err := praxis.Decode[praxis.ValidationRequest](a.Request)
			return err
		},
	}
	for name, decode := range decoders {
		t.Run("examples of "+name, func(t *testing.T) {
			examples := asSlice(s.docs[name]["examples"])
			require.NotEmpty(t, examples)
			for i, ex := range examples {
				e, err := cloudevent.Decode(mustJSON(t, ex))
				require.NoError(t, err, "contracts/schemas/%s.json examples[%d]", name, i)
				assert.NoError(t, decode(e.Data), "contracts/schemas/%s.json examples[%d]: data does not decode", name, i)
			}
		})
	}
}

// TestResults: results as the worker fills them are valid against the
// result schema, and the schema's examples decode into command.Result
// without unknown fields.
func TestResults(t *testing.T) {
	s := loadSchemas(t)
	amount := int64(2500)
	done := time.Date(2025, 5, 27, 20, 33, 55, 123456789, time.UTC)

	session := command.Result{ID: "cmd-1", Command: command.CashierSession, Application: "sandbox", Outcome: command.OutcomeOK,
		Attempts: 1, Deliveries: 1, LatencyMS: 12.5, CompletedAt: done}
	session.FillSession(&praxis.SessionResponse{Envelope: praxis.Envelope{Description: "Ok"}, RedirectURL: "https://cashier.example/x",
		Customer: &praxis.Customer{CustomerToken: "tok"}, Session: &praxis.Session{AuthToken: "a", SessionStatus: "created", OrderID: "o-1"}})

	lookup := command.Result{ID: "cmd-2", Command: command.TransactionFind, Application: "sandbox", Outcome: command.OutcomeOK,
		Attempts: 1, Deliveries: 1, LatencyMS: 3, CompletedAt: done}
	lookup.FillTransaction(&praxis.TransactionResponse{Envelope: praxis.Envelope{Description: "Ok"},
		Session:     &praxis.Session{OrderID: "o-1", SessionStatus: "successful", Amount: &amount},
		Transaction: &praxis.Transaction{TID: 42, TransactionType: "sale", TransactionStatus: "approved", Amount: &amount, Currency: "EUR", Fee: "0"}}, true)

	refund := command.Result{ID: "cmd-5", Command: command.RebillyRefundCreate, Application: "sandbox", Outcome: command.OutcomeOK,
		Calls: 1, Lookups: 4, Attempts: 5, Deliveries: 2, Reconciled: true, CompletedAt: done}
	refund.FillRebillyTransaction(&rebilly.Transaction{ID: "txn_2", Type: rebilly.TypeRefund, Status: rebilly.StatusCompleted,
		Result: rebilly.ResultApproved, ParentTransactionID: "txn_1", Currency: "EUR", AmountMinor: 800})
	rejected := command.Result{ID: "cmd-6", Command: command.RebillyPayoutRequestCreate, Application: "sandbox", Outcome: command.OutcomeRejected,
		Reason: "rebilly PUT /payout-requests/{id}: rejected: HTTP 422: Invalid data", ReasonCode: command.ReasonRebillyRejected,
		Calls: 1, Attempts: 1, Deliveries: 1, CompletedAt: done}
	rejected.FillRebillyError(&rebilly.Error{HTTPStatus: 422, Problem: &rebilly.Problem{Status: 422, Title: "Invalid data"}})

	tests := []struct {
		name  string
		res   command.Result
		valid bool
	}{
		{"session ok", session, true},
		{"rebilly refund reconciled", refund, true},
		{"rebilly rejected", rejected, true},
		{"lookup with full objects", lookup, true},
		{"invalid with reason", command.Result{ID: "", Command: "cashier.session", Application: "sandbox", Outcome: command.OutcomeInvalid,
			Reason: "not valid JSON", Deliveries: 1, CompletedAt: done, StreamSeq: 7}, true},
		{"failed without reason", command.Result{ID: "cmd-3", Command: "refund.create", Application: "sandbox", Outcome: command.OutcomeFailed,
			Attempts: 5, Deliveries: 5, CompletedAt: done}, false},
		{"unknown outcome", command.Result{ID: "cmd-4", Command: "refund.create", Application: "sandbox", Outcome: "maybe", CompletedAt: done}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustJSON(t, tt.res)
			err := s.validate("command.result", b)
			assert.Equal(t, tt.valid, err == nil, "contracts/schemas/command.result.json on %s: %v", b, err)
		})
	}
	for i, ex := range asSlice(s.docs["command.result"]["examples"]) {
		var r command.Result
		dec := json.NewDecoder(strings.NewReader(string(mustJSON(t, ex))))
		dec.DisallowUnknownFields()
		assert.NoError(t, dec.Decode(&r), "contracts/schemas/command.result.json examples[%d] does not decode into command.Result", i)
	}
}

// TestSchemaIDs: every schema carries a versioned $id (issue 15), the one
// SchemaID gives, so consumers and events' dataschema name one contract.
func TestSchemaIDs(t *testing.T) {
	s := loadSchemas(t)
	for _, name := range SchemaNames() {
		t.Run(name, func(t *testing.T) {
			id, _ := s.docs[name]["$id"].(string)
			assert.Equal(t, SchemaID(name), id, "contracts/schemas/%s.json: $id", name)
			assert.Contains(t, id, "/"+SchemaVersion+"/", "the $id names the contract version")
		})
	}
}

// TestReasonCodesMatchTheSchema: the result schema's reason_code enum is
// exactly the code's set (issue 15: results carry a machine-readable code).
func TestReasonCodesMatchTheSchema(t *testing.T) {
	s := loadSchemas(t)
	props, _ := s.docs["command.result"]["properties"].(map[string]any)
	rc, _ := props["reason_code"].(map[string]any)
	require.NotNil(t, rc, "command.result.json declares reason_code")
	var enum []string
	for _, v := range rc["enum"].([]any) {
		enum = append(enum, v.(string))
	}
	assert.ElementsMatch(t, command.ReasonCodes(), enum)
}

// TestLedgerInstructionPerProvider: one instruction schema serves every
// provider, and says what each must carry (a Praxis tid and status; no
// Praxis-only field on a Rebilly instruction).
func TestLedgerInstructionPerProvider(t *testing.T) {
	s := loadSchemas(t)
	const common = `"application":"shop","kind":"deposit.credited","order_id":"o","cid":"c","amount":1050,"currency":"EUR","event_id":"e","occurred_at":"2026-08-21T14:05:12Z"`
	tests := []struct {
		name  string
		doc   string
		valid bool
	}{
		{"praxis", `{"id":"shop:7:deposit.credited",` + common + `,"tid":7,"praxis_status":"approved","provider":"praxis","transaction_id":"7","provider_status":"approved"}`, true},
		{"praxis without tid", `{"id":"shop:7:deposit.credited",` + common + `,"praxis_status":"approved","provider":"praxis","transaction_id":"7","provider_status":"approved"}`, false},
		{"praxis without praxis_status", `{"id":"shop:7:deposit.credited",` + common + `,"tid":7,"provider":"praxis","transaction_id":"7","provider_status":"approved"}`, false},
		{"praxis transaction_id not the tid's form", `{"id":"shop:7:deposit.credited",` + common + `,"tid":7,"praxis_status":"approved","provider":"praxis","transaction_id":"txn_7","provider_status":"approved"}`, false},
		{"rebilly", `{"id":"shop:rebilly:txn_1:deposit.credited",` + common + `,"provider":"rebilly","transaction_id":"txn_1","provider_status":"approved"}`, true},
		{"rebilly with a tid", `{"id":"shop:rebilly:txn_1:deposit.credited",` + common + `,"tid":1,"provider":"rebilly","transaction_id":"txn_1","provider_status":"approved"}`, false},
		{"rebilly with praxis_status", `{"id":"shop:rebilly:txn_1:deposit.credited",` + common + `,"praxis_status":"approved","provider":"rebilly","transaction_id":"txn_1","provider_status":"approved"}`, false},
		{"no provider", `{"id":"shop:7:deposit.credited",` + common + `,"tid":7,"praxis_status":"approved","transaction_id":"7","provider_status":"approved"}`, false},
		{"unknown provider", `{"id":"shop:7:deposit.credited",` + common + `,"provider":"acme","transaction_id":"7","provider_status":"approved"}`, false},
		{"no transaction_id", `{"id":"shop:rebilly:txn_1:deposit.credited",` + common + `,"provider":"rebilly","provider_status":"approved"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.validate("ledger.instruction", []byte(tt.doc))
			assert.Equal(t, tt.valid, err == nil, "contracts/schemas/ledger.instruction.json: %v", err)
		})
	}
}
