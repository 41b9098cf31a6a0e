#!/usr/bin/env bash
# Runs the tests of the client libraries against a real consentd:
#
#   clients/test.sh CONSENTD_BINARY
#
# Sets up what it needs outside the repository (a Python virtualenv under
# ${CONSENTD_CLIENTS_CACHE:-~/.cache/consentd-clients}; npm packages in
# clients/typescript/node_modules, which git ignores), checks that the committed generated
# code matches the protos, installs each client the way a user would (pip install DIR,
# npm install DIR from another directory), then runs pytest and node's test runner. Both
# suites always run; the exit status is nonzero when anything failed.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ $# -ge 1 ] || { echo "usage: clients/test.sh CONSENTD_BINARY" >&2; exit 2; }
binary="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[ -x "$binary" ] || { echo "clients/test.sh: \`$1\` is not an executable consentd" >&2; exit 2; }
export CONSENTD_BINARY="$binary"
cache="${CONSENTD_CLIENTS_CACHE:-${HOME:-/root}/.cache/consentd-clients}"
export CONSENTD_CLIENTS_CACHE="$cache"
mkdir -p "$cache"
failed=()
step() { echo; echo "== clients: $*"; }

set -e
# Debian's python3 lacks venv/ensurepip until python3-venv is installed.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  step "installing python3-venv"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
fi
venv="$cache/venv-test"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)
step "pip install clients/python[test]"
"${pip[@]}" uninstall -y consentd-client >/dev/null 2>&1 || true
"${pip[@]}" install "$here/python[test]"

step "npm ci (clients/typescript)"
(cd "$here/typescript" && npm ci --no-audit --no-fund --loglevel=error)
set +e

step "generated code is up to date"
"$here/python/generate.sh" --check || failed+=("python generate --check")
"$here/typescript/generate.sh" --check || failed+=("typescript generate --check")

step "npm install clients/typescript from another directory"
app="$(mktemp -d)"
(
  set -e
  cd "$app"
  npm init -y >/dev/null
  npm install --no-audit --no-fund --loglevel=error "$here/typescript"
  node -e 'const c = require("@consentd/client"); if (typeof c.ConsentdClient !== "function") process.exit(1)'
  printf 'import { ConsentdClient } from "@consentd/client";\nif (typeof ConsentdClient !== "function") process.exit(1);\n' > esm.mjs
  node esm.mjs
) && echo "installed and loaded (CommonJS and ESM)" || failed+=("npm install <dir>")
rm -rf "$app"

logs="$(mktemp -d)"
step "Python tests (pytest)"
(cd "$here/python" && "$venv/bin/python" -m pytest -q -p no:cacheprovider tests) 2>&1 | tee "$logs/python" \
  || failed+=("python tests")

step "TypeScript tests (node --test)"
certs="$(mktemp -d)"
"$venv/bin/python" "$here/python/tests/make_certs.py" "$certs"
(cd "$here/typescript" && CONSENTD_TEST_CERTS="$certs" node --test test/*.test.mjs) 2>&1 | tee "$logs/typescript" \
  || failed+=("typescript tests")
rm -rf "$certs"

# One closing line for both suites: pytest's "N passed, M failed" and node's "# pass N".
count() { grep -Eo "$1" "$2" | tail -1 | grep -Eo '[0-9]+' || echo 0; }
passed=$(( $(count '[0-9]+ passed' "$logs/python") + $(count '^# pass [0-9]+' "$logs/typescript") ))
failures=$(( $(count '[0-9]+ failed' "$logs/python") + $(count '[0-9]+ errors?' "$logs/python") \
  + $(count '^# fail [0-9]+' "$logs/typescript") ))
rm -rf "$logs"
echo
if [ "${#failed[@]}" -gt 0 ]; then
  echo "clients: FAILED: ${failed[*]}" >&2
  echo "clients: $passed passed, $(( failures > 0 ? failures : ${#failed[@]} )) failed"
  exit 1
fi
echo "clients: $passed passed, 0 failed"
