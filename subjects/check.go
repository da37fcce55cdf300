package subjects

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// VerifyStreams checks, without changing anything, that every stream
// exists with settings compatible with c (nats.streams.manage: false). The
// error names each stream and each setting that differs, with the value
// found and the value the adapter needs.
func VerifyStreams(ctx context.Context, js jetstream.JetStream, c StreamsConfig) error {
	var problems []string
	for _, want := range Streams(c) {
		s, err := js.Stream(ctx, want.Name)
		if err != nil {
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				problems = append(problems, fmt.Sprintf("stream %s does not exist (create it, or set nats.streams.manage: true)", want.Name))
				continue
			}
			return fmt.Errorf("check stream %s: %w", want.Name, err)
		}
		for _, d := range DiffStream(want, s.CachedInfo().Config) {
			problems = append(problems, "stream "+want.Name+": "+d)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("nats.streams.manage is false and the streams differ from this configuration:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// DiffStream lists how have differs from what the adapter needs (want), one
// line per setting. A longer duplicate window is compatible; everything
// else the adapter sets must match, so the documented guarantees (work
// queue, refusing new commands when full, replicas) hold.
func DiffStream(want, have jetstream.StreamConfig) []string {
	var out []string
	diff := func(name string, w, h any) {
		if w != h {
			out = append(out, fmt.Sprintf("%s is %v, this configuration needs %v", name, h, w))
		}
	}
	for _, subj := range want.Subjects {
		if !slices.Contains(have.Subjects, subj) {
			out = append(out, fmt.Sprintf("subjects %v do not include %s", have.Subjects, subj))
		}
	}
	diff("retention", want.Retention, have.Retention)
	diff("storage", want.Storage, have.Storage)
	diff("discard", want.Discard, have.Discard)
	diff("replicas (nats.streams.replicas)", want.Replicas, have.Replicas)
	diff("max_age", want.MaxAge, have.MaxAge)
	// 0 and -1 both mean "no limit" (the server stores -1 for 0).
	unlimited := func(n int64) int64 {
		if n <= 0 {
			return -1
		}
		return n
	}
	diff("max_bytes", unlimited(want.MaxBytes), unlimited(have.MaxBytes))
	diff("max_msgs", unlimited(want.MaxMsgs), unlimited(have.MaxMsgs))
	if have.Duplicates < want.Duplicates {
		out = append(out, fmt.Sprintf("duplicate_window is %v, this configuration needs at least %v", have.Duplicates, want.Duplicates))
	}
	return out
}

// DiffConsumer lists how a durable consumer differs from what a role
// needs: the settings that decide delivery (filter, acks, redeliveries).
func DiffConsumer(want, have jetstream.ConsumerConfig) []string {
	var out []string
	diff := func(name string, w, h any) {
		if w != h {
			out = append(out, fmt.Sprintf("%s is %v, this configuration needs %v", name, h, w))
		}
	}
	haveFilter := have.FilterSubject
	if haveFilter == "" && len(have.FilterSubjects) == 1 {
		haveFilter = have.FilterSubjects[0]
	}
	diff("filter_subject", want.FilterSubject, haveFilter)
	diff("ack_policy", want.AckPolicy, have.AckPolicy)
	diff("deliver_policy", want.DeliverPolicy, have.DeliverPolicy)
	diff("ack_wait", want.AckWait, have.AckWait)
	diff("max_deliver", want.MaxDeliver, have.MaxDeliver)
	if have.MaxAckPending < want.MaxAckPending {
		out = append(out, fmt.Sprintf("max_ack_pending is %d, this configuration needs at least %d", have.MaxAckPending, want.MaxAckPending))
	}
	return out
}

// CheckingJetStream is a JetStream handle for roles whose account may not
// manage consumers (nats.streams.manage: false): CreateOrUpdateConsumer
// only looks the durable consumer up and reports every difference from the
// configuration the role asked for; everything else is passed through.
type CheckingJetStream struct {
	jetstream.JetStream
}

// CreateOrUpdateConsumer returns the existing consumer when it is
// compatible with cfg, and an error naming each difference otherwise.
func (j CheckingJetStream) CreateOrUpdateConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	name := cfg.Durable
	if name == "" {
		name = cfg.Name
	}
	c, err := j.JetStream.Consumer(ctx, stream, name)
	if err != nil {
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("consumer %s on stream %s does not exist (create it, or set nats.streams.manage: true)", name, stream)
		}
		return nil, fmt.Errorf("check consumer %s on stream %s: %w", name, stream, err)
	}
	if d := DiffConsumer(cfg, c.CachedInfo().Config); len(d) > 0 {
		return nil, fmt.Errorf("nats.streams.manage is false and consumer %s on stream %s differs:\n  %s", name, stream, strings.Join(d, "\n  "))
	}
	return c, nil
}

// CreateOrUpdateKeyValue returns the existing bucket when its replicas and
// TTL match cfg, and an error naming each difference otherwise.
func (j CheckingJetStream) CreateOrUpdateKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := j.JetStream.KeyValue(ctx, cfg.Bucket)
	if err != nil {
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			return nil, fmt.Errorf("key-value bucket %s does not exist (create it, or set nats.streams.manage: true)", cfg.Bucket)
		}
		return nil, fmt.Errorf("check key-value bucket %s: %w", cfg.Bucket, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("check key-value bucket %s: %w", cfg.Bucket, err)
	}
	var d []string
	if js, ok := st.(*jetstream.KeyValueBucketStatus); ok {
		if have, want := js.StreamInfo().Config.Replicas, max(cfg.Replicas, 1); have != want {
			d = append(d, fmt.Sprintf("replicas is %d, this configuration needs %d", have, want))
		}
	}
	if st.TTL() != cfg.TTL {
		d = append(d, fmt.Sprintf("ttl is %v, this configuration needs %v", st.TTL(), cfg.TTL))
	}
	if len(d) > 0 {
		return nil, fmt.Errorf("nats.streams.manage is false and key-value bucket %s differs:\n  %s", cfg.Bucket, strings.Join(d, "\n  "))
	}
	return kv, nil
}
