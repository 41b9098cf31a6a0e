#!/usr/bin/env bash
# Builds the release artifacts into dist/ (or $1):
#   consentd-VERSION-x86_64-linux.tar.gz    consentd, LICENSE, README.md, the example
#                                           configuration, the systemd unit, the Kubernetes example
#   consentctl-VERSION-x86_64-linux.tar.gz  consentctl, its manual pages and shell completions,
#                                           LICENSE, README.md
#   SHA256SUMS                              sha256sum of both
# The binaries are built with the `dist` profile (LTO, one codegen unit, stripped). RocksDB's
# C++ archive of an earlier `--release` build is linked when there is one, rather than
# compiled again for the new profile.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)"
arch="$(uname -m)-linux"
archive=$(ls "$target"/release/build/librocksdb-sys-*/out/librocksdb.a 2>/dev/null | head -1 || true)
if [ -n "$archive" ]; then
  export ROCKSDB_LIB_DIR="$(dirname "$archive")" ROCKSDB_STATIC=1
  echo "linking RocksDB from $ROCKSDB_LIB_DIR"
fi
cargo build --locked --profile dist -p consentd -p consentctl --bin consentd --bin consentctl
bin="$target/dist"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
server="consentd-$version-$arch"
cli="consentctl-$version-$arch"
mkdir -p "$stage/$server/deploy/kubernetes" "$stage/$cli/man/man1" "$stage/$cli/completions"
install -m 0755 "$bin/consentd" "$stage/$server/"
install -m 0644 LICENSE README.md docs/consentd.example.toml "$stage/$server/"
install -m 0644 deploy/consentd.service deploy/consentd.sysusers "$stage/$server/deploy/"
install -m 0644 deploy/kubernetes/consentd.yaml "$stage/$server/deploy/kubernetes/"
install -m 0755 "$bin/consentctl" "$stage/$cli/"
install -m 0644 LICENSE README.md "$stage/$cli/"
"$bin/consentctl" man --out "$stage/$cli/man/man1" >/dev/null
"$bin/consentctl" completions bash > "$stage/$cli/completions/consentctl.bash"
"$bin/consentctl" completions zsh > "$stage/$cli/completions/_consentctl"
"$bin/consentctl" completions fish > "$stage/$cli/completions/consentctl.fish"
mkdir -p "$out"
for d in "$server" "$cli"; do
  # Reproducible archives: fixed owner, order and times.
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2026-01-01 00:00:00Z' \
    -C "$stage" -czf "$out/$d.tar.gz" "$d"
done
(cd "$out" && sha256sum "$server.tar.gz" "$cli.tar.gz" > SHA256SUMS)
ls -l "$out"
cat "$out/SHA256SUMS"
