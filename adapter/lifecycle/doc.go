// Package lifecycle turns Praxis notifications, which arrive late, repeated
// and out of order, into exactly one ledger instruction per money movement.
// It is a pure state machine: no I/O, no clock, no globals. The caller
// (adapter/ledger) loads a State, calls Apply with one parsed notification,
// stores the new State and publishes the instructions.
//
// # Anchors: which notifications share a state
//
// Every Input updates the State of one anchor tid (Anchor):
//
//   - a sale or authorization: its own tid (family deposit);
//   - a refund tid whose deposit is known (ReferenceTID): the deposit's tid,
//     so the deposit knows what was refunded (family deposit); otherwise its
//     own tid (family refund);
//   - a payout tid, or a refund paying a withdrawal request: the withdrawal
//     request's tid (withdrawal_request_id) when present, else its own tid
//     (family payout). The withdrawal request itself is a payout-type tid of
//     a withdrawal session without withdrawal_request_id (Input.Request).
//
// # Milestones, not arrival order
//
// A status is evidence that the transaction reached a point of its
// documented flow (API.md §6, LEGACY_PLATFORM.md §4), and a later point
// implies the earlier ones: `approved` proves a payout was requested and in
// progress, `chargeback` proves a deposit was approved. The State keeps the
// furthest point reached (Stage) and the first failure, and after every
// input emits whatever the reached points owe and was not emitted yet. So a
// skipped or late status is caught up once, and a repeated or older one
// (`pending` after `approved`) adds nothing: it is recorded in the history
// with Outcome duplicate or regression and produces no instruction.
// A failure implies no stage (a request may be cancelled before it was
// ever requested, from initialized); a stage status arriving after the
// failure still proves that stage was reached, so a payout debited at that
// stage is debited and released together (net zero), as it would have been
// in order.
//
// # What each movement books
//
//   - deposit.credited: once, when a sale or authorization is approved (a
//     captured authorization is approved; `authorized` alone is a hold, not
//     money). Amount, currency and fee come from the first notification that
//     proves approval (normally `approved` itself; API.md §3: the final
//     notification's amount, not the request's).
//   - deposit.reversed from a refund: once per refund tid, when that refund
//     tid is approved, for the refund tid's amount (the refunded amount). The
//     deposit's own `partial_refund`/`refund` statuses carry the deposit's
//     amount, not the refunded one, and never book anything: a refund is
//     counted from its refund tid only, never twice. A linked refund is
//     booked once the deposit is credited, for at most what is still
//     credited (excess: FlagAbsorbedRefund).
//   - deposit.reversed from `chargeback` or `reversed` on the deposit: once,
//     for what is credited and not yet reversed on this anchor (credited −
//     linked refunds booked); nothing after a full `refund`. If the deposit
//     was partly refunded by refund tids that are not linked to it, the
//     remainder is unknown here: nothing is booked; a Hold
//     (HoldChargebackRemainder, FlagUncertainAmount) proposes what is left on
//     the deposit, and a person decides (Resolve).
//   - payout.debited: once, when the request reaches the application's debit
//     stage (requested, authorized or in_progress), or any later stage
//     (skipped or out of order). A payout tid's pending (split mode), and any
//     status of a payout tid, count as in_progress: it exists only once the
//     request is being paid. Amount and fee are the freshest known.
//   - payout.adjusted: after the debit, when a fresh notification carries
//     another amount or fee (an edit before authorization, LEGACY_PLATFORM.md
//     §4.2): previous amount, new amount and delta (new − previous, so a
//     positive delta debits more).
//   - payout.released: once, when a debited payout ends cancelled, rejected
//     or declined: the debited amount goes back to the customer. A payout
//     that ends in `error` may have paid (API.md): its release is a Hold
//     (HoldPayoutError), booked only by a person's decision (Resolve).
//   - an approved deposit reported later with another amount or currency
//     books nothing more: a Hold (HoldAmountChanged) asks a person.
//   - payout.reversed: once, when a debited payout is reversed after approval.
//
// Conflicting finals (approved after rejected, error after approved) are
// recorded with FlagConflict and change nothing: the first final wins, and a
// person decides. An unknown status is kept in the state and history with
// FlagUnknownStatus, never dropped; a known status that does not belong to
// the family (chargeback on a payout) gets FlagUnexpectedStatus.
//
// # The order rule
//
// For any order and any duplication of the notifications of one consistent
// history: (1) credited, debited, released and payout.reversed are each
// emitted the same number of times (0 or 1 per anchor); (2) the sums of the
// four movement families are equal: credits, deposit reversals, payout
// debits (debited + adjusted deltas) and payout returns (released +
// reversed); so (3) the net per customer (Instruction.Signed) is equal. The
// exact list (kind, amount, currency, fee) is the same except in two cases,
// where only the split between instructions of one family differs: an
// amount edit (an edited payout seen first at its new amount is debited at
// it, instead of debited and adjusted), and a chargeback processed before a
// linked refund (the chargeback reverses the whole remainder and the late
// refund is absorbed). Duplicates alone never change the list.
//
// Holds are announced once (Result.Holds), kept in the State, and count as
// booked for the order rule (a person books or dismisses them).
//
// Instruction.Signed is the movement of the customer's balance, in minor
// units, without fees (fees are carried, and booked as the platform decides;
// their semantics are UNCONFIRMED in API.md §4.4): credited +, deposit
// reversed −, debited −, adjusted −delta, released +, payout reversed +.
package lifecycle
