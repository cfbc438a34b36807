# syntax=docker/dockerfile:1
# slipway runtime image (CPU): `slipway serve` on compiled JavaScript.
#
# Base images are pinned by digest; bump them deliberately:
#   docker buildx imagetools inspect node:20-bookworm-slim   (prints the current digest)
#   docker build --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:<digest> .
ARG NODE_IMAGE=node:20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0

# --- build: compile TypeScript to build/ -------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: nothing is downloaded by install hooks; onnxruntime-node's CPU binaries ship in the package.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY schemas schemas
COPY lib lib
COPY constructs constructs
COPY apps apps
# scripts/build.mjs: tsc -b, schemas, and the command list the compiled CLI reads.
COPY scripts/build.mjs scripts/build.mjs
RUN npm run build

# --- deps: production node_modules only ---------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# --- runtime -------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOME=/tmp \
    SLIPWAY_MODEL_REPOSITORY=/models \
    SLIPWAY_PORT=8080 \
    SLIPWAY_EXECUTION_PROVIDER=cpu
WORKDIR /app
# Everything is owned by root and world-readable: the image runs as any UID (OpenShift-style
# arbitrary UIDs included) and needs no writable path; mount an emptyDir at /tmp if anything must write.
COPY --from=deps /src/node_modules node_modules
# onnxruntime-node is an optional peer of the slipway package (constructs users never install
# it) and a dev dependency of this repo, so --omit=dev leaves it out: take it from the build stage.
COPY --from=build /src/node_modules/onnxruntime-node node_modules/onnxruntime-node
COPY --from=build /src/node_modules/onnxruntime-common node_modules/onnxruntime-common
COPY --from=build /src/build build
# Modules resolve schemas relative to their compiled location (build/lib/... -> build/schemas).
COPY schemas build/schemas
COPY package.json ./
USER 1000:1000
EXPOSE 8080 9091
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.SLIPWAY_PORT || 8080) + '/v2/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "build/lib/cli/main.js"]
CMD ["serve", "--host", "0.0.0.0"]
