// Package storetest is the one test suite every idempotency.Store and
// idempotency.Records implementation runs (Watermill's shared pub/sub suite,
// pubsub/tests, is the model), so the Redis and embedded stores are held to
// the same contract instead of each to its own reading of it. It also holds
// the benchmarks both stores report.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/idempotency"
	"github.com/praxis-adapter/praxis-adapter/internal/testutil"
)

// Timings the suite uses. A live claim uses long so that a slow (race
// detector, loaded CI) machine never sees it expire mid-check; expiry is
// always awaited with testutil.Eventually, never slept through.
const (
	long     = time.Minute
	short    = 150 * time.Millisecond
	waitFor  = 10 * time.Second
	interval = 10 * time.Millisecond
	clockTol = 2 * time.Second // Get's ClaimExpires against this process's clock
)

// Run checks newStore's stores against the Store contract. newStore is
// called once per subtest and must return a store no other subtest sees
// (its own key prefix or buckets).
func Run(t *testing.T, newStore func(t *testing.T) idempotency.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s idempotency.Store)
	}{
		{"ClaimStates", testClaimStates},
		{"Keys", testKeys},
		{"BadInput", testBadInput},
		{"GetInEachState", testGetInEachState},
		{"ExpiryTakeover", testExpiryTakeover},
		{"ReleaseLostClaim", testReleaseLostClaim},
		{"CompleteExpiredButNotTakenOver", testCompleteExpiredNotTakenOver},
		{"RetriedCompleteAndRelease", testRetries},
		{"DoneTTL", testDoneTTL},
		{"ConcurrentClaims", testConcurrentClaims},
		{"Ping", testPing},
		{"RenewFenced", testRenewFenced},
		{"RenewKeepsClaimAlive", testRenewKeepsClaimAlive},
		{"CallMarkerSurvivesTakeover", testCallMarker},
		{"RetractLastCall", testRetractLastCall},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func acquire(t *testing.T, s idempotency.Store, key string, ttl time.Duration) idempotency.Claim {
	t.Helper()
	c, err := s.Claim(ctxFor(t), key, ttl)
	require.NoError(t, err)
	require.Equal(t, idempotency.Acquired, c.State, "claim %q", key)
	require.NotEmpty(t, c.Token)
	return c
}

// step is one action in a claim scenario, run in order on one key.
type step struct {
	do   string // "claim", "complete", "release"
	who  string // holder name: the claim a step completes or releases
	val  string
	want idempotency.ClaimState // for claim
	n    int                    // attempts wanted (claim)
	err  error                  // for complete / release
}

func testClaimStates(t *testing.T, s idempotency.Store) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"acquire a new key", []step{
			{do: "claim", who: "a", want: idempotency.Acquired, n: 1},
		}},
		{"busy while held", []step{
			{do: "claim", who: "a", want: idempotency.Acquired, n: 1},
			{do: "claim", who: "b", want: idempotency.Busy},
			{do: "claim", who: "c", want: idempotency.Busy},
		}},
		{"done with its value", []step{
			{do: "claim", who: "a", want: idempotency.Acquired, n: 1},
			{do: "complete", who: "a", val: `{"status":"approved"}`},
			{do: "claim", who: "b", want: idempotency.Done, val: `{"status":"approved"}`},
			{do: "claim", who: "c", want: idempotency.Done, val: `{"status":"approved"}`},
		}},
		{"done with an empty value", []step{
			{do: "claim", who: "a", want: idempotency.Acquired, n: 1},
			{do: "complete", who: "a", val: ""},
			{do: "claim", who: "b", want: idempotency.Done, val: ""},
		}},
		{"value with separators and binary", []step{
			{do: "claim", who: "a", want: idempotency.Acquired, n: 1},
			{do: "complete", who: "a", val: "a:b:c\x00\xff:"},
			{do: "claim", who: "b", want: idempotency.Done, val: "a:b:c\x00\xff:"},
		}},
		{"release then re-acquire counts attempts", []step{
			{do: "claim", who: "a", want: idempotency.Acquired, n: 1},
			{do: "release", who: "a"},
			{do: "claim", who: "b", want: idempotency.Acquired, n: 2},
			{do: "claim", who: "c", want: idempotency.Busy},
			{do: "release", who: "b"},
			{do: "claim", who: "d", want: idempotency.Acquired, n: 3},
			{do: "complete", who: "d", val: "ok"},
			{do: "claim", who: "e", want: idempotency.Done, val: "ok"},
		}},
		{"complete after release is refused", []step{
			{do: "claim", who: "a", want: idempotency.Acquired, n: 1},
			{do: "release", who: "a"},
			{do: "complete", who: "a", val: "late", err: idempotency.ErrNotHolder},
			{do: "claim", who: "b", want: idempotency.Acquired, n: 2},
		}},
		{"release after complete is refused", []step{
			{do: "claim", who: "a", want: idempotency.Acquired, n: 1},
			{do: "complete", who: "a", val: "v"},
			{do: "release", who: "a", err: idempotency.ErrNotHolder},
			{do: "claim", who: "b", want: idempotency.Done, val: "v"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctxFor(t)
			key := "states:" + tt.name
			claims := map[string]idempotency.Claim{}
			for i, st := range tt.steps {
				switch st.do {
				case "claim":
					c, err := s.Claim(ctx, key, long)
					require.NoError(t, err, "step %d", i)
					assert.Equal(t, key, c.Key, "step %d", i)
					require.Equal(t, st.want, c.State, "step %d: %s claims", i, st.who)
					switch st.want {
					case idempotency.Acquired:
						assert.Equal(t, st.n, c.Attempts, "step %d attempts", i)
						assert.NotEmpty(t, c.Token, "step %d token", i)
						for who, other := range claims {
							assert.NotEqual(t, other.Token, c.Token, "step %d: token reused from %s", i, who)
						}
					case idempotency.Done:
						assert.Equal(t, st.val, string(c.Value), "step %d value", i)
						assert.Empty(t, c.Token, "step %d: a done answer carries no token", i)
					case idempotency.Busy:
						assert.Empty(t, c.Token, "step %d: a busy answer carries no token", i)
					}
					claims[st.who] = c
				case "complete":
					err := s.Complete(ctx, claims[st.who], []byte(st.val), long)
					assertErr(t, st.err, err, "step %d: %s completes", i, st.who)
				case "release":
					err := s.Release(ctx, claims[st.who])
					assertErr(t, st.err, err, "step %d: %s releases", i, st.who)
				default:
					t.Fatalf("unknown step %q", st.do)
				}
			}
		})
	}
}

