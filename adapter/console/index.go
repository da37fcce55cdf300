package console

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/praxis-adapter/praxis-adapter/adapter/deadletter"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Ref points at one message from the index: where it is, when it was
// stored, and what the indexer extracted from it. Stream and Seq are empty
// for commands (PRAXIS_COMMANDS is a work queue: acknowledged commands are
// gone, so the timeline keeps only their key fields).
type Ref struct {
	ID      string            `json:"id"`
	Stream  string            `json:"s,omitempty"`
	Seq     uint64            `json:"q,omitempty"`
	Subject string            `json:"subj"`
	Time    time.Time         `json:"t"`
	Family  string            `json:"f"`
	Label   string            `json:"l,omitempty"`
	Keys    []Key             `json:"k,omitempty"`
	Fields  map[string]string `json:"d,omitempty"`
}

// IndexConfig bounds the index.
type IndexConfig struct {
	// Retention is the bucket's MaxAge and the age past which refs are
	// dropped from a key's list.
	Retention time.Duration
	// MaxRefs bounds the refs kept per key (oldest dropped first).
	MaxRefs int
	// Replicas of the bucket.
	Replicas int
	// Memory keeps the bucket in memory (tests).
	Memory bool
	// Extractors by subject prefix; nil: DefaultExtractors.
	Extractors map[string]Extractor
}

// Index is the timeline's index: a JetStream key-value bucket mapping
// "<kind>.<value>" to the refs of the messages carrying that key.
type Index struct {
	cfg IndexConfig
	kv  jetstream.KeyValue
	js  jetstream.JetStream
	nc  *nats.Conn
	log zerolog.Logger
}

