package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/praxis-adapter/praxis-adapter/adapter/deadletter"
	"github.com/praxis-adapter/praxis-adapter/adapter/worker"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// maxTimelineKeys bounds the index lookups of one timeline search.
const maxTimelineKeys = 40

// maxList bounds the messages one list page reads.
const maxList = 500

// readerIdle lets the server drop a page's one-shot reader soon after use.
const readerIdle = 5 * time.Second

type timelineData struct {
	Query   string
	Entries []Ref
	Looked  []Key
}

func (c *Console) timeline(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := timelineData{Query: q}
	if len(q) > 200 {
		c.fail(w, r, http.StatusBadRequest, "timeline", errors.New("search for one tid, order id, cid or command id (at most 200 characters)"))
		return
	}
	if q != "" {
		refs, looked, err := c.index.Timeline(r.Context(), q, maxTimelineKeys)
		if err != nil {
			c.fail(w, r, http.StatusServiceUnavailable, "timeline", fmt.Errorf("timeline index: %w", err))
			return
		}
		d.Entries, d.Looked = refs, looked
	}
	c.render(w, r, http.StatusOK, "timeline", "timeline", "Transaction timeline", d, "", "")
}

type streamRow struct {
	Name                     string
	Msgs, Bytes, First, Last uint64
	LastTime                 time.Time
	Replicas                 int
	Missing                  string
}

type consumerRow struct {
	Stream, Name                              string
	Pending, AckPending, Redelivered, Waiting uint64
	AckFloor                                  uint64
	LastDelivery                              time.Time
	Lagging                                   bool
	// Ephemeral marks a short-lived reader (tail, a console page, the CLI).
	Ephemeral bool
}

func (c *Console) streams(w http.ResponseWriter, r *http.Request) {
	var rows []streamRow
	var cons []consumerRow
	names := []string{subjects.StreamEvents, subjects.StreamCommands, subjects.StreamResults, subjects.StreamDLQ, subjects.StreamLedger, subjects.StreamAudit}
	for _, name := range names {
		s, err := c.deps.JS.Stream(r.Context(), name)
		if err != nil {
			rows = append(rows, streamRow{Name: name, Missing: err.Error()})
			continue
		}
		info, err := s.Info(r.Context())
		if err != nil {
			rows = append(rows, streamRow{Name: name, Missing: err.Error()})
			continue
		}
		st := info.State
		rows = append(rows, streamRow{Name: name, Msgs: st.Msgs, Bytes: st.Bytes, First: st.FirstSeq, Last: st.LastSeq,
			LastTime: st.LastTime, Replicas: info.Config.Replicas})
		lister := s.ListConsumers(r.Context())
		for ci := range lister.Info() {
			row := consumerRow{Stream: name, Name: ci.Name, Pending: ci.NumPending, AckPending: uint64(ci.NumAckPending),
				Redelivered: uint64(ci.NumRedelivered), Waiting: uint64(ci.NumWaiting), AckFloor: ci.AckFloor.Stream,
				Ephemeral: ci.Config.Durable == ""}
			if ci.Delivered.Last != nil {
				row.LastDelivery = *ci.Delivered.Last
			}
			row.Lagging = row.Pending+row.AckPending > 100 || row.Redelivered > 0
			cons = append(cons, row)
		}
		if err := lister.Err(); err != nil {
			c.fail(w, r, http.StatusServiceUnavailable, "streams", fmt.Errorf("consumers of %s: %w", name, err))
			return
		}
	}
	sort.Slice(cons, func(i, j int) bool {
		if cons[i].Ephemeral != cons[j].Ephemeral {
			return !cons[i].Ephemeral
		}
		return cons[i].Stream+cons[i].Name < cons[j].Stream+cons[j].Name
	})
	c.render(w, r, http.StatusOK, "streams", "streams", "Streams and consumers", struct {
		Streams   []streamRow
		Consumers []consumerRow
	}{rows, cons}, "", "")
}

// deadLetter is one row of the dead-letter list.
type deadLetter struct {
	Seq        uint64
	Time       time.Time
	Subject    string
	Command    string
	App        string
	CommandID  string
	Outcome    string
	Reason     string
	Attempts   string
	Deliveries string
}

