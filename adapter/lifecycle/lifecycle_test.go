package lifecycle

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// note is one notification of a test sequence.
type note struct {
	tid, wid, ref int64
	typ, status   string
	request       bool
	amount        *int64
	fee           *int64
}

func i64(v int64) *int64 { return &v }

// Builders for the transactions of the sequences below.
func wr(status string, amount, fee int64) note { // withdrawal request 100
	return note{tid: 100, typ: "payout", status: status, request: true, amount: i64(amount), fee: i64(fee)}
}
func po(status string, amount, fee int64) note { // payout 101 of request 100 (split mode)
	return note{tid: 101, wid: 100, typ: "payout", status: status, amount: i64(amount), fee: i64(fee)}
}
func sale(status string) note { // deposit 200
	return note{tid: 200, typ: "sale", status: status, amount: i64(10000), fee: i64(250)}
}
func auth(status string) note { // authorization 210 (3.x spelling on purpose)
	return note{tid: 210, typ: "authorize", status: status, amount: i64(8000), fee: i64(0)}
}
func refund(tid, amount, ref int64) note { // refund tid of deposit 200 (ref 0: not linked)
	return note{tid: tid, ref: ref, typ: "refund", status: "approved", amount: i64(amount), fee: i64(0)}
}

func (n note) input(id string) Input {
	return Input{
		EventID: id, Time: time.Unix(1700000000, 0).UTC(), Type: n.typ, Status: n.status, TID: n.tid,
		WithdrawalRequestID: n.wid, Request: n.request, ReferenceTID: n.ref, Amount: n.amount, Currency: "EUR",
		Fee: n.fee, OrderID: fmt.Sprintf("order-%d", n.tid), CID: "cust-1", Processor: "WireCard",
	}
}

// mv is an instruction's money: what the acceptance compares.
func mv(i Instruction) string {
	s := fmt.Sprintf("%s %d %s", i.Kind, i.Amount, i.Currency)
	if i.Fee != nil {
		s += fmt.Sprintf(" fee=%d", *i.Fee)
	}
	if i.PreviousAmount != nil {
		s += fmt.Sprintf(" prev=%d", *i.PreviousAmount)
	}
	if i.PreviousFee != nil {
		s += fmt.Sprintf(" prevfee=%d", *i.PreviousFee)
	}
	if i.Delta != nil {
		s += fmt.Sprintf(" delta=%d", *i.Delta)
	}
	return s
}

// Expected movements, written the way mv prints them.
const (
	deb      = "payout.debited 5000 EUR fee=100"
	rel      = "payout.released 5000 EUR fee=100"
	prev     = "payout.reversed 5000 EUR fee=100"
	credSale = "deposit.credited 10000 EUR fee=250"
	credAuth = "deposit.credited 8000 EUR fee=0"
)

var settings = []string{DebitOnRequested, DebitOnAuthorized, DebitOnInProgress}

// all is the same expectation for every debit setting.
func all(list ...string) map[string][]string {
	return map[string][]string{DebitOnRequested: list, DebitOnAuthorized: list, DebitOnInProgress: list}
}

type sequence struct {
	name  string
	notes []note
	want  map[string][]string // by debit setting
	// orderFree: every order yields the same multiset of movements (see
	// the package doc for the two exceptions).
	orderFree bool
	flags     []string // flags the in-order run must raise
}

