package contracts

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/adapter/command"
	"github.com/praxis-adapter/praxis-adapter/adapter/lifecycle"
	"github.com/praxis-adapter/praxis-adapter/adapter/rebilly"
	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

const asyncAPIFile = "contracts/asyncapi.yaml"

// placeholder matches <name> in subjects.Table() and {name} in AsyncAPI.
var (
	tablePlaceholder    = regexp.MustCompile(`<([a-z]+)>`)
	asyncAPIPlaceholder = regexp.MustCompile(`\{([a-z]+)\}`)
)

// channels returns the AsyncAPI channels by id.
func channels(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for id, v := range object(doc, "channels") {
		ch, ok := v.(map[string]any)
		require.True(t, ok, "%s: channel %s is not a mapping", asyncAPIFile, id)
		out[id] = ch
	}
	return out
}

// deref follows a local $ref (one level is all the document uses).
func deref(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	m := asMap(v)
	if ref, ok := m["$ref"].(string); ok && strings.HasPrefix(ref, "#/") {
		target, found := pointer(doc, ref)
		require.True(t, found, "%s: $ref %s points nowhere", asyncAPIFile, ref)
		m, _ = target.(map[string]any)
	}
	return m
}

// TestAsyncAPIChannelsMatchSubjectTable: every subject family in
// subjects.Table() has exactly one channel with the same address (and the
// same stream), and no channel has an address the table does not list.
// Reply channels (address null: NATS inboxes, Praxis-Reply-To subjects)
// are not subject families.
func TestAsyncAPIChannelsMatchSubjectTable(t *testing.T) {
	doc := asyncAPIDocument(t)
	byAddress := map[string]string{}
	for id, ch := range channels(t, doc) {
		addr, isString := ch["address"].(string)
		if !isString {
			assert.Nil(t, ch["address"], "%s: channel %s: address must be a subject pattern or null", asyncAPIFile, id)
			continue
		}
		prev, dup := byAddress[addr]
		assert.False(t, dup, "%s: channels %s and %s have the same address %s", asyncAPIFile, prev, id, addr)
		byAddress[addr] = id
	}

	tableAddresses := map[string]bool{}
	for _, e := range subjects.Table() {
		addr := tablePlaceholder.ReplaceAllString(e.Pattern, "{$1}")
		tableAddresses[addr] = true
		t.Run(e.Pattern, func(t *testing.T) {
			id, ok := byAddress[addr]
			require.True(t, ok, "%s: add a channel with address %s (subjects.Table() lists %s)", asyncAPIFile, addr, e.Pattern)
			ch := object(doc, "channels", id)
			stream, _ := ch["x-stream"].(string)
			assert.Equal(t, e.Stream, stream, "%s: channel %s: x-stream must be the table's stream (none for request/reply)", asyncAPIFile, id)
			assert.NotEmpty(t, ch["description"], "%s: channel %s: describe who publishes and who consumes it", asyncAPIFile, id)
		})
	}
	for addr, id := range byAddress {
		assert.True(t, tableAddresses[addr], "%s: channel %s has address %s, which subjects.Table() does not list; remove it or add it to the table", asyncAPIFile, id, addr)
	}
}

// TestAsyncAPIParameters: each {param} of an address is declared, each
// declared parameter is used, and the closed sets are the code's.
func TestAsyncAPIParameters(t *testing.T) {
	doc := asyncAPIDocument(t)
	for id, ch := range channels(t, doc) {
		addr, _ := ch["address"].(string)
		var used []string
		for _, m := range asyncAPIPlaceholder.FindAllStringSubmatch(addr, -1) {
			used = append(used, m[1])
		}
		sort.Strings(used)
		var declared []string
		for name, p := range object(ch, "parameters") {
			declared = append(declared, name)
			assert.NotEmpty(t, deref(t, doc, p)["description"], "%s: channel %s: parameter %s needs a description", asyncAPIFile, id, name)
		}
		sort.Strings(declared)
		assert.Equal(t, used, declared, "%s: channel %s: parameters must be exactly those of its address %s", asyncAPIFile, id, addr)
	}

	enum := func(param string) []string {
		return stringList(object(doc, "components", "parameters", param)["enum"])
	}
	sorted := func(s []string) []string {
		out := append([]string(nil), s...)
		sort.Strings(out)
		return out
	}
	assert.Equal(t, sorted(subjects.EventTypes()), enum("eventType"),
		"%s: components.parameters.eventType.enum must be subjects.EventTypes()", asyncAPIFile)
	assert.Equal(t, sorted(command.Names()), enum("command"),
		"%s: components.parameters.command.enum must be command.Names()", asyncAPIFile)
	assert.Equal(t, sorted(command.RebillyNames()), enum("rebillyCommand"),
		"%s: components.parameters.rebillyCommand.enum must be command.RebillyNames()", asyncAPIFile)
	assert.Equal(t, sorted([]string{rebilly.EventDeposit, rebilly.EventAuthorization, rebilly.EventRefund, rebilly.EventPayout,
		rebilly.EventOther, rebilly.EventWithdrawal}), enum("rebillyEventType"),
		"%s: components.parameters.rebillyEventType.enum must be adapter/rebilly's event types", asyncAPIFile)

	assert.Equal(t, sorted(lifecycle.Kinds()), enum("ledgerKind"),
		"%s: components.parameters.ledgerKind.enum must be lifecycle.Kinds()", asyncAPIFile)
	s := loadSchemas(t)
	assert.Equal(t, sorted(lifecycle.Kinds()), stringList(object(s.docs["ledger.instruction"], "properties", "kind")["enum"]),
		"contracts/schemas/ledger.instruction.json: the kind enum must be lifecycle.Kinds()")

	desc, _ := object(doc, "components", "parameters", "commandApp")["description"].(string)
	assert.Contains(t, desc, worker.FrontendApp, "%s: components.parameters.commandApp must name the front-end token %q", asyncAPIFile, worker.FrontendApp)
}

