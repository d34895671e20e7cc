import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { CombinedEmbedder } from '../../src/tf/combined-embedder.js';
import type { DenseFeatures, Embedder, Features } from '../../src/tf/embedder.js';
import { HashedNgramEmbedder } from '../../src/tf/hashed-ngram-embedder.js';
import { LinearHead, shapeFor } from '../../src/tf/linear-head.js';
import { initTfRuntime, memoryStats, tf } from '../../src/tf/runtime.js';
import { recipeFor, trainLinearHead } from '../../src/tf/train-linear-head.js';
import { argmaxRows, prng } from '../../src/tf/training-data.js';
import { tempDir } from '../helpers/server.js';

/** Two overlapping Gaussian classes in `dim` dimensions (unit-normalised rows, like USE's). */
function blobs(n: number, dim: number, seed: number): { x: DenseFeatures; y: Int32Array } {
  const rand = prng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const centre = Float32Array.from({ length: dim }, (_, i) => (i % 3 === 0 ? 0.35 : 0));
  const values = new Float32Array(n * dim);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    y[r] = r % 2;
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      const v = (y[r] ? centre[i]! : -centre[i]!) + gauss();
      values[r * dim + i] = v;
      norm += v * v;
    }
    for (let i = 0; i < dim; i++) values[r * dim + i]! /= Math.sqrt(norm);
  }
  return { x: { kind: 'dense', rows: n, dim, values }, y };
}

/** Plain logistic regression by full-batch gradient descent: the reference a head must match. */
function referenceLogisticRegression(x: DenseFeatures, y: Int32Array, steps = 1500, rate = 2): (row: number, xs: DenseFeatures) => number {
  const w = new Float64Array(x.dim);
  let b = 0;
  for (let s = 0; s < steps; s++) {
    const g = new Float64Array(x.dim);
    let gb = 0;
    for (let r = 0; r < x.rows; r++) {
      let z = b;
      for (let i = 0; i < x.dim; i++) z += w[i]! * x.values[r * x.dim + i]!;
      const err = 1 / (1 + Math.exp(-z)) - y[r]!;
      for (let i = 0; i < x.dim; i++) g[i]! += err * x.values[r * x.dim + i]!;
      gb += err;
    }
    for (let i = 0; i < x.dim; i++) w[i]! -= (rate * g[i]!) / x.rows;
    b -= (rate * gb) / x.rows;
  }
  return (row, xs) => {
    let z = b;
    for (let i = 0; i < xs.dim; i++) z += w[i]! * xs.values[row * xs.dim + i]!;
    return z > 0 ? 1 : 0;
  };
}

const accuracy = (head: LinearHead, x: Features, y: Int32Array) => {
  const pred = argmaxRows(head.probabilities(x), head.shape.classes);
  return pred.reduce((s, p, i) => s + (p === y[i] ? 1 : 0), 0) / y.length;
};

/** A deterministic stand-in for a sentence encoder: topic words light up fixed dimensions. */
const topicEncoder: Embedder = {
  id: 'topic-test',
  kind: 'dense',
  dim: 4,
  embed: async (texts) => {
    const values = new Float32Array(texts.length * 4);
    texts.forEach((t, r) => {
      ['goal', 'bread', 'vote', 'rain'].forEach((w, i) => (values[r * 4 + i] = t.includes(w) ? 1 : 0.1));
    });
    return { kind: 'dense', rows: texts.length, dim: 4, values };
  },
};

