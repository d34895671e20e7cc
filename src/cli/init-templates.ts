/**
 * The files `init` writes into a new backend project. Kept as code (not loose template files) so
 * they ship inside dist/ with the CLI; versions come from this package's own package.json, so a
 * scaffold always pins the TF.js and CUDA stack this release was built for.
 */
import type { PackageJson } from './support.js';

export const CUDA_RUNTIME_IMAGE = 'nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04';
export const CUDA_DEVEL_IMAGE = 'nvidia/cuda:11.2.2-cudnn8-devel-ubuntu20.04';
export const NODE_IMAGE = 'node:20-bookworm-slim';

export interface TemplateContext {
  /** Project (and npm package) name. */
  name: string;
  pkg: PackageJson;
  /** How the project depends on this package: `file:vendor/<tarball>` (a packed copy) or a registry range. */
  packageSpec: string;
  /** Bare imports of the model files that need a dependency (e.g. @tensorflow/tfjs). */
  extraDependencies: Record<string, string>;
}

/** The packed copy's folder, when the project depends on one (the Docker build context needs it). */
function vendorDir(ctx: TemplateContext): string | undefined {
  return ctx.packageSpec.startsWith('file:vendor/') ? 'vendor' : undefined;
}

const BIN = 'node_modules/label-studio-ml-tfjs/bin/label-studio-ml-tfjs.js';

