// The client's own logic against an in-process fake server (no consentd needed): the
// CheckStream bound, ordering and errors, retries under one idempotency key, min_revision,
// error mapping, and the small helpers.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import * as grpc from "@grpc/grpc-js";

import * as cc from "../dist/index.js";
import { sleep } from "./support.mjs";

const { decision: pbd, consent: pbc } = cc.pb;

/** SEND for contact points starting with `ok`, SUPPRESSED (MANUAL) for `sup`, else NO_OPT_IN. */
function fakeServer() {
  const state = { batches: [], checks: [], attempts: [], answers: new Map(), revision: 0, fail: 0, wrongBatchId: false, badField: false };
  const server = new grpc.Server();
  server.addService(pbd.DecisionServiceService, {
    check(call, callback) {
      state.checks.push(call.request);
      callback(null, pbd.CheckResponse.fromPartial({ decision: 1, reason: 10, revision: call.request.minRevision }));
    },
    checkStream(call) {
      call.on("data", (batch) => {
        // The listed form, or the packed lines (as the server reads them).
        let cps = batch.contactPoints;
        if (batch.contactPointsPacked.length > 0) {
          cps = new TextDecoder().decode(batch.contactPointsPacked).split("\n");
          if (cps[cps.length - 1] === "") cps.pop();
        }
        state.batches.push({ ...batch, contactPoints: cps });
        const decisions = [];
        const reasons = [];
        const suppressed = [];
        cps.forEach((cp, i) => {
          if (cp.startsWith("ok")) {
            decisions.push(1);
            reasons.push(10);
          } else if (cp.startsWith("sup")) {
            decisions.push(2);
            reasons.push(3);
            suppressed.push({ index: i, kind: 4 });
          } else {
            decisions.push(2);
            reasons.push(7);
          }
        });
        call.write(
          pbd.CheckStreamResponse.fromPartial({
            batchId: batch.batchId + (state.wrongBatchId ? 1 : 0),
            revision: 7,
            ...(batch.packedAnswers
              ? { outcomes: Uint8Array.from(decisions.map((d, i) => d * 64 + reasons[i])) }
              : { decisions, reasons }),
            suppressed,
          }),
        );
      });
      call.on("end", () => call.end());
      call.on("error", () => {});
    },
    mintLinks(call, callback) {
      callback(null, pbd.MintLinksResponse.fromPartial({}));
    },
  });
  const take = (request) => {
    const first = state.answers.get(request.idempotencyKey);
    if (first) return { ...first, replayed: true };
    state.revision += 1;
    const result = pbc.ChangeResult.fromPartial({ outcome: 1, revision: state.revision });
    state.answers.set(request.idempotencyKey, result);
    return result;
  };
  const unavailable = { code: grpc.status.UNAVAILABLE, details: "the answer was lost" };
  server.addService(pbc.ConsentServiceService, {
    setConsent(call, callback) {
      state.attempts.push(call.request.idempotencyKey);
      if (state.badField) {
        // google.rpc.Status { code: 3, message, details: [Any(BadRequest{field_violations: [{field}]})] }
        const field = Buffer.from("change.contact_point");
        const violation = Buffer.concat([Buffer.from([0x0a, field.length]), field]);
        const bad = Buffer.concat([Buffer.from([0x0a, violation.length]), violation]);
        const typeUrl = Buffer.from("type.googleapis.com/google.rpc.BadRequest");
        const any = Buffer.concat([Buffer.from([0x0a, typeUrl.length]), typeUrl, Buffer.from([0x12, bad.length]), bad]);
        const status = Buffer.concat([Buffer.from([0x08, 0x03, 0x1a, any.length]), any]);
        const metadata = new grpc.Metadata();
        metadata.set("grpc-status-details-bin", status);
        return callback({ code: grpc.status.INVALID_ARGUMENT, details: "invalid contact point", metadata });
      }
      const result = take(call.request);
      if (state.attempts.length <= state.fail) return callback(unavailable);
      callback(null, { result });
    },
    batchSetConsent(call, callback) {
      state.attempts.push(call.request.requests.map((r) => r.idempotencyKey));
      const results = call.request.requests.map((r) =>
        r.change.contactPoint === "bad"
          ? { error: { code: 3, field: "requests[1].change.contact_point", message: "bad" } }
          : { change: take(r) },
      );
      if (state.attempts.length <= state.fail) return callback(unavailable);
      callback(null, { results });
    },
    addSuppression(call, callback) {
      state.attempts.push(call.request.kind);
      state.revision += 1;
      if (state.attempts.length <= state.fail) return callback(unavailable);
      callback(null, { changed: true, revision: state.revision });
    },
  });
  return { server, state };
}

