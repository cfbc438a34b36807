# syntax=docker/dockerfile:1
# slipway runtime image (CPU): `slipway serve` on compiled JavaScript.
#
# The build context is a directory prepared by containers/image-context.sh (compiled build/
# and production node_modules): build containers on CI runners and air-gapped builders cannot
# reach the npm registry, so nothing in this file downloads anything.
#   containers/image-context.sh /tmp/slipway-image && buildah build -f Dockerfile /tmp/slipway-image
#
# BASE_IMAGE is any image with Node.js 20.19+ at /usr/bin/node or on PATH. The default is the
# public image pinned by digest; bump it deliberately:
#   docker buildx imagetools inspect node:20-bookworm-slim   (prints the current digest)
# Where no registry is reachable, build a base from Debian packages and pass it in:
#   buildah build --build-arg BASE_IMAGE="$(containers/build-base-image.sh)" -f Dockerfile /tmp/slipway-image
ARG BASE_IMAGE=node:20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0

# --- deps: production node_modules for this image's platform only ---------------------------
FROM ${BASE_IMAGE} AS deps
WORKDIR /src
COPY node_modules node_modules
# onnxruntime-node ships native binaries for every platform (~280 MB); keep this one's and
# fail the build, not the pod, when they do not load on the chosen base image.
RUN platform=$(node -p 'process.platform + "/" + process.arch') \
 && for dir in node_modules/onnxruntime-node/bin/napi-v6/*/*; do \
      case "$dir" in */"$platform") ;; *) rm -rf "$dir" ;; esac; \
    done \
 && test -d "node_modules/onnxruntime-node/bin/napi-v6/$platform" \
 && node -e "import('onnxruntime-node').then((ort) => new ort.Tensor('float32', [1], [1]))"

# --- runtime -------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOME=/tmp \
    SLIPWAY_MODEL_REPOSITORY=/models \
    SLIPWAY_PORT=8080 \
    SLIPWAY_EXECUTION_PROVIDER=cpu
WORKDIR /app
# Everything is owned by root and world-readable: the image runs as any UID (OpenShift-style
# arbitrary UIDs included) and needs no writable path; mount an emptyDir at /tmp if anything must write.
COPY --from=deps /src/node_modules node_modules
COPY build build
COPY package.json ./
USER 1000:1000
EXPOSE 8080 8081 9091
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.SLIPWAY_PORT || 8080) + '/v2/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "build/lib/cli/main.js"]
CMD ["serve", "--host", "0.0.0.0"]
