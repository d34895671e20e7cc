/**
 * Classification head over sentence features, and its training routine.
 *
 * Sparse features go through an "embedding bag": an Embedding over bucket ids, weighted by
 * the per-id weights (multiply, then mean over positions of width-scaled weights), so cost follows the non-zeros, not the
 * bucket count. With no hidden layer this is exactly (multinomial) logistic regression.
 * The model uses only standard serialisable layers and ends in a separate Activation layer,
 * so training can work on logits while `model.predict` returns probabilities.
 */
import { tf, type DenseFeatures, type Features, type SparseFeatures } from '../../src/index.js';

export interface HeadSpec {
  featureKind: 'dense' | 'sparse';
  /** Dense feature width, or sparse bucket count (ids 1..dim, 0 = padding). */
  dim: number;
  numClasses: number;
  multiLabel: boolean;
  /** Hidden ReLU units; 0 or absent = linear (logistic regression). */
  hidden?: number;
  /** Dropout before the output layer (only with a hidden layer) or on dense inputs. */
  dropout?: number;
  seed?: number;
}

const LOGITS = 'logits';

export function buildHead(spec: HeadSpec): tf.LayersModel {
  const hidden = spec.hidden ?? 0;
  const seed = spec.seed ?? 42;
  const dropout = spec.dropout ?? 0;
  const inputs: tf.SymbolicTensor[] = [];
  let h: tf.SymbolicTensor;
  if (spec.featureKind === 'sparse') {
    const ids = tf.input({ shape: [null], dtype: 'int32', name: 'ids' });
    const weights = tf.input({ shape: [null, 1], name: 'weights' });
    inputs.push(ids, weights);
    const units = hidden > 0 ? hidden : spec.numClasses;
    // A linear model is convex: zeros give a seed-free, reproducible start.
    const init = hidden > 0 ? tf.initializers.randomNormal({ stddev: 0.01, seed }) : tf.initializers.zeros();
    const emb = tf.layers
      .embedding({ inputDim: spec.dim + 1, outputDim: units, embeddingsInitializer: init, name: 'bag' })
      .apply(ids) as tf.SymbolicTensor;
    // Weighted sum over positions as multiply + mean: elementwise ops, far faster on wasm than
    // the batched (1 x W) . (W x K) matmuls of a Dot layer. `featuresToTensors` scales the
    // weights by the padded width so that the mean is the sum.
    const weighted = tf.layers.multiply({ name: 'bag_weight' }).apply([emb, weights]) as tf.SymbolicTensor;
    // Linear: the bag is the logits (a constant bucket in the features, as the hashed-n-gram
    // embedder emits, acts as the bias). Hidden: ReLU (bias likewise) then a dense output.
    h = tf.layers.globalAveragePooling1d({ name: hidden > 0 ? 'bag_sum' : LOGITS }).apply(weighted) as tf.SymbolicTensor;
    if (hidden > 0) {
      h = tf.layers.activation({ activation: 'relu' }).apply(h) as tf.SymbolicTensor;
      if (dropout > 0) h = tf.layers.dropout({ rate: dropout, seed }).apply(h) as tf.SymbolicTensor;
      h = dense(spec.numClasses, seed + 1).apply(h) as tf.SymbolicTensor;
    }
  } else {
    const x = tf.input({ shape: [spec.dim], name: 'features' });
    inputs.push(x);
    h = x;
    if (dropout > 0) h = tf.layers.dropout({ rate: dropout, seed }).apply(h) as tf.SymbolicTensor;
    if (hidden > 0) {
      h = tf.layers.dense({ units: hidden, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(h) as tf.SymbolicTensor;
      if (dropout > 0) h = tf.layers.dropout({ rate: dropout, seed: seed + 2 }).apply(h) as tf.SymbolicTensor;
    }
    h = dense(spec.numClasses, seed + 1).apply(h) as tf.SymbolicTensor;
  }
  const probs = tf.layers.activation({ activation: spec.multiLabel ? 'sigmoid' : 'softmax', name: 'probs' }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs, outputs: probs, name: 'text_head' });
}

function dense(units: number, seed: number): tf.layers.Layer {
  return tf.layers.dense({ units, name: LOGITS, kernelInitializer: tf.initializers.glorotUniform({ seed }) });
}

interface KernelBackend {
  readSync(dataId: object): tf.TypedArray;
  /** cpu: tensor info holding `values`. */
  makeTensorInfo?(shape: number[], dtype: tf.DataType, values: tf.TypedArray): tf.TensorInfo;
  /** wasm: tensor info allocated on the heap, viewed with `typedArrayFromHeap`. */
  makeOutput?(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap?(info: tf.TensorInfo): tf.TypedArray;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** Allocates an output, lets `fill` write it, and returns it; works on cpu and wasm. */
function makeOutput(b: KernelBackend, shape: number[], dtype: 'float32' | 'int32', fill: (out: tf.TypedArray) => void): tf.TensorInfo {
  if (b.makeTensorInfo) {
    const out = dtype === 'int32' ? new Int32Array(shape.reduce((a, d) => a * d, 1)) : new Float32Array(shape.reduce((a, d) => a * d, 1));
    fill(out);
    return b.makeTensorInfo(shape, dtype, out);
  }
  const info = b.makeOutput!(shape, dtype);
  const out = b.typedArrayFromHeap!(info);
  out.fill(0); // wasm heap memory is not zeroed
  fill(out);
  return info;
}

/** Reads a tensor's values; on wasm a heap view (call after any allocation: growth detaches views). */
function values(b: KernelBackend, info: tf.TensorInfo): tf.TypedArray {
  return b.typedArrayFromHeap ? b.typedArrayFromHeap(info) : b.readSync(info.dataId);
}

/**
 * Scatter-add `UnsortedSegmentSum` (the Embedding gradient), O(rows x width). tfjs's cpu kernel
 * loops over every segment (O(buckets x rows x width): hours for 32k buckets) and wasm has none.
 */
function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const b = backend as KernelBackend;
  const x = inputs.x!;
  const segmentIds = inputs.segmentIds!;
  const numSegments = Number(attrs?.numSegments);
  const innerShape = x.shape.slice(segmentIds.shape.length);
  const inner = innerShape.reduce((a, d) => a * d, 1);
  const ids = b.readSync(segmentIds.dataId);
  return makeOutput(b, [numSegments, ...innerShape], x.dtype === 'int32' ? 'int32' : 'float32', (out) => {
    const src = values(b, x);
    if (out instanceof Float32Array && src instanceof Float32Array && ids instanceof Int32Array) scatterAddFloat(out, src, ids, inner);
    else scatterAdd(out, src, ids, inner);
  });
}

function scatterAdd(out: tf.TypedArray, src: tf.TypedArray, ids: tf.TypedArray, inner: number): void {
  const numSegments = out.length / inner;
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    for (let k = 0, from = i * inner, to = s * inner; k < inner; k++) out[to + k]! += src[from + k]!;
  }
}

/** The same loop on concrete types, so V8 keeps it monomorphic (the Embedding gradient's hot path). */
function scatterAddFloat(out: Float32Array, src: Float32Array, ids: Int32Array, inner: number): void {
  const numSegments = out.length / inner;
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    for (let k = 0, from = i * inner, to = s * inner; k < inner; k++) out[to + k]! += src[from + k]!;
  }
}

