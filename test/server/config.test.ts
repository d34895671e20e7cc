/** Configuration from the environment: defaults, parsing, and start-up errors naming the variable. */
import { expect } from 'chai';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/index.js';
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
});
