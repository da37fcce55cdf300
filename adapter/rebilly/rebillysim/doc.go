// Package rebillysim is a Rebilly simulator: one organization's REST API
// (cashiers, deposit requests, transactions, refunds, payouts, payout
// requests and the storefront reverse withdrawal) as read from
// ../shared/rebilly/API.md, with the notificationUrl call, webhooks with
// Basic or Digest credentials, problem-details errors, rate-limit headers,
// and the same kinds of fault injection and effect counts as the Praxis
// simulator (adapter/sim). It is an http.Handler plus Go methods so tests
// can play the customer, the gateway and the back office. It speaks the
// wire format through adapter/rebilly's own types and strict decoder.
//
// # API
//
// Paths live under /organizations/<Config.OrganizationID> (org-less too
// when Config.AllowOrgless). Every call needs a REB-APIKEY from
// Config.APIKeys (401 otherwise), except the storefront reverse withdrawal,
// which takes the cashier's cashierToken as a Bearer credential. Errors are
// RFC 9457 problems (Config.ProblemContentType); a 422 names its invalid
// fields. Non-GET calls count against Config.RateLimit: every answer carries
// X-RateLimit-Limit and -Remaining, and a 429 carries
// X-RateLimit-Retry-After (a Unix timestamp) and has no effect.
//
//   - POST /cashiers: a cashier and its deposit request (201); with
//     Config.ReturnExistingCashier an unexpired cashier of the same
//     customer, website and currency is returned with 200. Deposit limits
//     bind PayDeposit; cashierToken is null once the deposit request is
//     completed or expired, or the cashier has expired.
//   - POST /transactions (sale, authorize) and POST /payouts (credit):
//     approved at once; a requestId seen in the last 24 h has no effect and
//     is answered per Config.Duplicate (409 problem, or 200 with the first
//     transaction).
//   - POST /transactions/{id}/refund: of an approved sale or capture, in its
//     currency, at most what remains; a refund child approved at once, the
//     parent partially-refunded or refunded (revision bumped). No dedupe:
//     a repeat is a second refund, as in Rebilly.
//   - GET /transactions (filter requestId, customerId, websiteId, type,
//     status, result, parentTransactionId, depositRequestId,
//     payoutRequestId; sort createdTime or -createdTime; limit, offset;
//     Pagination-* headers) and GET /transactions/{id}.
//   - POST /payout-requests (new id), PUT /payout-requests/{id} (create
//     with the client's id, 201; a repeat with the same customer, currency
//     and amount is 200 and no effect; a different one 409),
//     GET /payout-requests[/{id}], POST /payout-requests/{id}/cancel (from
//     pending or ready; a second cancel is 409).
//   - POST /storefront/cashiers/{id}/cancel-payout-requests {amount}:
//     cancels the customer's pending payout requests oldest first up to
//     amount (all without one), with rebilly.SelectReverse.
//
// # Lifecycles
//
// A transaction starts at revision 1; every change bumps it. A cashier
// deposit (PayDeposit) is a sale tied to the cashier's deposit request:
// approved or declined at once, or result unknown with status
// waiting-approval (offsite; an approvalUrl link) or timeout, until Finish
// gives it a final result. The deposit request becomes completed with an
// approved transaction, attempted otherwise. A payout request is pending
// until cancelled or fulfilled (FulfillPayoutRequest: an approved credit
// transaction with payoutRequestId).
//
// # Notifications and webhooks
//
// When a transaction's result becomes final and it has a notificationUrl
// (inherited from its cashier), the URL with {id} and {result} replaced is
// POSTed (body per Config.NotificationBody; no credential, as documented).
// Every configured webhook gets the events it filters for
// (transaction-processed, offsite-payment-completed,
// transaction-timeout-resolved, transaction-refunded,
// transaction-partially-refunded, payout-request-created|canceled|fulfilled)
// with the default payload shape, Basic credentials at once or Digest after
// the receiver's 401 challenge. A non-2xx or no answer is resent after
// Config.ResendDelay up to Config.MaxDeliveries; the duplicate fault
// repeats an acknowledged one. Deliveries are not ordered: consumers order
// by revision. Every attempt is recorded (Deliveries).
//
// # Faults and effects
//
// Faults are per operation ("POST /transactions/{id}/refund", or "*"):
// latency and jitter, 503 without the effect, 500 after the effect, a lost
// reply (connection closed after the effect) and a timeout (no answer after
// the effect). Effects counts each applied effect by kind and resource id
// and every call per operation, so a test can assert that a retried command
// ran exactly once.
package rebillysim