func assertErr(t *testing.T, want, got error, msgAndArgs ...any) {
	t.Helper()
	if want == nil {
		assert.NoError(t, got, msgAndArgs...)
		return
	}
	assert.ErrorIs(t, got, want, msgAndArgs...)
}

// testKeys: any key works, and keys a backend must escape stay distinct.
func testKeys(t *testing.T, s idempotency.Store) {
	ctx := ctxFor(t)
	keys := []string{
		"plain",
		"with:colons:and spaces",
		"a.b",
		"a=2Eb",
		"a=b",
		"..",
		".",
		"*",
		">",
		"wild.*.>",
		"$KV.x",
		"{hash}tag",
		"ünïcödé-€",
		"slash/key",
		"tab\tnewline\n",
		strings.Repeat("k", idempotency.MaxKeyLen),
		strings.Repeat(".", idempotency.MaxKeyLen),
	}
	for _, k := range keys {
		c, err := s.Claim(ctx, k, long)
		require.NoError(t, err, "claim %q", k)
		assert.Equal(t, idempotency.Acquired, c.State, "claim %q: a distinct key must be new", k)
		require.NoError(t, s.Complete(ctx, c, []byte("v:"+k), long), "complete %q", k)
	}
	for _, k := range keys {
		c, err := s.Claim(ctx, k, long)
		require.NoError(t, err, "claim %q again", k)
		assert.Equal(t, idempotency.Done, c.State, "claim %q again", k)
		assert.Equal(t, "v:"+k, string(c.Value), "value of %q", k)
	}
}

