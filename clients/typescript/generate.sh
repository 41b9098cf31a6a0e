#!/usr/bin/env bash
# Generates the ts-proto code of @consentd/client from proto/consent/v1 (src/gen) and builds
# the package (dist): declarations with tsc, and one bundled dist/index.js with esbuild that
# carries its runtime dependencies (@grpc/grpc-js, @bufbuild/protobuf). Everything is
# committed, so `npm install <this directory>` works from anywhere with no generator, no
# compiler and no further packages (npm links a directory outside the installing project
# without installing its dependencies).
#
#   clients/typescript/generate.sh          regenerate and rebuild in place
#   clients/typescript/generate.sh --check  regenerate and rebuild in a scratch directory and
#                                           fail if anything differs from what is committed (CI)
#
# ts-proto, buf (which compiles the protos), typescript and esbuild are pinned in
# package.json and package-lock.json, so everyone regenerates byte for byte the same.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"
bin="$here/node_modules/.bin"
if [ ! -x "$bin/protoc-gen-ts_proto" ] || [ ! -x "$bin/buf" ] || [ ! -x "$bin/tsc" ] || [ ! -x "$bin/esbuild" ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# generate SRC: writes SRC/gen from the protos.
generate() {
  local base
  base="$(mktemp -d "$here/.gen-XXXXXX")"
  (cd "$repo" && "$bin/buf" generate --template clients/typescript/buf.gen.yaml -o "${base#"$repo/"}")
  rm -rf "$1/gen"
  mv "$base/clients/typescript/src/gen" "$1/gen"
  rm -rf "$base"
}

# build SRC DIST: declarations and the bundle of SRC into DIST.
build() {
  local src="$1" dist="$2" config
  rm -rf "$dist"
  config="$(mktemp "$here/.tsconfig-XXXXXX.json")"
  printf '{"extends": "./tsconfig.json", "compilerOptions": {"rootDir": "%s", "outDir": "%s", "emitDeclarationOnly": true}, "include": ["%s/**/*.ts"]}\n' \
    "$src" "$dist" "$src" > "$config"
  "$bin/tsc" -p "$config" || { rm -f "$config"; echo "clients/typescript: tsc failed" >&2; return 1; }
  rm -f "$config"
  # @grpc/proto-loader is only loaded by grpc-js's server-side channelz and ORCA services.
  "$bin/esbuild" "$src/index.ts" --bundle --platform=node --target=node18 --format=cjs \
    --external:@grpc/proto-loader --legal-comments=none --log-level=warning \
    --metafile="$dist/.meta.json" --outfile="$dist/index.js"
  node tools/notices.mjs "$dist/.meta.json" > "$dist/THIRD_PARTY_NOTICES.md"
  rm -f "$dist/.meta.json"
}

# Both modes build in the same scratch directory, so the paths esbuild writes into the
# bundle's comments are the same.
work="$here/.build"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
cp -r src "$work/src"
generate "$work/src"
build .build/src .build/dist
if [ "${1:-}" = "--check" ]; then
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
  mv "$work/src/gen" src/gen
  mv "$work/dist" dist
fi
