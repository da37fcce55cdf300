package idempotency

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Defaults for KVConfig.
const (
	// DefaultKVBucket holds the claims.
	DefaultKVBucket = "praxis_idempotency"
	// DefaultKVRecordsBucket holds Records.
	DefaultKVRecordsBucket = "praxis_records"
	// DefaultKVMaxAge is how long the claims bucket keeps a key after its
	// last write: the longest done TTL the KV store accepts.
	DefaultKVMaxAge = 24 * time.Hour
)

// kvCASRounds bounds Claim's read-then-compare-and-set loop. Each failed
// round means another caller changed the key in between, so a few rounds
// settle any real contention; the bound turns a livelock into an error.
const kvCASRounds = 8

// KVConfig configures the JetStream key-value store.
type KVConfig struct {
	// Bucket holds the claims (default DefaultKVBucket).
	Bucket string
	// RecordsBucket holds Records (default DefaultKVRecordsBucket).
	RecordsBucket string
	// Storage is where the buckets live; the zero value is file storage,
	// which survives a restart (that is why this store exists).
	Storage jetstream.StorageType
	// Replicas per bucket (default 1; a clustered server may use 3).
	Replicas int
	// MaxAge is the claims bucket's MaxAge (default DefaultKVMaxAge): a key
	// disappears MaxAge after its last write. JetStream before 2.11 has no
	// per-message TTL, so it caps every TTL: Claim and Complete refuse a
	// longer claim or done TTL rather than silently keep a key for less.
	MaxAge time.Duration
	// RecordsMaxAge is the records bucket's MaxAge (default 0: none). A
	// record's own TTL is judged when it is read; this reclaims the space.
	RecordsMaxAge time.Duration
	// MaxBytes bounds each bucket (0 or -1: unlimited).
	MaxBytes int64
}

func (c *KVConfig) setDefaults() {
	if c.Bucket == "" {
		c.Bucket = DefaultKVBucket
	}
	if c.RecordsBucket == "" {
		c.RecordsBucket = DefaultKVRecordsBucket
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultKVMaxAge
	}
}

// Validate reports a configuration the store cannot run with.
func (c KVConfig) Validate() error {
	if c.Bucket == c.RecordsBucket {
		return fmt.Errorf("idempotency: KV Bucket and RecordsBucket are both %q; they must differ", c.Bucket)
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		return fmt.Errorf("idempotency: KV Replicas must be 1 to 5, got %d", c.Replicas)
	}
	if c.MaxAge < time.Millisecond {
		return fmt.Errorf("idempotency: KV MaxAge must be at least 1ms, got %v", c.MaxAge)
	}
	if c.RecordsMaxAge < 0 {
		return fmt.Errorf("idempotency: KV RecordsMaxAge must not be negative, got %v", c.RecordsMaxAge)
	}
	return nil
}

// KV is the single-process Store and Records, in JetStream key-value
// buckets of the embedded NATS server, so it survives a restart and needs
// nothing installed. Claims are compare-and-set writes on the key's
// revision; claim and done expiry are stored in the value and judged by
// this process's clock (one process, one clock). Works with nats-server 2.9
// (no per-message TTL): the bucket's MaxAge reclaims old keys.
type KV struct {
	claims  jetstream.KeyValue
	records jetstream.KeyValue
	maxAge  time.Duration
}

var (
	_ Store   = (*KV)(nil)
	_ Records = (*KV)(nil)
)

// NewKV creates (or updates) the two buckets and returns the store.
func NewKV(ctx context.Context, js jetstream.JetStream, cfg KVConfig) (*KV, error) {
	if js == nil {
		return nil, errors.New("idempotency: NewKV: nil JetStream")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	claims, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket,
		Description: "praxis-adapter idempotency claims",
		History:     1,
		TTL:         cfg.MaxAge,
		Storage:     cfg.Storage,
		Replicas:    cfg.Replicas,
		MaxBytes:    kvMaxBytes(cfg.MaxBytes),
	})
	if err != nil {
		return nil, fmt.Errorf("idempotency: create or update KV bucket %q: %w", cfg.Bucket, err)
	}
	records, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.RecordsBucket,
		Description: "praxis-adapter versioned records",
		History:     1,
		TTL:         cfg.RecordsMaxAge,
		Storage:     cfg.Storage,
		Replicas:    cfg.Replicas,
		MaxBytes:    kvMaxBytes(cfg.MaxBytes),
	})
	if err != nil {
		return nil, fmt.Errorf("idempotency: create or update KV bucket %q: %w", cfg.RecordsBucket, err)
	}
	return &KV{claims: claims, records: records, maxAge: cfg.MaxAge}, nil
}