/**
 * `GatherV2` fast path for row lookups (axis 0, no batch dims): one block copy per index.
 * The stock kernels index element by element (~5 us per 77-float row on wasm), which made
 * the embedding bag 10-50x slower than its arithmetic. Other cases use the stock kernel.
 */
function gatherRows(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as KernelArgs;
    const x = inputs.x!;
    const indices = inputs.indices!;
    const axis = Number(attrs?.axis ?? 0);
    if (axis !== 0 || Number(attrs?.batchDims ?? 0) !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32') || x.shape.length < 1) return stock(args);
    const b = backend as KernelBackend;
    const rows = x.shape[0]!;
    const inner = x.shape.slice(1).reduce((a, d) => a * d, 1);
    const ids = b.readSync(indices.dataId);
    for (const i of ids) if (!(i >= 0 && i < rows)) throw new RangeError(`GatherV2: the index value ${i} is not in [0, ${rows - 1}]`);
    return makeOutput(b, [...indices.shape, ...x.shape.slice(1)], x.dtype, (out) => {
      const src = values(b, x);
      for (let j = 0; j < ids.length; j++) out.set(src.subarray(ids[j]! * inner, (ids[j]! + 1) * inner), j * inner);
    });
  };
}

const installed = new WeakSet<tf.KernelFunc>();

/**
 * Installs the sparse kernels above on cpu and wasm (idempotent): fast Embedding forward and
 * gradient, so sparse heads train and predict on both backends. Call after the backend package
 * is imported (the wasm stock gather is looked up then).
 */
export function registerSparseKernels(): void {
  for (const backendName of ['cpu', 'wasm']) {
    const sum = tf.getKernel('UnsortedSegmentSum', backendName);
    if (!sum || !installed.has(sum.kernelFunc)) {
      if (sum) tf.unregisterKernel('UnsortedSegmentSum', backendName);
      const kernelFunc = unsortedSegmentSum as tf.KernelFunc;
      installed.add(kernelFunc);
      tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName, kernelFunc });
    }
    const gather = tf.getKernel('GatherV2', backendName);
    if (gather && !installed.has(gather.kernelFunc)) {
      tf.unregisterKernel('GatherV2', backendName);
      const kernelFunc = gatherRows(gather.kernelFunc);
      installed.add(kernelFunc);
      tf.registerKernel({ ...gather, kernelFunc });
    }
  }
}

/** Labels: a class index per row, or one multi-hot `Uint8Array(numClasses)` per row. */
export type Labels = Int32Array | readonly Uint8Array[];

