#!/usr/bin/env bash
# Generates the ts-proto code of @consentd/client from proto/consent/v1 (src/gen) and
# compiles the package (dist). Both are committed, so `npm install <this directory>` needs
# no code generator and no compiler.
#
#   clients/typescript/generate.sh          regenerate and rebuild in place
#   clients/typescript/generate.sh --check  regenerate and rebuild in a scratch directory and
#                                           fail if anything differs from what is committed (CI)
#
# ts-proto, buf (which compiles the protos) and typescript are pinned in package.json and
# package-lock.json, so everyone regenerates byte for byte the same.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"
if [ ! -x node_modules/.bin/protoc-gen-ts_proto ] || [ ! -x node_modules/.bin/buf ] || [ ! -x node_modules/.bin/tsc ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

check=0
[ "${1:-}" = "--check" ] && check=1
if [ "$check" = 1 ]; then
  # Inside the package, so the scratch copy resolves node_modules like the real one.
  work="$(mktemp -d "$here/.check-XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  cp -r src "$work/src"
  rm -rf "$work/src/gen"
  (cd "$repo" && "$here/node_modules/.bin/buf" generate --template clients/typescript/buf.gen.yaml \
    -o "${work#"$repo/"}/.base")
  mv "$work/.base/clients/typescript/src/gen" "$work/src/gen"
  printf '{"extends": "../tsconfig.json", "compilerOptions": {"rootDir": "src", "outDir": "dist"}, "include": ["src/**/*.ts"]}\n' \
    > "$work/tsconfig.json"
  node_modules/.bin/tsc -p "$work/tsconfig.json" \
    || { echo "clients/typescript: the package does not compile against the regenerated code" >&2; exit 1; }
  status=0
  diff -ru src/gen "$work/src/gen" || status=1
  diff -ru dist "$work/dist" || status=1
  if [ "$status" != 0 ]; then
    echo "clients/typescript: generated code or dist is stale; run clients/typescript/generate.sh and commit" >&2
    exit 1
  fi
  echo "clients/typescript: generated code and dist are up to date"
else
  rm -rf src/gen dist
  (cd "$repo" && "$here/node_modules/.bin/buf" generate --template clients/typescript/buf.gen.yaml)
  node_modules/.bin/tsc -p tsconfig.json
fi
