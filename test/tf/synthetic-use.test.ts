import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as use from '@tensorflow-models/universal-sentence-encoder';
import { expect } from 'chai';
import { fileSystemIO } from '../../src/tf/file-io.js';
import { initTfRuntime, tf } from '../../src/tf/runtime.js';
import { SYNTHETIC_USE_FILES, USE_OUTPUT_NODE, syntheticVocab, writeSyntheticUseModel } from '../helpers/synthetic-use.js';

async function hashes(dir: string): Promise<string[]> {
  return Promise.all(SYNTHETIC_USE_FILES.map(async (f) => createHash('sha256').update(await readFile(join(dir, f))).digest('hex')));
}

/** Runs the graph on one [sentence, position] pair per token, as USE feeds it. */
async function run(model: tf.GraphModel, sentences: number[][]): Promise<{ shape: number[]; rows: Float32Array[] }> {
  const pairs: number[][] = [];
  const ids: number[] = [];
  sentences.forEach((s, row) => s.forEach((id, pos) => (pairs.push([row, pos]), ids.push(id))));
  const indices = tf.tensor2d(pairs, [pairs.length, 2], 'int32');
  const values = tf.tensor1d(ids, 'int32');
  const out = (await model.executeAsync({ indices, values })) as tf.Tensor2D;
  const data = await out.data();
  const [n = 0, d = 0] = out.shape;
  const rows = Array.from({ length: n }, (_, r) => Float32Array.from(data.subarray(r * d, (r + 1) * d) as Float32Array));
  const shape = out.shape.slice();
  tf.dispose([indices, values, out]);
  return { shape, rows };
}

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);

describe('helpers/synthetic-use: the USE-signature test model', () => {
  let dir: string;
  let model: tf.GraphModel;

  before(async () => {
    await initTfRuntime();
    dir = await mkdtemp(join(tmpdir(), 'synthetic-use-'));
    await writeSyntheticUseModel(dir);
    model = await tf.loadGraphModel(fileSystemIO(dir));
  });
  after(async () => {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes model.json, one shard and vocab.json, byte-identical on every run', async () => {
    expect((await readdir(dir)).sort()).to.deep.equal([...SYNTHETIC_USE_FILES].sort());
    const again = await mkdtemp(join(tmpdir(), 'synthetic-use-'));
    try {
      await writeSyntheticUseModel(again);
      expect(await hashes(again)).to.deep.equal(await hashes(dir));
    } finally {
      await rm(again, { recursive: true, force: true });
    }
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    expect(json.format).to.equal('graph-model');
    expect(json.weightsManifest[0]?.paths).to.deep.equal(['group1-shard1of1']);
    expect((await readFile(join(dir, 'group1-shard1of1'))).length).to.equal(100_444);
  });

  it("has USE-lite's signature: int32 indices [-1,2] and values [-1], one l2_normalize output", () => {
    expect(model.inputs.map((i) => [i.name, i.shape, i.dtype])).to.deep.equal([
      ['indices', [-1, 2], 'int32'],
      ['values', [-1], 'int32'],
    ]);
    expect(model.outputs.map((o) => [o.name, o.dtype])).to.deep.equal([[USE_OUTPUT_NODE, 'float32']]);
  });

  it('needs executeAsync because of the dynamic Where', () => {
    const indices = tf.tensor2d([[0, 0]], [1, 2], 'int32');
    const values = tf.tensor1d([7], 'int32');
    expect(() => model.execute({ indices, values })).to.throw(/dynamic op 'Where'.*executeAsync/);
    tf.dispose([indices, values]);
  });

  it('returns one L2-normalised 512-d row per sentence; same ids give the same row', async () => {
    const { shape, rows } = await run(model, [[10, 20, 30], [40], [10, 20, 30]]);
    expect(shape).to.deep.equal([3, 512]);
    for (const r of rows) expect(norm(r)).to.be.closeTo(1, 1e-5);
    const [a, b, c] = rows as [Float32Array, Float32Array, Float32Array];
    expect(Array.from(c)).to.deep.equal(Array.from(a));
    expect(dot(a, b)).to.be.lessThan(0.99);
  });

  it('ignores tokens at position 128 and beyond, like USE-lite', async () => {
    const long = Array.from({ length: 128 }, (_, i) => (i * 37) % 900);
    const { rows } = await run(model, [long, [...long, 5, 6, 7, 8]]);
    const [a, b] = rows as [Float32Array, Float32Array];
    expect(Array.from(b)).to.deep.equal(Array.from(a));
  });

  it('ships a SentencePiece-style vocabulary that USE’s Tokenizer accepts', () => {
    const vocab = syntheticVocab();
    expect(vocab.length).to.be.within(200, 1000);
    expect(vocab.slice(0, 6).map(([p]) => p)).to.deep.equal(['\uFFFD', '<s>', '</s>', 'extra_token_id_1', 'extra_token_id_2', 'extra_token_id_3']);
    expect(vocab.every(([p, s]) => p.length > 0 && Number.isFinite(s))).to.equal(true);
    const tok = new use.Tokenizer(vocab);
    const hello = tok.encode('hello world.');
    const pieces = hello.map((id) => vocab[id]?.[0]);
    expect(pieces).to.deep.equal(['\u2581hello', '\u2581world', '.']);
    expect(tok.encode(' ').length).to.be.greaterThan(0);
    expect(tok.encode('')).to.deep.equal([]);
    expect(tok.encode('日本')).to.include(0); // unknown characters map to id 0
  });
});