// kvMaxBytes maps "unlimited" (0 or -1) to JetStream's -1.
func kvMaxBytes(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// kvToken is the KV store's fencing token: the revision the claim was
// written at (what Complete and Release compare-and-set on), the record's
// attempts and call counters (<attempts>[/<sent>/<calls>/<lookups>], so a
// Release or Complete rewrites them unchanged without a read), and the
// random part stored in the value, which recognises a retried Complete or
// Release as the holder's own.
func kvToken(rev uint64, rec claimRecord) string {
	b := strconv.AppendUint(nil, rev, 10)
	b = append(b, '.')
	b = rec.appendMeta(b)
	b = append(b, '.')
	return string(append(b, rec.token...))
}

// parseKVToken returns the revision and the record the token describes
// (meta and random token; not done, expires unknown).
func parseKVToken(tok string) (rev uint64, rec claimRecord, err error) {
	parts := strings.SplitN(tok, ".", 3)
	if len(parts) == 3 {
		rev, err = strconv.ParseUint(parts[0], 10, 64)
		if err == nil && (parts[1] == "" || parts[1][0] < '0' || parts[1][0] > '9') {
			err = errCorrupt
		}
		if err == nil {
			err = rec.parseMeta(parts[1])
		}
		if err == nil && rev > 0 && parts[2] != "" {
			rec.token = parts[2]
			return rev, rec, nil
		}
	}
	return 0, claimRecord{}, errors.New("idempotency: token was not issued by the KV store")
}

// encodeKey maps any key onto the KV key alphabet ([-/_=.a-zA-Z0-9]),
// injectively: bytes outside [-/_a-zA-Z0-9] become =XX (so "." and "="
// themselves are escaped, and a key never has empty subject tokens).
func encodeKey(key string) string {
	i := 0
	for i < len(key) && kvPlain(key[i]) {
		i++
	}
	if i == len(key) {
		return key
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(key) + 16)
	b.WriteString(key[:i])
	for ; i < len(key); i++ {
		c := key[i]
		if kvPlain(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('=')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0f])
	}
	return b.String()
}

func kvPlain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '/'
}

func isCASConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists)
}

func (s *KV) nowMs() int64 { return time.Now().UnixMilli() }

// ttlWithinMaxAge converts a TTL, refusing one the bucket would cut short.
func (s *KV) ttlWithinMaxAge(what string, d time.Duration) (int64, error) {
	ms, err := ttlMillis(what, d)
	if err != nil {
		return 0, err
	}
	if d > s.maxAge {
		return 0, fmt.Errorf("idempotency: %s %v exceeds the KV bucket's MaxAge %v (raise KVConfig.MaxAge)", what, d, s.maxAge)
	}
	return ms, nil
}

