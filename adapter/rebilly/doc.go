// Package rebilly is the Rebilly protocol: typed requests and responses,
// one strict decoder for every Rebilly body (Decode), webhook credential
// verifiers (BasicAuth, DigestAuth), and an HTTP client that classifies each
// call as success, rejected, transient or unknown (provider.Outcome), with
// whether the request was sent, as adapter/praxis does for Praxis. It knows
// nothing of NATS. The reference is ../shared/rebilly/API.md; the simulator
// is adapter/rebilly/rebillysim.
//
// # How Rebilly maps onto the shared concepts
//
// adapter/worker (rebilly.go), ingress (rebilly.go) and adapter/ledger
// (rebilly.go) implement what follows; the README's "A second provider:
// Rebilly" is the user's view of it.
//
// Commands (adapter/command names, on the Rebilly provider's command
// subjects), each at most one effect per command id:
//
//   - cashier.create → CreateCashier (customer, website, currency, deposit
//     limits, redirect, notificationUrl = the ingress's notification path
//     with ?id={id}&result={result}). No dedupe field and no list endpoint:
//     an unknown outcome cannot be reconciled, so, as for a Praxis session
//     whose answer was lost, the result says so and the CRM sends a new
//     command. The result carries id, cashierToken, expirationTime and
//     lastDepositRequestId (GetDepositRequest(...).DepositURL() is the
//     hosted form, UNCONFIRMED for cashiers).
//   - transaction.find → GetTransaction (a read; transient is retried).
//   - refund.create → Refund. No dedupe field: before the call the worker
//     stores the parent's refunds in a write-once note next to its claim; after an unknown
//     outcome it calls RefundsOf and counts a new refund child of the
//     command's amount as done, never repeating the POST.
//   - payout_request.create → UpsertPayoutRequest with id RequestIDFor(command
//     id): a repeat is 200 and no second effect. After an unknown outcome:
//     GetPayoutRequest; 404 means not done (PUT again is safe).
//   - payout_request.cancel → CancelPayoutRequest; unknown is settled by
//     GetPayoutRequest (status canceled = done; a second cancel is refused).
//   - payout_request.reverse (the reverse withdrawal: customer, currency,
//     amount) → PendingPayoutRequests, SelectReverse, then one cancel per
//     selected id. The selection must be stored in the claim before the
//     first cancel and reused on any retry: selecting again after some
//     cancels would pick younger requests and cancel more than asked.
//   - Creates that carry requestId (CreateTransaction, CreatePayout) send
//     RequestIDFor(command id); a 409 (ErrDuplicateRequestID) or any
//     unknown outcome is settled by FindByRequestID.
//
// Classification: 2xx that decodes → success; 4xx → rejected (404 matches
// ErrNotFound, the lookup's definite "no"); 408, 429, 503, and any 5xx to a
// GET → transient (Error.RateLimit.RetryAfter says how long to back off);
// no answer after sending, a 2xx that does not decode, 500/502/504 to a
// write, and a 409 to a requestId create → unknown. Unlike Praxis, a 5xx
// to a write is unknown, because Rebilly's guide says not to assume a
// request failed ([TO]).
//
// Events: the notificationUrl call (id and result in the query; body,
// headers and auth UNCONFIRMED, so all are ignored) and webhooks (Basic or
// Digest, checked in constant time) are triggers only. The ingress reads
// the id, GETs the transaction, publishes the GET's raw body (Response.Raw)
// as the event and answers 2xx only after the PubAck (non-2xx makes
// Rebilly retry). The result in the URL and a webhook's embedded
// transaction are never trusted: a forged notification names an id whose
// GET either fails (nothing published) or shows the genuine state. Event
// type from the transaction: sale and capture → deposit, authorize →
// authorization, refund → refund, credit → payout, anything else (void
// included) → other; the status token is the result. Dedup key and
// Nats-Msg-Id: rebilly:<organization>:t:<transaction id>:<revision> of the
// GET (EventKey), so a repeat of the same state is dropped and every change
// is published once. Payout-request webhooks are triggers for
// GetPayoutRequest (type withdrawal, status token = the request's status,
// key rebilly:<organization>:p:<id>:<updatedTime>, PayoutEventKey).
//
// Ledger (same instruction kinds and schema as Praxis, provider named):
//   - deposit.credited: a sale or capture whose result is approved, once per
//     transaction id, for AmountMinor of the GET;
//   - deposit.reversed: an approved refund child (ParentTransactionID is the
//     anchor), for the child's AmountMinor;
//   - payout.debited at the configured debit stage (payout request created,
//     or its credit transaction approved), payout.released when a debited
//     request is canceled (reverse withdrawal), payout.reversed when its
//     credit is refunded or voided.
//
// Results map onto the lifecycle's statuses as approved → approved,
// declined → rejected, canceled and abandoned → cancelled, unknown → pending
// (not final; nothing is booked).
//
// # UNCONFIRMED items and what became of them
//
//   - Org-less paths: ClientConfig.OrganizationID empty sends them.
//   - Rate-limit header names, Retry-After form: all spellings are read.
//   - Problem media type: the body is read whatever the Content-Type.
//   - Duplicate requestId answer: a 409 and a 200 are both handled.
//   - POST /cashiers answering 200 with an existing cashier: tolerated
//     (Response.HTTPStatus tells).
//   - Legacy balance fields in the cashier request: never sent.
//   - notificationUrl body, headers, placeholder encoding: only the id is
//     read, from the query, and confirmed by GET.
//   - Which transaction statuses are terminal: only result decides.
//   - Digest algorithm: DigestAuth.Algorithm (MD5 default, or SHA-256).
//   - Hosted cashier URL: not a documented cashier field; the result
//     carries the deposit request's "deposit" link (deposit_url) when
//     Rebilly gives one, and the cashierToken for a merchant's own page.
//   - A server-side reverse withdrawal endpoint: none is used; cancels are
//     made one by one with the secret key.
package rebilly