export function packageJsonTemplate(ctx: TemplateContext): string {
  const tfjsNodeGpu = ctx.pkg.optionalDependencies?.['@tensorflow/tfjs-node-gpu'] ?? ctx.pkg.dependencies?.['@tensorflow/tfjs'] ?? '4.22.0';
  const manifest = {
    name: ctx.name,
    version: '0.1.0',
    private: true,
    type: 'module',
    engines: { node: ctx.pkg.engines?.node ?? '>=20.19' },
    scripts: {
      start: 'label-studio-ml-tfjs start model.ts',
      train: 'label-studio-ml-tfjs train --entry model.ts',
      checkpoints: 'label-studio-ml-tfjs checkpoints list',
      typecheck: 'tsc --noEmit',
    },
    dependencies: { 'label-studio-ml-tfjs': ctx.packageSpec, ...ctx.extraDependencies },
    optionalDependencies: { '@tensorflow/tfjs-node-gpu': tfjsNodeGpu },
    // USE 1.3.3 declares tfjs 3 peers; the same pins as this package keep one tfjs 4 (TFJS-NOTES §7.3).
    ...(ctx.pkg.overrides ? { overrides: ctx.pkg.overrides } : {}),
    devDependencies: {
      typescript: ctx.pkg.devDependencies?.typescript ?? '~6.0.0',
      '@types/node': ctx.pkg.devDependencies?.['@types/node'] ?? '^20',
    },
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

export function tsconfigTemplate(): string {
  return `${JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        verbatimModuleSyntax: true,
        types: ['node'],
      },
      include: ['*.ts'],
    },
    null,
    2,
  )}\n`;
}

export function readmeTemplate(ctx: TemplateContext): string {
  return `# ${ctx.name}

A [Label Studio](https://labelstud.io) ML backend built with label-studio-ml-tfjs: the model in
\`model.ts\` trains in-process with TensorFlow.js.${vendorDir(ctx) ? `

\`${ctx.packageSpec.slice('file:'.length)}\` is the copy of label-studio-ml-tfjs this project was created
with (\`npm install\` installs it from there); keep it with the project, or point the dependency
at a registry version.` : ''}

## Run it

\`\`\`sh
npm install
npx label-studio-ml-tfjs start model.ts --port 9090
\`\`\`

Then in Label Studio: project → Settings → Model → Connect Model, URL \`http://<this host>:9090\`.
Turn on "Interactive preannotations" and training on annotation events as you like.

Bootstrap a first version from a labelled CSV (columns \`text\`, \`label\`) without Label Studio:

\`\`\`sh
npx label-studio-ml-tfjs train --entry model.ts --data labelled.csv --project 1
npx label-studio-ml-tfjs checkpoints list
\`\`\`

## Configuration (environment variables)

| Variable | Default | Meaning |
|---|---|---|
| \`PORT\`, \`HOST\` | 9090, 0.0.0.0 | Where to listen |
| \`MODEL_DIR\` | ./checkpoints | Checkpoints, annotations and state (a volume in Docker: /data/models) |
| \`BASIC_AUTH_USER\`, \`BASIC_AUTH_PASS\` | unset | Basic auth on every route |
| \`LABEL_STUDIO_URL\`, \`LABEL_STUDIO_API_KEY\` | unset | Task files and annotation export from Label Studio |
| \`LOG_LEVEL\` | info | trace, debug, info, warn, error |
| \`TFJS_BACKEND\` | auto | auto, tensorflow (tfjs-node-gpu), wasm, cpu |

## Docker

CPU: \`docker build -t ${ctx.name} .\` then \`docker run -p 9090:9090 -v ${ctx.name}-data:/data ${ctx.name}\`.

GPU (NVIDIA driver > 450 and the NVIDIA Container Toolkit on the host; CUDA 11.2 + cuDNN 8.1 are in the image):

\`\`\`sh
docker build -f Dockerfile.gpu -t ${ctx.name}:gpu .
docker run --gpus all -p 9090:9090 -v ${ctx.name}-data:/data ${ctx.name}:gpu
# or
docker compose up --build
\`\`\`

Inside Docker, \`localhost\` is the container: point \`LABEL_STUDIO_URL\` at a host name the
container can reach (e.g. \`http://host.docker.internal:8080\`).

## Deploy to Google Cloud Run

\`\`\`sh
npx label-studio-ml-tfjs deploy gcp . --gcp-project-id my-project --gcp-region europe-west1 \\
  --label-studio-url https://label-studio.example.com --label-studio-api-key $LABEL_STUDIO_API_KEY
\`\`\`

Cloud Run's disk is not persistent: trained versions are lost on restart unless \`MODEL_DIR\` points
at a mounted volume.
`;
}

/** The GPU image of a scaffolded project (the package's own Dockerfile.gpu follows the same shape). */
export function dockerfileGpuTemplate(ctx: TemplateContext): string {
  const gpuVersion = ctx.pkg.optionalDependencies?.['@tensorflow/tfjs-node-gpu'] ?? '4.22.0';
  return `# syntax=docker/dockerfile:1
# GPU image: TensorFlow.js on CUDA 11.2 + cuDNN 8.1 (what @tensorflow/tfjs-node-gpu ${gpuVersion} links against).
#   docker build -f Dockerfile.gpu -t ${ctx.name}:gpu .
#   docker run --gpus all -p 9090:9090 -v ${ctx.name}-data:/data ${ctx.name}:gpu
# Air-gapped builds: serve libtensorflow and the addon from a mirror with
#   --build-arg TFJS_NODE_BASE_URI=http://mirror/libtensorflow-
#   --build-arg npm_config_tfjs_binding_binary_host_mirror=http://mirror/
FROM ${NODE_IMAGE} AS node

FROM ${CUDA_DEVEL_IMAGE} AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && apt-get update && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \\
 && rm -rf /var/lib/apt/lists/*
ARG TFJS_NODE_BASE_URI
ARG npm_config_tfjs_binding_binary_host_mirror
ARG TFJS_NODE_GPU_VERSION=${gpuVersion}
WORKDIR /app
COPY package*.json ./
${vendorDir(ctx) ? 'COPY vendor ./vendor\n' : ''}# An optional dependency that fails to install is dropped silently: prove the binding loads.
RUN if [ -f package-lock.json ]; then npm ci --omit=dev --foreground-scripts; else npm install --omit=dev --foreground-scripts; fi \\
 && node -e "const v = require('@tensorflow/tfjs-node-gpu/package.json').version; if (v !== process.env.TFJS_NODE_GPU_VERSION) throw new Error('tfjs-node-gpu ' + v + ', expected ' + process.env.TFJS_NODE_GPU_VERSION); require('@tensorflow/tfjs-node-gpu'); console.log('tfjs-node-gpu ' + v + ' loads')"
COPY . .

FROM ${CUDA_RUNTIME_IMAGE}
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /app app \\
 && mkdir -p /data/models && chown -R app:app /data
WORKDIR /app
COPY --from=build --chown=app:app /app /app
ENV NODE_ENV=production MODEL_DIR=/data/models PORT=9090 HOST=0.0.0.0 TFJS_BACKEND=tensorflow \\
    TF_FORCE_GPU_ALLOW_GROWTH=true SHUTDOWN_TIMEOUT_S=8
USER app
VOLUME ["/data"]
EXPOSE 9090
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["node", "${BIN}", "healthcheck"]
CMD ["node", "${BIN}", "start", "model.ts"]
`;
}

export function dockerfileCpuTemplate(ctx: TemplateContext): string {
  return `# syntax=docker/dockerfile:1
# CPU image (also what \`label-studio-ml-tfjs deploy gcp\` builds on Cloud Run).
#   docker build -t ${ctx.name} .
#   docker run -p 9090:9090 -v ${ctx.name}-data:/data ${ctx.name}
FROM ${NODE_IMAGE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \\
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package*.json ./
${vendorDir(ctx) ? 'COPY vendor ./vendor\n' : ''}RUN if [ -f package-lock.json ]; then npm ci --omit=dev --omit=optional; else npm install --omit=dev --omit=optional; fi
COPY . .

FROM ${NODE_IMAGE}
WORKDIR /app
COPY --from=build --chown=node:node /app /app
RUN mkdir -p /data/models && chown -R node:node /data
ENV NODE_ENV=production MODEL_DIR=/data/models PORT=9090 HOST=0.0.0.0 SHUTDOWN_TIMEOUT_S=8
USER node
VOLUME ["/data"]
EXPOSE 9090
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["node", "${BIN}", "healthcheck"]
CMD ["node", "${BIN}", "start", "model.ts"]
`;
}

export function composeTemplate(ctx: TemplateContext): string {
  return `# docker compose up --build    (GPU: needs the NVIDIA Container Toolkit on the host)
# CPU only: use "dockerfile: Dockerfile" and remove the deploy: section.
services:
  ml-backend:
    build:
      context: .
      dockerfile: Dockerfile.gpu
    image: ${ctx.name}:gpu
    ports:
      - "9090:9090"
    environment:
      # Inside Docker "localhost" is this container: use a name it can reach, with http(s)://.
      - LABEL_STUDIO_URL=\${LABEL_STUDIO_URL:-}
      - LABEL_STUDIO_API_KEY=\${LABEL_STUDIO_API_KEY:-}
      - BASIC_AUTH_USER=\${BASIC_AUTH_USER:-}
      - BASIC_AUTH_PASS=\${BASIC_AUTH_PASS:-}
      - LOG_LEVEL=\${LOG_LEVEL:-info}
    volumes:
      - ml-data:/data
    stop_grace_period: 30s
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: 1
              capabilities: [gpu]

volumes:
  ml-data:
`;
}

export function dockerignoreTemplate(): string {
  return ['node_modules', 'checkpoints', 'data', '.cache', '.git', '*.log', ''].join('\n');
}
