package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/praxis-adapter/praxis-adapter/adapter/ledger"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// runReview lists what the ledger would not book on its own and sends an
// operator's decision on a held movement.
func runReview(ctx context.Context, env *Env, args []string) error {
	usage := "review list [flags]     held movements not yet resolved, and suspect notifications\n" +
		"review resolve [flags]  decide a held movement: -anchor -ref -action book|dismiss [-amount] -by -why\n" +
		"review recheck [flags]  have the ledger look a suspect notification up again: -seq <event_seq>"
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, usage)
	}
	switch args[0] {
	case "list":
		return reviewList(ctx, env, args[1:])
	case "resolve":
		return reviewResolve(ctx, env, args[1:])
	case "recheck":
		return reviewRecheck(ctx, env, args[1:])
	}
	return fmt.Errorf("%w: unknown review command %q\n%s", errUsage, args[0], usage)
}

// reviewRecords reads the review records of app (all applications: "")
// stored on PRAXIS_REVIEW, oldest first.
func reviewRecords(ctx context.Context, js jetstream.JetStream, app, kind string) ([]ledger.Review, error) {
	filter := subjects.AllReview
	if app != "" {
		filter = subjects.Root + ".review." + subjects.Token(app) + ".>"
	}
	if kind != "" {
		filter = strings.TrimSuffix(filter, ">") + kind
		if app == "" {
			filter = subjects.Root + ".review.*." + kind
		}
	}
	st, err := js.Stream(ctx, subjects.StreamReview)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", subjects.StreamReview, err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, err
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	if n == 0 {
		return nil, nil
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return nil, err
	}
	batch, err := cons.Fetch(int(n), jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		return nil, err
	}
	var out []ledger.Review
	for m := range batch.Messages() {
		var r ledger.Review
		if json.Unmarshal(m.Data(), &r) == nil {
			out = append(out, r)
		}
	}
	return out, batch.Error()
}

func reviewList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "review list", "[flags]\n\nPrints held movements no decision has resolved yet, then suspect notifications, as JSON lines.")
	nf := addNATSFlags(fs)
	app := fs.String("app", "", "only this application (default: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	nc, js, err := nf.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	recs, err := reviewRecords(ctx, js, *app, "")
	if err != nil {
		return err
	}
	resolved := map[string]bool{}
	for _, r := range recs {
		if r.Kind == subjects.ReviewResolved && r.Outcome == ledger.DecisionApplied {
			resolved[r.Application+"/"+strconv.FormatInt(r.Anchor, 10)+"/"+r.Ref] = true
		}
	}
	for _, kind := range []string{subjects.ReviewHeld, subjects.ReviewSuspect} {
		for _, r := range recs {
			if r.Kind != kind || resolved[r.Application+"/"+strconv.FormatInt(r.Anchor, 10)+"/"+r.Ref] {
				continue
			}
			line, _ := json.Marshal(r)
			fmt.Fprintln(env.Stdout, string(line))
		}
	}
	return nil
}

func reviewResolve(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "review resolve", "[flags]\n\nSends a decision on a held movement (see `review list`) and waits for its audit record.\n"+
		"book publishes the instruction the hold proposes (at -amount if given); dismiss books nothing.")
	nf := addNATSFlags(fs)
	app := fs.String("app", "sandbox", "application name")
	anchor := fs.Int64("anchor", 0, "the hold's anchor tid (its record's anchor)")
	ref := fs.String("ref", "", "the hold's ref (its record's ref, e.g. hold:payout_error)")
	action := fs.String("action", "", "book or dismiss")
	amount := fs.Int64("amount", 0, "book this amount (minor units) instead of the proposed one")
	by := fs.String("by", "", "who decides (recorded in the audit trail)")
	why := fs.String("why", "", "why (recorded in the audit trail)")
	id := fs.String("id", "", "decision id (default: a new one); the same id is one decision")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the audit record")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		*id = "op-" + hex.EncodeToString(b[:])
	}
	d := ledger.Decision{ID: *id, Anchor: *anchor, Ref: *ref, Action: *action, By: *by, Why: *why}
	if *amount != 0 {
		d.Amount = amount
	}
	if _, err := ledger.DecodeDecision(mustJSON(d)); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	nc, js, err := nf.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := ledger.PublishDecision(ctx, js, *app, d); err != nil {
		return err
	}
	subject := subjects.Review(*app, subjects.ReviewResolve)
	fmt.Fprintf(env.Stderr, "sent decision %s on %s; waiting for its audit record...\n", d.ID, subject)
	wctx, wcancel := context.WithTimeout(ctx, *timeout)
	defer wcancel()
	for {
		recs, err := reviewRecords(wctx, js, *app, subjects.ReviewResolved)
		if err != nil && wctx.Err() == nil {
			return err
		}
		for _, r := range recs {
			if r.ID != ledger.AuditID(d.ID) {
				continue
			}
			line, _ := json.Marshal(r)
			fmt.Fprintln(env.Stdout, string(line))
			if r.Outcome != ledger.DecisionApplied {
				return fmt.Errorf("decision refused: %s", r.Error)
			}
			return nil
		}
		select {
		case <-wctx.Done():
			return errors.New("no audit record within the timeout (is a ledger running?)")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// reviewRecheck re-publishes a stored event (a suspect's event_seq) byte for
// byte under a new Nats-Msg-Id, so the ledger confirms it with Praxis again:
// for a genuine notification Praxis' lookup confirmed only after the
// horizon. The CloudEvents id is unchanged, so consumers that deduplicate
// by id see nothing new, and the ledger books nothing twice.
func reviewRecheck(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "review recheck", "[flags]\n\nRe-publishes the event of a suspect record (its event_seq in "+subjects.StreamEvents+") for the ledger to look up again.")
	nf := addNATSFlags(fs)
	seq := fs.Uint64("seq", 0, "the suspect record's event_seq")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *seq == 0 {
		return fmt.Errorf("%w: -seq is required (the suspect record's event_seq)", errUsage)
	}
	nc, js, err := nf.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	st, err := js.Stream(ctx, subjects.StreamEvents)
	if err != nil {
		return err
	}
	m, err := st.GetMsg(ctx, *seq)
	if err != nil {
		return fmt.Errorf("event %d: %w", *seq, err)
	}
	msg := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: nats.Header{}}
	for k, v := range m.Header {
		msg.Header[k] = v
	}
	msg.Header.Set(jetstream.MsgIDHeader, m.Header.Get(jetstream.MsgIDHeader)+":recheck:"+strconv.FormatInt(time.Now().UnixNano(), 10))
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ack, err := js.PublishMsg(pctx, msg, jetstream.WithExpectStream(subjects.StreamEvents))
	if err != nil {
		return fmt.Errorf("publish %s: %w", msg.Subject, err)
	}
	fmt.Fprintf(env.Stdout, "re-published event %d as %d on %s\n", *seq, ack.Sequence, msg.Subject)
	return nil
}

// mustJSON encodes v, which is always encodable (a struct of plain fields).
func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