type reasonCount struct {
	Reason string
	Count  int
}

type dlqFilter struct {
	Reason, Outcome, Command, App string
}

func (f dlqFilter) match(d deadLetter) bool {
	return (f.Reason == "" || strings.Contains(strings.ToLower(d.Reason), strings.ToLower(f.Reason))) &&
		(f.Outcome == "" || d.Outcome == f.Outcome) && (f.Command == "" || d.Command == f.Command) &&
		(f.App == "" || d.App == f.App)
}

// reasonClass shortens a reason to its kind (the text before the first
// colon), so similar dead letters group together.
func reasonClass(reason string) string {
	if i := strings.IndexAny(reason, ":("); i > 0 {
		reason = reason[:i]
	}
	reason = strings.TrimSpace(reason)
	if len(reason) > 60 {
		reason = reason[:60]
	}
	return reason
}

// readDeadLetters returns up to maxList dead letters, newest first, with
// the counts of their reason classes.
func (c *Console) readDeadLetters(ctx context.Context) ([]deadLetter, error) {
	stream, err := c.deps.JS.Stream(ctx, subjects.StreamDLQ)
	if err != nil {
		return nil, err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info.State.Msgs == 0 {
		return nil, nil
	}
	start := uint64(1)
	if info.State.LastSeq > maxList {
		start = info.State.LastSeq - maxList + 1
	}
	start = max(start, info.State.FirstSeq)
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start,
		InactiveThreshold: readerIdle})
	if err != nil {
		return nil, err
	}
	batch, err := cons.FetchNoWait(maxList)
	if err != nil {
		return nil, err
	}
	var out []deadLetter
	for m := range batch.Messages() {
		meta, err := m.Metadata()
		if err != nil {
			continue
		}
		out = append(out, deadLetterOf(meta.Sequence.Stream, meta.Timestamp, m.Subject(), m.Headers()))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq > out[j].Seq })
	return out, batch.Error()
}

func deadLetterOf(seq uint64, at time.Time, subject string, h nats.Header) deadLetter {
	app, name, _ := subjects.ParseDeadLetter(subject)
	return deadLetter{Seq: seq, Time: at, Subject: subject, App: app, Command: name, CommandID: h.Get(worker.HeaderDLQCommandID),
		Outcome: h.Get(worker.HeaderDLQOutcome), Reason: h.Get(worker.HeaderDLQReason),
		Attempts: h.Get(worker.HeaderDLQAttempts), Deliveries: h.Get(worker.HeaderDLQDeliveries)}
}

type dlqData struct {
	Filter  dlqFilter
	Letters []deadLetter
	Total   int
	Reasons []reasonCount
}

func (c *Console) dlqList(w http.ResponseWriter, r *http.Request) {
	c.renderDLQ(w, r, http.StatusOK, "", "")
}

func (c *Console) renderDLQ(w http.ResponseWriter, r *http.Request, status int, flash, errMsg string) {
	q := r.URL.Query()
	f := dlqFilter{Reason: q.Get("reason"), Outcome: q.Get("outcome"), Command: q.Get("command"), App: q.Get("app")}
	all, err := c.readDeadLetters(r.Context())
	if err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, "dlq", fmt.Errorf("dead letters: %w", err))
		return
	}
	d := dlqData{Filter: f, Total: len(all)}
	counts := map[string]int{}
	for _, l := range all {
		counts[reasonClass(l.Reason)]++
		if f.match(l) {
			d.Letters = append(d.Letters, l)
		}
	}
	for k, n := range counts {
		d.Reasons = append(d.Reasons, reasonCount{k, n})
	}
	sort.Slice(d.Reasons, func(i, j int) bool {
		return d.Reasons[i].Count > d.Reasons[j].Count || d.Reasons[i].Count == d.Reasons[j].Count && d.Reasons[i].Reason < d.Reasons[j].Reason
	})
	c.render(w, r, status, "dlq", "dlq", "Dead letters", d, flash, errMsg)
}

