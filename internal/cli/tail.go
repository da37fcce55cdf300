package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/praxis-adapter/praxis-adapter/subjects"
)

func runTail(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "tail", "[flags] [subject ...]\n\nPrints every message on the subjects as <subject> <json>, one per line.\nDefault: events, ledger instructions, review records, results and dead letters. (Subscribing to\npraxis.requests.> would make the ingress wait for an answer that never comes.)")
	nf := addNATSFlags(fs)
	history := fs.Bool("history", false, "replay what the streams already hold before following (events, results, dead letters, ledger)")
	headers := fs.Bool("headers", false, "print message headers too")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	filters := fs.Args()
	if len(filters) == 0 {
		filters = []string{subjects.AllEvents, subjects.AnyLedger, subjects.AllReview, subjects.AllResults, subjects.AllDLQ}
	}
	nc, js, err := nf.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	out := make(chan *nats.Msg, 1024)
	print := func(m *nats.Msg) {
		line := m.Subject + " " + strings.TrimSpace(string(m.Data))
		if *headers && len(m.Header) > 0 {
			line = fmt.Sprintf("%s %v %s", m.Subject, m.Header, strings.TrimSpace(string(m.Data)))
		}
		fmt.Fprintln(env.Stdout, line)
	}
	if *history {
		// An ordered consumer per stream and filter: the streams' content
		// from the start, then live messages, without creating durables.
		for _, stream := range []string{subjects.StreamEvents, subjects.StreamResults, subjects.StreamDLQ, subjects.StreamLedger, subjects.StreamReview} {
			for _, f := range filters {
				cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{f}})
				if err != nil {
					continue // the filter does not overlap this stream
				}
				cc, err := cons.Consume(func(m jetstream.Msg) {
					out <- &nats.Msg{Subject: m.Subject(), Data: m.Data(), Header: m.Headers()}
				})
				if err == nil {
					defer cc.Stop()
				}
			}
		}
	} else {
		for _, f := range filters {
			sub, err := nc.ChanSubscribe(f, out)
			if err != nil {
				return fmt.Errorf("subscribe %s: %w", f, err)
			}
			defer func() { _ = sub.Unsubscribe() }()
		}
	}
	fmt.Fprintf(env.Stderr, "following %s (Ctrl-C to stop)\n", strings.Join(filters, ", "))
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-out:
			print(m)
		}
	}
}
