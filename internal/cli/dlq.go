package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/praxis-adapter/praxis-adapter/adapter/deadletter"
	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// HeaderReplayedFrom marks a command re-published from a dead letter.
const HeaderReplayedFrom = deadletter.HeaderReplayedFrom

func runDLQ(ctx context.Context, env *Env, args []string) error {
	usage := "<list|show|replay> [flags] [seq...]\n\n" +
		"  list              dead letters, oldest first (filters below; -limit bounds; -o json)\n" +
		"  show <seq>        one dead letter: its headers and the command, byte for byte\n" +
		"  replay <seq>...   re-publish commands to their subjects, keeping their ids (idempotency holds:\n" +
		"                    the worker reconciles with Praxis before any new call)\n" +
		"  replay -all       replay every dead letter the filters select; -dry-run lists them only\n\n" +
		"Filters (list, replay -all): -app, -command, -outcome, -reason (substring)\n"
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, "Usage: praxis-adapter dlq "+usage)
		return fmt.Errorf("%w: want a dlq subcommand", errUsage)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(env.Stderr, "Usage: praxis-adapter dlq "+usage)
		return flag.ErrHelp
	}
	sub := args[0]
	fs := newFlags(env, "dlq "+sub, "[flags]")
	nf := addNATSFlags(fs)
	var f dlqFilter
	fs.StringVar(&f.app, "app", "", "only this application's dead letters (list, replay -all)")
	fs.StringVar(&f.command, "command", "", "only this command, e.g. refund.create (list, replay -all)")
	fs.StringVar(&f.outcome, "outcome", "", "only this outcome: invalid or failed (list, replay -all)")
	fs.StringVar(&f.reason, "reason", "", "only reasons containing this text (list, replay -all)")
	limit := fs.Int("limit", 100, "at most this many entries (list, replay -all)")
	del := fs.Bool("delete", false, "delete each dead letter once re-published (replay)")
	all := fs.Bool("all", false, "replay every dead letter the filters select (replay)")
	dry := fs.Bool("dry-run", false, "show what replay would re-publish, publish nothing (replay)")
	output := addOutputFlag(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	switch sub {
	case "list", "show", "replay":
	default:
		return fmt.Errorf("%w: unknown dlq subcommand %q (list, show, replay)", errUsage, sub)
	}
	var seqs []uint64
	for _, a := range fs.Args() {
		seq, err := strconv.ParseUint(a, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: %q is not a sequence number", errUsage, a)
		}
		seqs = append(seqs, seq)
	}
	switch {
	case sub == "list" && len(seqs) > 0:
		return fmt.Errorf("%w: dlq list takes no sequence numbers (use dlq show <seq>)", errUsage)
	case sub == "show" && len(seqs) != 1:
		return fmt.Errorf("%w: dlq show needs one dead letter's sequence number (see dlq list)", errUsage)
	case sub == "replay" && *all == (len(seqs) > 0):
		return fmt.Errorf("%w: dlq replay needs sequence numbers or -all (with filters), not both", errUsage)
	}
	nc, js, err := nf.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	stream, err := js.Stream(ctx, subjects.StreamDLQ)
	if err != nil {
		return fmt.Errorf("stream %s: %w", subjects.StreamDLQ, err)
	}
	switch sub {
	case "list":
		entries, total, err := dlqEntries(ctx, stream, f, *limit)
		if err != nil {
			return err
		}
		return dlqPrint(env, entries, total, *output)
	case "show":
		m, err := stream.GetMsg(ctx, seqs[0])
		if err != nil {
			return fmt.Errorf("dead letter %d: %w", seqs[0], err)
		}
		return dlqShow(env, m)
	}
	if *all {
		entries, _, err := dlqEntries(ctx, stream, f, *limit)
		if err != nil {
			return err
		}
		for _, e := range entries {
			seqs = append(seqs, e.Seq)
		}
	}
	if *dry {
		for _, seq := range seqs {
			fmt.Fprintf(env.Stdout, "would replay dead letter %d\n", seq)
		}
		fmt.Fprintf(env.Stderr, "dry run: %d dead letter(s) selected, nothing published\n", len(seqs))
		return nil
	}
	var failed int
	for _, seq := range seqs {
		m, err := stream.GetMsg(ctx, seq)
		if err == nil {
			err = dlqReplay(ctx, env, js, stream, m, *del)
		}
		if err != nil {
			failed++
			fmt.Fprintf(env.Stderr, "dead letter %d: %v\n", seq, err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d replays failed", failed, len(seqs))
	}
	return nil
}

// dlqFilter selects dead letters by their headers.
type dlqFilter struct{ app, command, outcome, reason string }

func (f dlqFilter) match(e dlqEntry) bool {
	return (f.command == "" || e.Command == f.command) &&
		(f.outcome == "" || e.Outcome == f.outcome) &&
		(f.reason == "" || strings.Contains(e.Reason, f.reason))
}

// dlqEntry is one dead letter in `dlq list` output; its JSON names are part
// of the CLI's script contract (-o json).
type dlqEntry struct {
	Seq        uint64    `json:"seq"`
	Time       time.Time `json:"time"`
	Subject    string    `json:"subject"`
	App        string    `json:"app"`
	Command    string    `json:"command"`
	CommandID  string    `json:"command_id"`
	Outcome    string    `json:"outcome"`
	Deliveries string    `json:"deliveries,omitempty"`
	Reason     string    `json:"reason"`
}

// dlqEntries reads up to limit dead letters that match f, oldest first, and
// the number stored under the application filter.
func dlqEntries(ctx context.Context, stream jetstream.Stream, f dlqFilter, limit int) ([]dlqEntry, uint64, error) {
	// Every provider's dead letters: the stream holds them all.
	filter := "*.dlq.>"
	if f.app != "" {
		filter = "*.dlq." + subjects.Token(f.app) + ".>"
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, 0, err
	}
	entries := []dlqEntry{}
	if info.State.Msgs == 0 || limit <= 0 {
		return entries, info.State.Msgs, nil
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return nil, 0, err
	}
	remaining := int(info.State.Msgs)
	for remaining > 0 && len(entries) < limit {
		batch, err := cons.Fetch(min(remaining, 256), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, 0, err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			h := m.Headers()
			e := dlqEntry{Seq: meta.Sequence.Stream, Time: meta.Timestamp.UTC(), Subject: m.Subject(),
				CommandID: h.Get(worker.HeaderDLQCommandID), Outcome: h.Get(worker.HeaderDLQOutcome),
				Deliveries: h.Get(worker.HeaderDLQDeliveries), Reason: h.Get(worker.HeaderDLQReason)}
			_, e.App, e.Command, _ = subjects.ParseAnyDeadLetter(m.Subject())
			if f.match(e) && len(entries) < limit {
				entries = append(entries, e)
			}
		}
		if err := batch.Error(); err != nil && got == 0 {
			return nil, 0, err
		}
		if got == 0 {
			break
		}
		remaining -= got
	}
	return entries, info.State.Msgs, nil
}

func dlqPrint(env *Env, entries []dlqEntry, total uint64, output string) error {
	if output == outputJSON {
		return writeJSON(env, entries)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tSUBJECT\tCOMMAND ID\tOUTCOME\tDELIVERIES\tREASON")
	for _, e := range entries {
		reason := e.Reason
		if len(reason) > 90 {
			reason = reason[:87] + "..."
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Format(time.RFC3339),
			e.Subject, e.CommandID, e.Outcome, e.Deliveries, reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "%d dead letter(s) shown of %d\n", len(entries), total)
	return nil
}

func dlqShow(env *Env, m *jetstream.RawStreamMsg) error {
	fmt.Fprintf(env.Stdout, "sequence: %d\nsubject:  %s\ntime:     %s\n", m.Sequence, m.Subject, m.Time.UTC().Format(time.RFC3339Nano))
	for _, k := range []string{worker.HeaderDLQOutcome, worker.HeaderDLQReason, worker.HeaderDLQCommandID, worker.HeaderDLQSubject,
		worker.HeaderDLQStreamSeq, worker.HeaderDLQAttempts, worker.HeaderDLQCalls, worker.HeaderDLQLookups, worker.HeaderDLQDeliveries} {
		if v := m.Header.Get(k); v != "" {
			fmt.Fprintf(env.Stdout, "%s: %s\n", k, v)
		}
	}
	var out bytes.Buffer
	if json.Indent(&out, m.Data, "", "  ") != nil {
		out.Reset()
		out.Write(m.Data)
	}
	fmt.Fprintf(env.Stdout, "\n%s\n", out.String())
	return nil
}

// dlqReplay re-publishes the dead-lettered command, unchanged, to the
// subject it came from (see deadletter.Replay).
func dlqReplay(ctx context.Context, env *Env, js jetstream.JetStream, stream jetstream.Stream, m *jetstream.RawStreamMsg, del bool) error {
	rp, err := deadletter.Replay(ctx, js, m)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "replayed dead letter %d (command id %s) to %s as command #%d\n",
		m.Sequence, rp.CommandID, rp.Subject, rp.Sequence)
	if del {
		if err := stream.DeleteMsg(ctx, m.Sequence); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("replayed, but deleting dead letter %d failed: %w", m.Sequence, err)
		}
		fmt.Fprintf(env.Stdout, "deleted dead letter %d\n", m.Sequence)
	}
	return nil
}