// shownMessage is one message as a detail page shows it.
type shownMessage struct {
	Stream  string
	Seq     uint64
	Subject string
	Time    time.Time
	Headers [][2]string
	Ref     Ref
	Body    string // only for an operator; secrets masked
	Hidden  bool   // the body exists but is shown to operators only
	Letter  *deadLetter
}

func (c *Console) getMsg(ctx context.Context, stream string, seqText string) (*jetstream.RawStreamMsg, error) {
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%q is not a sequence number", seqText)
	}
	s, err := c.deps.JS.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	m, err := s.GetMsg(ctx, seq)
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, fmt.Errorf("message %d is no longer in %s (retention, or deleted after a replay)", seq, stream)
		}
		return nil, err
	}
	return m, nil
}

func (c *Console) show(r *http.Request, stream string, m *jetstream.RawStreamMsg) shownMessage {
	_, op := c.auth.who(r)
	sm := shownMessage{Stream: stream, Seq: m.Sequence, Subject: m.Subject, Time: m.Time,
		Ref: c.index.refOf(stream, m.Sequence, m.Subject, m.Time, m.Header, m.Data)}
	for k, vs := range m.Header {
		for _, v := range vs {
			if secretName(k) {
				v = "(masked)"
			}
			sm.Headers = append(sm.Headers, [2]string{k, v})
		}
	}
	sort.Slice(sm.Headers, func(i, j int) bool { return sm.Headers[i][0] < sm.Headers[j][0] })
	if op {
		sm.Body = redactedJSON(m.Data)
	} else {
		sm.Hidden = len(m.Data) > 0
	}
	return sm
}

func (c *Console) message(w http.ResponseWriter, r *http.Request) {
	stream := r.PathValue("stream")
	if !knownStream(stream, c.cfg.HeldStream) {
		c.fail(w, r, http.StatusNotFound, "timeline", fmt.Errorf("%q is not a stream the console shows", stream))
		return
	}
	m, err := c.getMsg(r.Context(), stream, r.PathValue("seq"))
	if err != nil {
		c.fail(w, r, http.StatusNotFound, "timeline", err)
		return
	}
	c.render(w, r, http.StatusOK, "message", "timeline", "Message "+stream+" #"+strconv.FormatUint(m.Sequence, 10), c.show(r, stream, m), "", "")
}

func knownStream(name, held string) bool {
	for _, s := range append(subjects.IndexedStreams(), held) {
		if s != "" && s == name {
			return true
		}
	}
	return false
}

func (c *Console) dlqShow(w http.ResponseWriter, r *http.Request) {
	m, err := c.getMsg(r.Context(), subjects.StreamDLQ, r.PathValue("seq"))
	if err != nil {
		c.fail(w, r, http.StatusNotFound, "dlq", err)
		return
	}
	sm := c.show(r, subjects.StreamDLQ, m)
	l := deadLetterOf(m.Sequence, m.Time, m.Subject, m.Header)
	sm.Letter = &l
	c.render(w, r, http.StatusOK, "message", "dlq", "Dead letter #"+strconv.FormatUint(m.Sequence, 10), sm, "", "")
}

// dlqReplay replays the selected dead letters: each is audited (who, what,
// why) before it is re-published, and the outcome is audited after.
func (c *Console) dlqReplay(w http.ResponseWriter, r *http.Request) {
	op, ok := c.auth.who(r)
	if !ok {
		c.fail(w, r, http.StatusUnauthorized, "dlq", errNotOperator)
		return
	}
	if err := r.ParseForm(); err != nil || !c.auth.postOK(r, op) {
		c.fail(w, r, http.StatusForbidden, "dlq", errors.New("the form is stale or came from another site; reload the page and try again"))
		return
	}
	why := strings.TrimSpace(r.PostForm.Get("why"))
	if why == "" {
		c.renderDLQ(w, r, http.StatusBadRequest, "", "say why you replay (it goes to the audit record)")
		return
	}
	seqs := r.PostForm["seq"]
	if len(seqs) == 0 {
		c.renderDLQ(w, r, http.StatusBadRequest, "", "select at least one dead letter")
		return
	}
	del := r.PostForm.Get("delete") == "on"
	var done, failed []string
	for _, s := range seqs {
		if err := c.replayOne(r.Context(), op, s, why, del); err != nil {
			failed = append(failed, fmt.Sprintf("#%s: %v", s, err))
			continue
		}
		done = append(done, "#"+s)
	}
	flash, errMsg := "", ""
	if len(done) > 0 {
		flash = fmt.Sprintf("replayed %d dead letter(s): %s", len(done), strings.Join(done, ", "))
	}
	if len(failed) > 0 {
		errMsg = "not replayed: " + strings.Join(failed, "; ")
	}
	status := http.StatusOK
	if len(done) == 0 {
		status = http.StatusBadGateway
	}
	c.renderDLQ(w, r, status, flash, errMsg)
}