describe('tf/linear-head: the linear head and its training', function () {
  this.timeout(60_000);
  before(() => initTfRuntime());

  it('on dense features, matches a plain logistic regression on the same vectors', async () => {
    const train = blobs(600, 32, 1);
    const test = blobs(400, 32, 2);
    const head = new LinearHead(shapeFor(train.x, 2, false));
    await trainLinearHead(head, train.x, train.y, recipeFor(train.x.rows));
    const ref = referenceLogisticRegression(train.x, train.y);
    let refHits = 0;
    for (let r = 0; r < test.x.rows; r++) refHits += ref(r, test.x) === test.y[r] ? 1 : 0;
    const refAcc = refHits / test.x.rows;
    expect(refAcc).to.be.within(0.75, 0.99); // a problem with room to lose
    expect(accuracy(head, test.x, test.y)).to.be.at.least(refAcc - 0.01);
  });

  it('learns sparse n-gram features and mixed (dense + sparse) features', async () => {
    const texts = ['the goal in the final', 'a late goal wins', 'bake the bread', 'fresh bread and butter', 'vote in the election', 'the vote count', 'rain all day', 'heavy rain tonight'];
    const y = Int32Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
    const sparse = new HashedNgramEmbedder({ wordBuckets: 1024, charBuckets: 1024 });
    for (const encoder of [sparse, new CombinedEmbedder(topicEncoder, sparse)]) {
      const x = await encoder.embed(texts);
      const head = new LinearHead(shapeFor(x, 4, false));
      await trainLinearHead(head, x, y, recipeFor(texts.length));
      expect(accuracy(head, x, y), encoder.id).to.equal(1);
      const probs = head.probabilities(await encoder.embed(['the goal', 'bread rolls']));
      expect(argmaxRows(probs, 4)).to.deep.equal(Int32Array.from([0, 1]));
      for (let r = 0; r < 2; r++) expect(probs.subarray(r * 4, r * 4 + 4).reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-5);
    }
  });

  it('trains a multi-label (sigmoid) head that gives several labels to a text', async () => {
    const encoder = new CombinedEmbedder(topicEncoder, new HashedNgramEmbedder({ wordBuckets: 512, charBuckets: 0 }));
    const rows: Array<[string, number[]]> = [
      ['goal', [1, 0]], ['a goal', [1, 0]], ['bread', [0, 1]], ['the bread', [0, 1]], ['goal and bread', [1, 1]], ['bread then goal', [1, 1]],
    ];
    const x = await encoder.embed(rows.map(([t]) => t));
    const y = rows.map(([, labels]) => Uint8Array.from(labels));
    const head = new LinearHead(shapeFor(x, 2, true));
    await trainLinearHead(head, x, y, { ...recipeFor(rows.length), epochs: 300 });
    const probs = head.probabilities(await encoder.embed(['goal with bread', 'goal']));
    expect(probs[0]).to.be.greaterThan(0.5);
    expect(probs[1]).to.be.greaterThan(0.5);
    expect(probs[2]).to.be.greaterThan(0.5);
    expect(probs[3]).to.be.lessThan(0.5);
  });

  it('saves in TF.js checkpoint layout and loads back the same function (idf included)', async () => {
    const encoder = new CombinedEmbedder(topicEncoder, new HashedNgramEmbedder({ wordBuckets: 256, charBuckets: 256 }));
    const texts = ['goal', 'bread', 'vote', 'rain', 'goal again', 'more bread'];
    const x = await encoder.embed(texts);
    const head = new LinearHead(shapeFor(x, 4, false));
    await trainLinearHead(head, x, Int32Array.from([0, 1, 2, 3, 0, 1]), recipeFor(texts.length));
    expect(head.idf).to.be.instanceOf(Float32Array);
    const dir = path.join(tempDir(), 'model');
    await head.save(dir);
    expect(fs.readdirSync(dir).sort()).to.deep.equal(['model.json', 'weights.bin']);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.weightsManifest[0].weights.map((w: { name: string }) => w.name)).to.deep.equal(['dense/kernel', 'bag/embeddings', 'bias/bias', 'idf/idf']);
    const loaded = await LinearHead.load(dir);
    expect(loaded.shape).to.deep.equal(head.shape);
    const probe = await encoder.embed(['goal bread', 'rain vote', 'nothing known']);
    expect(Array.from(loaded.probabilities(probe))).to.deep.equal(Array.from(head.probabilities(probe)));
    fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.alloc(12));
    await expectReject(LinearHead.load(dir), /weights\.bin holds 12 B/);
  });

  it('refuses features of another shape, and labels that do not fit', async () => {
    const x = await new HashedNgramEmbedder({ wordBuckets: 64, charBuckets: 0 }).embed(['a', 'b']);
    const head = new LinearHead({ denseDim: 0, sparseDim: 128, classes: 2, multiLabel: false });
    expect(() => head.probabilities(x)).to.throw(RangeError, /do not fit the head/);
    const fitting = new LinearHead(shapeFor(x, 2, false));
    await expectReject(trainLinearHead(fitting, x, Int32Array.from([0])), /differ in rows/);
    await expectReject(trainLinearHead(fitting, x, [Uint8Array.from([1, 0]), Uint8Array.from([0, 1])]), /multi-label targets need a multi-label head/);
  });

  it('stops when its signal aborts', async () => {
    const { x, y } = blobs(2000, 16, 3);
    const controller = new AbortController();
    const running = trainLinearHead(new LinearHead(shapeFor(x, 2, false)), x, y, { epochs: 1000, signal: controller.signal, onEpoch: (p) => p.epoch === 2 && controller.abort() });
    await expectReject(running, /aborted/);
  });

  it('leaves every TF.js kernel as it was and no tensor behind', async () => {
    const kernels = ['GatherV2', 'UnsortedSegmentSum', 'MatMul'].map((name) => tf.getKernel(name, tf.getBackend())?.kernelFunc);
    const before = memoryStats().numTensors;
    const encoder = new CombinedEmbedder(topicEncoder, new HashedNgramEmbedder({ wordBuckets: 256, charBuckets: 256 }));
    const x = await encoder.embed(['goal', 'bread', 'goal goal', 'bread bread']);
    const head = new LinearHead(shapeFor(x, 2, false));
    await trainLinearHead(head, x, Int32Array.from([0, 1, 0, 1]), recipeFor(4));
    head.probabilities(x);
    expect(memoryStats().numTensors).to.equal(before);
    expect(['GatherV2', 'UnsortedSegmentSum', 'MatMul'].map((name) => tf.getKernel(name, tf.getBackend())?.kernelFunc)).to.deep.equal(kernels);
  });
});

async function expectReject(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).message).to.match(message);
    return;
  }
  expect.fail(`expected a rejection matching ${message}`);
}