// Claim acquires key for claimTTL, or reports it Busy or Done. A new key
// costs one round trip (a create-if-absent write), a duplicate two (that
// write, then a read), a takeover three.
func (s *KV) Claim(ctx context.Context, key string, claimTTL time.Duration) (Claim, error) {
	if err := checkKey(key); err != nil {
		return Claim{}, fmt.Errorf("claim: %w", err)
	}
	ms, err := s.ttlWithinMaxAge("claim TTL", claimTTL)
	if err != nil {
		return Claim{}, fmt.Errorf("claim %s: %w", keyRef(key), err)
	}
	k := encodeKey(key)
	rec := claimRecord{attempts: 1, token: newToken()}
	acquired := func(rev uint64) Claim {
		return rec.acquired(key, kvToken(rev, rec), s.nowMs())
	}

	rec.expires = s.nowMs() + ms
	rev, err := s.claims.Update(ctx, k, rec.encode(), 0) // 0: only if the key never existed
	if err == nil {
		return acquired(rev), nil
	}
	for range kvCASRounds {
		if !isCASConflict(err) {
			return Claim{}, fmt.Errorf("claim %s in KV bucket %s: %w", keyRef(key), s.claims.Bucket(), err)
		}
		e, gerr := s.claims.Get(ctx, k)
		if errors.Is(gerr, jetstream.ErrKeyNotFound) {
			// Deleted or purged by hand: absent. Create writes over the marker.
			rec.attempts, rec.sent, rec.calls, rec.lookups, rec.expires = 1, 0, 0, 0, s.nowMs()+ms
			if rev, err = s.claims.Create(ctx, k, rec.encode()); err == nil {
				return acquired(rev), nil
			}
			continue
		}
		if gerr != nil {
			return Claim{}, fmt.Errorf("claim %s in KV bucket %s: %w", keyRef(key), s.claims.Bucket(), gerr)
		}
		cur, derr := decodeClaimRecord(string(e.Value()))
		if derr != nil {
			return Claim{}, fmt.Errorf("claim %s in KV bucket %s: %w", keyRef(key), s.claims.Bucket(), derr)
		}
		now := s.nowMs()
		if cur.doneLive(now) || cur.live(now) {
			return cur.asClaim(key), nil
		}
		rec.attempts, rec.sent, rec.calls, rec.lookups = 1, 0, 0, 0 // an expired done record: the key starts afresh
		if !cur.done {
			// Take over an expired or released claim, keeping its marker.
			rec.attempts, rec.sent, rec.calls, rec.lookups = cur.attempts+1, cur.sent, cur.calls, cur.lookups
		}
		rec.expires = now + ms
		if rev, err = s.claims.Update(ctx, k, rec.encode(), e.Revision()); err == nil {
			return acquired(rev), nil
		}
	}
	return Claim{}, fmt.Errorf("claim %s in KV bucket %s: still contended after %d compare-and-set rounds: %w", keyRef(key), s.claims.Bucket(), kvCASRounds, err)
}

// Complete marks the holder's key done with value for doneTTL.
func (s *KV) Complete(ctx context.Context, c Claim, value []byte, doneTTL time.Duration) error {
	if err := checkClaim("complete", c); err != nil {
		return err
	}
	rev, rec, err := parseKVToken(c.Token)
	if err != nil {
		return fmt.Errorf("complete %s: %w", keyRef(c.Key), err)
	}
	ms, err := s.ttlWithinMaxAge("done TTL", doneTTL)
	if err != nil {
		return fmt.Errorf("complete %s: %w", keyRef(c.Key), err)
	}
	rec.done, rec.expires, rec.value = true, s.nowMs()+ms, value
	return s.replace(ctx, "complete", c.Key, rec, rev, func(cur claimRecord) bool {
		return cur.done && cur.token == rec.token // our own earlier Complete
	})
}

// Release gives the holder's key back; the next Claim acquires it at once.
func (s *KV) Release(ctx context.Context, c Claim) error {
	if err := checkClaim("release", c); err != nil {
		return err
	}
	rev, rec, err := parseKVToken(c.Token)
	if err != nil {
		return fmt.Errorf("release %s: %w", keyRef(c.Key), err)
	}
	rec.expires = 0
	return s.replace(ctx, "release", c.Key, rec, rev, func(cur claimRecord) bool {
		return !cur.done && cur.expires == 0 && cur.token == rec.token // our own earlier Release
	})
}

