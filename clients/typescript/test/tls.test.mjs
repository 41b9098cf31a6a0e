// TLS, mutual TLS and API keys against a real consentd serving TLS.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";

import * as cc from "../dist/index.js";
import { certs as makeCerts, seededServer, uid } from "./support.mjs";

const certs = makeCerts();

describe("over TLS", { skip: certs ? false : "no certificates: set CONSENTD_TEST_CERTS or install openssl" }, () => {
  let server;
  let closing;
  after(() => closing?.());
  before(async () => {
    server = await seededServer((f) => (closing = f), { certs, mtls: true });
  });
  const open = (t, addr, options) => {
    const c = new cc.ConsentdClient(addr, options);
    t.after(() => c.close());
    return c;
  };
  const probe = (c) => c.check({ profile: "acme", channel: "email", contactPoint: uid(), purpose: "newsletter", timeoutMs: 10000 });

  test("mutual TLS with an API key", async (t) => {
    const c = open(t, `https://127.0.0.1:${server.port}`, {
      apiKey: server.adminKey,
      ca: certs.caCert,
      cert: certs.clientCert,
      key: certs.clientKey,
    });
    const jane = uid();
    const w = await c.setConsent({ profile: "acme", channel: "email", contactPoint: jane, purpose: "newsletter", status: "opted_in" });
    assert.ok((await c.check({ profile: "acme", channel: "email", contactPoint: jane, purpose: "newsletter" })).send);
    const sends = [];
    for await (const d of c.checkStream([jane, uid()], { profile: "acme", channel: "email", purpose: "newsletter" })) sends.push(d.send);
    assert.deepEqual(sends, [true, false]);
    assert.equal(c.minRevision, w.revision);
  });

  test("PEM contents instead of paths, and the server name", async (t) => {
    const c = open(t, `https://127.0.0.1:${server.port}`, {
      apiKey: server.adminKey,
      ca: readFileSync(certs.caCert),
      cert: readFileSync(certs.clientCert),
      key: readFileSync(certs.clientKey, "utf8"),
      serverName: "localhost",
    });
    assert.ok((await c.serverInfo()).version);
  });

  test("the API key is still needed over mutual TLS", async (t) => {
    await assert.rejects(probe(open(t, server.addr, { ca: certs.caCert, cert: certs.clientCert, key: certs.clientKey })), cc.Unauthenticated);
    const wrong = { apiKey: `${server.adminKey}x`, ca: certs.caCert, cert: certs.clientCert, key: certs.clientKey };
    await assert.rejects(probe(open(t, server.addr, wrong)), cc.Unauthenticated);
  });

  test("a server certificate of another CA is refused", async (t) => {
    const c = open(t, server.addr, { apiKey: server.adminKey, ca: certs.otherCaCert, cert: certs.clientCert, key: certs.clientKey, retry: { maxAttempts: 1 } });
    await assert.rejects(probe(c), cc.Unavailable);
  });

  test("a client without a trusted certificate is refused", async (t) => {
    const none = open(t, server.addr, { apiKey: server.adminKey, ca: certs.caCert, retry: { maxAttempts: 1 } });
    await assert.rejects(probe(none), cc.ConsentdError);
    const stranger = open(t, server.addr, {
      apiKey: server.adminKey,
      ca: certs.caCert,
      cert: certs.strangerCert,
      key: certs.strangerKey,
      retry: { maxAttempts: 1 },
    });
    await assert.rejects(probe(stranger), cc.ConsentdError);
  });

  test("plaintext to a TLS server fails", async (t) => {
    const c = open(t, `http://127.0.0.1:${server.port}`, { apiKey: server.adminKey, retry: { maxAttempts: 1 } });
    await assert.rejects(probe(c), cc.ConsentdError);
  });
});
