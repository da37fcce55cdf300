// Package cli implements the praxis-adapter subcommands. Each subcommand
// lives in its own file and is listed in commands.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/praxis-adapter/praxis-adapter/internal/buildinfo"
)

// subcommand is one subcommand: its one-line summary and its entry point.
type subcommand struct {
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

// Env is what a subcommand may touch: its output streams.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
}

// errUsage marks an error whose message is usage help, printed as-is.
var errUsage = errors.New("usage")

// errFlagPrinted marks a flag error the flag package has already printed
// together with the usage, so Main prints nothing more.
var errFlagPrinted = errors.New("flag error")

func commands() map[string]subcommand {
	return map[string]subcommand{
		"run":     {"run everything in one process (embedded NATS and store, ingress, worker, simulator)", runRun},
		"ingress": {"run the HTTP ingress only (scale it on its own)", runIngress},
		"worker":  {"run the command worker only (scale it on its own)", runWorker},
		"sim":     {"run the Praxis simulator alone (HTTP API, cashier page, webhooks)", runSim},
		"send":    {"publish a command and wait for its result", runSend},
		"tail":    {"print events, ledger instructions, results and dead letters as they arrive", runTail},
		"wait":    {"wait until the streams hold a message on each subject (for scripts)", runWait},
		"dlq":     {"list, show and replay dead-lettered commands", runDLQ},
		"review":  {"list held movements and suspect notifications; resolve a held movement (audited)", runReview},
		"streams": {"show the streams and consumers: pending, redeliveries, lag", runStreams},
		"verify":  {"check a pasted Praxis body and signature against the configured secret", runVerify},
		"schema":  {"print the message contracts: JSON Schemas and the AsyncAPI document", runSchema},
		"version": {"print the version", runVersion},
	}
}

// Main runs the subcommand named by args[0] and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env := &Env{Stdout: stdout, Stderr: stderr}
	cmds := commands()
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version" || args[0] == "-v") {
		args = []string{"version"}
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "praxis-adapter: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	if err := cmd.run(ctx, env, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if errors.Is(err, errFlagPrinted) {
			return 2
		}
		fmt.Fprintf(stderr, "praxis-adapter %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]subcommand) {
	fmt.Fprintln(w, "praxis-adapter: a NATS JetStream adapter for the Praxis Cashier gateway")
	fmt.Fprintln(w, "\nUsage: praxis-adapter <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'praxis-adapter <command> -h' for a command's flags.")
}

// newFlags returns a flag set that prints its usage to env.Stderr and
// returns errors instead of exiting.
func newFlags(env *Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: praxis-adapter %s %s\n", name, synopsis)
		if strings.Contains(synopsis, "[flags]") {
			fmt.Fprintln(env.Stderr, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args with fs, accepting flags before, between and after
// positional arguments (`dlq show 12 -nats …` as well as `dlq show -nats … 12`),
// which the flag package alone does not. A "--" ends the flags: everything
// after it is positional. Flag errors come back marked errFlagPrinted (the
// flag package has printed them with the usage) and so exit 2.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return fmt.Errorf("%w: %w", errFlagPrinted, err)
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	// Leave exactly the positional arguments in fs.Args().
	return fs.Parse(append([]string{"--"}, pos...))
}

func runVersion(_ context.Context, env *Env, args []string) error {
	fs := newFlags(env, "version", "[flags]\n\nPrints the release, the commit it was built from and the Go version.")
	output := addOutputFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	info := buildinfo.Read()
	if *output == outputJSON {
		return writeJSON(env, map[string]any{"version": info.Version, "revision": info.Revision, "modified": info.Modified, "go": info.GoVersion})
	}
	fmt.Fprintln(env.Stdout, info.String())
	return nil
}

// Output formats for -o.
const (
	outputTable = "table"
	outputJSON  = "json"
)

// addOutputFlag registers -o (table or json) for commands whose output
// scripts read.
func addOutputFlag(fs *flag.FlagSet) *string {
	o := fs.String("o", outputTable, "output format: table or json")
	return o
}

// checkOutput refuses an unknown -o value as a usage error.
func checkOutput(o string) error {
	if o != outputTable && o != outputJSON {
		return fmt.Errorf("%w: -o %q: want table or json", errUsage, o)
	}
	return nil
}

// writeJSON prints v as one indented JSON document.
func writeJSON(env *Env, v any) error {
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
