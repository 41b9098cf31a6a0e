// CheckStream at volume against a real consentd: a million recipients with the input never
// read more than maxInFlight batches ahead, and memory that does not grow with them.

import assert from "node:assert/strict";
import { test } from "node:test";
import v8 from "node:v8";
import vm from "node:vm";

import * as cc from "../dist/index.js";
import { seededServer, uid } from "./support.mjs";

const RECIPIENTS = 1_000_000;

test("a million recipients with bounded memory", async (t) => {
  const server = await seededServer((f) => t.after(f));
  const client = server.client();
  t.after(() => client.close());
  const known = Array.from({ length: 10 }, () => uid("known"));
  for (const p of known) {
    await client.setConsent({ profile: "acme", channel: "email", contactPoint: p, purpose: "newsletter", status: "opted_in" });
  }
  const every = RECIPIENTS / known.length;
  const batch = 4096;
  const window = 4;
  let pulled = 0;
  function* recipients() {
    for (let i = 0; i < RECIPIENTS; i++) {
      pulled++;
      yield i % every === 0 ? known[i / every] : `r${i}@example.com`;
    }
  }
  // Live heap after a full collection: what the client holds, not what V8 has yet to collect.
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc");
  const live = () => {
    gc();
    return process.memoryUsage().heapUsed;
  };
  const before = live();
  let peak = before;
  const rssBefore = process.memoryUsage().rss;
  let consumed = 0;
  let sends = 0;
  let furthestAhead = 0;
  const stream = client.checkStream(recipients(), { profile: "acme", channel: "email", purpose: "newsletter", batchSize: batch, maxInFlight: window });
  for await (const d of stream) {
    if (d.send) {
      sends++;
      assert.equal(consumed % every, 0);
      assert.equal(d.contactPoint, known[consumed / every]);
      assert.equal(d.reason, cc.Reason.OPTED_IN);
    } else if (d.reason !== cc.Reason.NO_OPT_IN) {
      assert.fail(`unexpected reason ${d.reason} for ${d.contactPoint}`);
    }
    consumed++;
    if (pulled - consumed > furthestAhead) furthestAhead = pulled - consumed;
    if (consumed % 65536 === 0) {
      peak = Math.max(peak, live());
      assert.ok(stream.inFlight <= window);
    }
  }
  assert.equal(consumed, RECIPIENTS);
  assert.equal(pulled, RECIPIENTS);
  assert.equal(sends, known.length);
  // The bound: never more than `window` batches read ahead of the caller, or in flight.
  assert.ok(furthestAhead <= window * batch, `read ${furthestAhead} ahead`);
  assert.ok(stream.maxInFlightSeen <= window);
  assert.equal(stream.batchesSent, Math.ceil(RECIPIENTS / batch));
  // Memory: a million decisions held at once would take well over 100 MB of heap.
  const growth = peak - before;
  t.diagnostic(
    `live heap before ${before >> 20} MiB, peak ${peak >> 20} MiB; rss before ${rssBefore >> 20} MiB, ` +
      `after ${process.memoryUsage().rss >> 20} MiB; furthest ahead ${furthestAhead}`,
  );
  assert.ok(growth < 32 << 20, `the live heap grew ${growth >> 20} MiB during the stream`);
});