describe("against a fake server", () => {
  let fake;
  let client;
  let port;
  before(async () => {
    fake = fakeServer();
    port = await new Promise((resolve, reject) =>
      fake.server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
  });
  after(() => {
    client?.close();
    fake.server.forceShutdown();
  });
  const reset = () => {
    client?.close();
    Object.assign(fake.state, { batches: [], checks: [], attempts: [], fail: 0, wrongBatchId: false, badField: false });
    client = new cc.ConsentdClient(`http://127.0.0.1:${port}`, { apiKey: "ck_test.secret", retry: { initialBackoffMs: 10 } });
    return client;
  };

  test("the stream answers in order with reasons and suppression kinds", async () => {
    const client = reset();
    const recipients = Array.from({ length: 1000 }, (_, i) => `${["ok", "sup", "no"][i % 3]}${i}@x.nl`);
    const out = [];
    for await (const d of client.checkStream(recipients, { profile: "acme", channel: cc.Channel.EMAIL, purpose: "newsletter", batchSize: 64 })) {
      out.push(d);
    }
    assert.deepEqual(out.map((d) => d.contactPoint), recipients);
    out.forEach((d, i) => {
      if (i % 3 === 0) assert.deepEqual([d.decision, d.reason, d.send, d.suppressionKind], [cc.Decision.SEND, cc.Reason.OPTED_IN, true, undefined]);
      else if (i % 3 === 1) assert.deepEqual([d.decision, d.reason, d.suppressionKind], [cc.Decision.BLOCK, cc.Reason.SUPPRESSED, cc.SuppressionKind.MANUAL]);
      else assert.deepEqual([d.reason, d.send], [cc.Reason.NO_OPT_IN, false]);
    });
    assert.deepEqual(fake.state.batches.map((b) => b.contactPoints.length), [...Array(15).fill(64), 40]);
    assert.deepEqual(fake.state.batches.map((b) => b.batchId), Array.from({ length: 16 }, (_, i) => i + 1));
  });

  test("the stream never reads more than maxInFlight batches ahead (sync and async input)", async () => {
    for (const asyncInput of [false, true]) {
      const client = reset();
      let pulled = 0;
      let closed = false;
      const endless = asyncInput
        ? (async function* () {
            try {
              for (;;) yield `ok${++pulled}@x.nl`;
            } finally {
              closed = true;
            }
          })()
        : (function* () {
            try {
              for (;;) yield `ok${++pulled}@x.nl`;
            } finally {
              closed = true;
            }
          })();
      const batch = 10;
      const window = 3;
      const stream = client.checkStream(endless, { profile: "acme", channel: "email", purpose: "newsletter", batchSize: batch, maxInFlight: window });
      let consumed = 0;
      for await (const d of stream) {
        consumed += 1;
        assert.equal(d.contactPoint, `ok${consumed}@x.nl`);
        assert.ok(pulled - consumed <= window * batch, `${pulled} read, ${consumed} consumed`);
        if (consumed === 5 || consumed === 95) {
          await sleep(200); // a slow consumer: the writer gets every chance to run ahead
          assert.ok(pulled <= (Math.floor(consumed / batch) + window) * batch);
          assert.ok(stream.inFlight <= window);
        }
        if (consumed === 200) break;
      }
      assert.equal(stream.maxInFlightSeen, window);
      const atBreak = pulled;
      await sleep(200);
      assert.equal(pulled, atBreak, "the input is not read after the loop ends");
      assert.ok(closed, "the input's generator was closed");
    }
  });

  test("batches() gives one array per batch", async () => {
    const client = reset();
    const sizes = [];
    for await (const b of client.checkStream(["ok1", "ok2", "ok3"], { profile: "acme", channel: "email", purpose: "n", batchSize: 2 }).batches()) {
      sizes.push(b.length);
    }
    assert.deepEqual(sizes, [2, 1]);
  });

  test("overrides are sparse", async () => {
    const client = reset();
    const recipients = ["ok1@x.nl", { contactPoint: "ok2@x.nl", topic: "events" }, { contactPoint: "+31612345678", channel: cc.Channel.SMS }];
    const stream = client.checkStream(recipients, { profile: "acme", channel: cc.Channel.EMAIL, purpose: "newsletter" });
    let n = 0;
    for await (const _ of stream) n++;
    assert.equal(n, 3);
    assert.deepEqual(
      fake.state.batches[0].overrides.map((o) => [o.index, o.channel, o.topicId]),
      [[1, 0, "events"], [2, cc.Channel.SMS, ""]],
    );
    assert.equal(stream.revision, 7);
  });

  test("an input error comes after the decisions of the batches before it", async () => {
    const client = reset();
    function* broken() {
      for (let i = 0; i < 20; i++) yield `ok${i}@x.nl`;
      throw new Error("the recipients file went away");
    }
    const seen = [];
    await assert.rejects(async () => {
      for await (const d of client.checkStream(broken(), { profile: "acme", channel: "email", purpose: "n", batchSize: 10 })) seen.push(d);
    }, /went away/);
    assert.equal(seen.length, 20);
  });

  test("answers for other batches are refused; bad arguments too", async () => {
    const client = reset();
    fake.state.wrongBatchId = true;
    await assert.rejects(async () => {
      for await (const _ of client.checkStream(["ok@x.nl"], { profile: "acme", channel: "email", purpose: "n" }));
    }, cc.StreamProtocolError);
    fake.state.wrongBatchId = false;
    let n = 0;
    for await (const _ of client.checkStream([], { profile: "acme", channel: "email", purpose: "n" })) n++;
    assert.equal(n, 0);
    assert.throws(() => client.checkStream([], { profile: "a", channel: "email", purpose: "n", batchSize: 0 }), RangeError);
    assert.throws(() => client.checkStream([], { profile: "a", channel: "email", purpose: "n", maxInFlight: 0 }), RangeError);
    assert.throws(() => client.checkStream([], { profile: "a", channel: "pigeon", purpose: "n" }), /not a Channel/);
    await assert.rejects(async () => {
      for await (const _ of client.checkStream([42], { profile: "a", channel: "email", purpose: "n" }));
    }, TypeError);
  });

  test("a write whose answer is lost is retried with the same key; checks carry its revision", async () => {
    const client = reset();
    fake.state.fail = 2;
    const r = await client.setConsent({ profile: "acme", channel: "email", contactPoint: "jane@example.com", purpose: "newsletter", status: "opted_in" });
    assert.equal(fake.state.attempts.length, 3);
    assert.equal(new Set(fake.state.attempts).size, 1);
    assert.equal(r.idempotencyKey, fake.state.attempts[0]);
    assert.ok(r.replayed && r.applied);
    await client.check({ profile: "acme", channel: "email", contactPoint: "jane@example.com", purpose: "newsletter" });
    assert.equal(fake.state.checks.at(-1).minRevision, r.revision);
    await client.check({ profile: "acme", channel: "email", contactPoint: "jane@example.com", purpose: "newsletter", minRevision: 0 });
    assert.equal(fake.state.checks.at(-1).minRevision, 0);
    fake.state.fail = 0;
    const r2 = await client.setConsent({ profile: "acme", channel: cc.Channel.EMAIL, contactPoint: "jane@example.com", purpose: "newsletter", status: cc.ConsentStatus.OPTED_OUT });
    assert.notEqual(r2.idempotencyKey, r.idempotencyKey);
    assert.equal(client.minRevision, r2.revision);
  });

  test("retries are bounded", async () => {
    const client = reset();
    fake.state.fail = 100;
    await assert.rejects(
      client.setConsent({ profile: "acme", channel: "email", contactPoint: "j@example.com", purpose: "newsletter", status: "opted_in" }),
      cc.Unavailable,
    );
    assert.equal(fake.state.attempts.length, client.retry.maxAttempts);
  });

  test("batches are cut, retried with the same keys, and report per item", async () => {
    const client = reset();
    fake.state.fail = 1;
    const changes = Array.from({ length: 5 }, (_, i) => ({
      profile: "acme",
      channel: "email",
      contactPoint: i === 3 ? "bad" : `c${i}@x.nl`,
      purpose: "newsletter",
      status: "opted_in",
    }));
    const results = await client.batchSetConsent(changes, { chunkSize: 2 });
    assert.deepEqual(fake.state.attempts.map((a) => a.length), [2, 2, 2, 1]);
    assert.deepEqual(fake.state.attempts[0], fake.state.attempts[1]);
    assert.ok(changes.every((c) => c.idempotencyKey));
    assert.equal(results[3].error, true);
    assert.equal(results[3].field, "change.contact_point");
    assert.deepEqual(results.map((r) => r.applied), [true, true, true, false, true]);
    assert.ok(results[0].replayed);
    assert.equal(client.minRevision, Math.max(...results.filter((r) => r.applied).map((r) => r.revision)));
  });

  test("suppressions are retried", async () => {
    const client = reset();
    fake.state.fail = 1;
    const r = await client.addSuppression({ profile: "acme", channel: "email", contactPoint: "j@example.com", kind: "hard_bounce" });
    assert.ok(r.changed);
    assert.deepEqual(fake.state.attempts, [cc.SuppressionKind.HARD_BOUNCE, cc.SuppressionKind.HARD_BOUNCE]);
    assert.equal(client.minRevision, r.revision);
  });

  test("INVALID_ARGUMENT names the field and is not retried", async () => {
    const client = reset();
    fake.state.badField = true;
    const error = await client
      .setConsent({ profile: "acme", channel: "email", contactPoint: "nope", purpose: "newsletter", status: "opted_in" })
      .catch((e) => e);
    assert.ok(error instanceof cc.InvalidArgument);
    assert.ok(error instanceof cc.ConsentdError);
    assert.equal(error.field, "change.contact_point");
    assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
    assert.match(error.message, /invalid contact point/);
    assert.equal(fake.state.attempts.length, 1);
  });
});

test("addresses", () => {
  assert.deepEqual(cc.parseAddress("http://127.0.0.1:50051"), { target: "127.0.0.1:50051", tls: false });
  assert.deepEqual(cc.parseAddress("https://consent.example.com:443"), { target: "consent.example.com:443", tls: true });
  assert.deepEqual(cc.parseAddress("127.0.0.1:50051"), { target: "127.0.0.1:50051", tls: false });
  assert.throws(() => cc.parseAddress("ftp://x:1"), RangeError);
  assert.deepEqual(cc.parseAddress("http://x"), { target: "x:80", tls: false });
  assert.deepEqual(cc.parseAddress("http://[::1]:50051"), { target: "[::1]:50051", tls: false });
  assert.throws(() => new cc.ConsentdClient("http://127.0.0.1:1", { ca: Buffer.from("pem") }), /https/);
  assert.throws(() => new cc.ConsentdClient("https://127.0.0.1:1", { cert: Buffer.from("pem") }), /both/);
});

test("health messages", () => {
  assert.equal(cc.encodeHealthRequest("").length, 0);
  assert.deepEqual(cc.encodeHealthRequest("consent.v1.DecisionService"), Buffer.from("\x0a\x1aconsent.v1.DecisionService", "latin1"));
  assert.deepEqual([...cc.encodeHealthRequest("x".repeat(200)).subarray(0, 3)], [0x0a, 0xc8, 0x01]);
  assert.equal(cc.decodeHealthResponse(Buffer.from([8, 1])), cc.HealthStatus.SERVING);
  assert.equal(cc.decodeHealthResponse(Buffer.alloc(0)), cc.HealthStatus.UNKNOWN);
});

test("enums by name", () => {
  assert.equal(cc.enumOf(cc.Channel, "sms", "Channel"), cc.Channel.SMS);
  assert.equal(cc.enumOf(cc.Channel, cc.Channel.EMAIL, "Channel"), cc.Channel.EMAIL);
  assert.throws(() => cc.enumOf(cc.Channel, "unrecognized", "Channel"), RangeError);
  assert.equal(cc.Reason[10], "OPTED_IN");
});

test("an unreachable server is Unavailable", async () => {
  const client = new cc.ConsentdClient("http://127.0.0.1:1", { retry: { maxAttempts: 2, initialBackoffMs: 10 } });
  await assert.rejects(client.check({ profile: "a", channel: "email", contactPoint: "x@y.nl", purpose: "n" }), cc.Unavailable);
  client.close();
});