/**
 * Model inputs for rows `index` of `x` (all rows when absent). Sparse rows are trimmed to the
 * widest row of the selection (padding is id 0, weight 0, packed at the end of each row), and
 * weights are multiplied by that width, which the model's mean over positions divides out.
 */
export function featuresToTensors(x: Features, index?: ArrayLike<number>): tf.Tensor[] {
  const rows = index ?? range(x.rows);
  return x.kind === 'dense' ? [denseTensor(x, rows)] : sparseTensors(x, rows);
}

function range(n: number): Int32Array {
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  return r;
}

function denseTensor(x: DenseFeatures, rows: ArrayLike<number>): tf.Tensor {
  const out = new Float32Array(rows.length * x.dim);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out.set(x.values.subarray(r * x.dim, (r + 1) * x.dim), i * x.dim);
  }
  return tf.tensor2d(out, [rows.length, x.dim]);
}

function rowNonZeros(x: SparseFeatures, r: number): number {
  let n = x.width;
  while (n > 0 && x.ids[r * x.width + n - 1] === 0) n--;
  return n;
}

function sparseTensors(x: SparseFeatures, rows: ArrayLike<number>): tf.Tensor[] {
  let width = 1;
  for (let i = 0; i < rows.length; i++) width = Math.max(width, rowNonZeros(x, rows[i]!));
  const ids = new Int32Array(rows.length * width);
  const weights = new Float32Array(rows.length * width);
  const n = Math.min(width, x.width);
  for (let i = 0; i < rows.length; i++) {
    const src = rows[i]! * x.width;
    ids.set(x.ids.subarray(src, src + n), i * width);
    for (let j = 0; j < n; j++) weights[i * width + j] = x.weights[src + j]! * width;
  }
  return [tf.tensor2d(ids, [rows.length, width], 'int32'), tf.tensor3d(weights, [rows.length, width, 1])];
}

/** Class probabilities (or per-label sigmoid outputs), row-major `rows * numClasses`. */
export function predictProbabilities(model: tf.LayersModel, x: Features, batchSize = 512): Float32Array {
  // The cache check first: isLinearBag inspects the layers on every call.
  if (x.kind === 'sparse' && (bagCache.has(model) || isLinearBag(model))) {
    // A linear bag is a sum of weight rows: evaluated straight from its (cached) weights it is the
    // same function as model.predict without TF.js's per-call overhead, which dominates small requests.
    return linearProbabilities(x, range(x.rows), bagWeights(model), outputUnits(model), isMultiLabel(model));
  }
  return predictRows(model, x, range(x.rows), batchSize);
}

const bagCache = new WeakMap<tf.LayersModel, Float32Array>();

/** The bag's weights as a typed array, read once per model (weights of a served model never change). */
function bagWeights(model: tf.LayersModel): Float32Array {
  let weights = bagCache.get(model);
  if (!weights) {
    weights = Float32Array.from(model.getWeights()[0]!.dataSync());
    bagCache.set(model, weights);
  }
  return weights;
}

function isMultiLabel(model: tf.LayersModel): boolean {
  return (model.getLayer('probs').getConfig() as { activation?: string }).activation === 'sigmoid';
}

function predictRows(model: tf.LayersModel, x: Features, rows: Int32Array, batchSize: number): Float32Array {
  if (x.kind === 'sparse') registerSparseKernels();
  const numClasses = outputUnits(model);
  const out = new Float32Array(rows.length * numClasses);
  // Similar lengths share a batch, so little padding is computed; results go back in place.
  const order = x.kind === 'sparse' ? byLength(range(rows.length), nonZeroCounts(x, rows)) : range(rows.length);
  for (let start = 0; start < order.length; start += batchSize) {
    const slots = order.subarray(start, Math.min(order.length, start + batchSize));
    const index = Int32Array.from(slots, (i) => rows[i]!);
    // Return the tensor, not its values: tidy walks a returned typed array element by element.
    const probs = tf.tidy(() => {
      const inputs = featuresToTensors(x, index);
      return model.predict(inputs.length === 1 ? inputs[0]! : inputs, { batchSize: index.length }) as tf.Tensor;
    });
    const values = probs.dataSync();
    probs.dispose();
    slots.forEach((slot, i) => out.set(values.subarray(i * numClasses, (i + 1) * numClasses), slot * numClasses));
  }
  return out;
}

function nonZeroCounts(x: SparseFeatures, rows: ArrayLike<number>): Int32Array {
  return Int32Array.from({ length: rows.length }, (_, i) => rowNonZeros(x, rows[i]!));
}

/** `items` sorted (stably) by `lengths[item]`. */
function byLength(items: Int32Array, lengths: Int32Array): Int32Array {
  return Int32Array.from([...items].sort((a, b) => lengths[a]! - lengths[b]! || a - b));
}

