// Package idempotency records which keys (a notification's dedup key, a
// command id) have been handled, with a two-phase claim: a key is first
// claimed as "processing" for seconds, then marked "done" with an optional
// result for a day or more. A clash is never a drop: the caller learns the
// key is busy, or done with its stored result, and acts on that.
//
// Two implementations share one contract, checked by one test suite
// (storetest): Redis for production (many replicas), and a JetStream
// key-value bucket for the single-process mode. The embedded store is a
// JetStream KV bucket rather than an in-memory map because it must survive a
// restart: a worker that forgot a command it already sent to Praxis would
// send it again. It lives in the same embedded NATS server, so it needs
// nothing installed.
//
// The package also holds a small versioned record store (Records) for the
// lifecycle tracker's per-transaction state.
package idempotency

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
)

// ClaimState is what Claim found.
type ClaimState int

const (
	// Acquired: the caller now holds the key and must Complete or Release it.
	Acquired ClaimState = iota + 1
	// Busy: another holder's claim has not expired yet.
	Busy
	// Done: the key was completed; Claim.Value holds the stored result.
	Done
)

// String names the state for logs and metrics.
func (s ClaimState) String() string {
	switch s {
	case Acquired:
		return "acquired"
	case Busy:
		return "busy"
	case Done:
		return "done"
	}
	return "unknown"
}

// Claim is the answer to Store.Claim.
type Claim struct {
	Key   string
	State ClaimState
	// Token fences the holder: Complete and Release succeed only while the
	// claim that produced this token is still the current one. Opaque.
	Token string
	// Attempts counts how many times the key has been acquired, this time
	// included. Attempts > 1 means an earlier holder's claim expired: it may
	// have crashed after acting, so the caller must reconcile before acting
	// again. Set when State is Acquired.
	Attempts int
	// Calls and Lookups count the requests holders announced with Renew
	// (Call, Lookup) under this key, across every holder so far. Calls > 0
	// is the "a state-changing call may have been sent" marker: whoever
	// acquires such a key must reconcile before calling again.
	Calls   int
	Lookups int
	// SentAgo is how long ago, by the store's clock, the last call was
	// announced (meaningful when Calls > 0): a lookup that finds nothing is
	// trusted only once SentAgo exceeds the settle window.
	SentAgo time.Duration
	// Value is the result stored by Complete, when State is Done.
	Value []byte
}

// RenewOptions says what a holder is about to do when it renews its claim.
type RenewOptions struct {
	// Lease: the claim is held for at least this long from now (a renewal
	// never shortens it). Must be positive.
	Lease time.Duration
	// Call announces a state-changing call about to be sent: the store
	// records now as the last send, counts it, and keeps the key (with
	// this marker) for at least Keep, even after a Release.
	Call bool
	// Lookup counts a lookup about to be made.
	Lookup bool
	// Retract takes back the last announced call, which provably was never
	// sent (its request was not written): Calls drops by one, and with no
	// call left the marker is cleared. The lease is extended as usual.
	Retract bool
	// Keep is how long a key that carries a call marker is kept at least.
	Keep time.Duration
}

// Errors callers branch on.
var (
	// ErrNotHolder means the claim expired and was taken over (or released)
	// before Complete or Release: the caller no longer owns the key.
	ErrNotHolder = errors.New("idempotency: claim is no longer held")
	// ErrNotFound means Get found no record for the key.
	ErrNotFound = errors.New("idempotency: no record")
	// ErrVersionConflict means a Records.Put lost a compare-and-set race.
	ErrVersionConflict = errors.New("idempotency: version conflict")
)

// Store is the two-phase claim contract. Every method is safe for
// concurrent use by many goroutines and many processes sharing the backend.
//
//   - Claim(key, claimTTL): if the key is absent, or its claim expired, the
//     caller acquires it for claimTTL (Attempts counts acquisitions). If it
//     is held and unexpired, Busy. If it is done, Done with the stored value.
//   - Complete(claim, value, doneTTL): the holder marks the key done with
//     value, kept for doneTTL. ErrNotHolder if the claim was lost.
//   - Renew(claim, opts): the holder extends its claim, fenced by its token,
//     and optionally records a call or a lookup, atomically: it succeeds
//     only while no other holder has acquired the key since (a claim that
//     expired but was not taken over may still be renewed: nobody else can
//     have acted). It returns the claim to use from then on (the KV store's
//     token changes with every write) with the updated counters;
//     ErrNotHolder if the key moved on. A holder makes a Praxis call only
//     right after a successful Renew whose lease outlasts the call.
//   - Release(claim): the holder gives the key back so the next Claim
//     acquires it at once (used after a failure, so a retry is not delayed).
//     ErrNotHolder if the claim was lost; releasing a lost claim changes nothing.
//   - Get(key): the current record, ErrNotFound when absent (also when
//     the claim expired or was released: nothing holds the key, and the
//     next Claim acquires it, counting on from the earlier Attempts).
//   - Ping: the backend is reachable (readiness).
//
// Complete and Release repeated by the same holder (a retry after a lost
// reply) succeed again without changing anything. A holder whose claim
// expired may still Complete or Release it as long as nobody took it over.
type Store interface {
	Claim(ctx context.Context, key string, claimTTL time.Duration) (Claim, error)
	Complete(ctx context.Context, c Claim, value []byte, doneTTL time.Duration) error
	Renew(ctx context.Context, c Claim, o RenewOptions) (Claim, error)
	Release(ctx context.Context, c Claim) error
	Get(ctx context.Context, key string) (Record, error)
	Ping(ctx context.Context) error
}

// Record is a key's current state as Get reports it.
type Record struct {
	State ClaimState // Busy for a live claim, Done when completed
	// Attempts counts acquisitions so far; Calls and Lookups the requests
	// announced under the key (see Claim).
	Attempts int
	Calls    int
	Lookups  int
	// Value is the stored result when Done.
	Value []byte
	// ClaimExpires is when a live claim expires (zero when Done).
	ClaimExpires time.Time
}

// Records is a versioned key-value store for small state documents (the
// lifecycle tracker's per-transaction state). Put is a compare-and-set on
// the version Get returned (0 = the key must not exist yet), so two
// processes updating the same transaction never lose an update.
type Records interface {
	// GetRecord returns the value and its version, or ErrNotFound.
	GetRecord(ctx context.Context, key string) (value []byte, version uint64, err error)
	// PutRecord stores value if the key's version is still version (0: the
	// key must be absent) and returns the new version; ErrVersionConflict
	// otherwise. ttl 0 keeps the record without expiry.
	PutRecord(ctx context.Context, key string, value []byte, version uint64, ttl time.Duration) (uint64, error)
}

// keyRef names a key in an error without its text: ingress dedup keys are
// built from fields of a provider's body (status, order id), which must
// not reach a log line. The short digest still ties errors to one key.
func keyRef(key string) string {
	sum := sha256.Sum256([]byte(key))
	return fmt.Sprintf("key #%x (%d bytes)", sum[:4], len(key))
}