func (c *Console) replayOne(ctx context.Context, op operator, seqText, why string, del bool) error {
	m, err := c.getMsg(ctx, subjects.StreamDLQ, seqText)
	if err != nil {
		return err
	}
	app, _, _ := subjects.ParseDeadLetter(m.Subject)
	rec := auditRecord{Who: op.Name, Action: "dlq.replay", Why: why, Outcome: "requested", Stream: subjects.StreamDLQ,
		Seq: m.Sequence, Subject: m.Subject, CommandID: m.Header.Get(worker.HeaderDLQCommandID)}
	if err := c.audit(ctx, app, rec); err != nil {
		return err
	}
	rp, err := deadletter.Replay(ctx, c.deps.JS, m)
	rec.Outcome, rec.Detail = "done", fmt.Sprintf("re-published to %s as command #%d", rp.Subject, rp.Sequence)
	if err != nil {
		rec.Outcome, rec.Detail = "failed", err.Error()
	} else if del {
		s, serr := c.deps.JS.Stream(ctx, subjects.StreamDLQ)
		if serr == nil {
			serr = s.DeleteMsg(ctx, m.Sequence)
		}
		if serr != nil && !errors.Is(serr, jetstream.ErrMsgNotFound) {
			rec.Detail += "; deleting the dead letter failed: " + serr.Error()
		} else {
			rec.Detail += "; dead letter deleted"
		}
	}
	if aerr := c.audit(ctx, app, rec); aerr != nil {
		c.deps.Log.Error().Err(aerr).Uint64("seq", m.Sequence).Msg("console: audit of a replay's outcome failed")
	}
	c.deps.Log.Info().Str("operator", op.Name).Uint64("seq", m.Sequence).Str("command_id", rec.CommandID).
		Str("outcome", rec.Outcome).Msg("console: dead letter replay")
	return err
}

type heldData struct {
	Configured bool
	Stream     string
	Subject    string
	CanResolve bool
	Records    []Ref
}

// held lists the records on the configured held subject (held ledger
// movements). The resolve action is offered only when Deps.Resolve is set.
func (c *Console) held(w http.ResponseWriter, r *http.Request) {
	d := heldData{Configured: c.cfg.HeldStream != "", Stream: c.cfg.HeldStream, Subject: c.cfg.HeldSubject, CanResolve: c.deps.Resolve != nil}
	if d.Configured {
		refs, err := c.readRefs(r.Context(), c.cfg.HeldStream, c.cfg.HeldSubject)
		if err != nil {
			c.fail(w, r, http.StatusServiceUnavailable, "held", err)
			return
		}
		d.Records = refs
	}
	c.render(w, r, http.StatusOK, "held", "held", "Held ledger movements", d, "", "")
}

func (c *Console) readRefs(ctx context.Context, stream, filter string) ([]Ref, error) {
	s, err := c.deps.JS.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy,
		InactiveThreshold: readerIdle})
	if err != nil {
		return nil, err
	}
	batch, err := cons.FetchNoWait(maxList)
	if err != nil {
		return nil, err
	}
	var out []Ref
	for m := range batch.Messages() {
		meta, err := m.Metadata()
		if err != nil {
			continue
		}
		out = append(out, c.index.refOf(stream, meta.Sequence.Stream, m.Subject(), meta.Timestamp, m.Headers(), m.Data()))
	}
	return out, batch.Error()
}

