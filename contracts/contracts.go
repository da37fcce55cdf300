// Package contracts holds the documents that describe praxis-adapter's
// messages to the teams that build against them: an AsyncAPI 3 document
// (asyncapi.yaml) naming every subject, and one JSON Schema (draft 2020-12)
// per payload in schemas/. They are embedded, so the binary can print them
// (praxis-adapter schema), and tests check them against the code: the
// subject table, the command structs and validators, the result, the
// CloudEvent envelope and the Praxis types. A change to any of those that
// is not carried into these files fails the build.
//
// The schemas are strict where the adapter is the receiver and must refuse
// (commands: unknown fields refused, integer amounts, lengths, enums; where
// Praxis documents a limit the adapter does not check itself, the schema
// still states it, so a command Praxis would reject fails early), and
// liberal where the adapter passes Praxis' own bodies on (events, requests):
// those objects stay open and mostly nullable, because Praxis may add fields
// and the adapter forwards them unchanged.
package contracts

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed schemas/*.json
var files embed.FS

// asyncAPIDoc is a string so nothing can change it; AsyncAPI hands out copies.
//
//go:embed asyncapi.yaml
var asyncAPIDoc string

// schemaDir is where the schemas live inside files; asyncapi.yaml refers
// to them relative to itself (./schemas/<name>.json).
const schemaDir = "schemas"

// SchemaVersion is the contracts' major version. It is part of every
// schema's $id and of the dataschema URI events carry, so a consumer can
// tell which contract a message follows; it changes only on a breaking
// change, and the previous version's schemas are then kept beside it.
const SchemaVersion = "v1"

// SchemaIDBase prefixes every schema's $id: SchemaIDBase + name + ".json".
// An identifier, not a download location: the schemas ship in this module
// (`praxis-adapter schema <name>` prints one).
const SchemaIDBase = "https://github.com/praxis-adapter/praxis-adapter/contracts/" + SchemaVersion + "/schemas/"

// SchemaID is the $id of the schema called name, e.g.
// SchemaID("command.result").
func SchemaID(name string) string { return SchemaIDBase + name + ".json" }

// ErrUnknownSchema is returned for a schema name that does not exist, so a
// CLI can tell a typo from a read failure.
var ErrUnknownSchema = errors.New("unknown schema")

// AsyncAPI returns the AsyncAPI 3.0.0 document (YAML). Its payload
// references (./schemas/<name>.json) name the files Schema serves.
func AsyncAPI() []byte { return []byte(asyncAPIDoc) }

// SchemaNames lists the schemas by name (file name without .json), sorted,
// so a CLI can offer them.
func SchemaNames() []string {
	matches, _ := fs.Glob(files, schemaDir+"/*.json") // the pattern is valid, so no error
	names := make([]string, 0, len(matches))
	for _, m := range matches {
		names = append(names, strings.TrimSuffix(path.Base(m), ".json"))
	}
	sort.Strings(names)
	return names
}

// Schema returns the JSON Schema called name (e.g. "command.cashier.session";
// a trailing ".json" is accepted). Its $refs are relative file names
// (defs.json#/$defs/...) that Schema also serves.
func Schema(name string) ([]byte, error) {
	name = strings.TrimSuffix(name, ".json")
	if name == "" || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("%w %q: give a name such as command.cashier.session", ErrUnknownSchema, name)
	}
	b, err := files.ReadFile(schemaDir + "/" + name + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %q; known schemas: %s", ErrUnknownSchema, name, strings.Join(SchemaNames(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("read schema %q: %w", name, err)
	}
	return b, nil
}