func sequences() []sequence {
	return []sequence{
		// LEGACY_PLATFORM.md §4.4, same-id mode: the request's own statuses.
		{name: "4.4.1 processed normally", orderFree: true,
			notes: []note{wr("requested", 5000, 100), wr("authorized", 5000, 100), wr("in progress", 5000, 100), wr("approved", 5000, 100)},
			want:  all(deb)},
		{name: "4.4.2 cancelled before authorization", orderFree: true,
			notes: []note{wr("requested", 5000, 100), wr("canceled", 5000, 100)},
			want:  map[string][]string{DebitOnRequested: {deb, rel}, DebitOnAuthorized: nil, DebitOnInProgress: nil}},
		{name: "4.4.3 rejected after authorization", orderFree: true,
			notes: []note{wr("requested", 5000, 100), wr("authorized", 5000, 100), wr("rejected", 5000, 100)},
			want:  map[string][]string{DebitOnRequested: {deb, rel}, DebitOnAuthorized: {deb, rel}, DebitOnInProgress: nil}},
		{name: "4.4.4 reversed after processing", orderFree: true,
			notes: []note{wr("requested", 5000, 100), wr("authorized", 5000, 100), wr("in_progress", 5000, 100), wr("approved", 5000, 100), wr("reversed", 5000, 100)},
			want:  all(deb, prev)},
		{name: "completed straight from requested (authorized skipped)", orderFree: true,
			notes: []note{wr("requested", 5000, 100), wr("in_progress", 5000, 100), wr("approved", 5000, 100)},
			want:  all(deb)},
		{name: "error while in progress", orderFree: true,
			notes: []note{wr("requested", 5000, 100), wr("authorized", 5000, 100), wr("in_progress", 5000, 100), wr("error", 5000, 100)},
			want:  all(deb, rel)},
		{name: "cancelled from initialized, never requested", orderFree: true,
			notes: []note{wr("initialized", 5000, 100), wr("cancelled", 5000, 100)},
			want:  all()},
		{name: "amount and fee edited before authorization", flags: nil,
			notes: []note{wr("requested", 5000, 100), wr("authorized", 4500, 50), wr("in_progress", 4500, 50), wr("approved", 4500, 50)},
			want: map[string][]string{
				DebitOnRequested:  {deb, "payout.adjusted 4500 EUR fee=50 prev=5000 prevfee=100 delta=-500"},
				DebitOnAuthorized: {"payout.debited 4500 EUR fee=50"},
				DebitOnInProgress: {"payout.debited 4500 EUR fee=50"},
			}},
		// Split mode: a payout tid with withdrawal_request_id pays the request.
		{name: "split: payout pending counts as in_progress", orderFree: true,
			notes: []note{wr("requested", 5000, 100), wr("authorized", 5000, 100), po("pending", 5000, 100), po("approved", 5000, 100)},
			want:  all(deb)},
		{name: "split: payout approved then reversed", orderFree: true,
			notes: []note{wr("requested", 5000, 100), po("pending", 5000, 100), po("approved", 5000, 100), po("reversed", 5000, 100)},
			want:  all(deb, prev)},
		{name: "split: payout rejected by the PSP", orderFree: true,
			notes: []note{wr("requested", 5000, 100), wr("authorized", 5000, 100), po("pending", 5000, 100), po("rejected", 5000, 100)},
			want:  all(deb, rel)},

		// API.md §6 deposit flows.
		{name: "sale approved", orderFree: true,
			notes: []note{sale("initialized"), sale("pending"), sale("approved")},
			want:  all(credSale)},
		{name: "sale rejected", orderFree: true,
			notes: []note{sale("pending"), sale("rejected")},
			want:  all()},
		{name: "sale declined (3.x)", orderFree: true,
			notes: []note{sale("pending_async"), sale("declined")},
			want:  all()},
		{name: "3-D Secure cancelled", orderFree: true,
			notes: []note{sale("initialized"), sale("cancelled")},
			want:  all()},
		{name: "sale error", orderFree: true,
			notes: []note{sale("pending"), sale("error")},
			want:  all()},
		{name: "authorization captured", orderFree: true,
			notes: []note{auth("pending"), auth("authorized"), auth("approved")},
			want:  all(credAuth)},
		{name: "authorization cancelled", orderFree: true,
			notes: []note{auth("pending"), auth("authorized"), auth("cancelled")},
			want:  all()},
		{name: "partial then full refund, refund tids not linked", orderFree: true,
			notes: []note{sale("pending"), sale("approved"), refund(300, 3000, 0), sale("partial_refund"), refund(301, 7000, 0), sale("refund")},
			want:  all(credSale, "deposit.reversed 3000 EUR fee=0", "deposit.reversed 7000 EUR fee=0")},
		{name: "partial then full refund, refund tids linked", orderFree: true,
			notes: []note{sale("pending"), sale("approved"), refund(300, 3000, 200), sale("partial_refund"), refund(301, 7000, 200), sale("refund")},
			want:  all(credSale, "deposit.reversed 3000 EUR fee=0", "deposit.reversed 7000 EUR fee=0")},
		{name: "chargeback", orderFree: true,
			notes: []note{sale("pending"), sale("approved"), sale("chargeback")},
			want:  all(credSale, "deposit.reversed 10000 EUR")},
		{name: "reversed at the PSP", orderFree: true,
			notes: []note{sale("approved"), sale("reversed")},
			want:  all(credSale, "deposit.reversed 10000 EUR")},
		{name: "linked partial refund, then chargeback of the remainder",
			notes: []note{sale("approved"), refund(300, 3000, 200), sale("partial_refund"), sale("chargeback")},
			want:  all(credSale, "deposit.reversed 3000 EUR fee=0", "deposit.reversed 7000 EUR")},
		{name: "unlinked partial refund, then chargeback: flagged uncertain", orderFree: true,
			notes: []note{sale("approved"), refund(300, 3000, 0), sale("partial_refund"), sale("chargeback")},
			want:  all(credSale, "deposit.reversed 3000 EUR fee=0", "deposit.reversed 10000 EUR"),
			flags: []string{FlagUncertainAmount}},
		{name: "captured authorization, refunded in full (linked)", orderFree: true,
			notes: []note{auth("authorized"), auth("approved"), {tid: 310, ref: 210, typ: "refund", status: "approved", amount: i64(8000), fee: i64(0)}, auth("refund")},
			want:  all(credAuth, "deposit.reversed 8000 EUR fee=0")},
	}
}