func testBadInput(t *testing.T, s idempotency.Store) {
	ctx := ctxFor(t)
	held := acquire(t, s, "bad-input:held", long)
	other := acquire(t, s, "bad-input:other", long)
	tooLong := strings.Repeat("x", idempotency.MaxKeyLen+1)
	tests := []struct {
		name string
		call func() error
	}{
		{"claim empty key", func() error { _, err := s.Claim(ctx, "", long); return err }},
		{"claim too long key", func() error { _, err := s.Claim(ctx, tooLong, long); return err }},
		{"claim zero TTL", func() error { _, err := s.Claim(ctx, "bad-input:zero", 0); return err }},
		{"claim negative TTL", func() error { _, err := s.Claim(ctx, "bad-input:neg", -time.Second); return err }},
		{"get empty key", func() error { _, err := s.Get(ctx, ""); return err }},
		{"complete zero claim", func() error { return s.Complete(ctx, idempotency.Claim{}, nil, long) }},
		{"complete a busy answer", func() error {
			return s.Complete(ctx, idempotency.Claim{Key: held.Key, State: idempotency.Busy}, nil, long)
		}},
		{"complete forged token", func() error {
			return s.Complete(ctx, idempotency.Claim{Key: held.Key, State: idempotency.Acquired, Token: "forged", Attempts: 1}, nil, long)
		}},
		{"complete zero done TTL", func() error { return s.Complete(ctx, held, nil, 0) }},
		{"release zero claim", func() error { return s.Release(ctx, idempotency.Claim{}) }},
		{"release forged token", func() error {
			return s.Release(ctx, idempotency.Claim{Key: held.Key, State: idempotency.Acquired, Token: "forged", Attempts: 1})
		}},
		{"complete with another key's token", func() error {
			return s.Complete(ctx, idempotency.Claim{Key: held.Key, State: idempotency.Acquired, Token: other.Token, Attempts: 1}, nil, long)
		}},
		{"release with another key's token", func() error {
			return s.Release(ctx, idempotency.Claim{Key: held.Key, State: idempotency.Acquired, Token: other.Token, Attempts: 1})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Error(t, tt.call())
		})
	}
	// None of them touched the held claim.
	rec, err := s.Get(ctx, held.Key)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Busy, rec.State)
	assert.NoError(t, s.Complete(ctx, held, []byte("mine"), long), "the holder still holds it")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Claim(cancelled, "bad-input:cancelled", long)
	assert.Error(t, err, "claim with a cancelled context")
}

func testGetInEachState(t *testing.T, s idempotency.Store) {
	ctx := ctxFor(t)
	tests := []struct {
		name    string
		prepare func(t *testing.T, key string)
		want    idempotency.Record // State 0: ErrNotFound
	}{
		{"absent", func(*testing.T, string) {}, idempotency.Record{}},
		{"held", func(t *testing.T, key string) { acquire(t, s, key, long) },
			idempotency.Record{State: idempotency.Busy, Attempts: 1}},
		{"done", func(t *testing.T, key string) {
			require.NoError(t, s.Complete(ctx, acquire(t, s, key, long), []byte("result"), long))
		}, idempotency.Record{State: idempotency.Done, Attempts: 1, Value: []byte("result")}},
		{"released", func(t *testing.T, key string) {
			require.NoError(t, s.Release(ctx, acquire(t, s, key, long)))
		}, idempotency.Record{}},
		{"held after a release", func(t *testing.T, key string) {
			require.NoError(t, s.Release(ctx, acquire(t, s, key, long)))
			c := acquire(t, s, key, long)
			require.Equal(t, 2, c.Attempts)
		}, idempotency.Record{State: idempotency.Busy, Attempts: 2}},
		{"claim expired", func(t *testing.T, key string) {
			acquire(t, s, key, short)
			testutil.Eventually(t, waitFor, interval, func() error {
				if _, err := s.Get(ctx, key); !errors.Is(err, idempotency.ErrNotFound) {
					return fmt.Errorf("get %q: %v, want ErrNotFound once the claim expires", key, err)
				}
				return nil
			})
		}, idempotency.Record{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "get:" + tt.name
			tt.prepare(t, key)
			rec, err := s.Get(ctx, key)
			if tt.want.State == 0 {
				assert.ErrorIs(t, err, idempotency.ErrNotFound)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want.State, rec.State)
			assert.Equal(t, tt.want.Attempts, rec.Attempts)
			assert.Equal(t, string(tt.want.Value), string(rec.Value))
			if tt.want.State == idempotency.Busy {
				assert.WithinDuration(t, time.Now().Add(long), rec.ClaimExpires, clockTol)
			} else {
				assert.True(t, rec.ClaimExpires.IsZero(), "ClaimExpires of a done record: %v", rec.ClaimExpires)
			}
		})
	}
}

// takeover lets first's short claim expire and returns the successor's
// claim (long), acquired with Attempts == 2.
func takeover(t *testing.T, s idempotency.Store, key string) (first, second idempotency.Claim) {
	t.Helper()
	ctx := ctxFor(t)
	start := time.Now()
	first = acquire(t, s, key, short)
	c, err := s.Claim(ctx, key, long)
	require.NoError(t, err)
	if c.State == idempotency.Acquired {
		// Only a busy machine gets here: the short claim ran out between
		// the two calls, so this claim is already the takeover.
		require.GreaterOrEqual(t, time.Since(start), short, "a claim taken while the first one is live")
		second = c
	} else {
		require.Equal(t, idempotency.Busy, c.State, "the first claim is still live")
	}
	testutil.Eventually(t, waitFor, interval, func() error {
		if second.Token != "" {
			return nil
		}
		c, err := s.Claim(ctx, key, long)
		if err != nil {
			return err
		}
		if c.State != idempotency.Acquired {
			return fmt.Errorf("claim %q: %s, want acquired after the first claim expires", key, c.State)
		}
		second = c
		return nil
	})
	assert.Equal(t, 2, second.Attempts, "a takeover must tell the successor an earlier holder may have acted")
	assert.NotEqual(t, first.Token, second.Token)
	return first, second
}