// TestAsyncAPICommandMessages: each provider's commands channel has one
// message per command of that provider's registry, named like it, whose
// payload is the command's schema.
func TestAsyncAPICommandMessages(t *testing.T) {
	doc := asyncAPIDocument(t)
	for _, tc := range []struct {
		provider subjects.Provider
		names    []string
		schema   string // the payload file of command <name>: schema + name + ".json"
	}{
		{subjects.Praxis, command.Names(), "./schemas/command."},
		{subjects.Rebilly, command.RebillyNames(), "./schemas/rebilly.command."},
	} {
		t.Run(tc.provider.String(), func(t *testing.T) {
			addr := tc.provider.String() + ".commands.{app}.{command}"
			var id string
			for cid, ch := range channels(t, doc) {
				if ch["address"] == addr {
					id = cid
				}
			}
			require.NotEmpty(t, id, "%s: no channel with address %s", asyncAPIFile, addr)
			msgs := object(doc, "channels", id, "messages")
			var names []string
			for name := range msgs {
				names = append(names, name)
			}
			sort.Strings(names)
			want := append([]string(nil), tc.names...)
			sort.Strings(want)
			assert.Equal(t, want, names, "%s: channel %s must have one message per %s command", asyncAPIFile, id, tc.provider)
			for _, name := range tc.names {
				m := deref(t, doc, msgs[name])
				require.NotNil(t, m, "%s: channel %s: message %s is missing", asyncAPIFile, id, name)
				assert.Equal(t, name, m["name"], "%s: channel %s: message %s: name must be the command name", asyncAPIFile, id, name)
				assert.Equal(t, tc.schema+name+".json", object(m, "payload")["$ref"],
					"%s: channel %s: message %s: payload must be %s%s.json", asyncAPIFile, id, name, tc.schema, name)
			}
		})
	}
}

// TestAsyncAPIRebillyEvent: the Rebilly event message's examples are what
// the ingress publishes: the Nats-Msg-Id is the CloudEvents id, and data
// is valid against the schema its dataschema names.
func TestAsyncAPIRebillyEvent(t *testing.T) {
	doc := asyncAPIDocument(t)
	s := loadSchemas(t)
	m := object(doc, "components", "messages", "rebillyEvent")
	require.NotNil(t, m, "%s: components.messages.rebillyEvent is missing", asyncAPIFile)
	assert.Equal(t, "./schemas/cloudevent.rebilly.json", object(m, "payload")["$ref"], "%s: rebillyEvent payload", asyncAPIFile)
	examples := asSlice(m["examples"])
	require.NotEmpty(t, examples, "%s: rebillyEvent needs examples", asyncAPIFile)
	for i, ex := range examples {
		e := asMap(ex)
		payload := asMap(e["payload"])
		assert.Equal(t, payload["id"], asMap(e["headers"])["Nats-Msg-Id"], "%s: rebillyEvent examples[%d]: Nats-Msg-Id must be the CloudEvents id", asyncAPIFile, i)
		dataschema, _ := payload["dataschema"].(string)
		name, ok := strings.CutPrefix(dataschema, SchemaIDBase)
		require.True(t, ok, "%s: rebillyEvent examples[%d]: dataschema %q is not one of the contracts", asyncAPIFile, i, dataschema)
		data, err := json.Marshal(payload["data"])
		require.NoError(t, err)
		assert.NoError(t, s.validate(strings.TrimSuffix(name, ".json"), data), "%s: rebillyEvent examples[%d].payload.data must be valid against %s", asyncAPIFile, i, name)
	}
}

