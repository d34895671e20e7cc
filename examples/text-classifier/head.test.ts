import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { HashedNgramEmbedder } from '../../src/tf/hashed-ngram-embedder.js';
import type { DenseFeatures, SparseFeatures } from '../../src/tf/embedder.js';
import { argmaxRows, buildHead, featuresToTensors, macroF1, predictProbabilities, trainHead } from './head.js';

// Toy intents written for these tests: the class is decided by an obvious keyword.
const TOPICS = [
  ['card', 'blocked', 'pin', 'atm'],
  ['refund', 'return', 'money back', 'reimburse'],
  ['delivery', 'parcel', 'courier', 'shipping'],
];
const FILLERS = ['please help with my', 'I have a question about the', 'what is going on with my', 'quick one on', 'hello, about the'];

function toyData(n: number): { texts: string[]; y: Int32Array } {
  const texts: string[] = [];
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % TOPICS.length;
    const words = TOPICS[c]!;
    texts.push(`${FILLERS[(i * 7) % FILLERS.length]} ${words[(i * 5) % words.length]} (#${i % 11})`);
    y[i] = c;
  }
  return { texts, y };
}

const embedder = new HashedNgramEmbedder({ wordBuckets: 512, charBuckets: 512 });

async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend(name);
  await tf.ready();
}

function accuracy(probs: Float32Array, y: Int32Array, numClasses: number): number {
  const pred = argmaxRows(probs, numClasses);
  return pred.reduce((hits, p, i) => hits + (p === y[i] ? 1 : 0), 0) / y.length;
}

