// Retries across a server restart: a change whose answer was lost is sent again with the
// same idempotency key, the restarted server answers it as a replay, and history holds one
// event.

import assert from "node:assert/strict";
import { test } from "node:test";

import * as cc from "../dist/index.js";
import { Proxy, seededServer, uid, waitUntil } from "./support.mjs";

const E = cc.Channel.EMAIL;

test("the same key after a restart is replayed", async (t) => {
  const server = await seededServer((f) => t.after(f));
  const jane = uid();
  let client = server.client();
  const first = await client.setConsent({ profile: "acme", channel: E, contactPoint: jane, purpose: "newsletter", status: "opted_in" });
  client.close();
  await server.kill();
  await server.start();
  client = server.client();
  t.after(() => client.close());
  const again = await client.setConsent({
    profile: "acme",
    channel: E,
    contactPoint: jane,
    purpose: "newsletter",
    status: "opted_in",
    idempotencyKey: first.idempotencyKey,
  });
  assert.ok(again.replayed);
  assert.equal(again.revision, first.revision);
  assert.equal((await client.getHistory({ profile: "acme", channel: E, contactPoint: jane })).events.length, 1);
});

test("a lost answer is retried through a restart without applying twice", async (t) => {
  const server = await seededServer((f) => t.after(f));
  const jane = uid();
  const proxy = await Proxy.create(server.port);
  t.after(() => proxy.close());
  const keys = [];
  // Records the idempotency key of every SetConsent attempt.
  const recordKeys = (options, nextCall) => {
    const call = nextCall(options);
    const sendMessage = call.sendMessage.bind(call);
    call.sendMessage = (message) => {
      if (options.method_definition.path.endsWith("/SetConsent")) keys.push(message.idempotencyKey);
      sendMessage(message);
    };
    return call;
  };
  const client = new cc.ConsentdClient(proxy.addr, {
    apiKey: server.adminKey,
    retry: { maxAttempts: 40, initialBackoffMs: 50, maxBackoffMs: 500 },
    interceptors: [recordKeys],
  });
  const direct = server.client();
  t.after(() => {
    client.close();
    direct.close();
  });
  assert.equal(await client.health(), cc.HealthStatus.SERVING); // the connection through the proxy is up
  proxy.loseAnswers();
  const writing = client
    .setConsent({ profile: "acme", channel: E, contactPoint: jane, purpose: "newsletter", status: "opted_in" })
    .then((result) => ({ result }), (error) => ({ error }));
  // The server took the change and answered; the proxy dropped the answer.
  const state = await waitUntil(async () => {
    const s = await direct.getConsent({ profile: "acme", channel: E, contactPoint: jane });
    return s.records.some((r) => r.status === cc.ConsentStatus.OPTED_IN) && s;
  }, "the write to be applied");
  await waitUntil(() => proxy.answerBytesLost > 0, "the answer to be lost");
  const revision = state.records[0].revision;
  // A crash now: the connection breaks, retries meet a server that is down, then the new one.
  await server.kill();
  await server.start();
  const outcome = await writing;
  assert.equal(outcome.error, undefined, String(outcome.error));
  assert.ok(outcome.result.replayed);
  assert.equal(outcome.result.revision, revision);
  assert.ok(keys.length >= 2, `${keys.length} attempts`);
  assert.deepEqual([...new Set(keys)], [outcome.result.idempotencyKey]);
  const fresh = server.client();
  const history = await fresh.getHistory({ profile: "acme", channel: E, contactPoint: jane });
  fresh.close();
  assert.equal(history.events.length, 1);
  assert.ok(history.verification.intact);
  assert.equal(client.minRevision, revision);
});