// TestAsyncAPIReferences: every $ref resolves, inside the document or to
// an embedded schema file.
func TestAsyncAPIReferences(t *testing.T) {
	doc := asyncAPIDocument(t)
	known := map[string]bool{}
	for _, n := range SchemaNames() {
		known["./schemas/"+n+".json"] = true
	}
	count := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				count++
				if strings.HasPrefix(ref, "#/") {
					_, found := pointer(doc, ref)
					assert.True(t, found, "%s: %s: $ref %s points nowhere", asyncAPIFile, path, ref)
				} else {
					file, _, _ := strings.Cut(ref, "#")
					assert.True(t, known[file], "%s: %s: $ref %s is not a file in contracts/schemas", asyncAPIFile, path, ref)
				}
			}
			for k, x := range v {
				walk(path+"/"+k, x)
			}
		case []any:
			for _, x := range v {
				walk(path+"/[]", x)
			}
		}
	}
	walk("", doc)
	assert.Greater(t, count, 50, "the walk must have seen the document's references")
}

// TestAsyncAPIOperations: operations name existing channels, their
// messages belong to those channels, and replies are consistent.
func TestAsyncAPIOperations(t *testing.T) {
	doc := asyncAPIDocument(t)
	assert.Equal(t, "3.0.0", doc["asyncapi"], "%s: asyncapi must be 3.0.0", asyncAPIFile)
	assert.NotEmpty(t, object(doc, "info")["title"])
	assert.NotEmpty(t, object(doc, "info")["version"])
	assert.Equal(t, "nats", object(doc, "servers", "nats")["protocol"], "%s: servers.nats.protocol", asyncAPIFile)

	location := regexp.MustCompile(`^\$message\.(header|payload)#(/(([^/~])|(~[01]))*)*`)
	usedChannels := map[string]bool{}
	ops := object(doc, "operations")
	require.NotEmpty(t, ops, "%s: no operations", asyncAPIFile)
	for id, v := range ops {
		op := asMap(v)
		assert.Contains(t, []any{"send", "receive"}, op["action"], "%s: operation %s: action must be send or receive", asyncAPIFile, id)
		chRef, _ := object(op, "channel")["$ref"].(string)
		_, ok := pointer(doc, chRef)
		require.True(t, ok && strings.HasPrefix(chRef, "#/channels/"), "%s: operation %s: channel must $ref a channel", asyncAPIFile, id)
		usedChannels[chRef] = true
		msgs := asSlice(op["messages"])
		assert.NotEmpty(t, msgs, "%s: operation %s: list its messages", asyncAPIFile, id)
		for _, m := range msgs {
			ref, _ := asMap(m)["$ref"].(string)
			assert.True(t, strings.HasPrefix(ref, chRef+"/messages/"), "%s: operation %s: message %s is not one of %s's messages", asyncAPIFile, id, ref, chRef)
		}
		reply := object(op, "reply")
		if reply == nil {
			continue
		}
		replyRef, _ := object(reply, "channel")["$ref"].(string)
		_, ok = pointer(doc, replyRef)
		require.True(t, ok, "%s: operation %s: reply channel %s points nowhere", asyncAPIFile, id, replyRef)
		usedChannels[replyRef] = true
		for _, m := range asSlice(reply["messages"]) {
			ref, _ := asMap(m)["$ref"].(string)
			assert.True(t, strings.HasPrefix(ref, replyRef+"/messages/"), "%s: operation %s: reply message %s is not one of %s's messages", asyncAPIFile, id, ref, replyRef)
		}
		if addr := object(reply, "address"); addr != nil {
			loc, _ := addr["location"].(string)
			assert.Regexp(t, location, loc, "%s: operation %s: reply address location must be a runtime expression", asyncAPIFile, id)
		}
	}
	for id := range channels(t, doc) {
		assert.True(t, usedChannels["#/channels/"+id], "%s: channel %s is used by no operation", asyncAPIFile, id)
	}
}

