import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { defaultEmbedWorkers, encoderSettingsFromEnv } from '../../src/tf/encoder-settings.js';
import { multiLabelScore, singleLabelScore } from '../../src/tf/sampling-scores.js';
import { loadTextEncoder } from '../../src/tf/text-encoder.js';
import { tempDir } from '../helpers/server.js';

describe('tf/encoder-settings: the encoder variables, parsed in one place', () => {
  it('defaults: auto encoder, the package weights, downloads allowed, cores − 1 workers, 512 MB cache, margin scores', () => {
    const s = encoderSettingsFromEnv({});
    expect(s).to.include({ embedder: 'auto', useModelDir: undefined, useDownload: true, embedCacheMb: 512, scoreMethod: 'margin' });
    expect(s.useCacheDir).to.equal(path.resolve('.cache/use-lite'));
    expect(s.embedWorkers).to.equal(defaultEmbedWorkers());
    expect([1, 2, 4, 8, 64].map((cores) => defaultEmbedWorkers(cores))).to.deep.equal([1, 1, 3, 4, 4]);
  });

  it('false means false: USE_DOWNLOAD=0/false/no/off', () => {
    for (const value of ['0', 'false', 'FALSE', 'no', 'off']) expect(encoderSettingsFromEnv({ USE_DOWNLOAD: value }).useDownload, value).to.equal(false);
    for (const value of ['1', 'true', 'yes', 'on']) expect(encoderSettingsFromEnv({ USE_DOWNLOAD: value }).useDownload, value).to.equal(true);
  });

  it('a bad value stops the start with the variable and the value', () => {
    const bad: Array<[Record<string, string>, RegExp]> = [
      [{ EMBEDDER: 'bert' }, /EMBEDDER="bert" is invalid: expected one of auto, combined, use, hashed/],
      [{ USE_DOWNLOAD: 'maybe' }, /USE_DOWNLOAD="maybe" is invalid/],
      [{ EMBED_WORKERS: '0' }, /EMBED_WORKERS="0" is invalid: expected an integer from 1 to 64/],
      [{ EMBED_CACHE_MB: '-5' }, /EMBED_CACHE_MB="-5" is invalid/],
      [{ SCORE_METHOD: 'confidence' }, /SCORE_METHOD="confidence" is invalid/],
      [{ USE_CATALOG: '/nonexistent/catalog.json' }, /USE_CATALOG=".*" is not a readable JSON catalogue/],
    ];
    for (const [env, message] of bad) expect(() => encoderSettingsFromEnv(env), JSON.stringify(env)).to.throw(ConfigError, message);
  });

  it('EMBEDDER=auto falls back to the hashed encoder, with the reason, when no verified USE copy exists; combined refuses', async () => {
    const catalog = path.join(tempDir(), 'catalog.json');
    fs.writeFileSync(catalog, JSON.stringify({ baseUrl: 'http://127.0.0.1:9/none', files: [{ name: 'model.json', bytes: 1, sha256: '0'.repeat(64) }] }));
    const env = { USE_CATALOG: catalog, USE_DOWNLOAD: 'false', USE_CACHE_DIR: tempDir() };
    const warnings: unknown[] = [];
    const auto = await loadTextEncoder(encoderSettingsFromEnv(env), { modelDir: tempDir(), purpose: 'serve', logger: { warn: (obj) => warnings.push(obj) } });
    expect(auto.embedder.id).to.match(/^hashed-ngrams@v1:/);
    expect(auto.fallbackReason).to.match(/not found or not verified.*npm ci/);
    expect(warnings).to.have.length(1);
    try {
      await loadTextEncoder(encoderSettingsFromEnv({ ...env, EMBEDDER: 'combined' }), { modelDir: tempDir(), purpose: 'serve' });
      expect.fail('expected a ConfigError');
    } catch (error) {
      expect((error as Error).message).to.match(/^EMBEDDER=combined: Universal Sentence Encoder/);
    }
  });
});

describe('tf/sampling-scores: confidence scores (low = uncertain)', () => {
  it('least confidence, margin and entropy of one probability row', () => {
    const probs = [0.7, 0.2, 0.1];
    expect(singleLabelScore(probs, 'least_confidence')).to.be.closeTo(0.7, 1e-12);
    expect(singleLabelScore(probs, 'margin')).to.be.closeTo(0.5, 1e-12);
    const h = -(0.7 * Math.log(0.7) + 0.2 * Math.log(0.2) + 0.1 * Math.log(0.1));
    expect(singleLabelScore(probs, 'entropy')).to.be.closeTo(1 - h / Math.log(3), 1e-12);
    // A uniform row is as uncertain as it gets.
    for (const method of ['least_confidence', 'margin', 'entropy'] as const) expect(singleLabelScore([0.5, 0.5], method)).to.be.at.most(0.5);
  });

  it('multi-label scores are high when every label is decided and low when one is a coin toss', () => {
    for (const method of ['least_confidence', 'margin', 'entropy'] as const) {
      expect(multiLabelScore([0.99, 0.01], method), method).to.be.greaterThan(multiLabelScore([0.99, 0.5], method));
    }
  });
});
