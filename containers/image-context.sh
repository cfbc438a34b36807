#!/bin/sh
# Prepares the build context of the runtime image (Dockerfile) in DIR: the compiled
# JavaScript (build/, with the JSON schemas it loads) and production node_modules.
#
#   containers/image-context.sh DIR
#   buildah build -f Dockerfile --build-arg BASE_IMAGE=... DIR
#
# It runs on the host, not in a build stage, because build containers on CI runners and
# air-gapped builders cannot reach the npm registry (and the Debian-built base has no npm):
# production packages come from npm's cache, filled by the `npm ci` that set up this checkout,
# so nothing is downloaded. Install scripts stay off, as .npmrc has them for this checkout
# (onnxruntime-node's CPU binaries ship in the package).
set -eu

out=${1:?usage: containers/image-context.sh DIR}
marker=.slipway-image-context
# DIR is emptied first: refuse anything this script did not make (a typo must not wipe a tree).
if [ -e "$out" ] && [ ! -e "$out/$marker" ] && [ -n "$(ls -A "$out")" ]; then
  echo "image-context: $out is not empty and was not made by this script; pass a new directory" >&2
  exit 2
fi
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
touch "$out/$marker"
cd "$(dirname "$0")/.."

cp package.json package-lock.json "$out/"
if ! (cd "$out" && npm ci --omit=dev --offline --ignore-scripts --no-audit --no-fund --loglevel=error); then
  echo "image-context: production packages must be in npm's cache; run npm ci in this checkout first" >&2
  exit 1
fi

# Declarations and source maps only weigh down a server image.
node node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir "$out/build" --declaration false --sourceMap false
# Modules resolve schemas relative to their compiled location (build/lib/... -> build/schemas).
rm -rf "$out/build/schemas"
cp -R schemas "$out/build/schemas"
