/**
 * The training recipe of the text classifier: encoder settings, whether to weight sparse
 * features by idf, and the head's training options for a given data size. Tuned on the train
 * splits of the bundled benchmark data (scripts/quality-offline.ts), never on their test splits.
 */
import type { HashedNgramOptions } from '../../src/index.js';
import type { TrainOptions } from './head.js';

/**
 * Offline encoder settings (they are part of the embedder id stored with checkpoints).
 * 64k buckets per block: with 8k, hash collisions cost 1-3 points of accuracy on small sets;
 * the linear head's training cost follows the non-zeros, not the bucket count.
 */
export const HASHED_OPTIONS: Partial<HashedNgramOptions> = { wordBuckets: 65536, charBuckets: 65536 };

/** Class weighting (n / (classes x count)) is on: it lifted macro-F1 on the imbalanced sms set. */
export interface Recipe {
  /** Weight sparse features by idf fitted on the training texts (saved with the head). */
  idf: boolean;
  hidden: number;
  train: Partial<TrainOptions>;
}

/** An epoch costs about samples x classes x non-zeros per row; above this, train briefly. */
const LARGE_WORK = 200_000;

/** Below this, a validation split is too small to choose epochs (active learning's first rounds). */
const TINY = 500;

export function recipeFor(samples: number, classes: number): Recipe {
  if (samples < TINY) {
    // A fixed, short schedule on every labelled row: a 10-row validation set picks epochs at random.
    return { idf: false, hidden: 0, train: { epochs: 10, learningRate: 0.05, validationSplit: 0, refit: false, classWeights: 'auto' } };
  }
  if (samples * Math.max(2, classes) >= LARGE_WORK) {
    // Many rows and classes: the linear head is within a point of its best after 2-3 epochs
    // at a higher rate; more epochs (and a refit) would multiply the fit time for little gain.
    return { idf: false, hidden: 0, train: { epochs: 3, learningRate: 0.1, patience: 1, refit: false, classWeights: 'auto' } };
  }
  // Small data: pick the epoch count on the validation rows (early stopping on accuracy), then
  // refit on all rows for that many epochs so no labelled row is left out of the final head.
  return { idf: false, hidden: 0, train: { epochs: 20, learningRate: 0.05, patience: 3, refit: true, classWeights: 'auto' } };
}
