#!/usr/bin/env bash
# Checks what operators install beside the binaries:
#   - deploy/consentd.service passes `systemd-analyze verify` (with ExecStart pointed at the
#     consentd just built, since verify wants the program to exist);
#   - the protos have no breaking change against proto/baseline.binpb, the API as released
#     (`buf breaking`; refresh the baseline with `scripts/check-deploy.sh --new-baseline`
#     only when a breaking change is meant, with a new package version).
#   scripts/check-deploy.sh CONSENTD_BINARY BUF
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--new-baseline" ]; then
  "${2:?BUF}" build -o proto/baseline.binpb
  echo "wrote proto/baseline.binpb"
  exit 0
fi
binary="${1:?CONSENTD_BINARY}"; buf="${2:?BUF}"
case "$binary" in /*) ;; *) binary="$PWD/$binary" ;; esac
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "installing systemd (for systemd-analyze)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
sed "s|^ExecStart=/usr/local/bin/consentd |ExecStart=$binary |" deploy/consentd.service > "$scratch/consentd.service"
# verify prints every problem it finds and exits nonzero for errors; warnings fail too.
out="$(systemd-analyze verify "$scratch/consentd.service" 2>&1)" || { echo "$out"; exit 1; }
if [ -n "$out" ]; then echo "$out"; echo "systemd-analyze verify: warnings in deploy/consentd.service" >&2; exit 1; fi
echo "systemd-analyze verify deploy/consentd.service: clean"
"$buf" breaking --against proto/baseline.binpb
echo "buf breaking against proto/baseline.binpb: none"