/**
 * One epoch's batches: shuffled, then (sparse) sorted by length within windows of 16 batches
 * and the batches shuffled again, so batches stay random but need little padding.
 */
function epochBatches(rows: Int32Array, lengths: Int32Array | null, batchSize: number, rand: () => number): Int32Array[] {
  shuffle(rows, rand);
  const batches: Int32Array[] = [];
  const window = lengths ? batchSize * 16 : batchSize;
  for (let w = 0; w < rows.length; w += window) {
    let chunk: Int32Array = rows.slice(w, Math.min(rows.length, w + window));
    if (lengths) chunk = byLength(chunk, lengths);
    for (let b = 0; b < chunk.length; b += batchSize) batches.push(chunk.subarray(b, Math.min(chunk.length, b + batchSize)));
  }
  for (let i = batches.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [batches[i], batches[j]] = [batches[j]!, batches[i]!];
  }
  return batches;
}

function outputUnits(model: tf.LayersModel): number {
  const shape = model.outputs[0]!.shape;
  return shape[shape.length - 1] ?? 0;
}

/** Index of the largest value in each row. */
export function argmaxRows(probs: Float32Array, numClasses: number): Int32Array {
  const rows = probs.length / numClasses;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (probs[r * numClasses + c]! > probs[r * numClasses + best]!) best = c;
    out[r] = best;
  }
  return out;
}

/** Unweighted mean of per-class F1 over classes that occur in truth or predictions. */
export function macroF1(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): number {
  const tp = new Float64Array(numClasses);
  const fp = new Float64Array(numClasses);
  const fn = new Float64Array(numClasses);
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i]!;
    const p = yPred[i]!;
    if (t === p) tp[t]!++;
    else {
      fp[p]!++;
      fn[t]!++;
    }
  }
  let sum = 0;
  let seen = 0;
  for (let c = 0; c < numClasses; c++) {
    const denom = 2 * tp[c]! + fp[c]! + fn[c]!;
    if (denom === 0) continue;
    sum += (2 * tp[c]!) / denom;
    seen++;
  }
  return seen === 0 ? 0 : sum / seen;
}

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
  /** Rows per step; 0 = auto: about 32 steps per epoch, a power of two in 64..512. */
  batchSize: number;
  learningRate: number;
  /** Fraction of rows held out (stratified for single-label) to pick the best epoch. */
  validationSplit: number;
  /** Epochs without a better validation accuracy before stopping. */
  patience: number;
  /** 'auto' or true: weight rows by n / (classes * classCount) (single-label only). */
  classWeights: boolean | 'auto';
  /** L2 penalty on the output weights (sum of squares, per row-averaged loss). */
  l2: number;
  /**
   * After picking the best epoch on the validation rows, retrain from scratch on all rows for
   * that many epochs (linear sparse heads only; reported metrics stay those of the validation run).
   */
  refit: boolean;
  seed: number;
  signal?: AbortSignal;
  onEpoch?: (p: EpochProgress) => void;
}

export const DEFAULT_TRAIN_OPTIONS: Readonly<TrainOptions> = Object.freeze({
  epochs: 20,
  batchSize: 0,
  learningRate: 0.05,
  validationSplit: 0.1,
  patience: 3,
  classWeights: false,
  l2: 0,
  refit: false,
  seed: 42,
});

export interface TrainResult {
  /** Epochs actually run (the weights kept are those of the best epoch). */
  epochs: number;
  bestEpoch: number;
  metrics: { loss: number; valLoss: number; valAccuracy: number; valMacroF1: number; trainSize: number; valSize: number };
}

/** Small sets need more, smaller steps per epoch; large ones gain from big batches (fewer dense Adam updates). */
function autoBatchSize(rows: number): number {
  return Math.min(512, Math.max(64, 2 ** Math.round(Math.log2(Math.max(1, rows / 32)))));
}

/** Seeded PRNG (mulberry32): the same seed gives the same split and batch order. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(a: Int32Array, rand: () => number): Int32Array {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/** Stratified (by class, or by first positive label) train/validation split of row indices. */
function splitRows(groups: Int32Array, fraction: number, rand: () => number): { train: Int32Array; val: Int32Array } {
  const byGroup = new Map<number, number[]>();
  groups.forEach((g, i) => {
    const list = byGroup.get(g) ?? [];
    list.push(i);
    byGroup.set(g, list);
  });
  const train: number[] = [];
  const val: number[] = [];
  for (const g of [...byGroup.keys()].sort((a, b) => a - b)) {
    const rows = shuffle(Int32Array.from(byGroup.get(g)!), rand);
    // Keep at least one row of each class for training.
    const k = Math.min(rows.length - 1, Math.round(rows.length * fraction));
    rows.forEach((r, i) => (i < k ? val : train).push(r));
  }
  return { train: Int32Array.from(train), val: Int32Array.from(val) };
}

function abortError(signal: AbortSignal): Error {
  if (signal.reason instanceof Error && signal.reason.name === 'AbortError') return signal.reason;
  const err = new Error('training aborted');
  err.name = 'AbortError';
  return err;
}

