// Package sim is a Praxis Cashier simulator: an HTTP server that speaks the
// Praxis 1.3 API (API.md §5, §7, §9; SIGNATURE.md) for one or more merchant
// applications, because Praxis' sandbox cannot be reached from here. The
// ingress, worker, ledger and demo tests, and the benchmarks, all run against
// it, so every customer or back-office action is also a Go method and the
// request path avoids needless allocation and locking.
//
// It depends only on the standard library, adapter/praxis and zerolog.
//
// # Praxis endpoints
//
// POST /cashier/cashier, /cashier/virtual-terminal, /agent/manage-transaction,
// /agent/manage-withdrawal-request, /agent/find-transaction,
// /agent/find-order and /direct/refund. Each request is checked in this
// order, and the first failure is answered unsigned (basic errors carry no
// GT-Authentication header):
//
//  1. no GT-Authentication header: HTTP 400, status 400 "GT-Authentication header is missing";
//  2. body not a JSON object: status 400 "Bad request";
//  3. unknown merchant_id: status 401 "Account not found";
//  4. unknown application_key: status 401 "Website not found";
//  5. signature mismatch (request list from Config.Lists): status 401 "Account not found";
//  6. timestamp in the future or ≥ 60 s old: status 400 "Timestamp invalid";
//  7. a missing or malformed field: status 400 "Input validation failed: <field> ...";
//  8. unknown tid, order_id or reference_id: status 400 "Transaction not found!";
//     a reused order_id: status 400 "The order_id value is not unique!";
//  9. an action the transaction's state does not allow (capturing a
//     transaction that is not authorized, refunding more than remains, ...):
//     status 400 with a description naming the state ([StatusInvalidState]);
//  10. an internal failure: status 999 "Generic Error".
//
// Apart from the missing-header case, errors are HTTP 200. A success is
// signed with the endpoint's response list and carries status 0, description
// "Ok", version "1.3" and a timestamp.
//
// # Lifecycles
//
// tids come from one counter shared by every application (so a tid names one
// transaction across the simulator; Reset does not rewind it).
//
//   - Deposit (intent payment): the customer pays → a sale goes pending →
//     approved, or pending → rejected (decline), or initialized (3-D Secure,
//     with a redirect_url) → approved | rejected | cancelled. An approved
//     deposit may later be refunded (partial_refund, refund) or charged back.
//   - Authorization (intent authorization): pending → authorized; the Agent
//     API capture-authorization moves it to approved, cancel-authorization to
//     cancelled. Both work only from authorized; anything else is a business
//     error.
//   - Refund (Direct API): of an approved or partially refunded sale or
//     captured authorization, in the deposit's currency, for at most what
//     remains unrefunded. It creates a refund tid (approved at once) with its
//     own order_id (unique like a session's), and moves the deposit to
//     partial_refund or refund. Both changes are notified to the deposit
//     session's notification_url.
//   - order_id is unique per application across sessions and refunds.
//     Payment links accept expires up to 72 h ahead; sessions otherwise live
//     15 minutes, after which the customer can no longer act. ExpireSession
//     sends the transaction-less expiry notification (SIGNATURE.md V7).
//
// # Withdrawals: our interpretation
//
// Praxis documents withdrawals only loosely (API.md §5.5, §6), so the
// simulator fixes one reading and the adapter must not depend on more:
//
//   - A withdrawal session's customer submits an amount. If the session had a
//     balance, an amount above it is refused before the validation callback
//     (no transaction). Otherwise a withdrawal request W is created: a tid with
//     transaction_type "payout", session.intent "withdrawal", status
//     "requested" and no withdrawal_request_id.
//   - The back office may approve W (status "authorized"), reject it
//     ("rejected") or edit its amount and fee while it is still "requested".
//   - complete-withdrawal-request on W (requested or authorized), mode
//     same_id (the default): W goes in_progress → approved, two
//     notifications; the response carries W. Mode split (per application): a
//     new payout tid P with withdrawal_request_id W goes pending → approved;
//     W becomes "split" without a notification (Praxis does not notify
//     request states); the response carries P.
//     With Application.HoldPayouts the payout stops at in_progress / pending
//     until ApprovePayout, RejectWithdrawal or ErrorWithdrawal settles it.
//   - cancel-withdrawal-request on W that has not started processing
//     (requested or authorized) → "cancelled". Later it is a business error.
//   - An approved payout may be reversed ("reversed"); an unfinished one may
//     end in "error".
//
// # Notifications
//
// Every status change of a transaction whose session has a notification_url
// is notified (V3 shape, ListNotificationRequest, full customer, session and
// transaction objects, nulls written as null). A reply with a negative
// status, a body that is not a JSON envelope, a non-200 answer or a timeout
// is resent after Config.ResendDelay, up to Config.MaxDeliveries attempts; a
// positive status is final (documented Praxis behaviour). A reply signature
// (ListWebhookReply) is checked when present and the result recorded, but a
// bad one causes no resend (whether Praxis checks it is UNCONFIRMED).
// Notifications of one tid are delivered strictly in order: a later one waits
// until the earlier one is acknowledged or has used up its attempts, unless
// the out-of-order fault is on. At most Config.MaxConcurrentDeliveries
// notifications are in flight at once, across all tids. A resend carries the same body and signature
// unless Config.FreshResendTimestamp is set (UNCONFIRMED in Praxis). Every
// attempt, and every validation callback, is recorded (Deliveries).
//
// # Forged, altered and replayed notifications
//
// Forge sends once, with the genuine signature header, a copy of the latest
// genuine notification of a tid altered as an attacker who captured it
// could: an edited transaction_status (not signed), edited unsigned fields
// (session.cid, transaction_type, withdrawal_request_id, ...), characters
// shifted between adjacent signed fields (the signature is a concatenation
// without separators: order_id digits into tid, conversion_rate digits
// into amount), or nothing (Replay). Forged deliveries are recorded with
// Forged and Alteration and change nothing in the simulator: find-transaction
// and find-order keep answering the truth. Test API: POST
// /sim/transactions/{tid}/forge and /replay.
//
// # Effects and balances
//
// Effects counts, per tid, every state-changing effect actually applied —
// captures and cancels (keyed by the authorization), withdrawal completes,
// withdrawal cancels and payouts (keyed by the withdrawal request W, in both
// modes), refunds (keyed by the deposit), chargebacks — and every call per
// endpoint path, so a test can assert that a retried command ran exactly
// once.
//
// Balances is, per (application, cid, currency), the net movement of the
// customer's merchant-wallet balance implied by the final statuses, in minor
// units: an approved deposit counts +amount (also once partially or fully
// refunded or charged back), an approved refund −its amount, a chargeback
// −what was still unrefunded, an approved payout −amount, and a reversed
// payout −amount +amount (nothing). A withdrawal request that was split
// counts through its payouts, never itself.
package sim