func testExpiryTakeover(t *testing.T, s idempotency.Store) {
	ctx := ctxFor(t)
	key := "takeover"
	first, second := takeover(t, s, key)

	err := s.Complete(ctx, first, []byte("stale"), long)
	assert.ErrorIs(t, err, idempotency.ErrNotHolder, "the first holder lost the key")

	rec, err := s.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Busy, rec.State, "the successor's claim is intact")
	assert.Equal(t, 2, rec.Attempts)
	c, err := s.Claim(ctx, key, long)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Busy, c.State)

	require.NoError(t, s.Complete(ctx, second, []byte("fresh"), long))
	assert.ErrorIs(t, s.Complete(ctx, first, []byte("stale"), long), idempotency.ErrNotHolder,
		"the first holder cannot complete a key its successor completed")
	assert.ErrorIs(t, s.Release(ctx, first), idempotency.ErrNotHolder)
	c, err = s.Claim(ctx, key, long)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Done, c.State)
	assert.Equal(t, "fresh", string(c.Value))
}

func testReleaseLostClaim(t *testing.T, s idempotency.Store) {
	ctx := ctxFor(t)
	key := "release-lost"
	first, second := takeover(t, s, key)

	assert.ErrorIs(t, s.Release(ctx, first), idempotency.ErrNotHolder)

	rec, err := s.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Busy, rec.State, "releasing a lost claim changes nothing")
	assert.Equal(t, 2, rec.Attempts)
	assert.WithinDuration(t, time.Now().Add(long), rec.ClaimExpires, clockTol)
	c, err := s.Claim(ctx, key, long)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Busy, c.State)
	assert.NoError(t, s.Complete(ctx, second, []byte("v"), long), "the successor still holds the key")
}

// testCompleteExpiredNotTakenOver: an expired claim nobody took over is
// still the holder's; completing it is safe (no successor acted).
func testCompleteExpiredNotTakenOver(t *testing.T, s idempotency.Store) {
	ctx := ctxFor(t)
	key := "expired-not-taken"
	c := acquire(t, s, key, short)
	testutil.Eventually(t, waitFor, interval, func() error {
		if _, err := s.Get(ctx, key); !errors.Is(err, idempotency.ErrNotFound) {
			return fmt.Errorf("get: %v, want ErrNotFound once the claim expires", err)
		}
		return nil
	})
	require.NoError(t, s.Complete(ctx, c, []byte("late but first"), long))
	rec, err := s.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Done, rec.State)
	assert.Equal(t, "late but first", string(rec.Value))
}

// testRetries: a Complete or Release repeated by its holder (a retry after a
// lost reply) succeeds again and changes nothing.
func testRetries(t *testing.T, s idempotency.Store) {
	ctx := ctxFor(t)
	c := acquire(t, s, "retry:complete", long)
	require.NoError(t, s.Complete(ctx, c, []byte("v1"), long))
	assert.NoError(t, s.Complete(ctx, c, []byte("v1"), long), "retried Complete")
	rec, err := s.Get(ctx, c.Key)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Done, rec.State)
	assert.Equal(t, "v1", string(rec.Value))

	r := acquire(t, s, "retry:release", long)
	require.NoError(t, s.Release(ctx, r))
	assert.NoError(t, s.Release(ctx, r), "retried Release")
	next := acquire(t, s, r.Key, long)
	assert.Equal(t, 2, next.Attempts)
	assert.ErrorIs(t, s.Release(ctx, r), idempotency.ErrNotHolder, "after a successor acquired the key")
	rec, err = s.Get(ctx, r.Key)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Busy, rec.State)
}

func testDoneTTL(t *testing.T, s idempotency.Store) {
	ctx := ctxFor(t)
	keep := acquire(t, s, "done-ttl:long", long)
	require.NoError(t, s.Complete(ctx, keep, []byte("kept"), long))
	gone := acquire(t, s, "done-ttl:short", long)
	require.NoError(t, s.Complete(ctx, gone, []byte("forgotten"), short))

	testutil.Eventually(t, waitFor, interval, func() error {
		rec, err := s.Get(ctx, gone.Key)
		if !errors.Is(err, idempotency.ErrNotFound) {
			return fmt.Errorf("get after the done TTL: %+v, %v; want ErrNotFound", rec, err)
		}
		return nil
	})
	c := acquire(t, s, gone.Key, long)
	assert.Equal(t, 1, c.Attempts, "an expired done record starts the key afresh")

	rec, err := s.Get(ctx, keep.Key)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Done, rec.State, "a longer done TTL is still kept")
	assert.Equal(t, "kept", string(rec.Value))
}