func (c *Console) heldResolve(w http.ResponseWriter, r *http.Request) {
	op, ok := c.auth.who(r)
	if !ok {
		c.fail(w, r, http.StatusUnauthorized, "held", errNotOperator)
		return
	}
	if err := r.ParseForm(); err != nil || !c.auth.postOK(r, op) {
		c.fail(w, r, http.StatusForbidden, "held", errors.New("the form is stale or came from another site; reload the page and try again"))
		return
	}
	if c.deps.Resolve == nil || c.cfg.HeldStream == "" {
		c.fail(w, r, http.StatusNotImplemented, "held", errors.New("resolving held movements is not wired in this build"))
		return
	}
	seq, err := strconv.ParseUint(r.PostForm.Get("seq"), 10, 64)
	why, decision := strings.TrimSpace(r.PostForm.Get("why")), r.PostForm.Get("decision")
	if err != nil || why == "" || decision == "" {
		c.fail(w, r, http.StatusBadRequest, "held", errors.New("a resolve needs the record, a decision and a reason"))
		return
	}
	app := "unknown"
	rec := auditRecord{Who: op.Name, Action: "held.resolve." + decision, Why: why, Outcome: "requested", Stream: c.cfg.HeldStream, Seq: seq}
	if m, err := c.getMsg(r.Context(), c.cfg.HeldStream, r.PostForm.Get("seq")); err == nil {
		rec.Subject = m.Subject
		if parts := strings.Split(m.Subject, "."); len(parts) > 2 {
			app = parts[2]
		}
	}
	if err := c.audit(r.Context(), app, rec); err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, "held", err)
		return
	}
	err = c.deps.Resolve(r.Context(), ResolveRequest{Stream: c.cfg.HeldStream, Seq: seq, Decision: decision, Who: op.Name, Why: why})
	rec.Outcome = "done"
	if err != nil {
		rec.Outcome, rec.Detail = "failed", err.Error()
	}
	_ = c.audit(r.Context(), app, rec)
	if err != nil {
		c.fail(w, r, http.StatusBadGateway, "held", err)
		return
	}
	http.Redirect(w, r, Prefix+"held", http.StatusSeeOther)
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "login", "login", "Operator login", nil, "", "")
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !c.auth.enabled() {
		c.render(w, r, http.StatusForbidden, "login", "login", "Operator login", nil, "", "no operator token is configured: the console is read-only (set console.token_env or console.token_file)")
		return
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		c.fail(w, r, http.StatusForbidden, "login", errors.New("log in from the console's own page"))
		return
	}
	if c.auth.limited() {
		c.deps.Log.Warn().Msg("console: operator login refused: too many failed attempts")
		c.render(w, r, http.StatusTooManyRequests, "login", "login", "Operator login", nil, "", "too many failed attempts; wait a minute")
		return
	}
	name := cleanName(r.PostFormValue("name"))
	if name == "" || !c.auth.tokenOK(r.PostFormValue("token")) {
		c.auth.failed()
		c.deps.Log.Warn().Msg("console: failed operator login")
		c.render(w, r, http.StatusUnauthorized, "login", "login", "Operator login", nil, "", "wrong operator token, or no name given")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: c.auth.newSession(name), Path: Prefix, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
		MaxAge: int(sessionTTL / time.Second)})
	c.deps.Log.Info().Str("operator", name).Msg("console: operator logged in")
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

// secretName reports a header or field name that may carry a credential.
func secretName(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"auth", "signature", "secret", "token", "password", "cookie", "cvv", "encrypted", "redirect_url"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// redactedJSON pretty-prints a body with every secret-looking field masked
// (auth and customer tokens, signatures, redirect URLs carrying tokens).
func redactedJSON(raw []byte) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "(not JSON: " + strconv.Itoa(len(raw)) + " bytes, not shown)"
	}
	var mask func(v any) any
	mask = func(v any) any {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				if secretName(k) {
					if c != nil {
						t[k] = "(masked)"
					}
					continue
				}
				t[k] = mask(c)
			}
		case []any:
			for i := range t {
				t[i] = mask(t[i])
			}
		}
		return v
	}
	out, err := json.MarshalIndent(mask(v), "", "  ")
	if err != nil {
		return "(unreadable)"
	}
	return string(out)
}