// Renew extends the holder's claim and records a call or lookup: a read,
// then a compare-and-set on the revision read, so a takeover in between
// makes it fail rather than overwrite the new holder.
func (s *KV) Renew(ctx context.Context, c Claim, o RenewOptions) (Claim, error) {
	leaseMs, _, err := checkRenew(c, o)
	if err != nil {
		return Claim{}, err
	}
	if o.Call && o.Keep > s.maxAge {
		return Claim{}, fmt.Errorf("renew %s: keep %v exceeds the KV bucket's MaxAge %v (raise KVConfig.MaxAge)", keyRef(c.Key), o.Keep, s.maxAge)
	}
	if o.Lease > s.maxAge {
		return Claim{}, fmt.Errorf("renew %s: lease %v exceeds the KV bucket's MaxAge %v", keyRef(c.Key), o.Lease, s.maxAge)
	}
	_, mine, err := parseKVToken(c.Token)
	if err != nil {
		return Claim{}, fmt.Errorf("renew %s: %w", keyRef(c.Key), err)
	}
	k := encodeKey(c.Key)
	e, err := s.claims.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Claim{}, fmt.Errorf("renew %s: %w", keyRef(c.Key), ErrNotHolder)
	}
	if err != nil {
		return Claim{}, fmt.Errorf("renew %s in KV bucket %s: %w", keyRef(c.Key), s.claims.Bucket(), err)
	}
	cur, err := decodeClaimRecord(string(e.Value()))
	if err != nil {
		return Claim{}, fmt.Errorf("renew %s in KV bucket %s: %w", keyRef(c.Key), s.claims.Bucket(), err)
	}
	if cur.done || cur.expires == 0 || cur.token != mine.token {
		return Claim{}, fmt.Errorf("renew %s: %w", keyRef(c.Key), ErrNotHolder)
	}
	now := s.nowMs()
	switch {
	case o.Call:
		cur.sent, cur.calls = now, cur.calls+1
	case o.Lookup:
		cur.lookups++
	case o.Retract:
		cur.retract()
	}
	cur.expires = max(cur.expires, now+leaseMs)
	rev, err := s.claims.Update(ctx, k, cur.encode(), e.Revision())
	if isCASConflict(err) {
		return Claim{}, fmt.Errorf("renew %s: %w", keyRef(c.Key), ErrNotHolder)
	}
	if err != nil {
		return Claim{}, fmt.Errorf("renew %s in KV bucket %s: %w", keyRef(c.Key), s.claims.Bucket(), err)
	}
	return cur.acquired(c.Key, kvToken(rev, cur), now), nil
}

// replace writes rec over the claim written at rev. When the key moved on,
// it succeeds only if already(current record) says the holder's own retried
// write got there first; otherwise ErrNotHolder.
func (s *KV) replace(ctx context.Context, op, key string, rec claimRecord, rev uint64, already func(claimRecord) bool) error {
	k := encodeKey(key)
	_, err := s.claims.Update(ctx, k, rec.encode(), rev)
	if err == nil {
		return nil
	}
	if !isCASConflict(err) {
		return fmt.Errorf("%s %s in KV bucket %s: %w", op, keyRef(key), s.claims.Bucket(), err)
	}
	e, err := s.claims.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("%s %s: %w", op, keyRef(key), ErrNotHolder)
	}
	if err != nil {
		return fmt.Errorf("%s %s in KV bucket %s: %w", op, keyRef(key), s.claims.Bucket(), err)
	}
	if cur, derr := decodeClaimRecord(string(e.Value())); derr == nil && already(cur) {
		return nil
	}
	return fmt.Errorf("%s %s: %w", op, keyRef(key), ErrNotHolder)
}