// testConcurrentClaims: many goroutines race for one key; exactly one wins.
func testConcurrentClaims(t *testing.T, s idempotency.Store) {
	const n = 50
	tests := []struct {
		name string
		// prepare leaves the key in the state the race starts from.
		prepare      func(t *testing.T, key string)
		completeWins bool // the winner completes while the others race
		wantAttempts int
	}{
		{name: "new key", prepare: func(*testing.T, string) {}, wantAttempts: 1},
		{name: "new key, winner completes at once", prepare: func(*testing.T, string) {}, completeWins: true, wantAttempts: 1},
		{name: "released key", prepare: func(t *testing.T, key string) {
			require.NoError(t, s.Release(ctxFor(t), acquire(t, s, key, long)))
		}, wantAttempts: 2},
		{name: "expired claim", prepare: func(t *testing.T, key string) {
			acquire(t, s, key, short)
			testutil.Eventually(t, waitFor, interval, func() error {
				if _, err := s.Get(ctxFor(t), key); !errors.Is(err, idempotency.ErrNotFound) {
					return fmt.Errorf("get: %v, want ErrNotFound once the claim expires", err)
				}
				return nil
			})
		}, wantAttempts: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctxFor(t)
			key := "race:" + tt.name
			tt.prepare(t, key)
			var (
				start          = make(chan struct{})
				wg             sync.WaitGroup
				acquired, busy atomic.Int32
				done           atomic.Int32
				mu             sync.Mutex
				winner         idempotency.Claim
				errs           []error
				completeErr    error
			)
			for range n {
				wg.Go(func() {
					<-start
					c, err := s.Claim(ctx, key, long)
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
						return
					}
					switch c.State {
					case idempotency.Acquired:
						acquired.Add(1)
						mu.Lock()
						winner = c
						mu.Unlock()
						if tt.completeWins {
							err := s.Complete(ctx, c, []byte("won"), long)
							mu.Lock()
							completeErr = err
							mu.Unlock()
						}
					case idempotency.Busy:
						busy.Add(1)
					case idempotency.Done:
						done.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			require.Empty(t, errs, "no claim may fail under contention")
			assert.EqualValues(t, 1, acquired.Load(), "exactly one goroutine acquires")
			assert.EqualValues(t, n-1, busy.Load()+done.Load(), "every other goroutine sees busy or done")
			assert.Equal(t, tt.wantAttempts, winner.Attempts)
			if tt.completeWins {
				assert.NoError(t, completeErr)
			} else {
				assert.Zero(t, done.Load(), "nobody completed, so nobody sees done")
			}
		})
	}
}

func testPing(t *testing.T, s idempotency.Store) {
	assert.NoError(t, s.Ping(ctxFor(t)))
}

// RunRecords checks newRecords' stores against the Records contract; like
// Run, each subtest gets its own store.
func RunRecords(t *testing.T, newRecords func(t *testing.T) idempotency.Records) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, r idempotency.Records)
	}{
		{"Versions", testRecordVersions},
		{"TTL", testRecordTTL},
		{"BadInput", testRecordBadInput},
		{"CASRace", testRecordRace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newRecords(t))
		})
	}
}

func testRecordVersions(t *testing.T, r idempotency.Records) {
	ctx := ctxFor(t)
	const key = "versions"
	_, _, err := r.GetRecord(ctx, key)
	require.ErrorIs(t, err, idempotency.ErrNotFound)

	v1, err := r.PutRecord(ctx, key, []byte("one"), 0, 0)
	require.NoError(t, err)
	require.NotZero(t, v1)
	v2, err := r.PutRecord(ctx, key, []byte("two"), v1, 0)
	require.NoError(t, err)
	require.Greater(t, v2, v1, "versions grow")

	tests := []struct {
		name    string
		key     string
		version uint64
		wantErr error
	}{
		{"stale version", key, v1, idempotency.ErrVersionConflict},
		{"version 0 on an existing key", key, 0, idempotency.ErrVersionConflict},
		{"future version", key, v2 + 1000, idempotency.ErrVersionConflict},
		{"a version on an absent key", "versions:absent", v1, idempotency.ErrVersionConflict},
		{"version 0 on an absent key", "versions:new", 0, nil},
		{"current version with an empty value", key, v2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, beforeV, beforeErr := r.GetRecord(ctx, tt.key)
			v, err := r.PutRecord(ctx, tt.key, nil, tt.version, 0)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				after, afterV, afterErr := r.GetRecord(ctx, tt.key)
				assert.Equal(t, beforeErr == nil, afterErr == nil, "a lost CAS changes nothing")
				assert.Equal(t, before, after, "a lost CAS changes nothing")
				assert.Equal(t, beforeV, afterV, "a lost CAS changes nothing")
				return
			}
			require.NoError(t, err)
			val, got, err := r.GetRecord(ctx, tt.key)
			require.NoError(t, err)
			assert.Equal(t, v, got)
			assert.Empty(t, val)
		})
	}
}

