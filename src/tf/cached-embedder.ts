/**
 * A dense embedder behind a row cache keyed by (encoder id, text): each text is embedded once,
 * whoever asks first (/predict, a training, another process sharing the cache file). Misses go
 * to the wrapped embedder in blocks of similar lengths, each stored as soon as it is done, so an
 * interrupted training keeps what it embedded.
 */
import type { DenseFeatures, EmbedOptions, Embedder, RowCache } from './embedder.js';

export interface CachedEmbedderOptions {
  /** Texts per call to the wrapped embedder (and per cache write). @default 256 */
  blockSize?: number;
}

export class CachedEmbedder implements Embedder {
  readonly id: string;
  readonly kind = 'dense' as const;
  readonly dim: number;
  readonly #inner: Embedder;
  readonly #cache: RowCache;
  readonly #blockSize: number;
  #hits = 0;
  #misses = 0;

  constructor(inner: Embedder, cache: RowCache, options: CachedEmbedderOptions = {}) {
    if (inner.kind !== 'dense') throw new TypeError(`CachedEmbedder caches dense rows; ${inner.id} is ${inner.kind}`);
    this.#inner = inner;
    this.#cache = cache;
    this.id = inner.id;
    this.dim = inner.dim;
    this.#blockSize = options.blockSize ?? 256;
  }

  /** Texts served from the cache and texts embedded, since construction. */
  get stats(): { hits: number; misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<DenseFeatures> {
    const unique = [...new Set(texts)];
    const found = new Map<string, Float32Array>();
    this.#cache.getMany(this.id, unique).forEach((row, i) => {
      if (row) found.set(unique[i]!, row);
    });
    const missing = unique.filter((text) => !found.has(text)).sort((a, b) => a.length - b.length);
    this.#hits += texts.length - missing.length;
    this.#misses += missing.length;
    let done = texts.length - missing.length;
    options.onProgress?.(done, texts.length);
    const blocks: Array<Promise<void>> = [];
    for (let start = 0; start < missing.length; start += this.#blockSize) {
      const block = missing.slice(start, start + this.#blockSize);
      blocks.push(
        this.#inner.embed(block, { ...(options.priority ? { priority: options.priority } : {}) }).then((features) => {
          if (features.kind !== 'dense' || features.rows !== block.length) throw new Error(`embedder ${this.id} returned ${features.rows} rows for ${block.length} texts`);
          const rows = block.map((_, i) => features.values.slice(i * this.dim, (i + 1) * this.dim));
          block.forEach((text, i) => found.set(text, rows[i]!));
          this.#cache.putMany(this.id, block, rows);
          done += block.length;
          options.onProgress?.(Math.min(done, texts.length), texts.length);
        }),
      );
    }
    await Promise.all(blocks);
    const values = new Float32Array(texts.length * this.dim);
    texts.forEach((text, i) => values.set(found.get(text)!, i * this.dim));
    return { kind: 'dense', rows: texts.length, dim: this.dim, values };
  }

  dispose(): void {
    this.#inner.dispose?.();
  }
}

/** An in-memory RowCache (least recently used rows go first): for tests and cache-less setups. */
export class MemoryRowCache implements RowCache {
  readonly #rows = new Map<string, Float32Array>();
  readonly #maxEntries: number;

  constructor(maxEntries = 50_000) {
    this.#maxEntries = maxEntries;
  }

  getMany(encoderId: string, texts: readonly string[]): Array<Float32Array | undefined> {
    return texts.map((text) => {
      const key = `${encoderId}\u0000${text}`;
      const row = this.#rows.get(key);
      if (row) {
        // Map order is insertion order: re-inserting marks the row as recently used.
        this.#rows.delete(key);
        this.#rows.set(key, row);
      }
      return row;
    });
  }

  putMany(encoderId: string, texts: readonly string[], rows: readonly Float32Array[]): void {
    texts.forEach((text, i) => this.#rows.set(`${encoderId}\u0000${text}`, rows[i]!));
    while (this.#rows.size > this.#maxEntries) this.#rows.delete(this.#rows.keys().next().value as string);
  }
}
