/**
 * The training recipe of the text classifier: encoder settings, whether to weight sparse
 * features by idf, and the head's training options for a given data size. Tuned on the train
 * splits of the bundled benchmark data (scripts/quality-offline.ts), never on their test splits.
 */
import type { HashedNgramOptions } from '../../src/tf/hashed-ngram-embedder.js';
import type { TrainOptions } from './head.js';

/** Offline encoder settings (they are part of the embedder id stored with checkpoints). */
export const HASHED_OPTIONS: Partial<HashedNgramOptions> = {};

export interface Recipe {
  /** Weight sparse features by idf fitted on the training texts (saved with the head). */
  idf: boolean;
  hidden: number;
  train: Partial<TrainOptions>;
}

export function recipeFor(samples: number, classes: number): Recipe {
  void samples;
  void classes;
  return { idf: false, hidden: 0, train: {} };
}