function labelGroups(y: Labels): Int32Array {
  if (y instanceof Int32Array) return y;
  return Int32Array.from(y, (row) => Math.max(0, row.indexOf(1)));
}

function classWeightsFor(y: Int32Array, numClasses: number): Float32Array {
  const counts = new Float64Array(numClasses);
  for (const c of y) counts[c]!++;
  return Float32Array.from(counts, (n) => (n > 0 ? y.length / (numClasses * n) : 0));
}

/** Row targets (one-hot or multi-hot) and per-row loss weights for `rows`. */
function targets(y: Labels, rows: Int32Array, numClasses: number, classW: Float32Array | null): { t: Float32Array; w: Float32Array } {
  const t = new Float32Array(rows.length * numClasses);
  const w = new Float32Array(rows.length).fill(1);
  rows.forEach((r, i) => {
    if (y instanceof Int32Array) {
      t[i * numClasses + y[r]!] = 1;
      if (classW) w[i] = classW[y[r]!]!;
    } else {
      const row = y[r]!;
      for (let c = 0; c < numClasses; c++) t[i * numClasses + c] = row[c] ? 1 : 0;
    }
  });
  return { t, w };
}

/** Cross-entropy per row (summed over labels when multi-label), as the training loss. */
function crossEntropy(probs: Float32Array, t: Float32Array, rows: number, multiLabel: boolean): number {
  const eps = 1e-7;
  let sum = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probs[i]!));
    sum -= t[i]! * Math.log(p) + (multiLabel ? (1 - t[i]!) * Math.log(1 - p) : 0);
  }
  return sum / Math.max(1, rows);
}

/**
 * Trains `model` (from `buildHead`) in place with Adam on mini-batches, keeping the weights of
 * the epoch with the best validation accuracy (ties: lowest loss). Runs on whatever backend is active; sparse heads
 * need one with an UnsortedSegmentSum kernel (cpu) for the Embedding gradient.
 */
export async function trainHead(model: tf.LayersModel, x: Features, y: Labels, options: Partial<TrainOptions> = {}): Promise<TrainResult> {
  const o: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, ...options };
  registerSparseKernels();
  if (x.kind === 'sparse' && isLinearBag(model)) return trainLinearSparse(model, x, y, o);
  const numClasses = outputUnits(model);
  const multiLabel = !(y instanceof Int32Array);
  if (y.length !== x.rows) throw new RangeError(`labels (${y.length}) and features (${x.rows}) differ in rows`);
  const rand = prng(o.seed);
  const { train, val } = o.validationSplit > 0 ? splitRows(labelGroups(y), o.validationSplit, rand) : { train: range(x.rows), val: new Int32Array(0) };
  const classW = !multiLabel && o.classWeights !== false ? classWeightsFor(y, numClasses) : null;
  const logitsModel = tf.model({ inputs: model.inputs, outputs: model.getLayer(LOGITS).output });
  const penalised = model.trainableWeights.filter((w) => /kernel|embeddings/.test(w.originalName)).map((w) => w.read());
  const optimizer = tf.train.adam(o.learningRate);
  const valTargets = targets(y, val, numClasses, null);
  const lengths = x.kind === 'sparse' ? nonZeroCounts(x, range(x.rows)) : null;
  const batchSize = o.batchSize > 0 ? o.batchSize : autoBatchSize(train.length);
  let best: { accuracy: number; loss: number; epoch: number; weights: tf.Tensor[] } | null = null;
  const last = { loss: NaN, valLoss: NaN, valAccuracy: NaN, valMacroF1: NaN };
  let epoch = 0;
  let improvedAt = 0;
  try {
    while (epoch < o.epochs) {
      epoch++;
      let lossSum = 0;
      for (const rows of epochBatches(train, lengths, batchSize, rand)) {
        if (o.signal?.aborted) throw abortError(o.signal);
        const { t, w } = targets(y, rows, numClasses, classW);
        const loss = tf.tidy(() => {
          const inputs = featuresToTensors(x, rows);
          const tt = tf.tensor2d(t, [rows.length, numClasses]);
          const wt = tf.tensor1d(w);
          return optimizer.minimize(() => {
            const logits = logitsModel.apply(inputs, { training: true }) as tf.Tensor2D;
            const perRow = multiLabel
              ? tf.sum(sigmoidCrossEntropy(tt, logits), -1) // summed, not averaged, over labels
              : tf.neg(tf.sum(tf.mul(tt, tf.logSoftmax(logits)), -1));
            let l = tf.mean<tf.Scalar>(tf.mul(perRow, wt));
            if (o.l2 > 0) for (const p of penalised) l = tf.add<tf.Scalar>(l, tf.mul(o.l2, tf.sum(tf.square(p))));
            return l;
          }, true) as tf.Scalar;
        });
        lossSum += (await loss.data())[0]! * rows.length;
        loss.dispose();
        // Let timers and messages (abort, progress) through between batches.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      last.loss = lossSum / Math.max(1, train.length);
      if (val.length > 0) {
        const probs = predictRows(model, x, val, 1024);
        Object.assign(last, evaluate(probs, valTargets.t, y, val, numClasses, multiLabel));
      }
      o.onEpoch?.({ epoch, epochs: o.epochs, loss: last.loss, ...(val.length > 0 ? { valLoss: last.valLoss, valAccuracy: last.valAccuracy, valMacroF1: last.valMacroF1 } : {}) });
      if (val.length === 0) continue;
      // Accuracy picks the epoch (the loss of a linear head keeps falling long after accuracy
      // has settled). A tie with a lower loss keeps the newer weights but does not extend patience.
      const better = best === null || last.valAccuracy > best.accuracy;
      if (better || (last.valAccuracy === best!.accuracy && last.valLoss < best!.loss)) {
        best?.weights.forEach((w) => w.dispose());
        best = { accuracy: last.valAccuracy, loss: last.valLoss, epoch, weights: model.getWeights().map((w) => w.clone()) };
      }
      if (better) improvedAt = epoch;
      else if (epoch - improvedAt >= o.patience) break;
    }
    if (best !== null && best.epoch !== epoch) {
      model.setWeights(best.weights);
      bagCache.delete(model);
      const probs = predictRows(model, x, val, 1024);
      Object.assign(last, evaluate(probs, valTargets.t, y, val, numClasses, multiLabel));
    }
  } finally {
    best?.weights.forEach((w) => w.dispose());
    optimizer.dispose();
  }
  return {
    epochs: epoch,
    bestEpoch: best?.epoch ?? epoch,
    metrics: { ...last, trainSize: train.length, valSize: val.length },
  };
}

