/**
 * Inverse document frequency for sparse features, fitted on the training texts and saved with
 * the head: rare n-grams weigh more than common ones (what TF-IDF gives the reference pipeline).
 * Applied after embedding, so the embedder stays stateless and its rows stay cacheable by text.
 */
import type { SparseFeatures } from './embedder.js';

/** Smoothed idf per bucket (index = bucket id): ln((1 + n) / (1 + df)) + 1; unseen buckets get the maximum. */
export function fitIdf(x: SparseFeatures): Float32Array {
  const df = new Uint32Array(x.dim + 1);
  for (let j = 0; j < x.ids.length; j++) if (x.weights[j] !== 0) df[x.ids[j]!]!++;
  const n = x.rows;
  return Float32Array.from(df, (count) => Math.log((1 + n) / (1 + count)) + 1);
}

/**
 * Multiplies each weight by its bucket's idf and re-normalises every row to unit length,
 * leaving the constant bias bucket (`biasId`) at weight 1.
 */
export function applyIdf(x: SparseFeatures, idf: Float32Array, biasId = x.dim): SparseFeatures {
  const weights = new Float32Array(x.weights.length);
  for (let r = 0; r < x.rows; r++) {
    const start = x.offsets[r]!;
    const end = x.offsets[r + 1]!;
    let norm = 0;
    for (let j = start; j < end; j++) {
      const id = x.ids[j]!;
      if (id === biasId) continue;
      const w = x.weights[j]! * (idf[id] ?? 1);
      weights[j] = w;
      norm += w * w;
    }
    const k = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let j = start; j < end; j++) weights[j] = x.ids[j] === biasId ? 1 : weights[j]! * k;
  }
  return { ...x, weights };
}
