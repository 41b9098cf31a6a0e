#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS (default 10) from its corpus in fuzz/corpus/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Needs the nightly toolchain (rustup) and cargo-fuzz (installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"; shift || true
targets=("$@"); [ "${#targets[@]}" -gt 0 ] || targets=(contact import_row token requests)
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz@0.13.2
# Every path handed to cargo-fuzz is absolute: it runs cargo from `fuzz/`, and a relative
# ROCKSDB_LIB_DIR (the default `target` of a fresh clone) then names nothing and the link
# fails with "could not find native static library `rocksdb`" (#24).
main_target="${CARGO_TARGET_DIR:-target}"
case "$main_target" in /*) ;; *) main_target="$PWD/$main_target" ;; esac
target_dir="$main_target/fuzz"
# Link the RocksDB archive of the main release build rather than compiling it again.
archive=$(ls "$main_target"/release/build/librocksdb-sys-*/out/librocksdb.a 2>/dev/null | head -1 || true)
if [ -n "$archive" ]; then
  export ROCKSDB_LIB_DIR="$(dirname "$archive")" ROCKSDB_STATIC=1
fi
cargo +nightly fuzz build --target-dir "$target_dir" >/dev/null
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  # New inputs go to a scratch corpus; the repo's corpus only seeds the run.
  scratch="$(mktemp -d)"
  # `requests` keeps a store and a runtime for the whole run (their threads and caches are
  # not leaks); the other targets are checked for leaks too.
  leaks=1; [ "$t" = requests ] && leaks=0
  out=$(cargo +nightly fuzz run --target-dir "$target_dir" "$t" "$scratch" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -detect_leaks="$leaks" -print_final_stats=1 2>&1) \
    || { echo "$out" | tail -40; exit 1; }
  runs=$(echo "$out" | sed -n 's/^stat::number_of_executed_units: *//p' | tail -1)
  echo "fuzz $t: ${runs:-?} runs in ${seconds}s, no crash"
  rm -rf "$scratch"
done