// run applies notes in order to a fresh ledger (one State per anchor, kept
// as JSON between inputs like the service keeps it) and returns every
// instruction and the flags raised.
func run(t *testing.T, notes []note, ids []string, setting string) ([]Instruction, []string, map[int64]State) {
	t.Helper()
	return runStored(t, notes, ids, setting, true)
}

// runStored is run; asJSON=false keeps states in memory (Apply never
// modifies its argument), for the thousands of shuffled runs.
func runStored(t *testing.T, notes []note, ids []string, setting string, asJSON bool) ([]Instruction, []string, map[int64]State) {
	t.Helper()
	states := map[int64]State{}
	var out []Instruction
	var flags []string
	for i, n := range notes {
		in := n.input(ids[i])
		a := Anchor(in)
		res, err := Apply(states[a], in, Policy{DebitOn: setting})
		require.NoError(t, err, "note %d (%d %s)", i, n.tid, n.status)
		states[a] = res.State
		if asJSON {
			raw, err := json.Marshal(res.State)
			require.NoError(t, err)
			var back State
			require.NoError(t, json.Unmarshal(raw, &back))
			states[a] = back
		}
		out = append(out, res.Instructions...)
		flags = append(flags, res.Flags...)
	}
	// A hold is a movement a person books or dismisses: the order rule
	// counts its proposal as booked (hold_test.go checks nothing is).
	for _, st := range states {
		for _, h := range st.Open() {
			if h.Proposed != nil && h.Proposed.Amount > 0 {
				out = append(out, *h.Proposed)
			}
		}
	}
	return out, flags, states
}

func ids(n int, suffix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("e%d%s", i, suffix)
	}
	return out
}

func mvs(list []Instruction) []string {
	var out []string
	for _, i := range list {
		out = append(out, mv(i))
	}
	return out
}

// TestSequencesInOrder asserts the exact instruction list of every
// sequence, for every debit setting, in order and with each notification
// delivered twice (a Praxis resend under a new event id, and a JetStream
// redelivery under the same id).
func TestSequencesInOrder(t *testing.T) {
	for _, sq := range sequences() {
		for _, setting := range settings {
			t.Run(sq.name+"/"+setting, func(t *testing.T) {
				want := sq.want[setting]
				got, flags, states := run(t, sq.notes, ids(len(sq.notes), ""), setting)
				assert.Equal(t, want, mvs(got), "in order")
				for _, f := range sq.flags {
					assert.Contains(t, flags, f)
				}
				for _, st := range states {
					assert.Equal(t, st.Issued+len(st.Open()), countFor(got, st.Anchor), "Issued (plus held proposals) counts what anchor %d emitted", st.Anchor)
				}
				assertRefsUnique(t, got)

				var doubled []note
				var resend, redeliver []string
				for i, n := range sq.notes {
					doubled = append(doubled, n, n)
					resend = append(resend, fmt.Sprintf("e%d", i), fmt.Sprintf("e%d-resend", i))
					redeliver = append(redeliver, fmt.Sprintf("e%d", i), fmt.Sprintf("e%d", i))
				}
				got, _, _ = run(t, doubled, resend, setting)
				assert.Equal(t, want, mvs(got), "every notification resent")
				got, _, _ = run(t, doubled, redeliver, setting)
				assert.Equal(t, want, mvs(got), "every event redelivered")
			})
		}
	}
}