describe('text-classifier head', function () {
  let previousBackend = '';
  before(async () => {
    previousBackend = tf.getBackend();
    await useBackend('wasm'); // the training backend (see head.ts: sparse kernels)
  });
  after(async () => {
    if (previousBackend) await tf.setBackend(previousBackend);
  });

  it('learns a separable sparse problem to 100% training accuracy (linear head)', async () => {
    const { texts, y } = toyData(90);
    const x = await embedder.embed(texts);
    const model = buildHead({ featureKind: 'sparse', dim: x.dim, numClasses: 3, multiLabel: false });
    const result = await trainHead(model, x, y, { epochs: 20, batchSize: 16, learningRate: 0.1, validationSplit: 0 });
    expect(result.epochs).to.equal(20);
    expect(accuracy(predictProbabilities(model, x), y, 3)).to.equal(1);
    model.dispose();
  });

  it('trains a hidden-layer head on dense features', async () => {
    const { texts, y } = toyData(90);
    const sparse = await embedder.embed(texts);
    const x = densify(sparse);
    const model = buildHead({ featureKind: 'dense', dim: x.dim, numClasses: 3, multiLabel: false, hidden: 16 });
    await trainHead(model, x, y, { epochs: 40, batchSize: 16, learningRate: 0.02, validationSplit: 0 });
    expect(accuracy(predictProbabilities(model, x), y, 3)).to.equal(1);
    model.dispose();
  });

  it('learns two independent labels with multiLabel (sigmoid outputs)', async () => {
    const words = ['urgent', 'invoice'];
    const texts: string[] = [];
    const y: Uint8Array[] = [];
    for (let i = 0; i < 80; i++) {
      const a = i % 2;
      const b = Math.floor(i / 2) % 2;
      texts.push(`${FILLERS[i % FILLERS.length]} ${a ? words[0] : 'normal'} ${b ? words[1] : 'letter'} ${i % 7}`);
      y.push(Uint8Array.of(a, b));
    }
    const x = await embedder.embed(texts);
    const model = buildHead({ featureKind: 'sparse', dim: x.dim, numClasses: 2, multiLabel: true });
    await trainHead(model, x, y, { epochs: 40, batchSize: 16, learningRate: 0.1, validationSplit: 0 });
    const probs = predictProbabilities(model, x);
    y.forEach((labels, i) => {
      expect(probs[i * 2]! >= 0.5 ? 1 : 0).to.equal(labels[0]);
      expect(probs[i * 2 + 1]! >= 0.5 ? 1 : 0).to.equal(labels[1]);
    });
    // Both labels on at once is possible: outputs are not a softmax.
    expect(probs[3 * 2]! + probs[3 * 2 + 1]!).to.be.greaterThan(1.5);
    model.dispose();
  });

  it('stops early once validation accuracy stops improving, keeping the best epoch', async () => {
    const { texts, y } = toyData(120);
    const x = await embedder.embed(texts);
    const model = buildHead({ featureKind: 'sparse', dim: x.dim, numClasses: 3, multiLabel: false });
    const seen: number[] = [];
    const result = await trainHead(model, x, y, {
      epochs: 100,
      batchSize: 16,
      learningRate: 0.1,
      validationSplit: 0.25,
      patience: 2,
      onEpoch: (p) => seen.push(p.valAccuracy ?? NaN),
    });
    expect(result.epochs).to.be.lessThan(20);
    expect(seen.length).to.equal(result.epochs);
    expect(result.bestEpoch).to.be.at.most(result.epochs);
    expect(result.metrics.valAccuracy).to.equal(Math.max(...seen));
    expect(result.metrics.trainSize + result.metrics.valSize).to.equal(120);
    expect(result.metrics.valSize).to.equal(30);
    model.dispose();
  });

  it('supports class weights on imbalanced data', async () => {
    const all = toyData(150);
    // Keep every row of classes 0 and 1 but only 5 of class 2 (~5%).
    const keep = [...all.y.keys()].filter((i) => all.y[i] !== 2 || i < 15);
    const texts = keep.map((i) => all.texts[i]!);
    const y = Int32Array.from(keep, (i) => all.y[i]!);
    const x = await embedder.embed(texts);
    const model = buildHead({ featureKind: 'sparse', dim: x.dim, numClasses: 3, multiLabel: false });
    await trainHead(model, x, y, { epochs: 20, batchSize: 16, learningRate: 0.1, validationSplit: 0, classWeights: 'auto' });
    expect(accuracy(predictProbabilities(model, x), y, 3)).to.equal(1);
    model.dispose();
  });

  it('aborts between batches with an AbortError and leaks no tensors', async () => {
    const { texts, y } = toyData(90);
    const x = await embedder.embed(texts);
    const model = buildHead({ featureKind: 'sparse', dim: x.dim, numClasses: 3, multiLabel: false });
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    let epochs = 0;
    const run = trainHead(model, x, y, {
      epochs: 50,
      batchSize: 8,
      validationSplit: 0,
      signal: controller.signal,
      onEpoch: () => {
        epochs++;
        if (epochs === 2) controller.abort();
      },
    });
    const err = await run.then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).name).to.equal('AbortError');
    expect(epochs).to.equal(2);
    expect(tf.memory().numTensors).to.equal(before);
    model.dispose();
  });

  it('predictProbabilities keeps the tensor count flat and returns rows x classes', async () => {
    const { texts } = toyData(50);
    const x = await embedder.embed(texts);
    const model = buildHead({ featureKind: 'sparse', dim: x.dim, numClasses: 3, multiLabel: false });
    predictProbabilities(model, x, 7);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      const probs = predictProbabilities(model, x, 7);
      expect(probs.length).to.equal(50 * 3);
    }
    expect(tf.memory().numTensors).to.equal(before);
    model.dispose();
  });

  it('round-trips through save/load (model.json + weights) with identical predictions', async () => {
    const { texts, y } = toyData(60);
    const x = await embedder.embed(texts);
    const model = buildHead({ featureKind: 'sparse', dim: x.dim, numClasses: 3, multiLabel: false });
    await trainHead(model, x, y, { epochs: 5, batchSize: 16, learningRate: 0.1, validationSplit: 0 });
    let saved: tf.io.ModelArtifacts | null = null;
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const artifacts = saved as unknown as tf.io.ModelArtifacts;
    const json = JSON.parse(JSON.stringify(artifacts.modelTopology));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory({ ...artifacts, modelTopology: json }));
    expect(predictProbabilities(loaded, x)).to.deep.equal(predictProbabilities(model, x));
    model.dispose();
    loaded.dispose();
  });

  it('evaluates a linear head from its weights exactly as model.predict does, on cpu and wasm', async () => {
    const { texts, y } = toyData(60);
    const x = await embedder.embed(texts);
    const model = buildHead({ featureKind: 'sparse', dim: x.dim, numClasses: 3, multiLabel: false });
    await trainHead(model, x, y, { epochs: 5, batchSize: 16, learningRate: 0.1, validationSplit: 0 });
    const fast = predictProbabilities(model, x);
    const viaTf = () => {
      const probs = tf.tidy(() => model.predict(featuresToTensors(x)) as tf.Tensor);
      const values = probs.dataSync();
      probs.dispose();
      return values;
    };
    try {
      for (const backend of ['wasm', 'cpu'] as const) {
        await useBackend(backend);
        const reference = viaTf();
        fast.forEach((p, i) => expect(p, backend).to.be.closeTo(reference[i]!, 1e-5));
      }
      expect(accuracy(fast, y, 3)).to.equal(1);
    } finally {
      await useBackend('wasm');
      model.dispose();
    }
  });

  it('macroF1 averages per-class F1', () => {
    expect(macroF1([0, 0, 1, 1], [0, 0, 1, 1], 2)).to.equal(1);
    // class 0: P=1/2, R=1/2 -> 0.5; class 1: P=1/2, R=1/2 -> 0.5
    expect(macroF1([0, 0, 1, 1], [0, 1, 0, 1], 2)).to.be.closeTo(0.5, 1e-12);
    // absent class 2 is ignored
    expect(macroF1([0, 1], [0, 1], 3)).to.equal(1);
  });
});

function densify(x: SparseFeatures): DenseFeatures {
  const values = new Float32Array(x.rows * x.dim);
  for (let r = 0; r < x.rows; r++) {
    for (let j = 0; j < x.width; j++) {
      const id = x.ids[r * x.width + j]!;
      if (id > 0) values[r * x.dim + id - 1]! += x.weights[r * x.width + j]!;
    }
  }
  return { kind: 'dense', rows: x.rows, dim: x.dim, values };
}
