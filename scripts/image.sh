#!/usr/bin/env bash
# Builds consentd's container image with buildah (Debian's package; no registry is needed:
# the image is FROM scratch) and, with --test, tries it: the image's filesystem is exported
# and the server run from it (chroot, as the image's user), then a health check and one
# decision through the image's own consentctl. (`podman run` needs rlimits this sandbox
# does not grant; the exported filesystem is what a runtime would start.)
#
#   scripts/image.sh [--test] [BINARY_DIR]
# BINARY_DIR holds consentd and consentctl: target/dist after scripts/release.sh (what is
# shipped), else target/release (stripped on the way in).
set -euo pipefail
cd "$(dirname "$0")/.."
test=0
[ "${1:-}" = "--test" ] && { test=1; shift; }
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
bin="${1:-}"
if [ -z "$bin" ]; then
  if [ -x "$target/dist/consentd" ]; then bin="$target/dist"; else bin="$target/release"; fi
fi
for b in consentd consentctl; do
  [ -x "$bin/$b" ] || { echo "image: no $bin/$b: build first (scripts/release.sh, or cargo build --release)" >&2; exit 1; }
done
if ! command -v buildah >/dev/null 2>&1; then
  echo "installing buildah"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends buildah >/dev/null
fi
# vfs and chroot: no overlay mounts and no user namespaces needed, so it builds in containers too.
b() { buildah --storage-driver vfs "$@"; }
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)"
image="localhost/consentd:$version"

ctx="$(mktemp -d)"
cleanup() { rm -rf "$ctx"; }
trap cleanup EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp" "$ctx/data"
chmod 1777 "$root/tmp"
chmod 0700 "$ctx/data"
for b_ in consentd consentctl; do
  cp "$bin/$b_" "$root/usr/local/bin/$b_"
  strip --strip-unneeded "$root/usr/local/bin/$b_" 2>/dev/null || true
  # The shared libraries it links, and the dynamic loader, at their own paths.
  ldd "$bin/$b_" | grep -oE '/[^ ]+' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
done
printf 'root:x:0:0:root:/:/sbin/nologin\nconsentd:x:10001:10001:consentd:/var/lib/consentd:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nconsentd:x:10001:\n' > "$root/etc/group"
cp deploy/Containerfile "$ctx/Containerfile"
b bud --quiet --isolation chroot --format docker -t "$image" -f "$ctx/Containerfile" "$ctx" >/dev/null
size=$(b images --format '{{.Size}}' "$image" 2>/dev/null | head -1 || true)
echo "built $image (image ${size:-?}; files $(du -sh "$root" | cut -f1))"
[ "$test" = 1 ] || exit 0

# The test: the image's filesystem, exported, serving.
ctr="$(b from "$image")"
mnt="$(b mount "$ctr")"
pid=""
stop() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  b umount "$ctr" >/dev/null 2>&1 || true
  b rm "$ctr" >/dev/null 2>&1 || true
  cleanup
}
trap stop EXIT
port=$((20000 + RANDOM % 20000))
run() { chroot --userspec=10001:10001 "$mnt" "$@"; }
# chroot itself in the background, not the function: chroot execs consentd, so `$!` is the
# server's pid and `stop` ends it (a backgrounded function is a subshell, and killing that
# left the server running after the script).
chroot --userspec=10001:10001 "$mnt" /usr/local/bin/consentd --data-dir /var/lib/consentd \
  --listen-addr "127.0.0.1:$port" --metrics-addr 127.0.0.1:0 > "$ctx/consentd.log" 2>&1 &
pid=$!
ctl() { run /usr/local/bin/consentctl --addr "http://127.0.0.1:$port" "$@"; }
for _ in $(seq 1 60); do
  ctl health >/dev/null 2>&1 && break
  sleep 0.5
done
ctl health || { cat "$ctx/consentd.log"; exit 1; }
ctl profile create acme --region NL >/dev/null
ctl purpose create --profile acme newsletter --kind commercial >/dev/null
ctl set --profile acme --channel email --contact jane@example.com --purpose newsletter --status in >/dev/null
ctl check --profile acme --channel email --contact jane@example.com --purpose newsletter
set +e
ctl check --profile acme --channel email --contact john@example.com --purpose newsletter >/dev/null
code=$?
set -e
[ "$code" = 10 ] || { echo "image: an unknown recipient was not blocked (exit $code)" >&2; exit 1; }
echo "image: the exported filesystem serves: health SERVING, a decision made"
