/**
 * Settings of the models bundled with this package, declared like the server's so they are read,
 * checked and documented the same way. A model reads its own with `readSettings(SCHEMA)`.
 */
import os from 'node:os';
import { ENCODER_CHOICES, SCORE_METHODS } from './choices.js';
import { boolean, choice, filePath, integer, type SettingsSchema } from './settings.js';

/** One embedding thread per core, less the one that serves HTTP and trains heads (1 to 4). */
export function defaultEmbedWorkers(cores = os.availableParallelism()): number {
  return Math.min(4, Math.max(1, cores - 1));
}

/** The text encoders (src/tf) and the text classifier (examples/text-classifier). */
export const TEXT_CLASSIFIER_SETTINGS = {
  embedder: choice({
    env: 'EMBEDDER',
    choices: ENCODER_CHOICES,
    default: 'auto',
    doc: '`auto`: USE-lite beside hashed n-grams when USE-lite is found (always after `npm ci`), else the n-grams with a warning; `combined`, `use` or `hashed` force one',
  }),
  useModelDir: filePath({ env: 'USE_MODEL_DIR', doc: 'another copy of the nine USE-lite files, tried before the npm package' }),
  useCacheDir: filePath({ env: 'USE_CACHE_DIR', default: '.cache/use-lite', doc: '`fetch-model` (and USE_DOWNLOAD) put the USE-lite files here; also searched' }),
  useDownload: boolean({ env: 'USE_DOWNLOAD', default: true, doc: 'download USE-lite once when no verified copy exists' }),
  useCatalog: filePath({ env: 'USE_CATALOG', doc: 'a JSON catalogue to verify the USE files against instead of the pinned one (mirrors, test models)' }),
  embedWorkers: integer({ env: 'EMBED_WORKERS', default: defaultEmbedWorkers(), shown: 'cores − 1 (1–4)', min: 1, max: 64, doc: 'USE embedding threads (`/predict` work goes before training work)' }),
  embedCacheMb: integer({ env: 'EMBED_CACHE_MB', default: 512, min: 0, max: 1_048_576, doc: 'bound of the persistent embedding cache `MODEL_DIR/embeddings.sqlite` (0 = memory only)' }),
  scoreMethod: choice({ env: 'SCORE_METHOD', choices: SCORE_METHODS, default: 'margin', doc: 'the prediction `score` (a confidence; sort ascending for the most uncertain first)' }),
} satisfies SettingsSchema;

/** Every bundled model's settings, by title, for the README. */
export const BUNDLED_MODEL_SETTINGS: ReadonlyArray<{ title: string; schema: SettingsSchema }> = [
  { title: 'Text encoders and the text classifier (`examples/text-classifier`)', schema: TEXT_CLASSIFIER_SETTINGS },
];
