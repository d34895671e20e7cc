/**
 * The prediction `score` Label Studio stores and sorts by. It is a confidence: HIGH = the model
 * is sure, LOW = uncertain. Sort tasks by "Prediction score" ascending in the Data Manager to
 * review the most uncertain first (uncertainty sampling).
 *
 * - least_confidence: probability of the predicted choice (multi-label: mean of max(p, 1-p)).
 * - margin: p(best) - p(second best) (multi-label: smallest |2p - 1| over the choices).
 * - entropy: 1 - H(p) / log(K) (multi-label: 1 - mean binary entropy).
 */
import { SCORE_METHODS, type ScoreMethod } from '../config/choices.js';

export { SCORE_METHODS, type ScoreMethod };

export function isScoreMethod(value: unknown): value is ScoreMethod {
  return typeof value === 'string' && (SCORE_METHODS as readonly string[]).includes(value);
}

/** Confidence in [0, 1] of one single-label probability row. */
export function singleLabelScore(probs: ArrayLike<number>, method: ScoreMethod): number {
  const k = probs.length;
  if (k === 0) return 0;
  let best = -Infinity;
  let second = -Infinity;
  let entropy = 0;
  for (let i = 0; i < k; i++) {
    const p = probs[i]!;
    if (p > best) {
      second = best;
      best = p;
    } else if (p > second) second = p;
    if (p > 0) entropy -= p * Math.log(p);
  }
  if (method === 'least_confidence') return best;
  if (method === 'margin') return k === 1 ? 1 : best - second;
  return k === 1 ? 1 : 1 - entropy / Math.log(k);
}

/** Confidence in [0, 1] of independent per-choice probabilities (multi-label). */
export function multiLabelScore(probs: ArrayLike<number>, method: ScoreMethod): number {
  const k = probs.length;
  if (k === 0) return 0;
  let sum = 0;
  let min = Infinity;
  for (let i = 0; i < k; i++) {
    const p = Math.min(1, Math.max(0, probs[i]!));
    if (method === 'least_confidence') sum += Math.max(p, 1 - p);
    else if (method === 'margin') min = Math.min(min, Math.abs(2 * p - 1));
    else sum += p <= 0 || p >= 1 ? 0 : -(p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
  }
  if (method === 'least_confidence') return sum / k;
  if (method === 'margin') return min;
  return 1 - sum / k;
}
