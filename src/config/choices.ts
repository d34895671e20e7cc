/** Word lists that settings accept, in a module without dependencies (the CLI's --help imports it). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const TF_BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type TfBackendChoice = (typeof TF_BACKENDS)[number];
export const TRAINING_THREADS = ['worker', 'main'] as const;
/** EMBEDDER: combined = USE-lite beside hashed n-grams (src/tf/text-encoder.ts). */
export const ENCODER_CHOICES = ['auto', 'combined', 'use', 'hashed'] as const;
export type EncoderChoice = (typeof ENCODER_CHOICES)[number];
/** SCORE_METHOD: what a prediction's `score` measures (src/tf/sampling-scores.ts). */
export const SCORE_METHODS = ['margin', 'least_confidence', 'entropy'] as const;
export type ScoreMethod = (typeof SCORE_METHODS)[number];
export const PREDICTION_REFRESH_MODES = ['auto', 'off'] as const;
export const OLD_PREDICTION_VERSIONS = ['delete', 'keep'] as const;
/** What a process does in distributed mode (REDIS_URL): serve Label Studio, train, or both. */
export const ROLES = ['all', 'api', 'trainer'] as const;
export type Role = (typeof ROLES)[number];
