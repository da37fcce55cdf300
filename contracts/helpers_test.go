package contracts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// schemaBase is the URL the tests load the schema files under; their
// relative $refs (defs.json#/...) resolve against it.
const schemaBase = SchemaIDBase

// schemaSet compiles the embedded schemas on demand, all in one compiler so
// cross-file $refs resolve.
type schemaSet struct {
	t        *testing.T
	compiler *jsonschema.Compiler
	docs     map[string]map[string]any // name -> parsed schema document
	compiled map[string]*jsonschema.Schema
}

func loadSchemas(t *testing.T) *schemaSet {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	s := &schemaSet{t: t, compiler: c, docs: map[string]map[string]any{}, compiled: map[string]*jsonschema.Schema{}}
	for _, name := range SchemaNames() {
		raw, err := Schema(name)
		require.NoError(t, err)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		require.NoError(t, err, "contracts/schemas/%s.json is not valid JSON", name)
		obj, ok := doc.(map[string]any)
		require.True(t, ok, "contracts/schemas/%s.json must be a JSON object", name)
		s.docs[name] = obj
		require.NoError(t, c.AddResource(schemaBase+name+".json", doc))
	}
	return s
}

// compile compiles a schema by name, or a location inside one
// ("defs.json#/$defs/cid" style, given as name + fragment).
func (s *schemaSet) compile(name string) *jsonschema.Schema {
	s.t.Helper()
	if sch, ok := s.compiled[name]; ok {
		return sch
	}
	file, frag, _ := strings.Cut(name, "#")
	loc := schemaBase + file + ".json"
	if frag != "" {
		loc += "#" + frag
	}
	sch, err := s.compiler.Compile(loc)
	require.NoError(s.t, err, "contracts/schemas/%s.json does not compile", file)
	s.compiled[name] = sch
	return sch
}

// validate reports whether the JSON document raw is valid against the
// schema called name, and why not.
func (s *schemaSet) validate(name string, raw []byte) error {
	s.t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return s.compile(name).Validate(v)
}

// properties returns the property names a schema object declares.
func properties(schema map[string]any) []string {
	props, _ := schema["properties"].(map[string]any)
	out := make([]string, 0, len(props))
	for k := range props {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// stringList reads a JSON array of strings (required, enum).
func stringList(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// def returns the $defs entry called name of defs.json.
func (s *schemaSet) def(name string) map[string]any {
	s.t.Helper()
	defs, _ := s.docs["defs"]["$defs"].(map[string]any)
	d, ok := defs[name].(map[string]any)
	require.True(s.t, ok, "contracts/schemas/defs.json has no $defs/%s", name)
	return d
}

// jsonFields lists the JSON field names of a struct type as encoding/json
// sees them (embedded structs flattened, json:"-" skipped), and which of
// them are always written (no omitempty/omitzero).
func jsonFields(t reflect.Type) (all, always []string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			a, w := jsonFields(f.Type)
			all, always = append(all, a...), append(always, w...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			always = append(always, name)
		}
	}
	sort.Strings(all)
	sort.Strings(always)
	return all, always
}

// asyncAPIDocument parses asyncapi.yaml into plain JSON-shaped values
// (through JSON, so numbers and maps look as they would to any tool).
func asyncAPIDocument(t *testing.T) map[string]any {
	t.Helper()
	var doc any
	require.NoError(t, yaml.Unmarshal(AsyncAPI(), &doc), "contracts/asyncapi.yaml is not valid YAML")
	raw, err := json.Marshal(doc)
	require.NoError(t, err, "contracts/asyncapi.yaml must be expressible as JSON (string keys only)")
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	require.NoError(t, err)
	m, ok := v.(map[string]any)
	require.True(t, ok, "contracts/asyncapi.yaml must be a mapping")
	return m
}

// object walks a path of keys through nested maps.
func object(v any, keys ...string) map[string]any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	m, _ := v.(map[string]any)
	return m
}

// asMap is v as a JSON object, or nil.
func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// pointer resolves a local JSON pointer ("#/components/messages/x") in doc.
func pointer(doc map[string]any, ref string) (any, bool) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var v any = doc
	for _, tok := range strings.Split(p, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return v, true
}

// mustJSON marshals v for a validator or a decoder.
func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
