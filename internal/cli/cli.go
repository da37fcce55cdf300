// Package cli implements the praxis-adapter subcommands. Each subcommand
// lives in its own file and is listed in commands.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strings"
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

func runVersion(_ context.Context, env *Env, _ []string) error {
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	fmt.Fprintln(env.Stdout, "praxis-adapter", version)
	return nil
}
