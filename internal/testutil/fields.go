package testutil

import (
	"bytes"
	"encoding/json"
	"slices"
)

// FieldValues lists the values of every field of a JSON body (strings,
// and numbers as their token text), at any depth, except the fields named
// in except (e.g. tid, which logs carry on purpose) and values shorter
// than 5 characters (too common to tell apart from a log's own words).
// Pass them to Logger so a test fails when a log line repeats what a
// Praxis body carried, on every path, errors included.
func FieldValues(body []byte, except ...string) []string {
	var root any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&root) != nil {
		return nil
	}
	var out []string
	var walk func(name string, v any)
	walk = func(name string, v any) {
		if slices.Contains(except, name) {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(k, c)
			}
		case []any:
			for _, c := range x {
				walk(name, c)
			}
		case string:
			if len(x) >= 5 {
				out = append(out, x)
			}
		case json.Number:
			if len(x) >= 5 {
				out = append(out, string(x))
			}
		}
	}
	walk("", root)
	slices.Sort(out)
	return slices.Compact(out)
}