func countFor(list []Instruction, anchor int64) int {
	n := 0
	for _, i := range list {
		if i.TID == anchor || i.WithdrawalRequestID == anchor || i.ReferenceTID == anchor {
			n++
		}
	}
	return n
}

func assertRefsUnique(t *testing.T, list []Instruction) {
	t.Helper()
	seen := map[string]bool{}
	for _, i := range list {
		key := fmt.Sprintf("%d/%d/%d/%s", i.WithdrawalRequestID, i.ReferenceTID, i.TID, i.Ref)
		if i.WithdrawalRequestID != 0 {
			key = fmt.Sprintf("w%d/%s", i.WithdrawalRequestID, i.Ref)
		}
		assert.False(t, seen[key], "instruction ref %s repeats", key)
		seen[key] = true
	}
}

// families sums the movements the order rule keeps equal.
type families struct {
	credited, debited, released, payoutReversed int // one-shot counts
	credit, reversal, debit, ret, net           int64
}

func sum(list []Instruction) families {
	var f families
	for _, i := range list {
		f.net += i.Signed()
		switch i.Kind {
		case DepositCredited:
			f.credited++
			f.credit += i.Amount
		case DepositReversed:
			f.reversal += i.Amount
		case PayoutDebited:
			f.debited++
			f.debit += i.Amount
		case PayoutAdjusted:
			f.debit += *i.Delta
		case PayoutReleased:
			f.released++
			f.ret += i.Amount
		case PayoutReversed:
			f.payoutReversed++
			f.ret += i.Amount
		}
	}
	return f
}

// TestSequencesShuffled applies every permutation of each sequence (or 300
// seeded shuffles when there are too many), also with every notification
// duplicated, and checks the order rule of the package doc against the
// in-order run: same one-shot counts, same family sums, same net; and for
// order-free sequences the same multiset of movements.
func TestSequencesShuffled(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	for _, sq := range sequences() {
		for _, setting := range settings {
			t.Run(sq.name+"/"+setting, func(t *testing.T) {
				inOrder, _, _ := run(t, sq.notes, ids(len(sq.notes), ""), setting)
				wantSum := sum(inOrder)
				wantSet := slices.Sorted(slices.Values(mvs(inOrder)))

				check := func(notes []note, eventIDs []string, label string) {
					got, _, _ := runStored(t, notes, eventIDs, setting, false)
					if !assert.Equal(t, wantSum, sum(got), "%s: family sums", label) {
						t.Logf("got %v", mvs(got))
					}
					for _, i := range got {
						assert.Positive(t, i.Amount, "%s: %s", label, mv(i))
					}
					if sq.orderFree {
						assert.Equal(t, wantSet, slices.Sorted(slices.Values(mvs(got))), "%s: movements", label)
					}
				}
				base := ids(len(sq.notes), "")
				for _, perm := range permutations(len(sq.notes), 300, rng) {
					notes, eventIDs := make([]note, len(perm)), make([]string, len(perm))
					for k, p := range perm {
						notes[k], eventIDs[k] = sq.notes[p], base[p]
					}
					check(notes, eventIDs, fmt.Sprintf("order %v", perm))
				}
				// Duplicated and shuffled: each notification twice, the copy
				// under a new event id (a resend) or the same one (a redelivery).
				for range 200 {
					var notes []note
					var eventIDs []string
					for i, n := range sq.notes {
						notes = append(notes, n, n)
						copyID := base[i] + "-resend"
						if rng.IntN(2) == 0 {
							copyID = base[i]
						}
						eventIDs = append(eventIDs, base[i], copyID)
					}
					rng.Shuffle(len(notes), func(a, b int) {
						notes[a], notes[b] = notes[b], notes[a]
						eventIDs[a], eventIDs[b] = eventIDs[b], eventIDs[a]
					})
					check(notes, eventIDs, "duplicated+shuffled "+strings.Join(eventIDs, ","))
				}
			})
		}
	}
}