/** Stable binary cross-entropy from logits: max(x, 0) - x * t + log(1 + exp(-|x|)). */
function sigmoidCrossEntropy(t: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.add(tf.sub(tf.relu(x), tf.mul(x, t)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
}

function evaluate(probs: Float32Array, t: Float32Array, y: Labels, rows: Int32Array, numClasses: number, multiLabel: boolean) {
  const valLoss = crossEntropy(probs, t, rows.length, multiLabel);
  if (!multiLabel) {
    const truth = Int32Array.from(rows, (r) => (y as Int32Array)[r]!);
    const pred = argmaxRows(probs, numClasses);
    let hits = 0;
    truth.forEach((c, i) => (hits += c === pred[i] ? 1 : 0));
    return { valLoss, valAccuracy: hits / rows.length, valMacroF1: macroF1(truth, pred, numClasses) };
  }
  // Multi-label: per-label (Hamming) accuracy and the mean of per-label binary F1.
  let hits = 0;
  let f1 = 0;
  for (let c = 0; c < numClasses; c++) {
    const truth = new Int32Array(rows.length);
    const pred = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      truth[i] = t[i * numClasses + c]!;
      pred[i] = probs[i * numClasses + c]! >= 0.5 ? 1 : 0;
      hits += truth[i] === pred[i] ? 1 : 0;
    }
    f1 += binaryF1(truth, pred);
  }
  return { valLoss, valAccuracy: hits / (rows.length * numClasses), valMacroF1: f1 / numClasses };
}

function binaryF1(truth: Int32Array, pred: Int32Array): number {
  let tp = 0;
  let wrong = 0;
  truth.forEach((t, i) => {
    if (t === 1 && pred[i] === 1) tp++;
    else if (t !== pred[i]) wrong++;
  });
  return tp + wrong === 0 ? 1 : (2 * tp) / (2 * tp + wrong);
}

/** A sparse head without a hidden layer: its only weight is the bag, whose output is the logits. */
function isLinearBag(model: tf.LayersModel): boolean {
  try {
    return model.getLayer(LOGITS).getClassName() === 'GlobalAveragePooling1D' && model.getWeights().length === 1 && model.getWeights()[0]!.rank === 2;
  } catch {
    return false;
  }
}

/** Logits (`out`, `k` per row from `at`) of sparse row `r` under the bag weights `w` ((dim + 1) x k). */
function rowLogits(x: SparseFeatures, r: number, w: Float32Array, k: number, out: Float32Array, at: number): void {
  const ids = x.ids;
  const fw = x.weights;
  for (let c = 0; c < k; c++) out[at + c] = 0;
  for (let j = r * x.width, end = j + x.width; j < end; j++) {
    const id = ids[j]!;
    if (id === 0) break; // padding is packed at the end of the row
    const v = fw[j]!;
    if (v === 0) continue;
    const base = id * k;
    for (let c = 0; c < k; c++) out[at + c]! += v * w[base + c]!;
  }
}

/** Softmax (or sigmoid, multi-label) of `k` logits in place. */
function activateInPlace(z: Float32Array, at: number, k: number, multiLabel: boolean): void {
  if (multiLabel) {
    for (let c = 0; c < k; c++) z[at + c] = 1 / (1 + Math.exp(-z[at + c]!));
    return;
  }
  let max = -Infinity;
  for (let c = 0; c < k; c++) max = Math.max(max, z[at + c]!);
  let sum = 0;
  for (let c = 0; c < k; c++) sum += z[at + c] = Math.exp(z[at + c]! - max);
  for (let c = 0; c < k; c++) z[at + c]! /= sum;
}

function linearProbabilities(x: SparseFeatures, rows: Int32Array, w: Float32Array, k: number, multiLabel: boolean): Float32Array {
  const out = new Float32Array(rows.length * k);
  rows.forEach((r, i) => {
    rowLogits(x, r, w, k, out, i * k);
    activateInPlace(out, i * k, k, multiLabel);
  });
  return out;
}

/**
 * Forward and backward pass of one batch, computed by TF.js on the batch's own rows of the bag:
 * the rows its features touch are gathered into a small table, TF.js differentiates the
 * row-weighted mean loss with respect to that table, and the gradient lands in `g` for the rows
 * listed in `touchedList` (marked with `step` in `touched`). Cost follows the batch's non-zeros,
 * not the bucket count. Returns the summed (row-weighted) loss and the touched row count.
 */
function batchGradient(
  x: SparseFeatures,
  rows: Int32Array,
  t: Float32Array,
  rowW: Float32Array,
  w: Float32Array,
  g: Float32Array,
  k: number,
  multiLabel: boolean,
  touched: Int32Array,
  local: Int32Array,
  touchedList: Int32Array,
  step: number,
): { loss: number; touchedRows: number } {
  const n = rows.length;
  let width = 1;
  for (const r of rows) width = Math.max(width, rowNonZeros(x, r));
  const localIds = new Int32Array(n * width);
  const featureW = new Float32Array(n * width);
  let nTouched = 0;
  rows.forEach((r, i) => {
    for (let j = r * x.width, end = j + x.width, q = i * width; j < end; j++, q++) {
      const id = x.ids[j]!;
      if (id === 0) break;
      if (touched[id] !== step) {
        touched[id] = step;
        local[id] = nTouched;
        touchedList[nTouched++] = id;
      }
      localIds[q] = local[id]!;
      featureW[q] = x.weights[j]!;
    }
  });
  const sub = new Float32Array(nTouched * k);
  for (let i = 0; i < nTouched; i++) sub.set(w.subarray(touchedList[i]! * k, (touchedList[i]! + 1) * k), i * k);

  const { value, grads } = tf.tidy(() => {
    const table = tf.tensor2d(sub, [nTouched, k]);
    const ids = tf.tensor2d(localIds, [n, width], 'int32');
    const fw = tf.tensor3d(featureW, [n, width, 1]);
    const targets = tf.tensor2d(t, [n, k]);
    const weights = tf.tensor1d(rowW);
    const lossOf = (bag: tf.Tensor) => {
      const logits = tf.sum(tf.mul(tf.gather(bag, ids), fw), 1);
      const perRow = multiLabel
        ? tf.sum(sigmoidCrossEntropy(targets, logits), -1)
        : tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), -1));
      return tf.sum(tf.mul(perRow, weights));
    };
    const result = tf.valueAndGrad(lossOf)(table);
    return { value: result.value, grads: result.grad };
  });
  const loss = value.dataSync()[0]!;
  const gradient = grads.dataSync();
  tf.dispose([value, grads]);
  // The loss is a mean over the batch's rows.
  for (let i = 0; i < nTouched; i++) {
    const base = touchedList[i]! * k;
    for (let c = 0; c < k; c++) g[base + c] = gradient[i * k + c]! / n;
  }
  return { loss, touchedRows: nTouched };
}

