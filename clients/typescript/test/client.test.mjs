// Every helper of the client against a real consentd.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import * as cc from "../dist/index.js";
import { freePort, seededServer, uid } from "./support.mjs";

const E = cc.Channel.EMAIL;

describe("against consentd", () => {
  let server;
  let closing;
  after(() => closing?.());
  before(async () => {
    const edge = await freePort();
    server = await seededServer((f) => (closing = f), {
      extra: ["--http-addr", `127.0.0.1:${edge}`, "--public-url", `http://127.0.0.1:${edge}`],
    });
  });
  // A fresh client per test: minRevision starts at 0.
  const fresh = (t, options) => {
    const c = server.client(options);
    t.after(() => c.close());
    return c;
  };
  const check = (c, contactPoint, purpose, extra = {}) =>
    c.check({ profile: "acme", channel: E, contactPoint, purpose, ...extra });
  const set = (c, contactPoint, purpose, status, extra = {}) =>
    c.setConsent({ profile: "acme", channel: E, contactPoint, purpose, status, ...extra });

  test("health and server info", async (t) => {
    const client = fresh(t);
    assert.equal(await client.health(), cc.HealthStatus.SERVING);
    assert.equal(await client.health("consent.v1.DecisionService"), cc.HealthStatus.SERVING);
    const info = await client.serverInfo();
    assert.ok(info.version);
    assert.equal(info.cluster, false);
  });

  test("check follows the consent written", async (t) => {
    const c = fresh(t);
    const jane = uid("jane");
    let r = await check(c, jane, "newsletter");
    assert.deepEqual([r.decision, r.reason, r.send], [cc.Decision.BLOCK, cc.Reason.NO_OPT_IN, false]);
    assert.equal((await check(c, jane, "invoices")).reason, cc.Reason.NOT_OPTED_OUT);
    const w = await set(c, jane.toUpperCase(), "newsletter", cc.ConsentStatus.OPTED_IN, { source: "form" });
    assert.equal(w.outcome, cc.ChangeOutcome.APPLIED);
    assert.ok(w.applied && !w.replayed);
    assert.equal(w.record.status, cc.ConsentStatus.OPTED_IN);
    assert.equal(w.record.source, cc.ChangeSource.FORM);
    assert.ok(w.revision > 0);
    assert.equal(c.minRevision, w.revision);
    r = await check(c, jane, "newsletter");
    assert.deepEqual([r.decision, r.reason, r.send], [cc.Decision.SEND, cc.Reason.OPTED_IN, true]);
    assert.ok(r.revision >= w.revision);
    assert.equal((await check(c, jane, "newsletter", { topic: "events" })).reason, cc.Reason.NO_TOPIC_OPT_IN);
    await set(c, jane, "newsletter", "opted_in", { topic: "events" });
    assert.equal((await check(c, jane, "newsletter", { topic: "events" })).reason, cc.Reason.OPTED_IN);
    const out = await set(c, jane, "newsletter", "opted_out", { reason: "asked by phone" });
    assert.equal((await check(c, jane, "newsletter")).reason, cc.Reason.PURPOSE_OPTED_OUT);
    assert.equal(c.minRevision, out.revision);
  });

  test("a check as of a past moment reads history on either clock", async (t) => {
    const c = fresh(t);
    const jane = uid("jane");
    const pause = (ms) => new Promise((r) => setTimeout(r, ms));
    await set(c, jane, "newsletter", "opted_in");
    await pause(1100);
    const moment = new Date();
    await pause(1100);
    // Clicked before the moment, recorded after it.
    await set(c, jane, "newsletter", "opted_out", { occurredAt: new Date(moment.getTime() - 500) });
    assert.equal((await check(c, jane, "newsletter")).reason, cc.Reason.PURPOSE_OPTED_OUT);
    assert.equal((await check(c, jane, "newsletter", { asOf: moment })).reason, cc.Reason.OPTED_IN);
    const occurred = await check(c, jane, "newsletter", { asOf: moment, clock: "occurred" });
    assert.equal(occurred.reason, cc.Reason.PURPOSE_OPTED_OUT);
    const answers = [];
    for await (const a of c.checkStream([jane], { profile: "acme", channel: E, purpose: "newsletter", asOf: moment })) {
      answers.push(a.reason);
    }
    assert.deepEqual(answers, [cc.Reason.OPTED_IN]);
    await assert.rejects(check(c, jane, "newsletter", { clock: "occurred" }), TypeError);
  });

  test("late changes are superseded", async (t) => {
    const c = fresh(t);
    const jane = uid();
    const now = new Date();
    await set(c, jane, "newsletter", "opted_out", { occurredAt: now });
    const late = await set(c, jane, "newsletter", "opted_in", { occurredAt: new Date(now.getTime() - 86400000) });
    assert.equal(late.outcome, cc.ChangeOutcome.SUPERSEDED);
    assert.equal(late.applied, false);
    assert.equal((await check(c, jane, "newsletter")).reason, cc.Reason.PURPOSE_OPTED_OUT);
  });

  test("the same key is answered once; other content under it is refused", async (t) => {
    const c = fresh(t);
    const jane = uid();
    const first = await set(c, jane, "newsletter", "opted_in", { idempotencyKey: `k-${jane}` });
    const again = await set(c, jane, "newsletter", "opted_in", { idempotencyKey: `k-${jane}` });
    assert.ok(again.replayed);
    assert.equal(again.revision, first.revision);
    await assert.rejects(set(c, jane, "newsletter", "opted_out", { idempotencyKey: `k-${jane}` }), cc.AlreadyExists);
    assert.equal((await c.getHistory({ profile: "acme", channel: E, contactPoint: jane })).events.length, 1);
  });

  test("minRevision reads your writes and refuses a state not reached", async (t) => {
    const c = fresh(t);
    const jane = uid();
    const w = await set(c, jane, "newsletter", "opted_in");
    assert.ok((await check(c, jane, "newsletter")).revision >= w.revision);
    await assert.rejects(check(c, jane, "newsletter", { minRevision: w.revision + 1e9 }), cc.FailedPrecondition);
    c.observeRevision(w.revision + 1e9);
    await assert.rejects(async () => {
      for await (const _ of c.checkStream([jane], { profile: "acme", channel: E, purpose: "newsletter" }));
    }, cc.FailedPrecondition);
    c.resetMinRevision();
    assert.equal(c.minRevision, 0);
    assert.ok((await check(c, jane, "newsletter")).send);
  });

  test("batchSetConsent reports each item", async (t) => {
    const c = fresh(t);
    const people = Array.from({ length: 5 }, () => uid());
    const changes = people.map((p) => ({ profile: "acme", channel: E, contactPoint: p, purpose: "newsletter", status: cc.ConsentStatus.OPTED_IN }));
    changes[2] = { ...changes[2], contactPoint: "not an address" };
    changes.push({ profile: "acme", channel: "email", contactPoint: people[0], purpose: "newsletter", topic: "discounts", status: "opted_in" });
    const results = await c.batchSetConsent(changes, { chunkSize: 4 });
    assert.deepEqual(results.map((r) => r.applied), [true, true, false, true, true, true]);
    assert.equal(results[2].error, true);
    assert.equal(results[2].field, "change.contact_point");
    assert.equal(results[2].code, 3);
    assert.equal(c.minRevision, Math.max(...results.filter((r) => r.applied).map((r) => r.revision)));
    const again = await c.batchSetConsent(changes);
    assert.deepEqual(again.map((r) => r.replayed), [true, true, undefined, true, true, true]);
    for (const p of [people[0], people[1], people[3], people[4]]) assert.ok((await check(c, p, "newsletter")).send);
  });

  test("suppressions block every purpose until lifted", async (t) => {
    const c = fresh(t);
    const jane = uid();
    const s = { profile: "acme", channel: E, contactPoint: jane };
    await set(c, jane, "newsletter", "opted_in");
    const added = await c.addSuppression({ ...s, kind: cc.SuppressionKind.HARD_BOUNCE, reason: "550 5.1.1" });
    assert.ok(added.changed);
    assert.equal(c.minRevision, added.revision);
    const state = await c.getConsent(s);
    assert.deepEqual(state.suppressions.map((x) => [x.kind, x.reason]), [[cc.SuppressionKind.HARD_BOUNCE, "550 5.1.1"]]);
    assert.equal((await c.addSuppression({ ...s, kind: "hard_bounce", reason: "550 5.1.1" })).changed, false);
    const r = await check(c, jane, "newsletter");
    assert.deepEqual([r.decision, r.reason, r.suppressionKind], [cc.Decision.BLOCK, cc.Reason.SUPPRESSED, cc.SuppressionKind.HARD_BOUNCE]);
    assert.equal((await check(c, jane, "invoices")).reason, cc.Reason.SUPPRESSED);
    assert.ok((await c.liftSuppression({ ...s, kind: "hard_bounce" })).changed);
    assert.equal((await c.liftSuppression({ ...s, kind: "hard_bounce" })).changed, false);
    assert.equal((await check(c, jane, "newsletter")).reason, cc.Reason.OPTED_IN);
  });

  test("getConsent and getHistory", async (t) => {
    const c = fresh(t);
    const jane = uid();
    const at = new Date(Date.UTC(2026, 0, 15, 10, 32));
    const proof = { ipAddress: "192.0.2.7", userAgent: "test", noticeId: "nl-2026", noticeVersion: "3" };
    await set(c, jane, "newsletter", "opted_in", { occurredAt: at, proof, source: "form" });
    await set(c, jane, "newsletter", "opted_in", { topic: "events", occurredAt: at });
    await c.addSuppression({ profile: "acme", channel: E, contactPoint: jane, kind: "manual" });
    const state = await c.getConsent({ profile: "acme", channel: E, contactPoint: jane.toUpperCase() });
    assert.equal(state.contactPoint, jane);
    const purposeRecord = state.records.find((r) => r.topic === "");
    assert.equal(purposeRecord.status, cc.ConsentStatus.OPTED_IN);
    assert.equal(purposeRecord.occurredAt.getTime(), at.getTime());
    assert.equal(purposeRecord.source, cc.ChangeSource.FORM);
    assert.equal(state.records.find((r) => r.topic === "events").status, cc.ConsentStatus.OPTED_IN);
    const history = await c.getHistory({ profile: "acme", channel: E, contactPoint: jane, pageSize: 1 });
    assert.deepEqual(history.events.map((e) => e.kind), [cc.EventKind.CONSENT, cc.EventKind.CONSENT, cc.EventKind.SUPPRESSION_ADDED]);
    assert.deepEqual(history.events.map((e) => e.seq), [1, 2, 3]);
    const [first, second] = history.events;
    assert.equal(first.proof.ipAddress, "192.0.2.7");
    assert.equal(first.proof.noticeVersion, "3");
    assert.equal(first.occurredAt.getTime(), at.getTime());
    assert.ok(first.applied && first.hash);
    assert.equal(second.prevHash, first.hash);
    assert.ok(history.verification.intact);
    assert.equal(history.verification.eventsChecked, 3);
  });

  test("double opt-in waits for confirmation", async (t) => {
    const c = fresh(t);
    const jane = uid();
    const w = await c.setConsent({ profile: "doi", channel: E, contactPoint: jane, purpose: "newsletter", status: "opted_in" });
    assert.equal(w.outcome, cc.ChangeOutcome.PENDING_CONFIRMATION);
    assert.ok(w.confirmationToken && w.confirmationExpiresAt instanceof Date);
    assert.equal((await c.check({ profile: "doi", channel: E, contactPoint: jane, purpose: "newsletter" })).reason, cc.Reason.PENDING_CONFIRMATION);
    const confirmed = await c.confirmOptIn(w.confirmationToken, { ipAddress: "198.51.100.4", userAgent: "mail client" });
    assert.equal(confirmed.outcome, cc.ChangeOutcome.APPLIED);
    assert.equal(c.minRevision, confirmed.revision);
    assert.equal((await c.check({ profile: "doi", channel: E, contactPoint: jane, purpose: "newsletter" })).reason, cc.Reason.OPTED_IN);
    await assert.rejects(c.confirmOptIn(w.confirmationToken), cc.FailedPrecondition);
  });

  test("mintLinks", async (t) => {
    const c = fresh(t);
    const links = await c.mintLinks({ profile: "acme", channel: E, contactPoint: uid(), purpose: "newsletter", topic: "events" });
    assert.match(links.unsubscribeUrl, /\/u\//);
    assert.match(links.preferencesUrl, /\/p\//);
    assert.equal(links.listUnsubscribe, `<${links.unsubscribeUrl}>`);
    assert.equal(links.listUnsubscribePost, "List-Unsubscribe=One-Click");
  });

  test("checkStream with overrides and links", async (t) => {
    const c = fresh(t);
    const [yes, no, sms] = [uid(), uid(), "+31612345678"];
    await set(c, yes, "newsletter", "opted_in");
    await set(c, yes, "newsletter", "opted_in", { topic: "events" });
    await c.addSuppression({ profile: "acme", channel: E, contactPoint: no, kind: "spam_complaint" });
    await c.setConsent({ profile: "acme", channel: "sms", contactPoint: sms, purpose: "newsletter", status: "opted_in" });
    const recipients = [yes, no, "nope", { contactPoint: yes, topic: "events" }, { contactPoint: sms, channel: cc.Channel.SMS }];
    const out = [];
    for await (const d of c.checkStream(recipients, { profile: "acme", channel: E, purpose: "newsletter", batchSize: 2, includeLinks: true })) out.push(d);
    assert.deepEqual(out.map((d) => d.contactPoint), [yes, no, "nope", yes, sms]);
    assert.deepEqual(out.map((d) => d.reason), [
      cc.Reason.OPTED_IN,
      cc.Reason.SUPPRESSED,
      cc.Reason.INVALID_CONTACT_POINT,
      cc.Reason.OPTED_IN,
      cc.Reason.OPTED_IN,
    ]);
    assert.equal(out[1].suppressionKind, cc.SuppressionKind.SPAM_COMPLAINT);
    assert.equal(out[0].suppressionKind, undefined);
    assert.deepEqual(out.map((d) => d.unsubscribeUrl !== undefined), [true, false, false, true, true]);
    assert.ok(out[0].preferencesUrl);
    assert.notEqual(out[0].unsubscribeUrl, out[3].unsubscribeUrl);
  });

  test("API keys, scopes and errors", async (t) => {
    const c = fresh(t);
    const { secret, key } = await c.createApiKey(["check"], { profiles: ["acme"], description: "sms gateway" });
    assert.ok(key.keyId.startsWith("ck_") && secret.startsWith(`${key.keyId}.`));
    const gateway = fresh(t, { apiKey: secret });
    assert.ok((await gateway.check({ profile: "acme", channel: E, contactPoint: uid(), purpose: "invoices" })).send);
    assert.ok((await gateway.serverInfo()).version);
    await assert.rejects(gateway.setConsent({ profile: "acme", channel: E, contactPoint: uid(), purpose: "newsletter", status: "opted_in" }), cc.PermissionDenied);
    await assert.rejects(gateway.check({ profile: "doi", channel: E, contactPoint: uid(), purpose: "newsletter" }), cc.PermissionDenied);
    await c.revokeApiKey(key.keyId);
    await assert.rejects(gateway.check({ profile: "acme", channel: E, contactPoint: uid(), purpose: "invoices" }), cc.Unauthenticated);
    const anonymous = fresh(t, { apiKey: undefined });
    await assert.rejects(anonymous.check({ profile: "acme", channel: E, contactPoint: uid(), purpose: "invoices" }), cc.Unauthenticated);
    assert.equal(await anonymous.health(), cc.HealthStatus.SERVING);
    const invalid = await set(c, "not an address", "newsletter", "opted_in").catch((e) => e);
    assert.ok(invalid instanceof cc.InvalidArgument);
    assert.equal(invalid.field, "change.contact_point");
    const unknown = await c.check({ profile: "nosuchprofile", channel: E, contactPoint: uid(), purpose: "newsletter" }).catch((e) => e);
    assert.ok(unknown instanceof cc.NotFound || unknown instanceof cc.InvalidArgument, String(unknown));
    await assert.rejects(c.createProfile("acme"), cc.AlreadyExists);
  });
});