// permutations returns every permutation of 0..n-1 when there are at most
// limit of them, else limit seeded random ones (identity first).
func permutations(n, limit int, rng *rand.Rand) [][]int {
	total := 1
	for k := 2; k <= n; k++ {
		total *= k
	}
	base := make([]int, n)
	for i := range base {
		base[i] = i
	}
	if total > limit {
		out := [][]int{slices.Clone(base)}
		for len(out) < limit {
			p := slices.Clone(base)
			rng.Shuffle(n, func(a, b int) { p[a], p[b] = p[b], p[a] })
			out = append(out, p)
		}
		return out
	}
	var out [][]int
	var rec func(k int)
	rec = func(k int) {
		if k == n {
			out = append(out, slices.Clone(base))
			return
		}
		for i := k; i < n; i++ {
			base[k], base[i] = base[i], base[k]
			rec(k + 1)
			base[k], base[i] = base[i], base[k]
		}
	}
	rec(0)
	return out
}

func apply(t *testing.T, st State, n note, id, setting string) Result {
	t.Helper()
	res, err := Apply(st, n.input(id), Policy{DebitOn: setting})
	require.NoError(t, err)
	return res
}

func TestRepeatsAndRegressionsAreRecordedWithoutInstructions(t *testing.T) {
	tests := []struct {
		name    string
		first   []note
		then    note
		outcome Outcome
	}{
		{"pending after approved", []note{sale("initialized"), sale("approved")}, sale("pending"), OutcomeRegression},
		{"approved again", []note{sale("approved")}, sale("approved"), OutcomeDuplicate},
		{"requested after approved", []note{wr("authorized", 5000, 100), wr("approved", 5000, 100)}, wr("requested", 5000, 100), OutcomeRegression},
		{"pending seen before, again after approved", []note{sale("pending"), sale("approved")}, sale("pending"), OutcomeDuplicate},
		{"in progress twice", []note{wr("in_progress", 5000, 100)}, wr("in_progress", 5000, 100), OutcomeDuplicate},
		{"rejected after declined", []note{sale("declined")}, sale("rejected"), OutcomeRegression},
		{"payout pending after request in progress", []note{wr("in_progress", 5000, 100)}, po("pending", 5000, 100), OutcomeApplied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st State
			for i, n := range tt.first {
				st = apply(t, st, n, fmt.Sprintf("e%d", i), DebitOnInProgress).State
			}
			issued := st.Issued
			res := apply(t, st, tt.then, "late", DebitOnInProgress)
			assert.Equal(t, tt.outcome, res.Outcome)
			assert.Empty(t, res.Instructions)
			assert.Equal(t, issued, res.State.Issued)
			last := res.State.History[len(res.State.History)-1]
			assert.Equal(t, Entry{EventID: "late", TID: tt.then.tid, Status: normalize(tt.then.status), Outcome: tt.outcome, At: last.At}, last)
		})
	}
}

func normalize(s string) string { return strings.ReplaceAll(strings.ToLower(s), " ", "_") }

func TestUnknownStatusIsKeptAndFlagged(t *testing.T) {
	st := apply(t, State{}, sale("approved"), "e1", "").State
	res := apply(t, st, sale("On Hold"), "e2", "")
	assert.Equal(t, OutcomeUnknownStatus, res.Outcome)
	assert.Equal(t, []string{FlagUnknownStatus}, res.Flags)
	assert.Empty(t, res.Instructions)
	assert.Contains(t, res.State.Txs[200].Seen, "on_hold", "kept in the state")
	assert.Equal(t, "on_hold", res.State.History[len(res.State.History)-1].Status, "kept in the history")
	assert.Equal(t, "approved", res.State.Status, "the known state is untouched")
}

func TestUnexpectedAndUnknownTypesAreFlagged(t *testing.T) {
	res := apply(t, State{}, wr("chargeback", 5000, 0), "e1", "")
	assert.Equal(t, OutcomeUnexpected, res.Outcome)
	assert.Equal(t, []string{FlagUnexpectedStatus}, res.Flags)

	res = apply(t, State{}, note{tid: 9, typ: "bonus", status: "approved", amount: i64(1)}, "e1", "")
	assert.Equal(t, OutcomeUnknownType, res.Outcome)
	assert.Equal(t, []string{FlagUnknownType}, res.Flags)
	assert.Empty(t, res.Instructions)
	assert.Equal(t, FamilyOther, res.State.Family)
}

