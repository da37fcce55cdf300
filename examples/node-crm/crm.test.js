// End-to-end test of the example CRM against a real praxis-adapter `run`
// (embedded NATS, the simulator): a deposit is opened by command, paid by the
// simulated customer (whose validation callback the CRM answers), and booked
// once from the ledger stream; a second deposit made while the CRM is down is
// booked when it comes back (durable consumers); a re-sent command id is
// answered from the adapter's record, with no second Praxis effect.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Book, startCRM } from "./crm.js";

const bin = process.env.PRAXIS_ADAPTER_BIN ?? new URL("../../bin/praxis-adapter", import.meta.url).pathname;
let adapter;
let natsURL;
let simURL;
let dir;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "node-crm-"));
  adapter = spawn(bin, ["run"], {
    env: {
      ...process.env,
      NATS_URL: "",
      REDIS_URL: "",
      PRAXIS_BASE_URL: "",
      PRAXIS_CONFIG: "",
      PRAXIS_LOG_FORMAT: "json",
      PRAXIS_EMBEDDED_NATS_LISTEN: "127.0.0.1:0",
      PRAXIS_INGRESS_LISTEN: "127.0.0.1:0",
      PRAXIS_WORKER_LISTEN: "127.0.0.1:0",
      PRAXIS_ADMIN_LISTEN: "127.0.0.1:0",
      PRAXIS_SIM_LISTEN: "127.0.0.1:0",
      PRAXIS_EMBEDDED_NATS_DIR: join(dir, "nats"),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  adapter.stderr.resume();
  const lines = createInterface({ input: adapter.stdout });
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("the adapter printed no banner in 60 s")), 60_000);
    adapter.once("exit", (code) => reject(new Error(`the adapter exited with ${code}`)));
    lines.on("line", (line) => {
      natsURL ??= line.match(/NATS\s+(nats:\/\/\S+)/)?.[1];
      simURL ??= line.match(/simulator\s+(http:\/\/\S+)/)?.[1];
      if (natsURL && simURL) {
        clearTimeout(t);
        resolve();
      }
    });
  });
});

after(async () => {
  if (!adapter || adapter.exitCode !== null) return;
  const exited = new Promise((resolve) => adapter.once("exit", resolve));
  adapter.kill("SIGTERM");
  const t = setTimeout(() => adapter.kill("SIGKILL"), 30_000);
  await exited;
  clearTimeout(t);
});

async function eventually(what, fn, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function pay(token) {
  const res = await fetch(`${simURL}/sim/sessions/${token}/pay`, { method: "POST" });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

function session(id, order, amount) {
  return {
    id,
    intent: "payment",
    currency: "EUR",
    amount,
    cid: "node-cust-1",
    order_id: order,
    customer_data: { country: "GB", first_name: "Ada", last_name: "Lovelace", email: "ada@example.com" },
  };
}

test("a deposit is opened, validated, paid and booked exactly once; durable across a CRM restart", async () => {
  const bookPath = join(dir, "book.jsonl");
  const book = await new Book(bookPath).load();
  const validations = [];
  let crm = await startCRM({
    servers: natsURL,
    app: "sandbox",
    book,
    validate: (req) => {
      validations.push(req.id);
      return { status: 0, description: "Ok" };
    },
  });

  const r = await crm.send("cashier.session", session("node-1", "node-order-1", 2500));
  assert.equal(r.outcome, "ok", r.reason);
  assert.ok(r.auth_token, "the result carries the auth token");
  await pay(r.auth_token);
  const credit = await eventually("the deposit credit", () =>
    book.entries().find((i) => i.kind === "deposit.credited" && i.order_id === "node-order-1"),
  );
  assert.equal(credit.amount, 2500);
  assert.equal(credit.currency, "EUR");
  assert.ok(validations.length >= 1, "the CRM answered the validation callback");

  // The same command id again: answered from the adapter's record.
  const again = await crm.send("cashier.session", session("node-1", "node-order-1", 2500));
  assert.equal(again.id, "node-1");

  // The CRM goes down; a deposit happens meanwhile; it comes back and books it.
  const r2 = await crm.send("cashier.session", session("node-2", "node-order-2", 4000));
  assert.equal(r2.outcome, "ok", r2.reason);
  await crm.close();
  await pay(r2.auth_token);
  const reloaded = await new Book(bookPath).load();
  assert.equal(reloaded.entries().length, book.entries().length, "the book on disk is what was booked");
  crm = await startCRM({ servers: natsURL, app: "sandbox", book: reloaded });
  const credit2 = await eventually("the deposit made while the CRM was down", () =>
    reloaded.entries().find((i) => i.kind === "deposit.credited" && i.order_id === "node-order-2"),
  );
  assert.equal(credit2.amount, 4000);
  await crm.close();

  const credits = reloaded.entries().filter((i) => i.kind === "deposit.credited");
  assert.equal(credits.length, 2, "each deposit booked exactly once");
  assert.equal(new Set(credits.map((i) => i.id)).size, 2);
});

test("the book never books an instruction twice", async () => {
  const book = await new Book(join(dir, "dedup.jsonl")).load();
  const ins = { id: "sandbox:1:deposit.credited", kind: "deposit.credited", amount: 1 };
  assert.equal(await book.book(ins), true);
  assert.equal(await book.book({ ...ins }), false);
  const reloaded = await new Book(join(dir, "dedup.jsonl")).load();
  assert.equal(reloaded.entries().length, 1);
});
