#!/usr/bin/env bash
# The dist build against the release build, in one run: binary sizes, and the hot stream's
# and unary Check's throughput of a consentd of each profile, measured in alternation
# (release, dist, release, dist) with the same client, population and settings; the ratio
# is dist over release. Needs both builds (cargo build --release; scripts/release.sh).
#   scripts/compare-builds.sh [SECONDS_PER_RUN]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
rel="$target/release"; dist="$target/dist"
ctl="$rel/consentctl"
for f in "$rel/consentd" "$dist/consentd" "$ctl"; do [ -x "$f" ] || { echo "missing $f" >&2; exit 1; }; done
work="$(mktemp -d)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
start() { # profile port
  "$target/$1/consentd" --data-dir "$work/$1" --listen-addr "127.0.0.1:$2" --metrics-addr 127.0.0.1:0 \
    > "$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do "$ctl" --addr "http://127.0.0.1:$2" health >/dev/null 2>&1 && return; sleep 0.2; done
  cat "$work/$1.log"; exit 1
}
start release 50161
start dist 50162
declare -A profile
for p in release:50161 dist:50162; do  # the same population on both
  name="${p%%:*}"; port="${p##*:}"
  profile[$name]=$("$ctl" --addr "http://127.0.0.1:$port" --json bench stream --duration 1s --warmup 0s \
    --i-know-this-is-not-production --quiet 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["profile"])')
done
for round in 1 2; do
  for p in release:50161 dist:50162; do
    name="${p%%:*}"; port="${p##*:}"
    for kind in stream unary; do
      "$ctl" --addr "http://127.0.0.1:$port" --json bench "$kind" --profile "${profile[$name]}" --no-setup \
        --duration "${secs}s" --i-know-this-is-not-production --quiet > "$work/$kind-$name-$round"
    done
  done
done
python3 - "$work" "$rel" "$dist" <<'PY'
import json, os, sys
work, rel, dist = sys.argv[1:]
def rate(path):
    phase = json.load(open(path))["phases"][0]
    return float(phase["items_per_s"])
def mean(kind, name):
    return sum(rate(f"{work}/{kind}-{name}-{r}") for r in (1, 2)) / 2
size = lambda p: os.path.getsize(p) / 1e6
print(f"consentd binary: release {size(rel+'/consentd'):.1f} MB, dist {size(dist+'/consentd'):.1f} MB")
print(f"consentctl binary: release {size(rel+'/consentctl'):.1f} MB, dist {size(dist+'/consentctl'):.1f} MB")
for kind, what in (("stream", "hot stream, decisions/s"), ("unary", "unary Check, requests/s")):
    r, d = mean(kind, "release"), mean(kind, "dist")
    print(f"{what}: release {r:,.0f}, dist {d:,.0f}, dist/release {d/r:.2f}x")
PY
