"""Throughput of check_stream against a running consentd.

    python clients/python/bench.py --addr http://127.0.0.1:50051 --api-key "$KEY" --seed \
        --recipients 1000000 --population 100000

--seed creates profile `bench` (purpose `newsletter`, commercial) and opts in a population
of `--population` contact points (p0@bench.example ...) with deterministic idempotency keys,
so a second run, or the TypeScript bench (clients/typescript/bench.mjs, same population),
replays instead of writing again. The stream then checks `--recipients` recipients, half of
them from the population (SEND) and half unknown (BLOCK), and prints decisions/s. The
figure includes this process's own CPU (decoding, one object per decision), so it is a
client figure, to compare with other clients against the same server in the same run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

import consentd_client as cc  # noqa: E402

PROFILE = "bench"
PURPOSE = "newsletter"


def seed(client: cc.Client, population: int) -> None:
    for create in (
        lambda: client.create_profile(PROFILE, display_name="client bench", default_region="NL"),
        lambda: client.create_purpose(PROFILE, PURPOSE, cc.PurposeKind.COMMERCIAL),
    ):
        try:
            create()
        except cc.AlreadyExists:
            pass
    started = time.perf_counter()
    changes = (
        cc.Change(
            PROFILE,
            cc.Channel.EMAIL,
            f"p{i}@bench.example",
            PURPOSE,
            cc.ConsentStatus.OPTED_IN,
            idempotency_key=f"client-bench-seed-{i}",
        )
        for i in range(population)
    )
    results = client.batch_set_consent(changes)
    failed = [r for r in results if not r.applied]
    if failed:
        raise SystemExit(f"seeding failed for {len(failed)} contact points: {failed[0]}")
    replayed = sum(1 for r in results if r.replayed)
    print(f"seeded {population} contact points ({replayed} replayed) in {time.perf_counter() - started:.1f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--addr", default="http://127.0.0.1:50051")
    p.add_argument("--api-key", default=os.environ.get("CONSENTD_API_KEY"))
    p.add_argument("--ca")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--seed", action="store_true", help="create the profile and the population first")
    p.add_argument("--population", type=int, default=100_000)
    p.add_argument("--recipients", type=int, default=1_000_000)
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--in-flight", type=int, default=8)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--batches", action="store_true", help="also iterate a batch at a time")
    args = p.parse_args()

    with cc.Client(args.addr, api_key=args.api_key, ca=args.ca, cert=args.cert, key=args.key) as client:
        if args.seed:
            seed(client, args.population)
        span = 2 * args.population

        def recipients():
            for i in range(args.recipients):
                yield f"p{i % span}@bench.example"

        modes = ["decision", "batch"] if args.batches else ["decision"]
        for run in range(args.runs):
            for mode in modes:
                sends = total = 0
                started = time.perf_counter()
                stream = client.check_stream(
                    recipients(), PROFILE, cc.Channel.EMAIL, PURPOSE, batch_size=args.batch, max_in_flight=args.in_flight
                )
                if mode == "decision":
                    for d in stream:
                        total += 1
                        if d.send:
                            sends += 1
                else:
                    for batch in stream.batches():
                        total += len(batch)
                        sends += sum(1 for d in batch if d.send)
                elapsed = time.perf_counter() - started
                print(
                    f"python check_stream (a {mode} at a time): {total} decisions in {elapsed:.2f} s = "
                    f"{total / elapsed:,.0f} decisions/s ({sends} send; batch {args.batch}, "
                    f"{args.in_flight} in flight, run {run + 1}/{args.runs})"
                )

if __name__ == "__main__":
    main()