// TestAsyncAPIHeaders: the header names the document promises are the
// ones the code sets, and every message's headers and payload compile and
// accept the message's examples.
func TestAsyncAPIHeaders(t *testing.T) {
	doc := asyncAPIDocument(t)
	dlq := deref(t, doc, object(doc, "components", "messages", "deadLetter", "headers"))
	var got []string
	for name := range object(dlq, "properties") {
		got = append(got, name)
	}
	sort.Strings(got)
	want := []string{"Nats-Msg-Id", worker.HeaderDLQReason, worker.HeaderDLQOutcome, worker.HeaderDLQAttempts, worker.HeaderDLQCalls, worker.HeaderDLQLookups,
		worker.HeaderDLQDeliveries, worker.HeaderDLQSubject, worker.HeaderDLQCommandID, worker.HeaderDLQStreamSeq}
	sort.Strings(want)
	assert.Equal(t, want, got, "%s: components.messages.deadLetter.headers must list the headers adapter/worker sets on a dead letter", asyncAPIFile)

	cmdHeaders := object(doc, "components", "schemas", "commandHeaders", "properties")
	assert.Contains(t, cmdHeaders, worker.HeaderReplyTo, "%s: components.schemas.commandHeaders must document %s", asyncAPIFile, worker.HeaderReplyTo)

	// Compile each message's headers and payload through the document
	// itself, as an AsyncAPI tool would resolve them.
	s := loadSchemas(t)
	require.NoError(t, s.compiler.AddResource(strings.TrimSuffix(schemaBase, "schemas/")+"asyncapi.json", any(doc)))
	for name, v := range object(doc, "components", "messages") {
		t.Run(name, func(t *testing.T) {
			m := asMap(v)
			require.NotNil(t, m["payload"], "%s: message %s has no payload", asyncAPIFile, name)
			base := strings.TrimSuffix(schemaBase, "schemas/") + "asyncapi.json#/components/messages/" + name
			payload, err := s.compiler.Compile(base + "/payload")
			require.NoError(t, err, "%s: message %s: payload does not compile", asyncAPIFile, name)
			var headers interface{ Validate(any) error }
			if m["headers"] != nil {
				h, err := s.compiler.Compile(base + "/headers")
				require.NoError(t, err, "%s: message %s: headers do not compile", asyncAPIFile, name)
				headers = h
			}
			for i, ex := range asSlice(m["examples"]) {
				e := asMap(ex)
				if p, ok := e["payload"]; ok {
					assert.NoError(t, payload.Validate(p), "%s: message %s: examples[%d].payload", asyncAPIFile, name, i)
				}
				if h, ok := e["headers"]; ok {
					require.NotNil(t, headers, "%s: message %s: examples[%d] has headers the message does not declare", asyncAPIFile, name, i)
					assert.NoError(t, headers.Validate(h), "%s: message %s: examples[%d].headers", asyncAPIFile, name, i)
				}
			}
		})
	}
}

// TestAsyncAPIShape: every object uses only the fields AsyncAPI 3.0.0
// defines for it (or x- extensions), so a misspelt field cannot pass for
// documentation that tools silently ignore.
func TestAsyncAPIShape(t *testing.T) {
	doc := asyncAPIDocument(t)
	fields := func(list string) map[string]bool {
		m := map[string]bool{}
		for _, f := range strings.Fields(list) {
			m[f] = true
		}
		return m
	}
	var (
		top       = fields("asyncapi id info servers defaultContentType channels operations components")
		server    = fields("host protocol protocolVersion pathname description title summary variables security tags externalDocs bindings")
		channel   = fields("address messages title summary description servers parameters tags externalDocs bindings")
		parameter = fields("enum default description examples location")
		operation = fields("action channel title summary description security tags externalDocs bindings traits messages reply")
		reply     = fields("address channel messages")
		replyAddr = fields("location description")
		message   = fields("headers payload correlationId contentType name title summary description tags externalDocs bindings examples traits deprecated")
		example   = fields("headers payload name summary")
	)
	check := func(where string, obj map[string]any, allowed map[string]bool) {
		t.Helper()
		for k := range obj {
			if k == "$ref" || strings.HasPrefix(k, "x-") {
				continue
			}
			assert.True(t, allowed[k], "%s: %s has a field %q that AsyncAPI 3.0.0 does not define (use x-%s for an extension)", asyncAPIFile, where, k, k)
		}
	}
	check("the document", doc, top)
	for id, v := range object(doc, "servers") {
		check("server "+id, asMap(v), server)
	}
	for id, ch := range channels(t, doc) {
		check("channel "+id, ch, channel)
		for p, v := range object(ch, "parameters") {
			check("channel "+id+" parameter "+p, asMap(v), parameter)
		}
	}
	for id, v := range object(doc, "components", "parameters") {
		check("components.parameters."+id, asMap(v), parameter)
	}
	for id, v := range object(doc, "operations") {
		op := asMap(v)
		check("operation "+id, op, operation)
		if r := object(op, "reply"); r != nil {
			check("operation "+id+" reply", r, reply)
			if a := object(r, "address"); a != nil {
				check("operation "+id+" reply address", a, replyAddr)
			}
		}
	}
	for id, v := range object(doc, "components", "messages") {
		m := asMap(v)
		check("components.messages."+id, m, message)
		for i, ex := range asSlice(m["examples"]) {
			check(fmt.Sprintf("components.messages.%s.examples[%d]", id, i), asMap(ex), example)
		}
	}
}
