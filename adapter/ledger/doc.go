// Package ledger is the service between verified Praxis events and the
// merchant's ledger: it consumes PRAXIS_EVENTS (durable pull consumer
// praxis-ledger), runs each payment notification through adapter/lifecycle
// with the anchor's state from idempotency.Records, and publishes one
// instruction per money movement on praxis.ledger.<app>.<kind> (stream
// PRAXIS_LEDGER). Session, subscription and validation events carry no
// money and are acked without a look.
//
// # Exactly once: a transactional outbox in the state record
//
// The anchor's record holds the lifecycle state and an outbox of
// instructions not yet known to be published. One delivery runs:
//
//  1. load the record; if its outbox is not empty (an earlier attempt
//     stopped after staging), publish it and compare-and-set it empty;
//  2. apply the event (an event id the state already applied changes
//     nothing: ack);
//  3. compare-and-set the new state with the new instructions in the outbox;
//  4. publish each instruction, Nats-Msg-Id = its deterministic id
//     <app>:<anchor>:<movement>;
//  5. compare-and-set the outbox empty; ack.
//
// Any compare-and-set conflict (another replica touched the anchor) starts
// over from 1. Where a crash (or an error, which naks) can strike:
//
//   - before 3: nothing was written; the redelivery does it all.
//   - after 3, before or during 4: the instructions are in the outbox, and
//     the redelivery (or any later event of the anchor) publishes them at
//     step 1. Never lost.
//   - after 4, before 5: step 1 publishes them again under the same ids,
//     and the stream's duplicate window drops the copies (the PubAck says
//     duplicate). Never doubled, provided that redelivery comes within the
//     window: AckWait and RetryMax must be shorter than it (New checks).
//   - after 5, before the ack: the redelivery finds its event id applied.
//
// Why stage before publishing rather than publish, then compare-and-set:
// the instructions an event yields depend on the state it meets. If a
// publish landed and its compare-and-set did not, another event of the
// anchor could be applied first to the old state and yield a different
// instruction for the same movement (a debit at another amount); the
// duplicate window would keep the first and the state would record the
// second. Staged instructions are fixed once their state is written, so a
// re-publish is always a byte-identical copy.
//
// The one residual risk: a record store outage longer than the duplicate
// window that starts between 4 and 5. The copy published after it is then
// stored twice; it carries the same id, so the ledger's consumer must (and
// can) drop it by id. Outboxes older than the window are logged and counted
// (praxis_ledger_stale_outbox_total).
//
// # Refunds and their deposits
//
// A refund tid is booked on its deposit's anchor when the deposit is known:
// from the notification's transaction.reference_id (UNCONFIRMED: Praxis
// does not document it in notifications), or from a RefundLinks record the
// worker writes before it calls /direct/refund. Otherwise it is booked on
// its own anchor. The choice is sticky: a refund tid that already has its
// own state stays there.
//
// # Rebilly
//
// With Config.Rebilly a second durable consumer (rebilly-ledger, filter
// rebilly.events.>, on the same events stream) feeds Rebilly's events to
// the same lanes, record store and outbox loop (updateRecord), with a
// state of its own per anchor (key <prefix><app>:rebilly:<anchor>). An
// event's data is the ingress's GET of the transaction or payout request,
// read with rebilly.Decode (the one strict decoder) and never looked up
// again; data that does not decode, or contradicts its subject or
// envelope, is terminated and counted (events_total{outcome="invalid"}).
// Instructions go to rebilly.ledger.<app>.<kind> in the same schema,
// provider "rebilly", id <app>:rebilly:<anchor>:<movement>:
//
//	event                                        anchor              books
//	sale/capture, result approved                its id              deposit.credited (once)
//	refund or void, result approved              parentTransactionId deposit.reversed:<child id> (once per child,
//	                                                                 once the parent is credited, at most what is left)
//	payout request pending|ready|approved|       its id              payout.debited at stage requested
//	  in-progress|fulfilled
//	credit (payout), result approved             payoutRequestId     payout.debited at stage approved (or requested,
//	                                             (or its own id)     when the request was not seen)
//	payout request canceled                      its id              payout.released if debited (a cancel seen first
//	                                                                 proves the request: debited and released)
//	refund or void of an approved credit         the credit's anchor payout.reversed:<child id>
//	declined, canceled, abandoned, unknown;      —                   nothing
//	authorize, setup, 3ds-authentication
//
// Rebilly has no chargeback transaction type (a dispute is a resource of
// its own, not modelled): a parent's status disputed books nothing. A
// refund or void of a payout request's credit finds the request's anchor
// through a link record the credit's event writes (<prefix><app>:
// rebilly-credit:<credit id>); one processed before its credit is kept,
// unbooked, on the credit's own id (a known gap: rare, since a credit's
// approval is published before its void). Every movement is a milestone remembered in the
// state, so a redelivery, a copy published again, an older or newer
// revision and a second replica find it booked.
package ledger
