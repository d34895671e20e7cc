/**
 * Sentence embedders turn texts into fixed-width features for a classification head.
 * Features are plain typed arrays, not tensors: they cache by text, cross worker threads
 * (transferable) and leave no tensor behind.
 */

/** Dense rows, row-major: `values.length === rows * dim`. */
export interface DenseFeatures {
  kind: 'dense';
  rows: number;
  dim: number;
  values: Float32Array;
}

/**
 * Sparse rows padded to `width` (bucket id, weight) pairs each: `ids.length === rows * width`.
 * Padding uses id 0 with weight 0; real buckets are 1..dim.
 */
export interface SparseFeatures {
  kind: 'sparse';
  rows: number;
  /** Number of buckets (ids run 1..dim; 0 is padding). */
  dim: number;
  width: number;
  ids: Int32Array;
  weights: Float32Array;
}

export type Features = DenseFeatures | SparseFeatures;

export interface Embedder {
  /** Stable identity of the encoder and its weights, e.g. "use-lite@sha256:507d11df" or "hashed-ngrams@v1". Stored with checkpoints. */
  readonly id: string;
  readonly kind: Features['kind'];
  /** Feature width (dense) or bucket count (sparse). */
  readonly dim: number;
  /** One row per input text, in order; empty and whitespace-only texts still get a row. */
  embed(texts: readonly string[]): Promise<Features>;
  dispose?(): void;
}
