#!/usr/bin/env bash
# Two consentd builds side by side on this machine, driven alternately by one consentctl:
# the after/before ratio of each round comes from the same minutes, so machine noise
# shows as spread, not as a difference.
#
#   scripts/ab.sh BEFORE_BIN AFTER_BIN [ROUNDS] [SCENARIO ...]
#
# e.g. scripts/ab.sh /tmp/old/consentd target/release/consentd 6 "stream --population 100000"
# SCENARIO is a `consentctl bench` scenario with its flags (default: the hot stream and
# unary checks at 16 in flight, 100,000 contact points each). Prints one line per round
# and the geometric mean of the ratios.
set -euo pipefail
before="${1:?usage: scripts/ab.sh BEFORE_BIN AFTER_BIN [ROUNDS] [SCENARIO ...]}"
after="${2:?usage: scripts/ab.sh BEFORE_BIN AFTER_BIN [ROUNDS] [SCENARIO ...]}"
rounds="${3:-3}"
shift $(( $# < 3 ? $# : 3 ))
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=("stream --population 100000" "unary --population 100000 --concurrency 16")
repo="$(cd "$(dirname "$0")/.." && pwd)"
ctl="${CONSENTCTL:-$repo/target/release/consentctl}"
work="$(mktemp -d)"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pb=$(port); pa=$(port)
"$before" --listen-addr 127.0.0.1:$pb --metrics-addr off --data-dir "$work/before" >"$work/before.log" 2>&1 &
b=$!
"$after" --listen-addr 127.0.0.1:$pa --metrics-addr off --data-dir "$work/after" >"$work/after.log" 2>&1 &
a=$!
trap 'kill $a $b 2>/dev/null; rm -rf "$work"' EXIT
for p in $pb $pa; do
  for _ in $(seq 100); do "$ctl" --addr http://127.0.0.1:$p health >/dev/null 2>&1 && break; sleep 0.1; done
done
rate() { python3 -c "import json,sys; print(json.load(sys.stdin)['phases'][0]['items_per_s'])"; }
for scenario in "${scenarios[@]}"; do
  ratios=()
  for round in $(seq "$rounds"); do
    # shellcheck disable=SC2086 # the scenario is words
    rb=$("$ctl" --addr http://127.0.0.1:$pb --json bench $scenario --duration 5s --warmup 1s 2>/dev/null | rate)
    # shellcheck disable=SC2086
    ra=$("$ctl" --addr http://127.0.0.1:$pa --json bench $scenario --duration 5s --warmup 1s 2>/dev/null | rate)
    r=$(python3 -c "print(f'{$ra/$rb:.3f}')")
    ratios+=("$r")
    printf '%-8s round %d  before %12.0f/s  after %12.0f/s  ratio %s\n' "${scenario%% *}" "$round" "$rb" "$ra" "$r"
  done
  python3 -c "import math,sys; r=[float(x) for x in sys.argv[1:]]; print(f'${scenario%% *} geometric mean of after/before: {math.exp(sum(map(math.log,r))/len(r)):.3f} (min {min(r):.3f}, max {max(r):.3f})')" "${ratios[@]}"
done
