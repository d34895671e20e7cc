/**
 * Trains a LinearHead with mini-batch Adam. Each step, TF.js computes the loss and its gradient
 * with respect to the dense kernel, the bias and the batch's sparse logits; the sparse logits'
 * gradient is spread onto the bag rows the batch touched (the adjoint of the sum over
 * non-zeros), and only those rows move (lazy Adam, as TF's LazyAdam): cost follows the batch,
 * never the bucket count, and no TF.js kernel is replaced. The epoch with the best validation
 * accuracy wins; with `refit`, the head is then retrained on every row for that many epochs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DenseFeatures, Features, SparseFeatures } from './embedder.js';
import { fitIdf } from './idf.js';
import { addSparseLogits, featureBlocks, gatherRows, type LinearHead } from './linear-head.js';
import { abortError, autoBatchSize, classWeightsFor, epochBatches, evaluate, labelGroups, prng, range, splitRows, targets, type Labels } from './training-data.js';

export interface EpochProgress {
  epoch: number;
  epochs: number;
  loss: number;
  valLoss?: number;
  valAccuracy?: number;
  valMacroF1?: number;
}

export interface TrainOptions {
  epochs: number;
  /** Rows per step; 0 = auto (about 32 steps per epoch, a power of two in 32..512). */
  batchSize: number;
  learningRate: number;
  /** 'linear': the rate falls linearly to 0 over the run's steps (settles near the optimum); 'constant'. */
  schedule: 'linear' | 'constant';
  /** Fraction of rows held out (stratified) to pick the best epoch; 0 = train `epochs` on all rows. */
  validationSplit: number;
  /** Epochs without a better validation accuracy before stopping. */
  patience: number;
  /** 'auto' or true: weight rows by n / (classes × classCount) (single-label only). */
  classWeights: boolean | 'auto';
  /** L2 penalty (sum of squares of the weights, added to the row-averaged loss). */
  l2: number;
  /** After picking the epoch on the validation rows, retrain on all rows for that many epochs. */
  refit: boolean;
  /** Weight the sparse block by idf fitted on these rows (kept in the head for prediction). */
  idf: boolean;
  seed: number;
  signal?: AbortSignal;
  onEpoch?: (p: EpochProgress) => void;
}

export const DEFAULT_TRAIN_OPTIONS: Readonly<TrainOptions> = Object.freeze({
  epochs: 20,
  batchSize: 0,
  learningRate: 0.05,
  schedule: 'constant',
  validationSplit: 0.1,
  patience: 3,
  classWeights: 'auto',
  l2: 0,
  refit: true,
  idf: true,
  seed: 42,
});

export interface TrainResult {
  /** Epochs run in the validation phase. */
  epochs: number;
  bestEpoch: number;
  /** Validation figures of the chosen epoch (NaN without a validation split). */
  metrics: { loss: number; valLoss: number; valAccuracy: number; valMacroF1: number; trainSize: number; valSize: number };
}

/**
 * The default schedule for `samples` labelled rows, tuned on held-out parts of the benchmark
 * sets' train splits (never on their test splits): every row trains (no validation split), the
 * rate falls linearly to ~0 over at least 10 epochs and 200 steps (few labels get many passes),
 * with an L2 penalty like logistic regression's C = 100, idf on the n-grams. Class weights only
 * for n-grams alone (they lift its rare classes; beside a sentence embedding they cost accuracy).
 */
export function recipeFor(samples: number, features: Features['kind'] = 'mixed'): Partial<TrainOptions> {
  const steps = Math.ceil(Math.max(1, samples) / autoBatchSize(samples));
  return {
    epochs: Math.max(10, Math.ceil(200 / steps)),
    learningRate: 0.03,
    schedule: 'linear',
    validationSplit: 0,
    refit: false,
    classWeights: features === 'sparse' ? 'auto' : false,
    idf: true,
    l2: 1 / (2 * 100 * Math.max(1, samples)),
  };
}

interface AdamState {
  m: Float32Array;
  v: Float32Array;
}

const adamState = (n: number): AdamState => ({ m: new Float32Array(n), v: new Float32Array(n) });
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-7;

/** Adam's update of the weights `w[from..to)` (bias correction folded into lrT). */
function adam(w: Float32Array, s: AdamState, g: Float32Array, gAt: number, from: number, to: number, lrT: number, l2: number): void {
  for (let q = from, p = gAt; q < to; q++, p++) {
    const grad = g[p]! + l2 * w[q]!;
    const m = (s.m[q] = BETA1 * s.m[q]! + (1 - BETA1) * grad);
    const v = (s.v[q] = BETA2 * s.v[q]! + (1 - BETA2) * grad * grad);
    w[q]! -= (lrT * m) / (Math.sqrt(v) + EPS);
  }
}

