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
# onnxruntime-node (to serve) and cdk8s, cdk8s-plus-28, constructs (the pipeline's step commands
# synthesize apps) are the package's peer dependencies; the image's manifest makes them its own.
node containers/image-packages.mjs "$out"
if ! (cd "$out" && npm ci --omit=dev --offline --ignore-scripts --no-audit --no-fund --loglevel=error); then
  echo "image-context: production packages must be in npm's cache; run npm ci in this checkout first" >&2
  exit 1
fi
# The package's own build (JavaScript, schemas, the CLI's command list), without the declarations
# and source maps that only weigh down a server image.
npm run --silent build
cp -R build "$out/build"
find "$out/build" \( -name '*.d.ts' -o -name '*.map' -o -name '*.tsbuildinfo' \) -delete
