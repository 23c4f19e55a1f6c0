# syntax=docker/dockerfile:1.7
# One image for the whole pipeline; the service is chosen at run time by the script it runs:
#   docker run weblog-pipeline apps/transformer/dist/main.js
# Services: apps/weblog-generator/dist/main.js, apps/transformer/dist/main.js,
# apps/s3-archiver/dist/main.js (and dist/replay.js), apps/verifier/dist/main.js,
# apps/log-shipper/dist/main.js.

ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# --- build: every workspace compiled with the same TypeScript the tests use ---------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Fixes to dependencies that npm applies after installing them (patch-package, postinstall).
COPY patches patches
COPY apps/weblog-generator/package.json apps/weblog-generator/
COPY apps/transformer/package.json apps/transformer/
COPY apps/s3-archiver/package.json apps/s3-archiver/
COPY apps/verifier/package.json apps/verifier/
COPY apps/log-shipper/package.json apps/log-shipper/
COPY libs/kafka-common/package.json libs/kafka-common/
COPY libs/s3-archive/package.json libs/s3-archive/
COPY infra/local/package.json infra/local/
COPY bench/package.json bench/
# `npm install` honours package-lock.json; `npm ci` rejects a lock without other platforms'
# optional binaries (npm/cli#4828), which is what npm writes on Linux.
RUN --mount=type=cache,target=/root/.npm npm install --no-audit --no-fund
COPY tsconfig.base.json ./
COPY libs libs
COPY apps apps
RUN npx tsc -b apps/weblog-generator/tsconfig.app.json apps/transformer/tsconfig.app.json \
      apps/s3-archiver/tsconfig.app.json apps/verifier/tsconfig.app.json apps/log-shipper/tsconfig.app.json

# --- production dependencies only: the build's tree without the compiler and test tools -----------
FROM build AS deps
RUN npm prune --omit=dev --no-audit --no-fund

# --- runtime: compiled JavaScript, production node_modules, non-root ----------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production TZ=UTC
WORKDIR /app
COPY --from=deps /src/node_modules node_modules
COPY --from=deps /src/package.json ./
COPY --from=build /src/libs/kafka-common/package.json libs/kafka-common/
COPY --from=build /src/libs/kafka-common/dist libs/kafka-common/dist
COPY --from=build /src/libs/s3-archive/package.json libs/s3-archive/
COPY --from=build /src/libs/s3-archive/dist libs/s3-archive/dist
COPY --from=build /src/apps/weblog-generator/dist apps/weblog-generator/dist
COPY --from=build /src/apps/transformer/dist apps/transformer/dist
COPY --from=build /src/apps/s3-archiver/dist apps/s3-archiver/dist
COPY --from=build /src/apps/verifier/dist apps/verifier/dist
COPY --from=build /src/apps/log-shipper/dist apps/log-shipper/dist
# The image's own "node" user (uid 1000); the files above stay root-owned and read-only to it.
USER 1000:1000
# Every service serves /health/ready on $PORT; compose and Kubernetes set PORT per service.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "libs/kafka-common/dist/healthcheck.js"]
ENTRYPOINT ["node", "--enable-source-maps"]
CMD ["apps/weblog-generator/dist/main.js"]
