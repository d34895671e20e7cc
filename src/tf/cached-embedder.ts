/**
 * Wraps an Embedder with an LRU cache of rows keyed by text, and batches the misses: retraining
 * on a growing annotation set re-embeds only the texts it has not seen.
 */
import type { DenseFeatures, Embedder, Features, SparseFeatures } from './embedder.js';

type Row = Float32Array | { ids: Int32Array; weights: Float32Array };

export interface CachedEmbedderOptions {
  /** Rows kept (least recently used evicted first). @default 50000 */
  maxEntries?: number;
  /** Texts per call to the wrapped embedder. @default 256 */
  batchSize?: number;
}

export class CachedEmbedder implements Embedder {
  readonly id: string;
  readonly kind: Features['kind'];
  readonly dim: number;
  readonly #inner: Embedder;
  readonly #rows = new Map<string, Row>();
  readonly #maxEntries: number;
  readonly #batchSize: number;
  #hits = 0;
  #misses = 0;

  constructor(inner: Embedder, options: CachedEmbedderOptions = {}) {
    this.#inner = inner;
    this.id = inner.id;
    this.kind = inner.kind;
    this.dim = inner.dim;
    this.#maxEntries = options.maxEntries ?? 50_000;
    this.#batchSize = options.batchSize ?? 256;
  }

  get stats(): { entries: number; hits: number; misses: number } {
    return { entries: this.#rows.size, hits: this.#hits, misses: this.#misses };
  }

  async embed(texts: readonly string[]): Promise<Features> {
    const missing = [...new Set(texts.filter((text) => !this.#rows.has(text)))];
    this.#misses += missing.length;
    this.#hits += texts.length - missing.length;
    const fresh = new Map<string, Row>();
    for (let start = 0; start < missing.length; start += this.#batchSize) {
      const batch = missing.slice(start, start + this.#batchSize);
      const features = await this.#inner.embed(batch);
      if (features.rows !== batch.length) throw new Error(`embedder ${this.id} returned ${features.rows} rows for ${batch.length} texts`);
      batch.forEach((text, i) => fresh.set(text, rowOf(features, i)));
    }
    const rows = texts.map((text) => {
      const row = fresh.get(text) ?? this.#rows.get(text);
      if (!row) throw new Error('embedding cache lost a row');
      return row;
    });
    for (const [text, row] of fresh) this.#remember(text, row);
    for (const text of texts) this.#touch(text);
    return this.kind === 'dense' ? denseOf(rows as Float32Array[], this.dim) : sparseOf(rows as Array<Exclude<Row, Float32Array>>, this.dim);
  }

  dispose(): void {
    this.#rows.clear();
    this.#inner.dispose?.();
  }

  #remember(text: string, row: Row): void {
    this.#rows.set(text, row);
    while (this.#rows.size > this.#maxEntries) this.#rows.delete(this.#rows.keys().next().value as string);
  }

  /** Map order is insertion order: re-inserting marks a row as recently used. */
  #touch(text: string): void {
    const row = this.#rows.get(text);
    if (row) {
      this.#rows.delete(text);
      this.#rows.set(text, row);
    }
  }
}

function rowOf(features: Features, i: number): Row {
  if (features.kind === 'dense') return features.values.slice(i * features.dim, (i + 1) * features.dim);
  const start = i * features.width;
  let end = start + features.width;
  // Drop the padding (id 0) so rows from batches of different widths can be re-padded.
  while (end > start && features.ids[end - 1] === 0) end--;
  return { ids: features.ids.slice(start, end), weights: features.weights.slice(start, end) };
}

function denseOf(rows: Float32Array[], dim: number): DenseFeatures {
  const values = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => values.set(row, i * dim));
  return { kind: 'dense', rows: rows.length, dim, values };
}

function sparseOf(rows: Array<{ ids: Int32Array; weights: Float32Array }>, dim: number): SparseFeatures {
  const width = rows.reduce((max, row) => Math.max(max, row.ids.length), 1);
  const ids = new Int32Array(rows.length * width);
  const weights = new Float32Array(rows.length * width);
  rows.forEach((row, i) => {
    ids.set(row.ids, i * width);
    weights.set(row.weights, i * width);
  });
  return { kind: 'sparse', rows: rows.length, dim, width, ids, weights };
}