export async function trainLinearHead(head: LinearHead, x: Features, y: Labels, options: Partial<TrainOptions> = {}): Promise<TrainResult> {
  const o: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, ...options };
  head.assertFits(x);
  if (y.length !== x.rows) throw new RangeError(`labels (${y.length}) and features (${x.rows}) differ in rows`);
  const k = head.shape.classes;
  const multiLabel = !(y instanceof Int32Array);
  if (multiLabel !== head.shape.multiLabel) throw new RangeError('multi-label targets need a multi-label head, and single-label targets a softmax head');
  head.idf = o.idf && x.kind !== 'dense' ? fitIdf(x.kind === 'sparse' ? x : x.sparse) : undefined;
  x = head.transform(x);
  const { dense, sparse } = featureBlocks(x);
  const rand = prng(o.seed);
  const { train, val } = o.validationSplit > 0 ? splitRows(labelGroups(y), o.validationSplit, rand) : { train: range(x.rows), val: new Int32Array(0) };
  const classW = y instanceof Int32Array && o.classWeights !== false ? classWeightsFor(y, k) : null;
  const lengths = sparse ? Int32Array.from({ length: x.rows }, (_, r) => nonZeros(sparse, r)) : null;
  const batchSize = o.batchSize > 0 ? o.batchSize : autoBatchSize(train.length);
  const touched = sparse ? new Int32Array(sparse.dim + 1).fill(-1) : new Int32Array(0);
  const local = sparse ? new Int32Array(sparse.dim + 1) : new Int32Array(0);
  let state = { dense: adamState(head.dense.length), bag: adamState(head.bag.length), bias: adamState(k) };
  let step = 0;
  const stepsPerEpoch = (rows: number) => Math.ceil(rows / batchSize);
  let totalSteps = o.epochs * stepsPerEpoch(train.length);

  const runEpoch = async (rowSet: Int32Array): Promise<number> => {
    let lossSum = 0;
    let yielded = performance.now();
    for (const rows of epochBatches(rowSet, lengths, batchSize, rand)) {
      if (o.signal?.aborted) throw abortError(o.signal);
      const { t, w } = targets(y, rows, k, classW);
      step++;
      const rate = o.schedule === 'linear' ? o.learningRate * Math.max(0.02, 1 - (step - 1) / totalSteps) : o.learningRate;
      const lrT = (rate * Math.sqrt(1 - BETA2 ** step)) / (1 - BETA1 ** step);
      lossSum += adamStep(head, dense, sparse, rows, t, w, multiLabel, state, lrT, 2 * o.l2, touched, local, step);
      if (performance.now() - yielded > 20) {
        // Let timers and messages (abort, progress, /health in an inline trainer) through.
        await new Promise<void>((resolve) => setImmediate(resolve));
        yielded = performance.now();
      }
    }
    return lossSum / Math.max(1, rowSet.length);
  };

  const snapshot = () => ({ dense: head.dense.slice(), bag: head.bag.slice(), bias: head.bias.slice() });
  const restore = (s: ReturnType<typeof snapshot>) => {
    head.dense.set(s.dense);
    head.bag.set(s.bag);
    head.bias.set(s.bias);
  };
  const initial = snapshot();
  let best: { accuracy: number; loss: number; epoch: number; weights: ReturnType<typeof snapshot> } | null = null;
  const last = { loss: NaN, valLoss: NaN, valAccuracy: NaN, valMacroF1: NaN };
  let epoch = 0;
  let improvedAt = 0;
  while (epoch < o.epochs) {
    epoch++;
    last.loss = await runEpoch(train);
    if (val.length > 0) {
      const e = evaluate(head.probabilities(x, val, true), y, val, k);
      Object.assign(last, { valLoss: e.loss, valAccuracy: e.accuracy, valMacroF1: e.macroF1 });
    }
    o.onEpoch?.({ epoch, epochs: o.epochs, loss: last.loss, ...(val.length > 0 ? { valLoss: last.valLoss, valAccuracy: last.valAccuracy, valMacroF1: last.valMacroF1 } : {}) });
    if (val.length === 0) continue;
    // Accuracy picks the epoch (a linear head's loss keeps falling long after accuracy settles);
    // a tie with a lower loss keeps the newer weights but does not extend patience.
    const better = best === null || last.valAccuracy > best.accuracy;
    if (better || (last.valAccuracy === best!.accuracy && last.valLoss < best!.loss)) {
      best = { accuracy: last.valAccuracy, loss: last.valLoss, epoch, weights: snapshot() };
    }
    if (better) improvedAt = epoch;
    else if (epoch - improvedAt >= o.patience) break;
  }
  if (best !== null) {
    Object.assign(last, { valLoss: best.loss, valAccuracy: best.accuracy });
    if (o.refit) {
      // The validation rows join training: start again and stop at the chosen epoch.
      restore(initial);
      state = { dense: adamState(head.dense.length), bag: adamState(head.bag.length), bias: adamState(k) };
      step = 0;
      totalSteps = best.epoch * stepsPerEpoch(x.rows);
      for (let e = 0; e < best.epoch; e++) await runEpoch(range(x.rows));
    } else restore(best.weights);
  }
  return { epochs: epoch, bestEpoch: best?.epoch ?? epoch, metrics: { ...last, trainSize: train.length, valSize: val.length } };
}

