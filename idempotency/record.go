package idempotency

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxKeyLen bounds a key so that a runaway caller gets a clear error instead
// of a multi-kilobyte Redis key or NATS subject.
const MaxKeyLen = 1024

// checkKey rejects keys no store can hold, with the same rule for every
// backend so the suite can hold them to one contract.
func checkKey(key string) error {
	if key == "" {
		return errors.New("idempotency: empty key")
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("idempotency: key is %d bytes, longer than the %d-byte limit", len(key), MaxKeyLen)
	}
	return nil
}

// checkClaim rejects a Claim that never acquired anything: completing or
// releasing a Busy or Done answer is a caller bug, not a lost claim.
func checkClaim(op string, c Claim) error {
	if err := checkKey(c.Key); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if c.State != Acquired || c.Token == "" {
		return fmt.Errorf("%s %s: the claim is %s, not acquired (only the holder may %s)", op, keyRef(c.Key), c.State, op)
	}
	return nil
}

// newToken returns 64 random bits, base64url: unguessable across holders
// and short, since it is stored in every record.
func newToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+: crypto/rand.Read aborts the process instead)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// checkRenew validates RenewOptions.
func checkRenew(c Claim, o RenewOptions) (leaseMs, keepMs int64, err error) {
	if err := checkClaim("renew", c); err != nil {
		return 0, 0, err
	}
	if leaseMs, err = ttlMillis("renew lease", o.Lease); err != nil {
		return 0, 0, fmt.Errorf("renew %s: %w", keyRef(c.Key), err)
	}
	if n := btoi(o.Call) + btoi(o.Lookup) + btoi(o.Retract); n > 1 {
		return 0, 0, fmt.Errorf("renew %s: a renewal announces a call, a lookup or a retraction, one at most", keyRef(c.Key))
	}
	if o.Call {
		if keepMs, err = ttlMillis("renew keep", o.Keep); err != nil {
			return 0, 0, fmt.Errorf("renew %s: %w", keyRef(c.Key), err)
		}
	}
	return leaseMs, keepMs, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// retract takes back one announced call (see RenewOptions.Retract).
func (r *claimRecord) retract() {
	if r.calls > 0 {
		r.calls--
	}
	if r.calls == 0 {
		r.sent = 0
	}
}

// ttlMillis converts a TTL to whole milliseconds, rounding up so a 1µs TTL
// is not silently turned into "no expiry".
func ttlMillis(what string, d time.Duration) (int64, error) {
	if d <= 0 {
		return 0, fmt.Errorf("idempotency: %s must be positive, got %v", what, d)
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond), nil
}

// claimRecord is the stored form of a key, shared by the Redis and KV
// stores. It is read on every duplicate, so it is a compact text:
//
//	p<attempts>:<expires>:<token>             a claim ("processing")
//	d<attempts>:<expires>:<token>:<value>     done, value raw to the end
//
// expires is Unix milliseconds: the claim's expiry, or (KV only) the done
// record's expiry; 0 means a released claim, or a done record whose expiry
// the backend enforces itself (Redis key TTL). The token is kept in done
// records so that a Complete retried after a lost reply is recognised as
// the holder's own. The Redis Lua scripts write the same format.
//
// Unless it is 1 with nothing recorded, <attempts> is written as
// <attempts>/<sent>/<calls>/<lookups>: sent is the Unix ms of the last
// state-changing call (the "may have been sent" marker), calls and lookups
// count the Praxis requests made under the key. Records written before
// these fields existed decode with attempts > 1 read as "an earlier holder
// may have called, long ago" (sent 1, calls attempts-1).
type claimRecord struct {
	done     bool
	attempts int
	sent     int64
	calls    int
	lookups  int
	expires  int64
	token    string
	value    []byte
}

// appendMeta writes <attempts>[/<sent>/<calls>/<lookups>].
func (r claimRecord) appendMeta(b []byte) []byte {
	b = strconv.AppendInt(b, int64(r.attempts), 10)
	if r.attempts == 1 && r.sent == 0 && r.calls == 0 && r.lookups == 0 {
		return b // the short legacy form is unambiguous only for a first claim
	}
	b = append(b, '/')
	b = strconv.AppendInt(b, r.sent, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(r.calls), 10)
	b = append(b, '/')
	return strconv.AppendInt(b, int64(r.lookups), 10)
}

// parseMeta reads <attempts>[/<sent>/<calls>/<lookups>] into r.
func (r *claimRecord) parseMeta(s string) error {
	parts := strings.Split(s, "/")
	if len(parts) != 1 && len(parts) != 4 {
		return errCorrupt
	}
	attempts, err := strconv.Atoi(parts[0])
	if err != nil || attempts < 1 || parts[0][0] == '+' {
		return errCorrupt
	}
	r.attempts = attempts
	if len(parts) == 1 {
		if attempts > 1 {
			r.sent, r.calls = 1, attempts-1 // legacy: an earlier holder may have called
		}
		return nil
	}
	sent, err1 := strconv.ParseInt(parts[1], 10, 64)
	calls, err2 := strconv.Atoi(parts[2])
	lookups, err3 := strconv.Atoi(parts[3])
	if err1 != nil || err2 != nil || err3 != nil || sent < 0 || calls < 0 || lookups < 0 ||
		(attempts == 1 && sent == 0 && calls == 0 && lookups == 0) || (calls > 0) != (sent > 0) {
		return errCorrupt
	}
	r.sent, r.calls, r.lookups = sent, calls, lookups
	return nil
}

func (r claimRecord) encode() []byte {
	b := make([]byte, 0, 48+len(r.value))
	if r.done {
		b = append(b, 'd')
	} else {
		b = append(b, 'p')
	}
	b = r.appendMeta(b)
	b = append(b, ':')
	b = strconv.AppendInt(b, r.expires, 10)
	b = append(b, ':')
	b = append(b, r.token...)
	if r.done {
		b = append(b, ':')
		b = append(b, r.value...)
	}
	return b
}

// errCorrupt marks a stored value this package did not write.
var errCorrupt = errors.New("idempotency: stored record is not in the expected format")

func decodeClaimRecord(s string) (claimRecord, error) {
	var r claimRecord
	if len(s) < 2 {
		return r, errCorrupt
	}
	switch s[0] {
	case 'p':
	case 'd':
		r.done = true
	default:
		return r, errCorrupt
	}
	s = s[1:]
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return r, errCorrupt
	}
	if err := r.parseMeta(s[:i]); err != nil {
		return r, err
	}
	s = s[i+1:]
	i = strings.IndexByte(s, ':')
	if i < 0 {
		return r, errCorrupt
	}
	var err error
	if r.expires, err = strconv.ParseInt(s[:i], 10, 64); err != nil {
		return r, errCorrupt
	}
	s = s[i+1:]
	if !r.done {
		r.token = s
		return r, nil
	}
	i = strings.IndexByte(s, ':')
	if i < 0 {
		return r, errCorrupt
	}
	r.token = s[:i]
	r.value = []byte(s[i+1:])
	return r, nil
}

