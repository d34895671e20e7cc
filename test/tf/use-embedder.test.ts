import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as use from '@tensorflow-models/universal-sentence-encoder';
import { expect } from 'chai';
import { ConfigError, MlBackendError } from '../../src/errors.js';
import type { DenseFeatures } from '../../src/tf/embedder.js';
import { fileSystemIO } from '../../src/tf/file-io.js';
import { initTfRuntime, memoryStats, tf } from '../../src/tf/runtime.js';
import { locateUseWeights, missingUseWeightsMessage, UseEmbedder } from '../../src/tf/use-embedder.js';
import { syntheticUseCatalog, writeSyntheticUseModel } from '../helpers/synthetic-use.js';

const row = (f: DenseFeatures, r: number) => Array.from(f.values.subarray(r * f.dim, (r + 1) * f.dim));
const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe('tf/use-embedder: UseEmbedder on the synthetic USE model', () => {
  let dir: string;
  let embedder: UseEmbedder;

  before(async () => {
    await initTfRuntime();
    dir = await mkdtemp(join(tmpdir(), 'use-embedder-'));
    await writeSyntheticUseModel(dir);
    embedder = await UseEmbedder.load(dir, { verify: false });
  });
  after(async () => {
    embedder.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('is a dense 512-d embedder identified by the model.json hash', async () => {
    const sha = createHash('sha256').update(await readFile(join(dir, 'model.json'))).digest('hex');
    expect(embedder.kind).to.equal('dense');
    expect(embedder.dim).to.equal(512);
    expect(embedder.id).to.equal(`use-lite@${sha.slice(0, 12)}`);
  });

  it('returns one normalised row per text, including empty and whitespace-only texts', async () => {
    const texts = ['Hello world.', '', '   ', 'label studio', '\n\t', ''];
    const f = await embedder.embed(texts);
    expect(f).to.include({ kind: 'dense', rows: 6, dim: 512 });
    expect(f.values).to.be.instanceOf(Float32Array);
    expect(f.values.length).to.equal(6 * 512);
    for (let r = 0; r < f.rows; r++) expect(norm(row(f, r))).to.be.closeTo(1, 1e-5);
    // Blank texts are embedded as " ", so they agree with each other.
    expect(row(f, 1)).to.deep.equal(row(f, 2));
    expect(row(f, 5)).to.deep.equal(row(f, 1));
  });

  it('gives identical texts identical rows and different texts different rows', async () => {
    const f = await embedder.embed(['the model', 'a new task', 'the model']);
    expect(row(f, 2)).to.deep.equal(row(f, 0));
    expect(row(f, 1)).to.not.deep.equal(row(f, 0));
  });

  it('embeds an empty list as zero rows', async () => {
    expect(await embedder.embed([])).to.deep.equal({ kind: 'dense', rows: 0, dim: 512, values: new Float32Array(0) });
  });

  it('gives the same rows whatever the batch size (batch boundaries keep order)', async () => {
    const texts = Array.from({ length: 11 }, (_, i) => (i % 4 === 0 ? '' : `sentence number ${i} about the world`));
    const small = await UseEmbedder.load(dir, { verify: false, batchSize: 3 });
    try {
      const a = await embedder.embed(texts);
      const b = await small.embed(texts);
      expect(Array.from(b.values)).to.deep.equal(Array.from(a.values));
    } finally {
      small.dispose();
    }
  });

  it('matches USE’s own UniversalSentenceEncoder wired offline (max |Δ| = 0)', async () => {
    const texts = ['Hello world.', 'label studio', 'a b c', 'The quick brown fox.'];
    const enc = new use.UniversalSentenceEncoder();
    const wired = enc as unknown as { model: tf.GraphModel; tokenizer: use.Tokenizer };
    wired.model = await tf.loadGraphModel(fileSystemIO(dir));
    wired.tokenizer = new use.Tokenizer(JSON.parse(await readFile(join(dir, 'vocab.json'), 'utf8')) as Array<[string, number]>);
    const ref = await enc.embed(texts);
    const expected = Array.from(await ref.data());
    ref.dispose();
    wired.model.dispose();
    expect(Array.from((await embedder.embed(texts)).values)).to.deep.equal(expected);
  });

  it('keeps the tensor count flat over 20 calls', async () => {
    const texts = ['one', '', 'two words', 'three little words', ' '];
    await embedder.embed(texts);
    const before = memoryStats();
    for (let i = 0; i < 20; i++) await embedder.embed(texts);
    expect(memoryStats()).to.deep.equal(before);
  });

  it('serialises concurrent calls and answers each with its own rows', async () => {
    const a = ['alpha text', 'beta'];
    const b = ['gamma', '', 'delta words here'];
    const [ra, rb] = await Promise.all([embedder.embed(a), embedder.embed(b)]);
    expect(Array.from(ra.values)).to.deep.equal(Array.from((await embedder.embed(a)).values));
    expect(Array.from(rb.values)).to.deep.equal(Array.from((await embedder.embed(b)).values));
  });

  it('clips very long texts like the graph does (only the first 128 tokens count)', async () => {
    const words = Array.from({ length: 5000 }, (_, i) => ['the', 'model', 'label', 'world'][i % 4]).join(' ');
    const f = await embedder.embed([words, `${words} with a different tail`]);
    expect(row(f, 1)).to.deep.equal(row(f, 0));
  });

  it('refuses to embed after dispose', async () => {
    const e = await UseEmbedder.load(dir, { verify: false });
    e.dispose();
    let err: unknown;
    await e.embed(['x']).catch((x: unknown) => (err = x));
    expect(err).to.be.instanceOf(MlBackendError);
  });

  it('verifies against the pinned USE-lite hashes by default and says how to get the weights', async () => {
    let err: unknown;
    await UseEmbedder.load(dir).catch((x: unknown) => (err = x));
    expect(err).to.be.instanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).to.include('failed verification');
    expect(msg).to.match(/model\.json: size \d+ B, expected 247026 B/);
    expect(msg).to.include('group1-shard1of7: missing');
    expect(msg).to.include('npm run fetch-model -- --dir');
  });

  it('loads with verification against an overriding catalogue', async () => {
    const catalog = await syntheticUseCatalog(dir, 'http://unused');
    const e = await UseEmbedder.load(dir, { catalog });
    expect(e.id).to.equal(embedder.id);
    e.dispose();
  });

  it('rejects a bad batchSize and a malformed vocab.json', async () => {
    let err: unknown;
    await UseEmbedder.load(dir, { verify: false, batchSize: 0 }).catch((x: unknown) => (err = x));
    expect(err).to.be.instanceOf(TypeError);
    const bad = await mkdtemp(join(tmpdir(), 'use-embedder-bad-'));
    try {
      await writeSyntheticUseModel(bad);
      await writeFile(join(bad, 'vocab.json'), JSON.stringify([['a', 1], ['b', 'x']]));
      err = undefined;
      await UseEmbedder.load(bad, { verify: false }).catch((x: unknown) => (err = x));
      expect(err).to.be.instanceOf(ConfigError);
      expect((err as Error).message).to.include('not a USE vocabulary');
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });
});

describe('tf/use-embedder: locating the weights', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'use-locate-'));
    await writeSyntheticUseModel(join(dir, 'good'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('returns the first candidate that verifies, or null', async () => {
    const catalog = await syntheticUseCatalog(join(dir, 'good'), 'http://unused');
    const candidates = [join(dir, 'missing'), join(dir, 'good')];
    expect(await locateUseWeights(candidates, catalog)).to.equal(join(dir, 'good'));
    expect(await locateUseWeights(candidates)).to.equal(null); // the pinned catalogue
    expect(await locateUseWeights([])).to.equal(null);
  });

  it('tells the user exactly how to provide the weights', () => {
    const msg = missingUseWeightsMessage(['/data/use-lite', '.cache/use-lite']);
    expect(msg).to.include('/data/use-lite');
    expect(msg).to.include('npm run fetch-model -- --dir /data/use-lite');
    expect(msg).to.include('USE_MODEL_DIR');
    expect(msg).to.include('group1-shard7of7');
    expect(msg).to.include('vocab.json');
    expect(missingUseWeightsMessage([])).to.include('--dir .cache/use-lite');
  });
});
