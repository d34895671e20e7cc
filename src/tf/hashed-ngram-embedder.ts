/**
 * Offline sentence encoder: signed feature hashing of word n-grams and character n-grams
 * (within word boundaries) into two bucket blocks. No vocabulary, no weights, no state:
 * the same text always gives the same sparse row, on any machine.
 */
import type { Embedder, SparseFeatures } from './embedder.js';

export interface HashedNgramOptions {
  /** Buckets of the word n-gram block. */
  wordBuckets: number;
  /** Buckets of the character n-gram block (0 disables it). */
  charBuckets: number;
  /** Word n-gram lengths, inclusive range. */
  wordNgrams: readonly [number, number];
  /** Character n-gram lengths, inclusive range. */
  charNgrams: readonly [number, number];
  /** Scale of the (L2-normalised) character block relative to the word block. */
  charWeight: number;
  /** Count weighting per n-gram: 1 + log(tf) damps repeated terms. */
  sublinearTf: boolean;
  /** Hash seed; change it to get an independent hashing. */
  seed: number;
}

export const DEFAULT_HASHED_NGRAM_OPTIONS: Readonly<HashedNgramOptions> = Object.freeze({
  wordBuckets: 8192,
  charBuckets: 8192,
  wordNgrams: [1, 2] as const,
  charNgrams: [3, 5] as const,
  charWeight: 0.5,
  sublinearTf: true,
  seed: 0x9747b28c,
});

/** FNV-1a over UTF-16 code units, finished with murmur3's fmix32 for good low bits. */
export function hash32(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const WORD = /[\p{L}\p{N}]+/gu;
const SPACE = /\s+/u;

/** NFKC + lowercase, so full-width, ligature and case variants share n-grams. */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

function countInto(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function wordNgramCounts(text: string, [lo, hi]: readonly [number, number]): Map<string, number> {
  const words = text.match(WORD) ?? [];
  const counts = new Map<string, number>();
  for (let n = lo; n <= hi; n++) {
    for (let i = 0; i + n <= words.length; i++) countInto(counts, words.slice(i, i + n).join(' '));
  }
  return counts;
}

/** Like scikit-learn's `char_wb`: n-grams of each whitespace token padded with spaces. */
function charNgramCounts(text: string, [lo, hi]: readonly [number, number]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const token of text.split(SPACE)) {
    if (token === '') continue;
    const padded = ` ${token} `;
    for (let n = lo; n <= hi; n++) {
      if (padded.length <= n) {
        countInto(counts, padded);
        break;
      }
      for (let i = 0; i + n <= padded.length; i++) countInto(counts, padded.slice(i, i + n));
    }
  }
  return counts;
}

/** Hashes counts into `row` (bucket id -> value), L2-normalised and scaled as a block. */
function addBlock(
  row: Map<number, number>,
  counts: Map<string, number>,
  offset: number,
  buckets: number,
  scale: number,
  opts: HashedNgramOptions,
): void {
  const block = new Map<number, number>();
  for (const [gram, count] of counts) {
    const h = hash32(gram, opts.seed);
    const id = offset + 1 + (h % buckets);
    const sign = h & 0x80000000 ? -1 : 1;
    const tf = opts.sublinearTf ? 1 + Math.log(count) : count;
    block.set(id, (block.get(id) ?? 0) + sign * tf);
  }
  let norm = 0;
  for (const v of block.values()) norm += v * v;
  if (norm === 0) return;
  const k = scale / Math.sqrt(norm);
  for (const [id, v] of block) if (v !== 0) row.set(id, v * k);
}

export class HashedNgramEmbedder implements Embedder {
  readonly id: string;
  readonly kind = 'sparse' as const;
  readonly dim: number;
  readonly options: Readonly<HashedNgramOptions>;

  constructor(options: Partial<HashedNgramOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULT_HASHED_NGRAM_OPTIONS, ...options });
    const o = this.options;
    if (!(o.wordBuckets >= 1) || !(o.charBuckets >= 0)) throw new RangeError('bucket counts must be positive');
    // Last bucket is a constant "bias" feature: every row, even an empty text, has one non-zero.
    this.dim = o.wordBuckets + o.charBuckets + 1;
    const params = JSON.stringify([o.wordBuckets, o.charBuckets, o.wordNgrams, o.charNgrams, o.charWeight, o.sublinearTf, o.seed]);
    this.id = `hashed-ngrams@v1:${hash32(params, 0).toString(16).padStart(8, '0')}`;
  }

  /** One text's non-zero buckets, as (id, weight) pairs. */
  embedOne(text: string): Map<number, number> {
    const o = this.options;
    const norm = normalizeText(text);
    const row = new Map<number, number>();
    addBlock(row, wordNgramCounts(norm, o.wordNgrams), 0, o.wordBuckets, 1, o);
    if (o.charBuckets > 0 && o.charWeight > 0) {
      addBlock(row, charNgramCounts(norm, o.charNgrams), o.wordBuckets, o.charBuckets, o.charWeight, o);
    }
    row.set(this.dim, 1);
    return row;
  }

  embed(texts: readonly string[]): Promise<SparseFeatures> {
    return Promise.resolve(this.embedSync(texts));
  }

  embedSync(texts: readonly string[]): SparseFeatures {
    const rows = texts.map((t) => this.embedOne(t));
    const offsets = new Int32Array(texts.length + 1);
    rows.forEach((row, r) => (offsets[r + 1] = offsets[r]! + row.size));
    const ids = new Int32Array(offsets[texts.length]!);
    const weights = new Float32Array(ids.length);
    rows.forEach((row, r) => {
      let j = offsets[r]!;
      for (const [id, w] of row) {
        ids[j] = id;
        weights[j++] = w;
      }
    });
    return { kind: 'sparse', rows: texts.length, dim: this.dim, offsets, ids, weights };
  }
}
