/**
 * The combined encoder: a sentence embedding (dense, unit rows) beside sparse n-gram features
 * (each block L2-normalised), one row per text in each block. The two carry different
 * information — meaning and paraphrase from the sentence encoder, exact words, names and
 * spellings from the n-grams — and a linear head over both beats either alone.
 */
import type { EmbedOptions, Embedder, MixedFeatures } from './embedder.js';
import type { HashedNgramEmbedder } from './hashed-ngram-embedder.js';

export interface CombinedEmbedderOptions {
  /** Scale of the (unit-length) dense rows relative to the sparse block. @default 1 */
  denseWeight?: number;
}

export class CombinedEmbedder implements Embedder {
  readonly kind = 'mixed' as const;
  readonly id: string;
  readonly dim: number;
  readonly dense: Embedder;
  readonly sparse: HashedNgramEmbedder;
  readonly denseWeight: number;

  constructor(dense: Embedder, sparse: HashedNgramEmbedder, options: CombinedEmbedderOptions = {}) {
    if (dense.kind !== 'dense') throw new TypeError(`CombinedEmbedder: ${dense.id} is not a dense embedder`);
    this.dense = dense;
    this.sparse = sparse;
    this.denseWeight = options.denseWeight ?? 1;
    if (!(this.denseWeight > 0)) throw new RangeError(`CombinedEmbedder: denseWeight must be > 0, got ${this.denseWeight}`);
    this.dim = dense.dim + sparse.dim;
    this.id = `combined(${dense.id}*${this.denseWeight}+${sparse.id})`;
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<MixedFeatures> {
    const dense = await this.dense.embed(texts, options);
    if (dense.kind !== 'dense') throw new TypeError(`CombinedEmbedder: ${this.dense.id} returned ${dense.kind} rows`);
    if (this.denseWeight !== 1) for (let i = 0; i < dense.values.length; i++) dense.values[i]! *= this.denseWeight;
    const sparse = this.sparse.embedSync(texts);
    return { kind: 'mixed', rows: texts.length, dim: this.dim, dense, sparse };
  }

  dispose(): void {
    this.dense.dispose?.();
  }
}