// Get reports a live claim (Busy) or a done key; ErrNotFound when the key is
// absent, its claim expired or was released, or its done TTL passed.
func (s *KV) Get(ctx context.Context, key string) (Record, error) {
	if err := checkKey(key); err != nil {
		return Record{}, fmt.Errorf("get: %w", err)
	}
	e, err := s.claims.Get(ctx, encodeKey(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Record{}, fmt.Errorf("get %s: %w", keyRef(key), ErrNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("get %s from KV bucket %s: %w", keyRef(key), s.claims.Bucket(), err)
	}
	rec, err := decodeClaimRecord(string(e.Value()))
	if err != nil {
		return Record{}, fmt.Errorf("get %s from KV bucket %s: %w", keyRef(key), s.claims.Bucket(), err)
	}
	now := s.nowMs()
	if !rec.doneLive(now) && !rec.live(now) {
		return Record{}, fmt.Errorf("get %s: %w", keyRef(key), ErrNotFound)
	}
	return rec.asRecord(), nil
}

// Ping checks that both buckets answer, for readiness.
func (s *KV) Ping(ctx context.Context) error {
	for _, kv := range []jetstream.KeyValue{s.claims, s.records} {
		if _, err := kv.Status(ctx); err != nil {
			return fmt.Errorf("ping KV bucket %s: %w", kv.Bucket(), err)
		}
	}
	return nil
}

// A KV record's value is "<expires ms>:<value>", expires 0 for none; the
// version is the KV revision.
func encodeKVRecord(expires int64, value []byte) []byte {
	b := make([]byte, 0, 16+len(value))
	b = strconv.AppendInt(b, expires, 10)
	b = append(b, ':')
	return append(b, value...)
}

func decodeKVRecord(raw []byte) (expires int64, value []byte, err error) {
	i := bytes.IndexByte(raw, ':')
	if i < 0 {
		return 0, nil, errCorrupt
	}
	if expires, err = strconv.ParseInt(string(raw[:i]), 10, 64); err != nil {
		return 0, nil, errCorrupt
	}
	return expires, raw[i+1:], nil
}

// getRecord reads a record, reporting an expired one as absent; e is nil
// when the key is absent.
func (s *KV) getRecord(ctx context.Context, k string) (e jetstream.KeyValueEntry, value []byte, live bool, err error) {
	e, err = s.records.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	expires, value, err := decodeKVRecord(e.Value())
	if err != nil {
		return nil, nil, false, err
	}
	return e, value, expires == 0 || expires > s.nowMs(), nil
}

// GetRecord returns a record's value and version (its KV revision), or
// ErrNotFound (also once its TTL has passed).
func (s *KV) GetRecord(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, fmt.Errorf("get record: %w", err)
	}
	e, value, live, err := s.getRecord(ctx, encodeKey(key))
	if err != nil {
		return nil, 0, fmt.Errorf("get record %s from KV bucket %s: %w", keyRef(key), s.records.Bucket(), err)
	}
	if !live {
		return nil, 0, fmt.Errorf("get record %s: %w", keyRef(key), ErrNotFound)
	}
	return value, e.Revision(), nil
}

// PutRecord stores value if the record is still at version (0: absent, or
// its TTL passed). The version is the KV revision, so versions grow but
// are not consecutive. A record whose TTL passed after it was read can
// still be updated with the version read: the write is a compare-and-set on
// that exact revision, so no other writer's update is lost.
func (s *KV) PutRecord(ctx context.Context, key string, value []byte, version uint64, ttl time.Duration) (uint64, error) {
	if err := checkKey(key); err != nil {
		return 0, fmt.Errorf("put record: %w", err)
	}
	var expires int64
	if ttl != 0 {
		ms, err := ttlMillis("record TTL", ttl)
		if err != nil {
			return 0, fmt.Errorf("put record %s: %w", keyRef(key), err)
		}
		expires = s.nowMs() + ms
	}
	k, enc := encodeKey(key), encodeKVRecord(expires, value)
	conflict := func() (uint64, error) {
		return 0, fmt.Errorf("put record %s at version %d: %w", keyRef(key), version, ErrVersionConflict)
	}
	failed := func(err error) (uint64, error) {
		return 0, fmt.Errorf("put record %s in KV bucket %s: %w", keyRef(key), s.records.Bucket(), err)
	}

	rev, err := s.records.Update(ctx, k, enc, version)
	switch {
	case err == nil:
		return rev, nil
	case !isCASConflict(err):
		return failed(err)
	case version != 0:
		return conflict()
	}
	// Version 0 but the key has a history: a delete marker or an expired
	// record count as absent.
	e, _, live, err := s.getRecord(ctx, k)
	switch {
	case err != nil:
		return failed(err)
	case live:
		return conflict()
	case e == nil:
		rev, err = s.records.Create(ctx, k, enc)
	default:
		rev, err = s.records.Update(ctx, k, enc, e.Revision())
	}
	switch {
	case err == nil:
		return rev, nil
	case isCASConflict(err):
		return conflict()
	default:
		return failed(err)
	}
}
