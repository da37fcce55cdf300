package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/praxis-adapter/praxis-adapter/contracts"
)

// asyncAPIName is the name under which runSchema prints the AsyncAPI
// document rather than a JSON Schema.
const asyncAPIName = "asyncapi"

// runSchema lists the message contracts, or prints one, so a CRM developer
// can get the exact schema of the binary they run without the source tree.
func runSchema(_ context.Context, env *Env, args []string) error {
	fs := newFlags(env, "schema", "[name]\n\nWithout a name, lists the JSON Schemas of every message. With a name, prints that schema\n(e.g. command.cashier.session); 'asyncapi' prints the AsyncAPI 3 document of every subject.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch fs.NArg() {
	case 0:
		return listSchemas(env)
	case 1:
	default:
		fs.Usage()
		return fmt.Errorf("%w: want at most one schema name, got %d arguments", errUsage, fs.NArg())
	}
	name := fs.Arg(0)
	if name == asyncAPIName {
		_, err := env.Stdout.Write(contracts.AsyncAPI())
		return err
	}
	b, err := contracts.Schema(name)
	if errors.Is(err, contracts.ErrUnknownSchema) {
		return fmt.Errorf("%w: %w (or %s)", errUsage, err, asyncAPIName)
	}
	if err != nil {
		return err
	}
	_, err = env.Stdout.Write(b)
	return err
}

// listSchemas prints each schema's name and title.
func listSchemas(env *Env) error {
	w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "%s\t%s\n", asyncAPIName, "AsyncAPI 3 document: every subject, its parameters, headers and messages")
	for _, name := range contracts.SchemaNames() {
		b, err := contracts.Schema(name)
		if err != nil {
			return err
		}
		var head struct {
			Title string `json:"title"`
		}
		if err := json.Unmarshal(b, &head); err != nil {
			return fmt.Errorf("schema %s: %w", name, err)
		}
		fmt.Fprintf(w, "%s\t%s\n", name, head.Title)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(env.Stderr, "\nPrint one with: praxis-adapter schema <name>")
	return nil
}
