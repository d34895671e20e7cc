/**
 * A linear classification head over any features — dense, sparse or both (the combined
 * encoder): multinomial logistic regression (softmax), or one logistic regression per label
 * (sigmoid, multi-label). Each block has its own weights: a dense kernel, a bag of per-bucket
 * rows for the sparse block, a bias. Dense products run in TF.js; sparse rows are summed over
 * their non-zeros only, so cost follows the text, not the bucket count. Saved in TF.js's
 * checkpoint layout (model.json + weights.bin, written atomically).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DenseFeatures, Features, SparseFeatures } from './embedder.js';
import { fileSystemIO } from './file-io.js';
import { applyIdf } from './idf.js';
import { range } from './training-data.js';

export interface LinearHeadShape {
  /** Width of the dense block (0 = none). */
  denseDim: number;
  /** Buckets of the sparse block (ids 1..sparseDim; 0 = none). */
  sparseDim: number;
  classes: number;
  multiLabel: boolean;
}

const FORMAT = 'linear-head';
const MATMUL_ROWS = 512;

/** The dense and sparse blocks of some features (either may be absent). */
export function featureBlocks(x: Features): { dense?: DenseFeatures; sparse?: SparseFeatures } {
  if (x.kind === 'dense') return { dense: x };
  if (x.kind === 'sparse') return { sparse: x };
  return { dense: x.dense, sparse: x.sparse };
}

/** The head shape that fits `x`. */
export function shapeFor(x: Features, classes: number, multiLabel: boolean): LinearHeadShape {
  const { dense, sparse } = featureBlocks(x);
  return { denseDim: dense?.dim ?? 0, sparseDim: sparse?.dim ?? 0, classes, multiLabel };
}

export class LinearHead {
  readonly shape: Readonly<LinearHeadShape>;
  /** [denseDim × classes], row-major. */
  readonly dense: Float32Array;
  /** [(sparseDim + 1) × classes]: row `id` holds bucket `id`'s weights (row 0 is padding). */
  readonly bag: Float32Array;
  readonly bias: Float32Array;
  /** Per-bucket idf of the sparse block (fitted on the training rows), applied before the bag. */
  idf: Float32Array | undefined;

  constructor(shape: LinearHeadShape, weights?: { dense: Float32Array; bag: Float32Array; bias: Float32Array; idf?: Float32Array }) {
    const { denseDim, sparseDim, classes } = shape;
    if (![denseDim, sparseDim, classes].every((n) => Number.isInteger(n) && n >= 0) || classes < 1) throw new RangeError(`bad linear head shape ${JSON.stringify(shape)}`);
    this.shape = Object.freeze({ ...shape });
    this.dense = weights?.dense ?? new Float32Array(denseDim * classes);
    this.bag = weights?.bag ?? new Float32Array((sparseDim + 1) * classes);
    this.bias = weights?.bias ?? new Float32Array(classes);
    this.idf = weights?.idf;
    if (this.idf && this.idf.length !== sparseDim + 1) throw new RangeError(`idf has ${this.idf.length} entries, the sparse block ${sparseDim + 1}`);
    if (this.dense.length !== denseDim * classes || this.bag.length !== (sparseDim + 1) * classes || this.bias.length !== classes) {
      throw new RangeError(`linear head weights do not match the shape ${JSON.stringify(shape)}`);
    }
  }

  /** Throws unless `x` has the blocks and widths this head was built for. */
  assertFits(x: Features): void {
    const want = shapeFor(x, this.shape.classes, this.shape.multiLabel);
    if (want.denseDim !== this.shape.denseDim || want.sparseDim !== this.shape.sparseDim) {
      throw new RangeError(`features (dense ${want.denseDim}, sparse ${want.sparseDim}) do not fit the head (dense ${this.shape.denseDim}, sparse ${this.shape.sparseDim})`);
    }
  }

  /** `x` as the weights see it: the sparse block idf-weighted when the head has an idf. */
  transform(x: Features): Features {
    if (!this.idf || x.kind === 'dense') return x;
    return x.kind === 'sparse' ? applyIdf(x, this.idf) : { ...x, sparse: applyIdf(x.sparse, this.idf) };
  }

  /** Logits of `rows` of already transformed `x` (all rows when absent), `classes` per row. */
  logits(x: Features, rows: Int32Array = range(x.rows)): Float32Array {
    this.assertFits(x);
    const k = this.shape.classes;
    const out = new Float32Array(rows.length * k);
    const { dense, sparse } = featureBlocks(x);
    if (dense && dense.dim > 0 && rows.length > 0) {
      const kernel = tf.tensor2d(this.dense, [dense.dim, k]);
      // Blocks of rows: the backend's memory (never returned, on wasm) stays small.
      for (let start = 0; start < rows.length; start += MATMUL_ROWS) {
        const block = rows.subarray(start, start + MATMUL_ROWS);
        const product = tf.tidy(() => tf.matMul(tf.tensor2d(gatherRows(dense, block), [block.length, dense.dim]), kernel));
        out.set(product.dataSync(), start * k);
        product.dispose();
      }
      kernel.dispose();
    }
    if (sparse) addSparseLogits(sparse, rows, this.bag, k, out);
    for (let i = 0; i < rows.length; i++) for (let c = 0; c < k; c++) out[i * k + c]! += this.bias[c]!;
    return out;
  }

