// Runs the example CRM against a running adapter (`make run` in the
// repository root): it answers validation callbacks, books ledger
// instructions into book.jsonl, and opens one cashier session whose
// redirect URL it prints. Ctrl-C stops it; run it again and it resumes where
// its durable consumers left off.
import { Book, startCRM } from "./crm.js";

const servers = process.env.NATS_URL ?? "nats://127.0.0.1:14222";
const app = process.env.PRAXIS_APP ?? "sandbox";
const book = await new Book(process.env.BOOK ?? "book.jsonl").load();
const crm = await startCRM({ servers, app, book });
const id = `node-${Date.now()}`;
const r = await crm.send("cashier.session", {
  id,
  intent: "payment",
  currency: "EUR",
  amount: 2500,
  cid: "node-cust-1",
  order_id: `order-${id}`,
  customer_data: { country: "GB", first_name: "Ada", last_name: "Lovelace", email: "ada@example.com" },
});
console.log(`cashier session ${id}: ${r.outcome}; the customer pays at ${r.redirect_url}`);
console.log(`booked so far: ${book.entries().length} instruction(s); Ctrl-C to stop`);
process.on("SIGINT", async () => {
  await crm.close();
  console.log(`booked: ${book.entries().length} instruction(s)`);
  process.exit(0);
});