func testRecordTTL(t *testing.T, r idempotency.Records) {
	ctx := ctxFor(t)
	_, err := r.PutRecord(ctx, "ttl:forever", []byte("stays"), 0, 0)
	require.NoError(t, err)
	vLong, err := r.PutRecord(ctx, "ttl:updated", []byte("short at first"), 0, short)
	require.NoError(t, err)
	_, err = r.PutRecord(ctx, "ttl:updated", []byte("then kept"), vLong, 0)
	require.NoError(t, err, "an update with ttl 0 drops the earlier TTL")
	_, err = r.PutRecord(ctx, "ttl:short", []byte("goes"), 0, short)
	require.NoError(t, err)

	testutil.Eventually(t, waitFor, interval, func() error {
		if _, _, err := r.GetRecord(ctx, "ttl:short"); !errors.Is(err, idempotency.ErrNotFound) {
			return fmt.Errorf("get after the TTL: %v, want ErrNotFound", err)
		}
		return nil
	})
	for key, want := range map[string]string{"ttl:forever": "stays", "ttl:updated": "then kept"} {
		val, _, err := r.GetRecord(ctx, key)
		require.NoError(t, err, "%s outlives a short TTL", key)
		assert.Equal(t, want, string(val))
	}
	v, err := r.PutRecord(ctx, "ttl:short", []byte("again"), 0, 0)
	require.NoError(t, err, "an expired record counts as absent")
	val, got, err := r.GetRecord(ctx, "ttl:short")
	require.NoError(t, err)
	assert.Equal(t, v, got)
	assert.Equal(t, "again", string(val))
}

func testRecordBadInput(t *testing.T, r idempotency.Records) {
	ctx := ctxFor(t)
	_, _, err := r.GetRecord(ctx, "")
	assert.Error(t, err, "empty key")
	_, err = r.PutRecord(ctx, "", []byte("x"), 0, 0)
	assert.Error(t, err, "empty key")
	_, err = r.PutRecord(ctx, strings.Repeat("x", idempotency.MaxKeyLen+1), []byte("x"), 0, 0)
	assert.Error(t, err, "too long key")
	_, err = r.PutRecord(ctx, "negative-ttl", []byte("x"), 0, -time.Second)
	assert.Error(t, err, "negative TTL")
	_, _, err = r.GetRecord(ctx, "negative-ttl")
	assert.ErrorIs(t, err, idempotency.ErrNotFound, "a refused put stores nothing")
}

// testRecordRace: writers race on each version; exactly one wins each round.
func testRecordRace(t *testing.T, r idempotency.Records) {
	const writers, rounds = 20, 5
	ctx := ctxFor(t)
	const key = "race"
	var version uint64
	var lastWinner string
	for round := range rounds {
		var (
			start          = make(chan struct{})
			wg             sync.WaitGroup
			mu             sync.Mutex
			wins, conflict int
			other          []error
			next           uint64
		)
		for w := range writers {
			wg.Go(func() {
				<-start
				val := fmt.Sprintf("round %d writer %d", round, w)
				v, err := r.PutRecord(ctx, key, []byte(val), version, 0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
					next, lastWinner = v, val
				case errors.Is(err, idempotency.ErrVersionConflict):
					conflict++
				default:
					other = append(other, err)
				}
			})
		}
		close(start)
		wg.Wait()
		require.Empty(t, other, "round %d", round)
		require.Equal(t, 1, wins, "round %d: exactly one writer wins version %d", round, version)
		require.Equal(t, writers-1, conflict, "round %d", round)
		version = next
	}
	val, v, err := r.GetRecord(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, version, v)
	assert.Equal(t, lastWinner, string(val), "the last winner's value is stored")
}

// BenchClaimComplete measures the store cost of one handled key: a Claim of
// a new key, then Complete.
func BenchClaimComplete(b *testing.B, s idempotency.Store) {
	ctx := context.Background()
	prefix := fmt.Sprintf("bench:%d:", time.Now().UnixNano())
	value := []byte(`{"status":"approved","tid":123456789}`)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		claimComplete(ctx, b, s, fmt.Sprintf("%s%d", prefix, i), value)
		i++
	}
}

