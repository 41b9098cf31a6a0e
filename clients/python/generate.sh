#!/usr/bin/env bash
# Generates the protobuf/gRPC modules of consentd_client from proto/consent/v1 and the
# typed enums beside them. The output is committed, so `pip install` needs no code generator.
#
#   clients/python/generate.sh          regenerate in place (after a .proto change)
#   clients/python/generate.sh --check  regenerate into a temporary directory and fail if
#                                       anything differs from what is committed (CI)
#
# grpcio-tools is pinned: its protoc decides the generated code (and the oldest protobuf
# runtime it accepts, see pyproject.toml), so everyone regenerates byte for byte the same.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
GRPCIO_TOOLS_VERSION=1.68.1
cache="${CONSENTD_CLIENTS_CACHE:-${HOME:-/root}/.cache/consentd-clients}"
venv="$cache/gen-venv-grpcio-tools-$GRPCIO_TOOLS_VERSION"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import grpc_tools' 2>/dev/null; then
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "grpcio-tools==$GRPCIO_TOOLS_VERSION"
fi
py="$venv/bin/python"

check=0
[ "${1:-}" = "--check" ] && check=1
package_dir="$here/src/consentd_client"
if [ "$check" = 1 ]; then
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
else
  out="$package_dir"
fi

gen="$out/_proto"
rm -rf "$gen/consent"
mkdir -p "$gen/consent/v1"
protos=("$repo"/proto/consent/v1/*.proto)
(cd "$repo/proto" && "$py" -m grpc_tools.protoc -I. \
  --python_out="$gen" --pyi_out="$gen" --grpc_python_out="$gen" \
  "${protos[@]#"$repo/proto/"}")
# protoc writes absolute imports (`from consent.v1 import types_pb2`); inside this package
# they must be relative, so the modules do not need a top-level `consent` package.
for f in "$gen"/consent/v1/*.py "$gen"/consent/v1/*.pyi; do
  sed -i -e 's/^from consent\.v1 import /from . import /' "$f"
done
: > "$gen/consent/__init__.py"
: > "$gen/consent/v1/__init__.py"
# The enums with their prefixes stripped and the .proto comments as docstrings, from a
# descriptor set that keeps the comments.
descriptors="$(mktemp)"
(cd "$repo/proto" && "$py" -m grpc_tools.protoc -I. --include_source_info --include_imports \
  --descriptor_set_out="$descriptors" "${protos[@]#"$repo/proto/"}")
"$py" "$here/tools/gen_enums.py" "$descriptors" > "$out/enums.py"
rm -f "$descriptors"

if [ "$check" = 1 ]; then
  status=0
  diff -ru "$package_dir/_proto/consent" "$gen/consent" || status=1
  diff -u "$package_dir/enums.py" "$out/enums.py" || status=1
  if [ "$status" != 0 ]; then
    echo "clients/python: the generated code is stale; run clients/python/generate.sh and commit" >&2
    exit 1
  fi
  echo "clients/python: generated code is up to date"
fi
