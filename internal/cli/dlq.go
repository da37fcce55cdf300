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

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// HeaderReplayedFrom marks a command re-published from a dead letter.
const HeaderReplayedFrom = worker.HeaderReplayedFrom

func runDLQ(ctx context.Context, env *Env, args []string) error {
	usage := "<list|show|replay> [flags] [seq]\n\n" +
		"  list            dead letters, oldest first (-app filters, -limit bounds)\n" +
		"  show <seq>      one dead letter: its headers and the command, byte for byte\n" +
		"  replay <seq>    re-publish the command to its subject, keeping its id (idempotency holds)\n"
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
	app := fs.String("app", "", "only this application's dead letters (list)")
	limit := fs.Int("limit", 100, "at most this many entries (list)")
	del := fs.Bool("delete", false, "delete the dead letter once re-published (replay)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
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
		return dlqList(ctx, env, stream, *app, *limit)
	case "show", "replay":
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: dlq %s needs the dead letter's sequence number (see dlq list)", errUsage, sub)
		}
		seq, err := strconv.ParseUint(fs.Arg(0), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: %q is not a sequence number", errUsage, fs.Arg(0))
		}
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			return fmt.Errorf("dead letter %d: %w", seq, err)
		}
		if sub == "show" {
			return dlqShow(env, m)
		}
		return dlqReplay(ctx, env, js, stream, m, *del)
	}
	return fmt.Errorf("%w: unknown dlq subcommand %q (list, show, replay)", errUsage, sub)
}

func dlqList(ctx context.Context, env *Env, stream jetstream.Stream, app string, limit int) error {
	filter := subjects.AllDLQ
	if app != "" {
		filter = subjects.Root + ".dlq." + subjects.Token(app) + ".>"
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tSUBJECT\tCOMMAND ID\tOUTCOME\tDELIVERIES\tREASON")
	n := 0
	if info.State.Msgs > 0 {
		cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
		if err != nil {
			return err
		}
		want := min(int(info.State.Msgs), limit)
		batch, err := cons.Fetch(want, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return err
		}
		for m := range batch.Messages() {
			meta, _ := m.Metadata()
			h := m.Headers()
			reason := h.Get(worker.HeaderDLQReason)
			if len(reason) > 90 {
				reason = reason[:87] + "..."
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", meta.Sequence.Stream, meta.Timestamp.UTC().Format(time.RFC3339),
				m.Subject(), h.Get(worker.HeaderDLQCommandID), h.Get(worker.HeaderDLQOutcome), h.Get(worker.HeaderDLQDeliveries), reason)
			n++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "%d dead letter(s) shown of %d\n", n, info.State.Msgs)
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
// subject it came from. Its id is untouched, so the worker's idempotency
// record decides: a command that failed reconciles with Praxis before
// calling again, one that succeeded meanwhile is answered from its record.
func dlqReplay(ctx context.Context, env *Env, js jetstream.JetStream, stream jetstream.Stream, m *jetstream.RawStreamMsg, del bool) error {
	subject := m.Header.Get(worker.HeaderDLQSubject)
	if subject == "" {
		app, name, err := subjects.ParseDeadLetter(m.Subject)
		if err != nil {
			return fmt.Errorf("dead letter %d names no command subject: %w", m.Sequence, err)
		}
		subject = subjects.Command(app, name)
	}
	if !strings.HasPrefix(subject, subjects.Root+".commands.") {
		return fmt.Errorf("dead letter %d: %q is not a command subject", m.Sequence, subject)
	}
	msg := &nats.Msg{Subject: subject, Data: m.Data, Header: nats.Header{}}
	msg.Header.Set(HeaderReplayedFrom, strconv.FormatUint(m.Sequence, 10))
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ack, err := js.PublishMsg(pctx, msg, jetstream.WithExpectStream(subjects.StreamCommands))
	if err != nil {
		return fmt.Errorf("re-publish to %s: %w", subject, err)
	}
	fmt.Fprintf(env.Stdout, "replayed dead letter %d (command id %s) to %s as command #%d\n",
		m.Sequence, m.Header.Get(worker.HeaderDLQCommandID), subject, ack.Sequence)
	if del {
		if err := stream.DeleteMsg(ctx, m.Sequence); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("replayed, but deleting dead letter %d failed: %w", m.Sequence, err)
		}
		fmt.Fprintf(env.Stdout, "deleted dead letter %d\n", m.Sequence)
	}
	return nil
}
