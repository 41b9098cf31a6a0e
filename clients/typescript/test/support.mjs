// Runs the real consentd binary for the tests: temporary data directories, free ports, an
// admin key made with the binary's offline --create-admin-key, a TCP proxy that can lose
// answers, and test certificates.

import { execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import * as cc from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../../..");

/** The consentd binary: $CONSENTD_BINARY, else this repository's release build. */
export function binary() {
  const path = process.env.CONSENTD_BINARY || join(repo, "target/release/consentd");
  if (!existsSync(path)) {
    throw new Error(`consentd binary \`${path}\` not found: set CONSENTD_BINARY (clients/test.sh BINARY does)`);
  }
  return path;
}

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolvePort(port));
    });
  });
}

/** A contact point no other test uses. */
export function uid(prefix = "u") {
  return `${prefix}${randomUUID().replaceAll("-", "").slice(0, 16)}@example.com`;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `predicate` until it is truthy (a bound on waiting, never an assertion on time). */
export async function waitUntil(predicate, what, timeoutMs = 30000, intervalMs = 20) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** One consentd process on 127.0.0.1 with its own data directory. */
export class Server {
  static async create({ extra = [], certs = undefined, mtls = false } = {}) {
    const s = new Server();
    s.dir = mkdtempSync(join(tmpdir(), "consentd-client-test-"));
    s.dataDir = join(s.dir, "data");
    s.port = await freePort();
    s.extra = [...extra];
    s.certs = certs;
    if (certs) {
      s.extra.push("--tls-cert", certs.serverCert, "--tls-key", certs.serverKey);
      if (mtls) s.extra.push("--tls-client-ca", certs.caCert);
    }
    s.log = join(s.dir, "consentd.log");
    s.process = undefined;
    const out = execFileSync(binary(), ["--data-dir", s.dataDir, "--create-admin-key", "client tests"], {
      env: { ...process.env, RUST_LOG: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    s.adminKey = out.toString().trim().split("\n").pop();
    if (!s.adminKey.startsWith("ck_")) throw new Error(`unexpected admin key output: ${out}`);
    return s;
  }

  get addr() {
    return `${this.certs ? "https" : "http"}://127.0.0.1:${this.port}`;
  }

  client(options = {}) {
    const o = { apiKey: this.adminKey, ...options };
    if (this.certs) {
      o.ca ??= this.certs.caCert;
      o.cert ??= this.certs.clientCert;
      o.key ??= this.certs.clientKey;
    }
    return new cc.ConsentdClient(this.addr, o);
  }

  async start() {
    const log = openSync(this.log, "a");
    this.process = spawn(
      binary(),
      ["--listen-addr", `127.0.0.1:${this.port}`, "--metrics-addr", "off", "--data-dir", this.dataDir, ...this.extra],
      { stdio: ["ignore", "ignore", log], env: { ...process.env, RUST_LOG: "warn" } },
    );
    const child = this.process;
    let exited = false;
    child.once("exit", () => (exited = true));
    const probe = this.client({ apiKey: undefined, retry: { maxAttempts: 1 } });
    try {
      await waitUntil(
        async () => {
          if (exited) throw new Error(`consentd exited:\n${readFileSync(this.log, "utf8")}`);
          try {
            return (await probe.health("", { timeoutMs: 1000 })) === cc.HealthStatus.SERVING;
          } catch {
            return false;
          }
        },
        "consentd to serve",
        120000,
        50,
      );
    } finally {
      probe.close();
    }
    return this;
  }

  /** SIGKILL: as a crash (every acknowledged change is in the synced WAL). */
  async kill() {
    await this.signal("SIGKILL");
  }

  async stop() {
    await this.signal("SIGTERM");
  }

  async signal(name) {
    const child = this.process;
    if (!child) return;
    this.process = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(name);
    const timer = setTimeout(() => child.kill("SIGKILL"), 30000);
    await exited;
    clearTimeout(timer);
  }

  async close() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Profile `acme` (region NL): purposes `newsletter` (commercial, topics `events`,
 * `discounts`) and `invoices` (transactional). Profile `doi`: double opt-in on email.
 */
export async function seed(client) {
  await client.createProfile("acme", { displayName: "Acme", defaultRegion: "NL", extraStopKeywords: ["afmelden"] });
  await client.createPurpose("acme", "newsletter", cc.PurposeKind.COMMERCIAL);
  await client.createPurpose("acme", "invoices", "transactional");
  for (const topic of ["events", "discounts"]) await client.createTopic("acme", "newsletter", topic);
  await client.createProfile("doi", {
    defaultRegion: "NL",
    doubleOptIn: [{ channel: cc.Channel.EMAIL, mode: cc.DoubleOptInMode.EVERY_OPT_IN }],
  });
  await client.createPurpose("doi", "newsletter", "commercial");
}

/**
 * A started, seeded server; `onCleanup` (a test's `t.after`, or node:test's `after` in a
 * suite) is given its closing.
 */
export async function seededServer(onCleanup, options = {}) {
  const server = await Server.create(options);
  onCleanup(() => server.close());
  await server.start();
  const c = server.client();
  try {
    await seed(c);
  } finally {
    c.close();
  }
  return server;
}

/**
 * A TCP proxy in front of a server. `loseAnswers()` makes every connection open now drop
 * whatever the server sends from then on (the request still reaches the server: a write is
 * applied and its answer lost); connections made later are normal.
 */
export class Proxy {
  static async create(upstreamPort) {
    const p = new Proxy();
    p.connections = [];
    p.answerBytesLost = 0;
    p.server = net.createServer((client) => {
      const upstream = net.connect(upstreamPort, "127.0.0.1");
      const conn = { client, upstream, lose: false };
      p.connections.push(conn);
      client.on("data", (d) => upstream.write(d));
      upstream.on("data", (d) => {
        if (conn.lose) p.answerBytesLost += d.length;
        else client.write(d);
      });
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      for (const s of [client, upstream]) {
        s.on("error", end);
        s.on("close", end);
      }
    });
    await new Promise((r) => p.server.listen(0, "127.0.0.1", r));
    p.port = p.server.address().port;
    return p;
  }

  get addr() {
    return `http://127.0.0.1:${this.port}`;
  }

  loseAnswers() {
    for (const c of this.connections) c.lose = true;
  }

  close() {
    for (const c of this.connections) {
      c.client.destroy();
      c.upstream.destroy();
    }
    this.server.close();
  }
}

/**
 * Test certificates: from $CONSENTD_TEST_CERTS (clients/test.sh makes them with Python's
 * `cryptography`), else made with the openssl CLI; undefined when neither is there.
 */
export function certs() {
  let dir = process.env.CONSENTD_TEST_CERTS;
  if (!dir) {
    try {
      execFileSync("openssl", ["version"], { stdio: "ignore" });
    } catch {
      return undefined;
    }
    dir = mkdtempSync(join(tmpdir(), "consentd-client-certs-"));
    const made = dir;
    process.once("exit", () => rmSync(made, { recursive: true, force: true }));
    const ssl = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
    const ca = (name, cn) =>
      ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", `/CN=${cn}`,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    const leaf = (name, cn, caName, ext) => {
      writeFileSync(join(dir, `${name}.ext`), ext);
      ssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
      ssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${caName}.pem`, "-CAkey", `${caName}.key`,
        "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`);
    };
    ca("ca", "consentd client tests CA");
    ca("other-ca", "another CA");
    leaf("server", "localhost", "ca",
      "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n");
    leaf("client", "sender", "ca", "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n");
    leaf("stranger", "stranger", "other-ca", "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n");
  }
  const f = (name) => join(dir, name);
  return {
    caCert: f("ca.pem"),
    serverCert: f("server.pem"),
    serverKey: f("server.key"),
    clientCert: f("client.pem"),
    clientKey: f("client.key"),
    otherCaCert: f("other-ca.pem"),
    strangerCert: f("stranger.pem"),
    strangerKey: f("stranger.key"),
  };
}