/** Adam's update (as tf.train.adam, bias correction folded into `lrT`) of the given weight rows. */
function adamRows(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, rows: Int32Array, k: number, lrT: number, l2: number, beta1: number, beta2: number, eps: number): void {
  for (let i = 0; i < rows.length; i++) {
    const id = rows[i]!;
    for (let q = id * k, end = q + k; q < end; q++) {
      const grad = g[q]! + l2 * w[q]!;
      const mq = beta1 * m[q]! + (1 - beta1) * grad;
      const vq = beta2 * v[q]! + (1 - beta2) * grad * grad;
      m[q] = mq;
      v[q] = vq;
      w[q]! -= (lrT * mq) / (Math.sqrt(vq) + eps);
    }
  }
}

/**
 * `trainHead` for linear sparse heads: the same model (multinomial or per-label logistic
 * regression over the bag), loss, split and epoch selection as the dense TF.js loop. TF.js
 * computes each batch's loss and gradient on the rows the batch touches; a lazy Adam (as TF's
 * LazyAdam: only rows with a gradient in a step are updated) applies them to the full table kept
 * in a typed array, because TF.js optimizers update every row of a variable on every step.
 * The weights are written into `model`.
 */
async function trainLinearSparse(model: tf.LayersModel, x: SparseFeatures, y: Labels, o: TrainOptions): Promise<TrainResult> {
  const k = outputUnits(model);
  const multiLabel = !(y instanceof Int32Array);
  if (y.length !== x.rows) throw new RangeError(`labels (${y.length}) and features (${x.rows}) differ in rows`);
  const rand = prng(o.seed);
  const { train, val } = o.validationSplit > 0 ? splitRows(labelGroups(y), o.validationSplit, rand) : { train: range(x.rows), val: new Int32Array(0) };
  const classW = !multiLabel && o.classWeights !== false ? classWeightsFor(y, k) : null;
  const valTargets = targets(y, val, k, null);
  const lengths = nonZeroCounts(x, range(x.rows));
  const batchSize = o.batchSize > 0 ? o.batchSize : autoBatchSize(train.length);
  const size = (x.dim + 1) * k;
  const initial = Float32Array.from(model.getWeights()[0]!.dataSync());
  if (initial.length !== size) throw new RangeError(`head weights (${initial.length}) do not match the features (${x.dim + 1} x ${k})`);
  const w = initial.slice();
  const m = new Float32Array(size);
  const v = new Float32Array(size);
  const g = new Float32Array(size);
  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-7;
  let step = 0;
  const touched = new Int32Array(x.dim + 1).fill(-1);
  const local = new Int32Array(x.dim + 1);
  const touchedList = new Int32Array(x.dim + 1);
  let yielded = performance.now();

  /** One epoch of lazy Adam over `rowSet`; returns the mean training loss. */
  const runEpoch = async (rowSet: Int32Array): Promise<number> => {
    let lossSum = 0;
    for (const rows of epochBatches(rowSet, lengths, batchSize, rand)) {
      if (o.signal?.aborted) throw abortError(o.signal);
      const { t, w: rowW } = targets(y, rows, k, classW);
      step++;
      const { loss, touchedRows } = batchGradient(x, rows, t, rowW, w, g, k, multiLabel, touched, local, touchedList, step);
      lossSum += loss;
      const lrT = (o.learningRate * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
      adamRows(w, m, v, g, touchedList.subarray(0, touchedRows), k, lrT, 2 * o.l2, beta1, beta2, eps);
      if (performance.now() - yielded > 20) {
        // Let timers and messages (abort, progress) through.
        await new Promise<void>((resolve) => setImmediate(resolve));
        yielded = performance.now();
      }
    }
    return lossSum / Math.max(1, rowSet.length);
  };

  let best: { accuracy: number; loss: number; epoch: number; weights: Float32Array } | null = null;
  const last = { loss: NaN, valLoss: NaN, valAccuracy: NaN, valMacroF1: NaN };
  let epoch = 0;
  let improvedAt = 0;
  while (epoch < o.epochs) {
    epoch++;
    last.loss = await runEpoch(train);
    if (val.length > 0) Object.assign(last, evaluate(linearProbabilities(x, val, w, k, multiLabel), valTargets.t, y, val, k, multiLabel));
    o.onEpoch?.({ epoch, epochs: o.epochs, loss: last.loss, ...(val.length > 0 ? { valLoss: last.valLoss, valAccuracy: last.valAccuracy, valMacroF1: last.valMacroF1 } : {}) });
    await new Promise<void>((resolve) => setImmediate(resolve));
    yielded = performance.now();
    if (o.signal?.aborted) throw abortError(o.signal);
    if (val.length === 0) continue;
    // Accuracy picks the epoch; a tie with a lower loss keeps the newer weights but does not extend patience.
    const better = best === null || last.valAccuracy > best.accuracy;
    if (better || (last.valAccuracy === best!.accuracy && last.valLoss < best!.loss)) {
      best = { accuracy: last.valAccuracy, loss: last.valLoss, epoch, weights: w.slice() };
    }
    if (better) improvedAt = epoch;
    else if (epoch - improvedAt >= o.patience) break;
  }
  let final = best !== null && best.epoch !== epoch ? best.weights : w;
  if (o.refit && best !== null) {
    // The validation rows join training: refit from the start for the chosen number of epochs.
    const all = range(x.rows);
    w.set(initial);
    m.fill(0);
    v.fill(0);
    step = 0;
    for (let e = 0; e < best.epoch; e++) await runEpoch(all);
    final = w;
  } else if (final !== w) {
    Object.assign(last, evaluate(linearProbabilities(x, val, final, k, multiLabel), valTargets.t, y, val, k, multiLabel));
  }
  const tensor = tf.tensor2d(final, model.getWeights()[0]!.shape as [number, number]);
  model.setWeights([tensor]);
  bagCache.delete(model);
  tensor.dispose();
  return {
    epochs: epoch,
    bestEpoch: best?.epoch ?? epoch,
    metrics: { ...last, trainSize: train.length, valSize: val.length },
  };
}
