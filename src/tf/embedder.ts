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
 * Sparse rows in compressed-row form: row `r`'s (bucket id, weight) pairs are
 * `ids/weights[offsets[r] .. offsets[r + 1])`; buckets run 1..dim.
 */
export interface SparseFeatures {
  kind: 'sparse';
  rows: number;
  /** Number of buckets (ids run 1..dim). */
  dim: number;
  /** `rows + 1` entries, starting at 0. */
  offsets: Int32Array;
  ids: Int32Array;
  weights: Float32Array;
}

/**
 * A dense block and a sparse block side by side (the combined encoder): one row per text in
 * each. A linear head gives each block its own weights: `dim === dense.dim + sparse.dim`.
 */
export interface MixedFeatures {
  kind: 'mixed';
  rows: number;
  dim: number;
  dense: DenseFeatures;
  sparse: SparseFeatures;
}

export type Features = DenseFeatures | SparseFeatures | MixedFeatures;

/**
 * What a request is for: `interactive` (/predict, someone waits) is served before `bulk`
 * (a training's whole data set) wherever embedding is queued.
 */
export type EmbedPriority = 'interactive' | 'bulk';

export interface EmbedOptions {
  /** @default 'interactive' */
  priority?: EmbedPriority;
  /** Called as rows become available (long embeddings report progress through it). */
  onProgress?: (done: number, total: number) => void;
}

/** Stored rows by (encoder id, text): the persistent cache as the embedders see it. */
export interface RowCache {
  /** The stored row of each text (undefined when absent), in order. */
  getMany(encoderId: string, texts: readonly string[]): Array<Float32Array | undefined>;
  putMany(encoderId: string, texts: readonly string[], rows: readonly Float32Array[]): void;
}

export interface Embedder {
  /** Stable identity of the encoder and its weights, e.g. "use-lite@sha256:507d11df" or "hashed-ngrams@v1". Stored with checkpoints. */
  readonly id: string;
  readonly kind: Features['kind'];
  /** Feature width (dense), bucket count (sparse), or both added (mixed). */
  readonly dim: number;
  /** One row per input text, in order; empty and whitespace-only texts still get a row. */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Features>;
  dispose?(): void;
}
