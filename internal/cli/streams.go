package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/praxis-adapter/praxis-adapter/subjects"
)

func runStreams(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "streams", "[flags]\n\nShows every praxis stream and its consumers: messages, pending, redeliveries, lag.")
	nf := addNATSFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	nc, js, err := nf.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tMESSAGES\tBYTES\tFIRST\tLAST\tLAST AT\tREPLICAS")
	type cons struct {
		stream, name                                     string
		pending, ackPending, redelivered, waiting, floor uint64
		lastActive                                       time.Time
	}
	var consumers []cons
	for _, name := range []string{subjects.StreamEvents, subjects.StreamCommands, subjects.StreamResults, subjects.StreamDLQ, subjects.StreamLedger, subjects.StreamReview} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			fmt.Fprintf(tw, "%s\t(missing: %v)\n", name, err)
			continue
		}
		info, err := s.Info(ctx)
		if err != nil {
			return err
		}
		st := info.State
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%d\n", name, st.Msgs, st.Bytes, st.FirstSeq, st.LastSeq,
			st.LastTime.UTC().Format(time.RFC3339), info.Config.Replicas)
		lister := s.ListConsumers(ctx)
		for ci := range lister.Info() {
			c := cons{stream: name, name: ci.Name, pending: ci.NumPending, ackPending: uint64(ci.NumAckPending),
				redelivered: uint64(ci.NumRedelivered), waiting: uint64(ci.NumWaiting), floor: ci.AckFloor.Stream}
			if ci.Delivered.Last != nil {
				c.lastActive = *ci.Delivered.Last
			}
			consumers = append(consumers, c)
		}
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "CONSUMER\tSTREAM\tPENDING (LAG)\tACK PENDING\tREDELIVERED\tWAITING PULLS\tACK FLOOR\tLAST DELIVERY")
	for _, c := range consumers {
		last := "-"
		if !c.lastActive.IsZero() {
			last = c.lastActive.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", c.name, c.stream, c.pending, c.ackPending, c.redelivered, c.waiting, c.floor, last)
	}
	return tw.Flush()
}