func TestConflictingFinalsChangeNothing(t *testing.T) {
	tests := []struct {
		name  string
		notes []note
	}{
		{"payout cancelled after approved", []note{wr("requested", 5000, 100), wr("approved", 5000, 100), wr("cancelled", 5000, 100)}},
		{"payout approved after rejected", []note{wr("requested", 5000, 100), wr("rejected", 5000, 100), wr("approved", 5000, 100)}},
		{"sale approved after rejected", []note{sale("rejected"), sale("approved")}},
		{"sale error after approved", []note{sale("approved"), sale("error")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st State
			for i, n := range tt.notes[:len(tt.notes)-1] {
				st = apply(t, st, n, fmt.Sprintf("e%d", i), DebitOnRequested).State
			}
			res := apply(t, st, tt.notes[len(tt.notes)-1], "last", DebitOnRequested)
			assert.Equal(t, OutcomeConflict, res.Outcome)
			assert.Equal(t, []string{FlagConflict}, res.Flags)
			assert.Empty(t, res.Instructions)
			assert.Equal(t, st.Stage, res.State.Stage)
			assert.Equal(t, st.Failure, res.State.Failure)
		})
	}
}

func TestRedeliveredEventIsAlreadyApplied(t *testing.T) {
	st := apply(t, State{}, sale("approved"), "e1", "").State
	res := apply(t, st, sale("approved"), "e1", "")
	assert.Equal(t, OutcomeAlreadyApplied, res.Outcome)
	assert.Empty(t, res.Instructions)
	assert.Equal(t, st, res.State, "state unchanged")
}

func TestMissingAmountIsFlaggedAndBookedWhenKnown(t *testing.T) {
	n := sale("approved")
	n.amount = nil
	res := apply(t, State{}, n, "e1", "")
	assert.Empty(t, res.Instructions)
	assert.Equal(t, []string{FlagMissingAmount}, res.Flags)
	res = apply(t, res.State, sale("approved"), "e2", "")
	assert.Equal(t, []string{credSale}, mvs(res.Instructions))

	w := wr("in_progress", 0, 0)
	w.amount = nil
	res = apply(t, State{}, w, "e1", "")
	assert.Empty(t, res.Instructions)
	assert.Equal(t, []string{FlagMissingAmount}, res.Flags)
	res = apply(t, res.State, wr("approved", 5000, 100), "e2", "")
	assert.Equal(t, []string{deb}, mvs(res.Instructions))
}

func TestSecondPayoutOfOneRequestIsFlagged(t *testing.T) {
	st := apply(t, State{}, wr("requested", 5000, 100), "e1", "").State
	st = apply(t, st, po("rejected", 5000, 100), "e2", "").State
	other := po("pending", 5000, 100)
	other.tid = 102
	res := apply(t, st, other, "e3", "")
	assert.Contains(t, res.Flags, FlagMultiplePayouts)
}

func TestLinkedRefundBeyondTheCreditIsAbsorbed(t *testing.T) {
	st := apply(t, State{}, sale("chargeback"), "e1", "").State
	res := apply(t, st, refund(300, 3000, 200), "e2", "")
	assert.Empty(t, res.Instructions)
	assert.Equal(t, []string{FlagAbsorbedRefund}, res.Flags)
	assert.Equal(t, int64(10000), res.State.Reversed)
}

func TestInstructionContext(t *testing.T) {
	st := apply(t, State{}, wr("requested", 5000, 100), "e1", DebitOnRequested).State
	res := apply(t, st, po("rejected", 5000, 100), "e2", DebitOnRequested)
	require.Len(t, res.Instructions, 1)
	got := res.Instructions[0]
	assert.Equal(t, Instruction{
		Kind: PayoutReleased, Ref: PayoutReleased, TID: 101, WithdrawalRequestID: 100, OrderID: "order-101", CID: "cust-1",
		Amount: 5000, Currency: "EUR", Fee: i64(100), Reason: "rejected", Processor: "WireCard",
		PraxisStatus: "rejected", EventID: "e2", OccurredAt: time.Unix(1700000000, 0).UTC(),
	}, got)
	assert.Equal(t, int64(5000), got.Signed())

	st = apply(t, State{}, refund(300, 3000, 200), "e1", "").State
	res = apply(t, st, sale("approved"), "e2", "")
	require.Len(t, res.Instructions, 2, "the credit, then the refund that waited for it")
	r := res.Instructions[1]
	assert.Equal(t, DepositReversed, r.Kind)
	assert.Equal(t, "deposit.reversed:refund:300", r.Ref)
	assert.Equal(t, int64(300), r.TID)
	assert.Equal(t, int64(200), r.ReferenceTID)
	assert.Equal(t, "order-300", r.OrderID)
	assert.Equal(t, "e1", r.EventID, "named after the refund's own notification")
	assert.Equal(t, int64(-3000), r.Signed())
}