// live reports whether a claim record still holds the key at now (Unix ms).
func (r claimRecord) live(nowMs int64) bool {
	return !r.done && r.expires > nowMs
}

// doneLive reports whether a done record is still valid at now (Unix ms);
// expires 0 means the backend expires it.
func (r claimRecord) doneLive(nowMs int64) bool {
	return r.done && (r.expires == 0 || r.expires > nowMs)
}

// asClaim turns the record into Claim's answer for a caller that is not
// its holder.
func (r claimRecord) asClaim(key string) Claim {
	c := Claim{Key: key, State: Busy, Attempts: r.attempts, Calls: r.calls, Lookups: r.lookups}
	if r.done {
		c.State = Done
		c.Value = r.value
	}
	return c
}

// acquired is Claim's answer for the record's holder at now (Unix ms, the
// store's clock).
func (r claimRecord) acquired(key, token string, nowMs int64) Claim {
	c := Claim{Key: key, State: Acquired, Token: token, Attempts: r.attempts, Calls: r.calls, Lookups: r.lookups}
	if r.calls > 0 {
		c.SentAgo = time.Duration(max(0, nowMs-r.sent)) * time.Millisecond
	}
	return c
}

// asRecord turns a live record into Get's answer.
func (r claimRecord) asRecord() Record {
	if r.done {
		return Record{State: Done, Attempts: r.attempts, Calls: r.calls, Lookups: r.lookups, Value: r.value}
	}
	return Record{State: Busy, Attempts: r.attempts, Calls: r.calls, Lookups: r.lookups, ClaimExpires: time.UnixMilli(r.expires)}
}