// BenchClaimCompleteParallel is BenchClaimComplete from 32 goroutines per
// CPU, the ingress's shape under load.
func BenchClaimCompleteParallel(b *testing.B, s idempotency.Store) {
	ctx := context.Background()
	prefix := fmt.Sprintf("benchp:%d:", time.Now().UnixNano())
	value := []byte(`{"status":"approved","tid":123456789}`)
	var seq atomic.Int64
	b.ReportAllocs()
	// 32 goroutines per CPU: the concurrency of an ingress serving 64
	// connections on two cores, which is what auto-pipelining is for.
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			claimComplete(ctx, b, s, fmt.Sprintf("%s%d", prefix, seq.Add(1)), value)
		}
	})
}

// BenchClaimDuplicate measures a duplicate: a Claim answered Done with the
// stored value.
func BenchClaimDuplicate(b *testing.B, s idempotency.Store) {
	ctx := context.Background()
	key := fmt.Sprintf("benchdup:%d", time.Now().UnixNano())
	claimComplete(ctx, b, s, key, []byte(`{"status":"approved","tid":123456789}`))
	b.ReportAllocs()
	for b.Loop() {
		c, err := s.Claim(ctx, key, time.Minute)
		if err != nil || c.State != idempotency.Done {
			b.Fatalf("claim duplicate: %v, %v", c.State, err)
		}
	}
}

func claimComplete(ctx context.Context, b *testing.B, s idempotency.Store, key string, value []byte) {
	c, err := s.Claim(ctx, key, 30*time.Second)
	if err != nil || c.State != idempotency.Acquired {
		b.Fatalf("claim %q: %v, %v", key, c.State, err)
	}
	if err := s.Complete(ctx, c, value, time.Hour); err != nil {
		b.Fatalf("complete %q: %v", key, err)
	}
}

// testRenewFenced: only the current holder renews; a released, completed or
// taken-over claim is refused, an expired one nobody took over is not.
func testRenewFenced(t *testing.T, s idempotency.Store) {
	ctx := ctxFor(t)
	renew := idempotency.RenewOptions{Lease: long}

	first, second := takeover(t, s, "renew-takeover")
	_, err := s.Renew(ctx, first, renew)
	assert.ErrorIs(t, err, idempotency.ErrNotHolder, "the first holder lost the key")
	_, err = s.Renew(ctx, first, idempotency.RenewOptions{Lease: long, Call: true, Keep: long})
	assert.ErrorIs(t, err, idempotency.ErrNotHolder, "a lost holder cannot announce a call")
	second, err = s.Renew(ctx, second, renew)
	require.NoError(t, err, "the successor holds the key")
	assert.Equal(t, idempotency.Acquired, second.State)
	assert.Equal(t, 2, second.Attempts)
	assert.Zero(t, second.Calls, "nobody announced a call")

	rel := acquire(t, s, "renew-released", long)
	require.NoError(t, s.Release(ctx, rel))
	_, err = s.Renew(ctx, rel, renew)
	assert.ErrorIs(t, err, idempotency.ErrNotHolder, "a released claim is not renewed")

	done := acquire(t, s, "renew-done", long)
	require.NoError(t, s.Complete(ctx, done, []byte("v"), long))
	_, err = s.Renew(ctx, done, renew)
	assert.ErrorIs(t, err, idempotency.ErrNotHolder, "a completed key is not renewed")

	exp := acquire(t, s, "renew-expired", short)
	testutil.Eventually(t, waitFor, interval, func() error {
		if _, err := s.Get(ctx, "renew-expired"); !errors.Is(err, idempotency.ErrNotFound) {
			return fmt.Errorf("get: %v, want ErrNotFound once the claim expires", err)
		}
		return nil
	})
	exp, err = s.Renew(ctx, exp, renew)
	require.NoError(t, err, "an expired claim nobody took over is still the holder's")
	c, err := s.Claim(ctx, "renew-expired", long)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Busy, c.State, "renewed again")
	require.NoError(t, s.Complete(ctx, exp, []byte("v"), long), "the renewed claim (and its new token) completes")

	_, err = s.Renew(ctx, idempotency.Claim{Key: "renew-bad", State: idempotency.Busy}, renew)
	assert.Error(t, err, "a busy answer is not a claim")
	_, err = s.Renew(ctx, second, idempotency.RenewOptions{})
	assert.Error(t, err, "the lease must be positive")
	_, err = s.Renew(ctx, second, idempotency.RenewOptions{Lease: long, Call: true})
	assert.Error(t, err, "a call needs a keep")
}