func TestSigned(t *testing.T) {
	d := int64(-500)
	tests := []struct {
		ins  Instruction
		want int64
	}{
		{Instruction{Kind: DepositCredited, Amount: 10}, 10},
		{Instruction{Kind: DepositReversed, Amount: 10}, -10},
		{Instruction{Kind: PayoutDebited, Amount: 10}, -10},
		{Instruction{Kind: PayoutAdjusted, Amount: 10, Delta: &d}, 500},
		{Instruction{Kind: PayoutReleased, Amount: 10}, 10},
		{Instruction{Kind: PayoutReversed, Amount: 10}, 10},
		{Instruction{Kind: "other", Amount: 10}, 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.ins.Signed(), tt.ins.Kind)
	}
}

func TestBadInput(t *testing.T) {
	neg := int64(-1)
	tests := []struct {
		name string
		in   Input
		st   State
		err  error
		text string
	}{
		{"no event id", Input{TID: 1, Status: "approved", Type: "sale"}, State{}, ErrBadInput, "no event id"},
		{"no tid", Input{EventID: "e", Status: "approved", Type: "sale"}, State{}, ErrBadInput, "tid 0"},
		{"no status", Input{EventID: "e", TID: 1, Type: "sale"}, State{}, ErrBadInput, "no transaction_status"},
		{"negative amount", Input{EventID: "e", TID: 1, Status: "approved", Type: "sale", Amount: &neg}, State{}, ErrBadInput, "negative amount"},
		{"another anchor", Input{EventID: "e", TID: 1, Status: "approved", Type: "sale"}, State{Anchor: 2}, ErrWrongAnchor, "anchors at 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Apply(tt.st, tt.in, Policy{})
			assert.ErrorIs(t, err, tt.err)
			assert.ErrorContains(t, err, tt.text)
		})
	}
	_, err := Apply(State{}, Input{EventID: "e", TID: 1, Status: "approved", Type: "sale"}, Policy{DebitOn: "approved"})
	assert.ErrorContains(t, err, `"approved" is not requested, authorized or in_progress`)
}

func TestAnchor(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want int64
	}{
		{"sale", Input{Type: "sale", TID: 5}, 5},
		{"request", Input{Type: "payout", TID: 5, Request: true}, 5},
		{"split payout", Input{Type: "payout", TID: 6, WithdrawalRequestID: 5}, 5},
		{"linked refund", Input{Type: "refund", TID: 7, ReferenceTID: 5}, 5},
		{"refund paying a request", Input{Type: "refund", TID: 7, ReferenceTID: 3, WithdrawalRequestID: 5}, 5},
		{"unlinked refund", Input{Type: "refund", TID: 7}, 7},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Anchor(tt.in), tt.name)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	var st State
	for i := range maxHistory + 20 {
		st = apply(t, st, sale("pending"), fmt.Sprintf("e%d", i), "").State
	}
	assert.Len(t, st.History, maxHistory)
	assert.Len(t, st.Applied, maxApplied)
	assert.Equal(t, fmt.Sprintf("e%d", maxHistory+19), st.History[maxHistory-1].EventID)
}

// BenchmarkApplyWithdrawal is one withdrawal's five notifications, from a
// JSON-stored state each time, as the ledger service runs them.
func BenchmarkApplyWithdrawal(b *testing.B) {
	notes := []note{wr("requested", 5000, 100), wr("authorized", 5000, 100), wr("in_progress", 5000, 100), wr("approved", 5000, 100), wr("reversed", 5000, 100)}
	for b.Loop() {
		var raw []byte
		for i, n := range notes {
			var st State
			if raw != nil {
				if err := json.Unmarshal(raw, &st); err != nil {
					b.Fatal(err)
				}
			}
			res, err := Apply(st, n.input(fmt.Sprintf("e%d", i)), Policy{DebitOn: DebitOnRequested})
			if err != nil {
				b.Fatal(err)
			}
			if raw, err = json.Marshal(res.State); err != nil {
				b.Fatal(err)
			}
		}
	}
}
