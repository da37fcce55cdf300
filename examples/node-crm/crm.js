// A CRM integrated with praxis-adapter over NATS JetStream, in Node.js.
//
// It does the four things every CRM does with the adapter, the durable way:
//   1. sends commands (cashier sessions, refunds, ...) and reads their results
//      from a durable consumer, so a result published while the CRM is down
//      is read when it comes back;
//   2. answers the synchronous callbacks (validation, customer sync) over NATS
//      request/reply in a queue group, within the adapter's deadline;
//   3. books ledger instructions from a durable consumer, idempotently: an
//      instruction's `id` is its identity, so a redelivery never books twice;
//   4. (optionally) follows events for its own views, deduplicating by the
//      CloudEvents `id`.
//
// The subjects, streams and payloads are documented in the adapter's README
// ("Integrating a CRM") and contracts/ (AsyncAPI, JSON Schemas).
import { connect } from "@nats-io/transport-node";
import { headers, nanos } from "@nats-io/nats-core";
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { appendFile, readFile } from "node:fs/promises";

/** Streams and subjects of the adapter (see its `subjects` package). */
export const STREAMS = {
  events: "PRAXIS_EVENTS",
  results: "PRAXIS_RESULTS",
  ledger: "PRAXIS_LEDGER",
};
export const subjects = {
  command: (app, name) => `praxis.commands.${app}.${name}`,
  results: (app) => `praxis.results.${app}.>`,
  // Every provider's instructions for the application (names are unique
  // across providers; one schema, `provider` says whose).
  ledger: (app) => `*.ledger.${app}.>`,
  events: (app) => `praxis.events.${app}.>`,
  validation: (app) => `praxis.requests.${app}.validation`,
  customerSync: (app) => `praxis.requests.${app}.customer_sync`,
};

/**
 * The durable consumer settings a CRM should use. Explicit acks (ack only
 * after the work is stored), deliver all (a new CRM starts at the
 * beginning; use DeliverPolicy.StartSequence with opt_start_seq to replay
 * from a point), AckWait longer than the slowest handler, unlimited
 * redeliveries with backoff (a poison message shows in num_redelivered).
 */
export function durableConfig(name, filter) {
  return {
    durable_name: name,
    filter_subject: filter,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(30_000),
    max_ack_pending: 256,
    backoff: [nanos(1_000), nanos(5_000), nanos(30_000)],
    max_deliver: -1,
  };
}

/** A ledger book that stores each instruction once, in a JSON-lines file. */
export class Book {
  constructor(path) {
    this.path = path;
    this.byId = new Map();
  }
  async load() {
    let text = "";
    try {
      text = await readFile(this.path, "utf8");
    } catch (e) {
      if (e.code !== "ENOENT") throw e;
    }
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      const ins = JSON.parse(line);
      this.byId.set(ins.id, ins);
    }
    return this;
  }
  /** Books ins unless its id is booked already; true when it was new. */
  async book(ins) {
    if (this.byId.has(ins.id)) return false;
    await appendFile(this.path, JSON.stringify(ins) + "\n");
    this.byId.set(ins.id, ins);
    return true;
  }
  entries() {
    return [...this.byId.values()];
  }
}

/**
 * Starts the CRM: durable consumers for results and ledger instructions, a
 * queue-group responder for validation and customer sync.
 *
 * options: servers (NATS URL), app (the adapter's application name),
 * name (durable-name prefix, one per CRM deployment), book (a Book),
 * validate(request) -> {status, description}, customer(cid) -> reply | null.
 */
export async function startCRM(options) {
  const { servers, app, book } = options;
  const name = options.name ?? "crm";
  const nc = await connect({ servers, name: `${name}-${app}` });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);

  // Durable consumers: created once, resumed after every restart.
  await jsm.consumers.add(STREAMS.results, durableConfig(`${name}-results`, subjects.results(app)));
  await jsm.consumers.add(STREAMS.ledger, durableConfig(`${name}-ledger`, subjects.ledger(app)));

  const waiters = new Map(); // command id -> resolve
  const results = new Map(); // command id -> result (for late waiters)
  const stopped = [];

  const resultsConsumer = await js.consumers.get(STREAMS.results, `${name}-results`);
  const resultsIter = await resultsConsumer.consume({ max_messages: 64 });
  stopped.push(resultsIter.closed());
  (async () => {
    for await (const m of resultsIter) {
      const r = m.json();
      results.set(r.id, r);
      waiters.get(r.id)?.(r);
      m.ack();
    }
  })();

  const ledgerConsumer = await js.consumers.get(STREAMS.ledger, `${name}-ledger`);
  const ledgerIter = await ledgerConsumer.consume({ max_messages: 64 });
  stopped.push(ledgerIter.closed());
  (async () => {
    for await (const m of ledgerIter) {
      try {
        await book.book(m.json()); // store first ...
        m.ack(); // ... then ack: a crash in between redelivers, the id dedups
      } catch (e) {
        m.nak(5_000);
      }
    }
  })();

  // Synchronous callbacks: a queue group, so any CRM replica may answer,
  // each request once. Answer fast: the adapter's deadline is a few seconds
  // and it answers Praxis with its configured default after that.
  const validate = options.validate ?? (() => ({ status: 0, description: "Ok" }));
  nc.subscribe(subjects.validation(app), {
    queue: `${name}-validation`,
    callback: (err, msg) => {
      if (err) return;
      let reply;
      try {
        reply = validate(msg.json());
      } catch {
        reply = { status: 1, description: "Validation failed" };
      }
      msg.respond(JSON.stringify(reply));
    },
  });
  const customer = options.customer ?? (() => null);
  nc.subscribe(subjects.customerSync(app), {
    queue: `${name}-customer-sync`,
    callback: (err, msg) => {
      if (err) return;
      const req = msg.json();
      // The CRM resolves the cid itself; an unknown one is "not found".
      const found = customer(req.data?.cid);
      msg.respond(JSON.stringify(found ?? { status: 1, description: "Customer not found" }));
    },
  });
  await nc.flush();

  return {
    nc,
    /**
     * Publishes a command (its `id` is the idempotency key: re-sending the
     * same id never makes a second Praxis effect) and resolves with its
     * result, read from the durable results consumer.
     */
    async send(command, body, timeoutMs = 30_000) {
      const h = headers();
      h.set("Nats-Msg-Id", body.id); // the stream drops an exact re-publish
      const done = new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no result for ${body.id} in ${timeoutMs} ms`)), timeoutMs);
        waiters.set(body.id, (r) => {
          clearTimeout(t);
          waiters.delete(body.id);
          resolve(r);
        });
      });
      if (results.has(body.id)) waiters.get(body.id)(results.get(body.id));
      await js.publish(subjects.command(app, command), JSON.stringify(body), { headers: h });
      return done;
    },
    /** Stops consuming; the durable consumers keep their position. */
    async close() {
      resultsIter.stop();
      ledgerIter.stop();
      await Promise.allSettled(stopped);
      await nc.drain();
    },
  };
}