function nonZeros(x: SparseFeatures, r: number): number {
  return x.offsets[r + 1]! - x.offsets[r]!;
}

/** One Adam step on `rows`; returns the batch's summed (row-weighted) loss. */
function adamStep(
  head: LinearHead,
  dense: DenseFeatures | undefined,
  sparse: SparseFeatures | undefined,
  rows: Int32Array,
  t: Float32Array,
  rowW: Float32Array,
  multiLabel: boolean,
  state: { dense: AdamState; bag: AdamState; bias: AdamState },
  lrT: number,
  l2: number,
  touched: Int32Array,
  local: Int32Array,
  step: number,
): number {
  const n = rows.length;
  const k = head.shape.classes;
  const zs = new Float32Array(n * k);
  if (sparse) addSparseLogits(sparse, rows, head.bag, k, zs);
  const result = tf.tidy(() => {
    const targetsT = tf.tensor2d(t, [n, k]);
    const weightsT = tf.tensor1d(rowW);
    const xd = dense && dense.dim > 0 ? tf.tensor2d(gatherRows(dense, rows), [n, dense.dim]) : null;
    const lossOf = (zsT: tf.Tensor, biasT: tf.Tensor, kernelT?: tf.Tensor): tf.Scalar => {
      let z = tf.add(zsT, biasT);
      if (xd && kernelT) z = tf.add(z, tf.matMul(xd, kernelT));
      const perRow = multiLabel
        ? tf.sum(tf.add(tf.sub(tf.relu(z), tf.mul(z, targetsT)), tf.log1p(tf.exp(tf.neg(tf.abs(z))))), -1) // stable sigmoid cross-entropy
        : tf.neg(tf.sum(tf.mul(targetsT, tf.logSoftmax(z)), -1));
      return tf.div(tf.sum(tf.mul(perRow, weightsT)), n);
    };
    const args = [tf.tensor2d(zs, [n, k]), tf.tensor1d(head.bias), ...(xd ? [tf.tensor2d(head.dense, [dense!.dim, k])] : [])];
    const { value, grads } = tf.valueAndGrads((...a: tf.Tensor[]) => lossOf(a[0]!, a[1]!, a[2]))(args);
    return { value, grads };
  });
  const loss = result.value.dataSync()[0]! * n;
  const [gZs, gBias, gKernel] = result.grads.map((g) => g.dataSync() as Float32Array);
  tf.dispose([result.value, ...result.grads]);
  if (gKernel) adam(head.dense, state.dense, gKernel, 0, 0, head.dense.length, lrT, l2);
  adam(head.bias, state.bias, gBias!, 0, 0, k, lrT, l2);
  if (sparse) {
    // The bag rows this batch touched, and their gradient: Σ over a row's non-zeros of weight × ∂loss/∂logits.
    const list: number[] = [];
    for (const r of rows) {
      for (let j = sparse.offsets[r]!, end = sparse.offsets[r + 1]!; j < end; j++) {
        const id = sparse.ids[j]!;
        if (touched[id] !== step) {
          touched[id] = step;
          local[id] = list.length;
          list.push(id);
        }
      }
    }
    const g = new Float32Array(list.length * k);
    rows.forEach((r, i) => {
      for (let j = sparse.offsets[r]!, end = sparse.offsets[r + 1]!; j < end; j++) {
        const v = sparse.weights[j]!;
        for (let c = 0, at = local[sparse.ids[j]!]! * k; c < k; c++) g[at + c]! += v * gZs![i * k + c]!;
      }
    });
    list.forEach((id, i) => adam(head.bag, state.bag, g, i * k, id * k, (id + 1) * k, lrT, l2));
  }
  return loss;
}
