// Throughput of checkStream against a running consentd.
//
//   node clients/typescript/bench.mjs --addr http://127.0.0.1:50051 --api-key "$KEY" --seed \
//       --recipients 1000000 --population 100000
//
// --seed creates profile `bench` (purpose `newsletter`, commercial) and opts in a population
// of --population contact points (p0@bench.example ...) with deterministic idempotency keys,
// the same as clients/python/bench.py, so either one seeds and the other replays. The stream
// then checks --recipients recipients, half from the population (SEND) and half unknown
// (BLOCK), and prints decisions/s, iterating one decision at a time (the plain
// `for await`) and, with --batches, a batch at a time. The figure includes this process's
// own CPU, so it is a client figure, to compare with other clients in the same run.

import { parseArgs } from "node:util";

import * as cc from "./dist/index.js";

const PROFILE = "bench";
const PURPOSE = "newsletter";

const { values: o } = parseArgs({
  options: {
    addr: { type: "string", default: "http://127.0.0.1:50051" },
    "api-key": { type: "string", default: process.env.CONSENTD_API_KEY },
    ca: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    seed: { type: "boolean", default: false },
    population: { type: "string", default: "100000" },
    recipients: { type: "string", default: "1000000" },
    batch: { type: "string", default: "4096" },
    "in-flight": { type: "string", default: "8" },
    runs: { type: "string", default: "1" },
    batches: { type: "boolean", default: false },
  },
});
const population = Number(o.population);
const total = Number(o.recipients);
const batchSize = Number(o.batch);
const maxInFlight = Number(o["in-flight"]);

const client = new cc.ConsentdClient(o.addr, { apiKey: o["api-key"], ca: o.ca, cert: o.cert, key: o.key });

async function seed() {
  for (const create of [
    () => client.createProfile(PROFILE, { displayName: "client bench", defaultRegion: "NL" }),
    () => client.createPurpose(PROFILE, PURPOSE, cc.PurposeKind.COMMERCIAL),
  ]) {
    try {
      await create();
    } catch (e) {
      if (!(e instanceof cc.AlreadyExists)) throw e;
    }
  }
  const started = performance.now();
  function* changes() {
    for (let i = 0; i < population; i++) {
      yield {
        profile: PROFILE,
        channel: cc.Channel.EMAIL,
        contactPoint: `p${i}@bench.example`,
        purpose: PURPOSE,
        status: cc.ConsentStatus.OPTED_IN,
        idempotencyKey: `client-bench-seed-${i}`,
      };
    }
  }
  const results = await client.batchSetConsent(changes());
  const failed = results.filter((r) => !r.applied);
  if (failed.length) throw new Error(`seeding failed for ${failed.length} contact points: ${JSON.stringify(failed[0])}`);
  const replayed = results.filter((r) => r.replayed).length;
  console.log(`seeded ${population} contact points (${replayed} replayed) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

function* recipients() {
  const span = 2 * population;
  for (let i = 0; i < total; i++) yield `p${i % span}@bench.example`;
}

try {
  if (o.seed) await seed();
  const modes = o.batches ? ["decision", "batch"] : ["decision"];
  for (let run = 0; run < Number(o.runs); run++) {
    for (const mode of modes) {
      let sends = 0;
      let n = 0;
      const started = performance.now();
      const stream = client.checkStream(recipients(), { profile: PROFILE, channel: cc.Channel.EMAIL, purpose: PURPOSE, batchSize, maxInFlight });
      if (mode === "decision") {
        for await (const d of stream) {
          n++;
          if (d.send) sends++;
        }
      } else {
        for await (const batch of stream.batches()) {
          for (const d of batch) {
            n++;
            if (d.send) sends++;
          }
        }
      }
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `typescript checkStream (a ${mode} at a time): ${n} decisions in ${seconds.toFixed(2)} s = ` +
          `${Math.round(n / seconds).toLocaleString("en-US")} decisions/s (${sends} send; batch ${batchSize}, ` +
          `${maxInFlight} in flight, run ${run + 1}/${o.runs})`,
      );
    }
  }
} finally {
  client.close();
}