// testRenewKeepsClaimAlive: a renewed claim outlives its first TTL, and a
// shorter renewal never shortens it.
func testRenewKeepsClaimAlive(t *testing.T, s idempotency.Store) {
	ctx := ctxFor(t)
	key := "renew-alive"
	c := acquire(t, s, key, short)
	c, err := s.Renew(ctx, c, idempotency.RenewOptions{Lease: long})
	require.NoError(t, err)
	c, err = s.Renew(ctx, c, idempotency.RenewOptions{Lease: short})
	require.NoError(t, err)
	rec, err := s.Get(ctx, key)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(long), rec.ClaimExpires, clockTol, "a shorter renewal does not shorten the lease")
	other, err := s.Claim(ctx, key, long)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Busy, other.State)
	require.NoError(t, s.Complete(ctx, c, []byte("v"), long))
}

// testCallMarker: calls and lookups announced under a key survive a
// release and an expiry, so the next holder knows to reconcile, and when.
func testCallMarker(t *testing.T, s idempotency.Store) {
	ctx := ctxFor(t)
	key := "call-marker"
	c := acquire(t, s, key, short)
	assert.Zero(t, c.Calls)
	c, err := s.Renew(ctx, c, idempotency.RenewOptions{Lease: short, Lookup: true})
	require.NoError(t, err)
	assert.Equal(t, 1, c.Lookups)
	c, err = s.Renew(ctx, c, idempotency.RenewOptions{Lease: short, Call: true, Keep: long})
	require.NoError(t, err)
	assert.Equal(t, 1, c.Calls)
	assert.Less(t, c.SentAgo, clockTol)
	require.NoError(t, s.Release(ctx, c))

	c2, err := s.Claim(ctx, key, short)
	require.NoError(t, err)
	require.Equal(t, idempotency.Acquired, c2.State)
	assert.Equal(t, 2, c2.Attempts)
	assert.Equal(t, 1, c2.Calls, "the marker survives a release")
	assert.Equal(t, 1, c2.Lookups)
	assert.Less(t, c2.SentAgo, clockTol)
	rec, err := s.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, 1, rec.Calls)

	// The second holder dies; the third takes over after expiry.
	var c3 idempotency.Claim
	testutil.Eventually(t, waitFor, interval, func() error {
		c3, err = s.Claim(ctx, key, long)
		if err != nil {
			return err
		}
		if c3.State != idempotency.Acquired {
			return fmt.Errorf("claim: %s", c3.State)
		}
		return nil
	})
	assert.Equal(t, 3, c3.Attempts)
	assert.Equal(t, 1, c3.Calls, "the marker survives an expiry")
	assert.GreaterOrEqual(t, c3.SentAgo, short, "time since the call runs on")
	c3, err = s.Renew(ctx, c3, idempotency.RenewOptions{Lease: long, Call: true, Keep: long})
	require.NoError(t, err)
	assert.Equal(t, 2, c3.Calls)
	c3, err = s.Renew(ctx, c3, idempotency.RenewOptions{Lease: long, Retract: true})
	require.NoError(t, err)
	assert.Equal(t, 1, c3.Calls, "a call never sent is taken back")
	c3, err = s.Renew(ctx, c3, idempotency.RenewOptions{Lease: long, Call: true, Keep: long})
	require.NoError(t, err)
	assert.Equal(t, 2, c3.Calls)
	require.NoError(t, s.Complete(ctx, c3, []byte("v"), long))
	rec, err = s.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Done, rec.State)
	assert.Equal(t, 2, rec.Calls)
}

// testRetractLastCall: retracting the only announced call clears the
// marker, so the next holder need not reconcile.
func testRetractLastCall(t *testing.T, s idempotency.Store) {
	ctx := ctxFor(t)
	key := "retract"
	c := acquire(t, s, key, long)
	c, err := s.Renew(ctx, c, idempotency.RenewOptions{Lease: long, Call: true, Keep: long})
	require.NoError(t, err)
	require.Equal(t, 1, c.Calls)
	c, err = s.Renew(ctx, c, idempotency.RenewOptions{Lease: long, Retract: true})
	require.NoError(t, err)
	assert.Zero(t, c.Calls)
	require.NoError(t, s.Release(ctx, c))
	c2, err := s.Claim(ctx, key, long)
	require.NoError(t, err)
	require.Equal(t, idempotency.Acquired, c2.State)
	assert.Zero(t, c2.Calls, "no marker left")
	assert.Equal(t, 2, c2.Attempts)
	_, err = s.Renew(ctx, c2, idempotency.RenewOptions{Lease: long, Call: true, Lookup: true, Keep: long})
	assert.Error(t, err, "one announcement at a time")
}
