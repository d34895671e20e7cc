/** Configuration from the environment: defaults, parsing, and start-up errors naming the variable. */
import { expect } from 'chai';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, TEXT_CLASSIFIER_SETTINGS, loadConfig, readSettings } from '../../src/index.js';
import { renderConfigDocs } from '../../src/config/index.js';
import { SERVE_TOY, spawnServer } from '../helpers/process.js';

describe('configuration (env)', () => {
  it('has label-studio-ml defaults', () => {
    const config = loadConfig({});
    expect(config).to.include({ port: 9090, host: '0.0.0.0', logLevel: 'info', tfjsBackend: 'auto', trainEveryN: 1, keepVersions: 10, debugErrors: false });
    expect(config.modelDir).to.equal(path.resolve('checkpoints'));
    expect(config.basicAuthUser).to.equal(undefined);
  });

  it('reads booleans honestly: "false" is false', () => {
    expect(loadConfig({ DEBUG_ERRORS: 'false' }).debugErrors).to.equal(false);
    expect(loadConfig({ DEBUG_ERRORS: 'TRUE' }).debugErrors).to.equal(true);
    expect(loadConfig({ DEBUG_ERRORS: '0' }).debugErrors).to.equal(false);
  });

  it('rejects invalid values with the variable name and the value', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PORT: 'ninety' }, /PORT="ninety" is invalid/],
      [{ PORT: '70000' }, /PORT="70000" is invalid/],
      [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL="loud" is invalid/],
      [{ TFJS_BACKEND: 'webgpu' }, /TFJS_BACKEND="webgpu" is invalid/],
      [{ DEBUG_ERRORS: 'maybe' }, /DEBUG_ERRORS="maybe" is invalid/],
      [{ LABEL_STUDIO_URL: 'ftp://ls' }, /LABEL_STUDIO_URL="ftp:\/\/ls" is invalid/],
      [{ KEEP_VERSIONS: '0' }, /KEEP_VERSIONS="0" is invalid/],
      [{ BASIC_AUTH_USER: 'admin' }, /BASIC_AUTH_USER and BASIC_AUTH_PASS must be set together/],
    ];
    for (const [env, message] of cases) {
      expect(() => loadConfig(env), JSON.stringify(env)).to.throw(ConfigError, message);
    }
  });

  it('reads distributed mode (issue 14): REDIS_URL, ROLE, TRAINER_CONCURRENCY; a role without Redis, a non-Redis URL and a bad prefix are refused', () => {
    expect(loadConfig({})).to.include({ redisUrl: undefined, role: 'all', trainerConcurrency: 1, redisPrefix: 'mlb', jobLockMs: 30_000 });
    const config = loadConfig({ REDIS_URL: 'redis://:secret@redis:6379/2', ROLE: 'Trainer', TRAINER_CONCURRENCY: '2' });
    expect(config).to.include({ redisUrl: 'redis://:secret@redis:6379/2', role: 'trainer', trainerConcurrency: 2 });
    expect(() => loadConfig({ ROLE: 'api' })).to.throw(ConfigError, /ROLE=api needs REDIS_URL/);
    const refused = (() => {
      try {
        loadConfig({ REDIS_URL: 'http://:secret@redis:6379' });
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(refused).to.match(/REDIS_URL="\[REDACTED\]" is invalid: expected a redis:\/\/ or rediss:\/\/ URL/).and.not.include('secret');
    expect(() => loadConfig({ REDIS_URL: 'redis://r', REDIS_PREFIX: 'a b' })).to.throw(ConfigError, /REDIS_PREFIX="a b" is invalid/);
    expect(() => loadConfig({ TRAINER_CONCURRENCY: '0' })).to.throw(ConfigError, /TRAINER_CONCURRENCY="0" is invalid/);
  });

  it('lets options (CLI flags) override the environment', () => {
    expect(loadConfig({ PORT: '1234' }, { port: 4321 }).port).to.equal(4321);
  });

  it('a server started with an invalid variable exits non-zero naming it', async () => {
    let failure = '';
    try {
      const server = await spawnServer(SERVE_TOY, { TRAIN_EVERY_N_ANNOTATIONS: 'often' });
      await server.stop();
    } catch (error) {
      failure = (error as Error).message;
    }
    expect(failure).to.match(/TRAIN_EVERY_N_ANNOTATIONS="often" is invalid/);
  });

  it('reads TFJS_BACKEND case-insensitively and names it when invalid', () => {
    expect(loadConfig({}).tfjsBackend).to.equal('auto');
    expect(loadConfig({ TFJS_BACKEND: ' CPU ' }).tfjsBackend).to.equal('cpu');
    expect(() => loadConfig({ TFJS_BACKEND: 'gpu' })).to.throw(ConfigError, 'TFJS_BACKEND="gpu" is invalid: expected one of auto, tensorflow, wasm, cpu');
  });

  it("reads the bundled model's settings by the same rules (issue 11: USE_DOWNLOAD=0 is false)", () => {
    const defaults = readSettings(TEXT_CLASSIFIER_SETTINGS, {});
    expect(defaults).to.deep.include({ embedder: 'auto', useDownload: true, scoreMethod: 'margin', useModelDir: undefined });
    expect(defaults.useCacheDir).to.equal(path.resolve('.cache/use-lite'));
    expect(readSettings(TEXT_CLASSIFIER_SETTINGS, { USE_DOWNLOAD: '0' }).useDownload).to.equal(false);
    expect(readSettings(TEXT_CLASSIFIER_SETTINGS, { USE_DOWNLOAD: 'off', EMBEDDER: 'Hashed' })).to.deep.include({ useDownload: false, embedder: 'hashed' });
    expect(() => readSettings(TEXT_CLASSIFIER_SETTINGS, { SCORE_METHOD: 'random' })).to.throw(ConfigError, 'SCORE_METHOD="random" is invalid: expected one of margin, least_confidence, entropy');
    expect(() => readSettings(TEXT_CLASSIFIER_SETTINGS, { USE_DOWNLOAD: 'sometimes' })).to.throw(ConfigError, /USE_DOWNLOAD="sometimes" is invalid/);
  });

  it('keeps secrets as written (spaces included) and reads aliases', () => {
    const config = loadConfig({ BASIC_AUTH_USER: 'admin', BASIC_AUTH_PASS: ' pass word ', LABEL_STUDIO_HOST: 'http://ls:8080/', LABEL_STUDIO_ACCESS_TOKEN: 'tok' });
    expect(config).to.include({ basicAuthPass: ' pass word ', labelStudioUrl: 'http://ls:8080', labelStudioApiKey: 'tok' });
  });

  it('documents every setting in the README from the declarations (npm run docs:config)', () => {
    const readme = fs.readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    expect(readme, 'README tables are stale: run npm run docs:config').to.include(renderConfigDocs());
  });
});
