package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// streamRow is one stream in `streams` output; its JSON names are part of
// the CLI's script contract (-o json).
type streamRow struct {
	Name     string    `json:"name"`
	Missing  string    `json:"missing,omitempty"`
	Messages uint64    `json:"messages"`
	Bytes    uint64    `json:"bytes"`
	FirstSeq uint64    `json:"first_seq"`
	LastSeq  uint64    `json:"last_seq"`
	LastAt   time.Time `json:"last_at"`
	Replicas int       `json:"replicas"`
}

// consumerRow is one consumer in `streams` output.
type consumerRow struct {
	Name         string     `json:"name"`
	Stream       string     `json:"stream"`
	Pending      uint64     `json:"pending"`
	AckPending   uint64     `json:"ack_pending"`
	Redelivered  uint64     `json:"redelivered"`
	Waiting      uint64     `json:"waiting_pulls"`
	AckFloor     uint64     `json:"ack_floor"`
	LastDelivery *time.Time `json:"last_delivery,omitempty"`
}

func runStreams(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "streams", "[flags]\n\nShows every praxis stream and its consumers: messages, pending, redeliveries, lag.")
	nf := addNATSFlags(fs)
	output := addOutputFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	nc, js, err := nf.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	streams := []streamRow{}
	consumers := []consumerRow{}
	for _, name := range []string{subjects.StreamEvents, subjects.StreamCommands, subjects.StreamResults, subjects.StreamDLQ, subjects.StreamLedger, subjects.StreamReview} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			streams = append(streams, streamRow{Name: name, Missing: err.Error()})
			continue
		}
		info, err := s.Info(ctx)
		if err != nil {
			return err
		}
		st := info.State
		streams = append(streams, streamRow{Name: name, Messages: st.Msgs, Bytes: st.Bytes, FirstSeq: st.FirstSeq,
			LastSeq: st.LastSeq, LastAt: st.LastTime.UTC(), Replicas: info.Config.Replicas})
		lister := s.ListConsumers(ctx)
		for ci := range lister.Info() {
			c := consumerRow{Name: ci.Name, Stream: name, Pending: ci.NumPending, AckPending: uint64(ci.NumAckPending),
				Redelivered: uint64(ci.NumRedelivered), Waiting: uint64(ci.NumWaiting), AckFloor: ci.AckFloor.Stream}
			if ci.Delivered.Last != nil {
				t := ci.Delivered.Last.UTC()
				c.LastDelivery = &t
			}
			consumers = append(consumers, c)
		}
	}
	if *output == outputJSON {
		return writeJSON(env, map[string]any{"streams": streams, "consumers": consumers})
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tMESSAGES\tBYTES\tFIRST\tLAST\tLAST AT\tREPLICAS")
	for _, s := range streams {
		if s.Missing != "" {
			fmt.Fprintf(tw, "%s\t(missing: %s)\n", s.Name, s.Missing)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%d\n", s.Name, s.Messages, s.Bytes, s.FirstSeq, s.LastSeq,
			s.LastAt.Format(time.RFC3339), s.Replicas)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "CONSUMER\tSTREAM\tPENDING (LAG)\tACK PENDING\tREDELIVERED\tWAITING PULLS\tACK FLOOR\tLAST DELIVERY")
	for _, c := range consumers {
		last := "-"
		if c.LastDelivery != nil {
			last = c.LastDelivery.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", c.Name, c.Stream, c.Pending, c.AckPending, c.Redelivered, c.Waiting, c.AckFloor, last)
	}
	return tw.Flush()
}