// NewIndex creates (or opens) the bucket.
func NewIndex(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, cfg IndexConfig, log zerolog.Logger) (*Index, error) {
	if cfg.Extractors == nil {
		cfg.Extractors = DefaultExtractors()
	}
	if cfg.MaxRefs <= 0 {
		cfg.MaxRefs = 200
	}
	storage := jetstream.FileStorage
	if cfg.Memory {
		storage = jetstream.MemoryStorage
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      subjects.BucketConsoleIndex,
		Description: "Operator console: timeline search key -> message references",
		TTL:         cfg.Retention,
		Storage:     storage,
		Replicas:    max(cfg.Replicas, 1),
		History:     1,
	})
	if err != nil {
		return nil, fmt.Errorf("console index bucket %s: %w", subjects.BucketConsoleIndex, err)
	}
	return &Index{cfg: cfg, kv: kv, js: js, nc: nc, log: log}, nil
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_=-]{1,120}$`)

// kvKey is the bucket key of a search key: "<kind>.<value>", the value
// base64url-encoded (prefix "b64.") when it has characters keys forbid.
func kvKey(k Key) string {
	if plainKey.MatchString(k.Value) {
		return k.Kind + "." + k.Value
	}
	return k.Kind + ".b64." + base64.RawURLEncoding.EncodeToString([]byte(k.Value))
}

// pointer is one entry of a key's list: the ref's id and time. Lists hold
// pointers, not refs, so rewriting a busy key's list stays cheap; each
// ref is stored once, under refKey.
type pointer struct {
	ID   string    `json:"id"`
	Time time.Time `json:"t"`
}

// refKey is the bucket key of a ref's own record.
func refKey(id string) string { return "ref." + base64.RawURLEncoding.EncodeToString([]byte(id)) }

// Add records ref, and a pointer to it under each of its keys,
// idempotently (a ref already listed is not listed twice), keeping each
// list bounded and fresh.
func (ix *Index) Add(ctx context.Context, ref Ref) error {
	raw, err := json.Marshal(ref)
	if err != nil {
		return err
	}
	if _, err := ix.kv.Put(ctx, refKey(ref.ID), raw); err != nil {
		return fmt.Errorf("index put: %w", err)
	}
	for _, k := range ref.Keys {
		if err := ix.addOne(ctx, kvKey(k), pointer{ID: ref.ID, Time: ref.Time}); err != nil {
			return err
		}
	}
	return nil
}

func (ix *Index) addOne(ctx context.Context, key string, ref pointer) error {
	for attempt := 0; attempt < 8; attempt++ {
		var refs []pointer
		var rev uint64
		e, err := ix.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return fmt.Errorf("index get: %w", err)
		default:
			rev = e.Revision()
			if err := json.Unmarshal(e.Value(), &refs); err != nil {
				refs = nil // an unreadable list is rebuilt from here on
			}
		}
		for _, r := range refs {
			if r.ID == ref.ID {
				return nil
			}
		}
		refs = ix.bound(append(refs, ref))
		raw, err := json.Marshal(refs)
		if err != nil {
			return err
		}
		if rev == 0 {
			_, err = ix.kv.Create(ctx, key, raw)
		} else {
			_, err = ix.kv.Update(ctx, key, raw, rev)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return fmt.Errorf("index put: %w", err)
		}
	}
	return errors.New("index put: too much contention on one key")
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// bound sorts refs by time and keeps the newest MaxRefs within retention.
func (ix *Index) bound(refs []pointer) []pointer {
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].Time.Before(refs[j].Time) })
	if ix.cfg.Retention > 0 {
		cut := time.Now().Add(-ix.cfg.Retention)
		i := sort.Search(len(refs), func(i int) bool { return !refs[i].Time.Before(cut) })
		refs = refs[i:]
	}
	if len(refs) > ix.cfg.MaxRefs {
		refs = refs[len(refs)-ix.cfg.MaxRefs:]
	}
	return refs
}

// Lookup returns the refs under one key, oldest first (refs whose record
// has expired are left out).
func (ix *Index) Lookup(ctx context.Context, k Key) ([]Ref, error) {
	return ix.lookup(ctx, k, nil)
}

// lookup is Lookup without the refs whose ids are in skip.
func (ix *Index) lookup(ctx context.Context, k Key, skip map[string]bool) ([]Ref, error) {
	e, err := ix.kv.Get(ctx, kvKey(k))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ptrs []pointer
	if err := json.Unmarshal(e.Value(), &ptrs); err != nil {
		return nil, fmt.Errorf("index entry %s: %w", kvKey(k), err)
	}
	refs := make([]Ref, 0, len(ptrs))
	for _, p := range ptrs {
		if skip[p.ID] {
			continue
		}
		re, err := ix.kv.Get(ctx, refKey(p.ID))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var r Ref
		if json.Unmarshal(re.Value(), &r) == nil {
			refs = append(refs, r)
		}
	}
	return refs, nil
}

// maxTimelineRefs bounds the messages one timeline shows.
const maxTimelineRefs = 1000

// Timeline is the story around a query: every ref found under the query
// (tried as a tid, order id, cid and command id), followed through the
// keys those messages carry (tid, order, command id: not cid, which would
// pull in a customer's every order) up to maxKeys lookups, in time order.
// The keys returned are those that found something.
func (ix *Index) Timeline(ctx context.Context, query string, maxKeys int) ([]Ref, []Key, error) {
	var queue []Key
	for _, kind := range []string{KeyTID, KeyOrder, KeyCommand, KeyCID} {
		queue = append(queue, Key{kind, query})
	}
	seenKey := map[Key]bool{}
	seenRef := map[string]bool{}
	var out []Ref
	var looked []Key
	lookups := 0
	for len(queue) > 0 && lookups < maxKeys && len(out) < maxTimelineRefs {
		k := queue[0]
		queue = queue[1:]
		if seenKey[k] {
			continue
		}
		seenKey[k] = true
		refs, err := ix.lookup(ctx, k, seenRef)
		if err != nil {
			return nil, nil, err
		}
		if len(refs) > 0 {
			looked = append(looked, k)
		}
		lookups++
		for _, r := range refs {
			if seenRef[r.ID] {
				continue
			}
			seenRef[r.ID] = true
			out = append(out, r)
			for _, rk := range r.Keys {
				if rk.Kind != KeyCID && !seenKey[rk] {
					queue = append(queue, rk)
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].Seq < out[j].Seq
	})
	return out, looked, nil
}

// refOf builds the ref of a stream message.
func (ix *Index) refOf(stream string, seq uint64, subject string, at time.Time, h nats.Header, body []byte) Ref {
	x := extract(ix.cfg.Extractors, subject, h, body)
	return Ref{ID: stream + ":" + strconv.FormatUint(seq, 10), Stream: stream, Seq: seq, Subject: subject, Time: at.UTC(),
		Family: x.Family, Label: x.Label, Keys: x.Keys, Fields: x.Fields}
}

// Run indexes until ctx ends (Start, then wait).
func (ix *Index) Run(ctx context.Context) error {
	stop, err := ix.Start(ctx)
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop()
	return nil
}

// Start begins indexing, and returns once every subscription is in place
// (so a command published right after start is indexed): a durable
// consumer on each indexed stream (shared by every replica, so each
// message is indexed once) and a queue subscription on the command
// subjects. ctx bounds the indexing; stop ends it.
func (ix *Index) Start(ctx context.Context) (stop func(), err error) {
	var stops []func()
	stopAll := func() {
		for _, s := range stops {
			s()
		}
	}
	defer func() {
		if err != nil {
			stopAll()
		}
	}()
	// Every provider's commands: they share the work-queue stream, which
	// admits no other consumer on their subjects.
	const allCommands = "*.commands.>"
	sub, err := ix.nc.QueueSubscribe(allCommands, subjects.ConsumerConsoleIndex, func(m *nats.Msg) {
		x := extract(ix.cfg.Extractors, m.Subject, m.Header, m.Data)
		id := "cmd:" + m.Subject + ":" + keyValue(x.Keys, KeyCommand) + ":" + m.Header.Get(deadletter.HeaderReplayedFrom)
		ref := Ref{ID: id, Subject: m.Subject, Time: time.Now().UTC(), Family: x.Family, Label: x.Label, Keys: x.Keys, Fields: x.Fields}
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := ix.Add(actx, ref); err != nil && ctx.Err() == nil {
			ix.log.Warn().Err(err).Str("subject", m.Subject).Msg("console index: command not indexed")
		}
	})
	if err != nil {
		return nil, fmt.Errorf("console index subscribe %s: %w", allCommands, err)
	}
	stops = append(stops, func() { _ = sub.Unsubscribe() })
	if err := ix.nc.FlushTimeout(5 * time.Second); err != nil {
		return nil, fmt.Errorf("console index subscribe %s: %w", allCommands, err)
	}
	for _, name := range subjects.IndexedStreams() {
		stream, err := ix.js.Stream(ctx, name)
		if err != nil {
			ix.log.Warn().Err(err).Str("stream", name).Msg("console index: stream not indexed")
			continue
		}
		cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
			Durable: subjects.ConsumerConsoleIndex, Description: "operator console: timeline index",
			AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
			AckWait: 30 * time.Second, MaxAckPending: 512,
		})
		if err != nil {
			return nil, fmt.Errorf("console index consumer on %s: %w", name, err)
		}
		// One message at a time per stream: concurrent writers of the
		// same hot key (a busy customer's cid) only retry each other.
		cc, err := cons.Consume(func(m jetstream.Msg) { ix.handle(ctx, name, m) })
		if err != nil {
			return nil, fmt.Errorf("console index consume %s: %w", name, err)
		}
		stops = append(stops, cc.Stop)
	}
	return stopAll, nil
}

func (ix *Index) handle(ctx context.Context, stream string, m jetstream.Msg) {
	meta, err := m.Metadata()
	if err != nil {
		_ = m.Term()
		return
	}
	ref := ix.refOf(stream, meta.Sequence.Stream, m.Subject(), meta.Timestamp, m.Headers(), m.Data())
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := ix.Add(actx, ref); err != nil {
		if ctx.Err() == nil {
			ix.log.Warn().Err(err).Str("stream", stream).Uint64("seq", meta.Sequence.Stream).Msg("console index: retrying")
		}
		_ = m.NakWithDelay(time.Second)
		return
	}
	_ = m.Ack()
}

func keyValue(keys []Key, kind string) string {
	for _, k := range keys {
		if k.Kind == kind {
			return k.Value
		}
	}
	return ""
}