  /** Class probabilities (softmax), or per-label probabilities (sigmoid) when multi-label. */
  probabilities(x: Features, rows?: Int32Array, transformed = false): Float32Array {
    const z = this.logits(transformed ? x : this.transform(x), rows);
    activateRows(z, this.shape.classes, this.shape.multiLabel);
    return z;
  }

  /** Writes model.json + weights.bin into `dir` (TF.js's file layout, atomic). */
  async save(dir: string): Promise<void> {
    const { denseDim, sparseDim, classes } = this.shape;
    const weightSpecs: tf.io.WeightsManifestEntry[] = [
      { name: 'dense/kernel', shape: [denseDim, classes], dtype: 'float32' },
      { name: 'bag/embeddings', shape: [sparseDim + 1, classes], dtype: 'float32' },
      { name: 'bias/bias', shape: [classes], dtype: 'float32' },
      ...(this.idf ? [{ name: 'idf/idf', shape: [sparseDim + 1], dtype: 'float32' as const }] : []),
    ];
    const layers = [
      { class_name: 'Dense', config: { name: 'dense', units: classes, use_bias: false } },
      { class_name: 'EmbeddingBag', config: { name: 'bag', input_dim: sparseDim + 1, output_dim: classes, mode: 'sum' } },
      { class_name: 'Bias', config: { name: 'bias' } },
    ];
    await fileSystemIO(dir).save!({
      format: FORMAT,
      generatedBy: 'label-studio-ml-tfjs',
      modelTopology: { class_name: 'LinearHead', config: { ...this.shape, activation: this.shape.multiLabel ? 'sigmoid' : 'softmax', layers } },
      weightSpecs,
      weightData: tf.io.CompositeArrayBuffer.join([this.dense, this.bag, this.bias, ...(this.idf ? [this.idf] : [])].map((a) => a.slice().buffer)),
    });
  }

  static async load(dir: string): Promise<LinearHead> {
    const artifacts = await fileSystemIO(dir).load!();
    const topology = artifacts.modelTopology as { class_name?: string; config?: Partial<LinearHeadShape> } | undefined;
    const c = topology?.config;
    if (artifacts.format !== FORMAT || topology?.class_name !== 'LinearHead' || c === undefined) throw new Error(`${dir} does not hold a linear head`);
    const shape: LinearHeadShape = { denseDim: Number(c.denseDim), sparseDim: Number(c.sparseDim), classes: Number(c.classes), multiLabel: c.multiLabel === true };
    const data = tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0));
    const hasIdf = (artifacts.weightSpecs ?? []).some((spec) => spec.name === 'idf/idf');
    const sizes = [shape.denseDim * shape.classes, (shape.sparseDim + 1) * shape.classes, shape.classes, ...(hasIdf ? [shape.sparseDim + 1] : [])];
    const bytes = sizes.reduce((a, b) => a + b, 0) * 4;
    if (data.byteLength !== bytes) throw new Error(`${dir}: weights.bin holds ${data.byteLength} B, the head needs ${bytes} B`);
    let at = 0;
    const [dense, bag, bias, idf] = sizes.map((n) => {
      const part = new Float32Array(data.slice(at * 4, (at + n) * 4));
      at += n;
      return part;
    });
    return new LinearHead(shape, { dense: dense!, bag: bag!, bias: bias!, ...(idf ? { idf } : {}) });
  }
}

/** `rows` of a dense block, packed. */
export function gatherRows(x: DenseFeatures, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * x.dim);
  for (let i = 0; i < rows.length; i++) out.set(x.values.subarray(rows[i]! * x.dim, (rows[i]! + 1) * x.dim), i * x.dim);
  return out;
}

/** Adds Σ weight × bag[id] over each row's non-zeros. */
export function addSparseLogits(x: SparseFeatures, rows: ArrayLike<number>, bag: Float32Array, k: number, out: Float32Array): void {
  for (let i = 0; i < rows.length; i++) {
    const at = i * k;
    for (let j = x.offsets[rows[i]!]!, end = x.offsets[rows[i]! + 1]!; j < end; j++) {
      const id = x.ids[j]!;
      const v = x.weights[j]!;
      if (v === 0) continue;
      for (let c = 0, base = id * k; c < k; c++) out[at + c]! += v * bag[base + c]!;
    }
  }
}

/** Softmax (or sigmoid) of each row of `k` logits, in place. */
export function activateRows(z: Float32Array, k: number, multiLabel: boolean): void {
  for (let at = 0; at < z.length; at += k) {
    if (multiLabel) {
      for (let c = 0; c < k; c++) z[at + c] = 1 / (1 + Math.exp(-z[at + c]!));
      continue;
    }
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, z[at + c]!);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += z[at + c] = Math.exp(z[at + c]! - max);
    for (let c = 0; c < k; c++) z[at + c]! /= sum;
  }
}
