/**
 * Settings of the models bundled with this package, declared like the server's so they are read,
 * checked and documented the same way. A model reads its own with `readSettings(SCHEMA)`.
 */
import { boolean, choice, filePath, type SettingsSchema } from './settings.js';

/** The text classifier (examples/text-classifier). */
export const TEXT_CLASSIFIER_SETTINGS = {
  embedder: choice({ env: 'EMBEDDER', choices: ['auto', 'use', 'hashed'] as const, default: 'auto', doc: 'USE-lite when its verified weights are found, else the offline hashed n-gram encoder (`auto`); `use` or `hashed` force one' }),
  useModelDir: filePath({ env: 'USE_MODEL_DIR', doc: 'a directory holding the nine USE-lite files' }),
  useCacheDir: filePath({ env: 'USE_CACHE_DIR', default: '.cache/use-lite', doc: 'where a one-time USE-lite download lands' }),
  useDownload: boolean({ env: 'USE_DOWNLOAD', default: true, doc: 'download USE-lite once when no verified copy exists' }),
  useCatalog: filePath({ env: 'USE_CATALOG', doc: 'a JSON catalogue to verify the USE files against instead of the pinned one (mirrors, test models)' }),
  scoreMethod: choice({ env: 'SCORE_METHOD', choices: ['least_confidence', 'margin', 'entropy'] as const, default: 'least_confidence', doc: 'the prediction `score` (a confidence; sort ascending for the most uncertain first)' }),
} satisfies SettingsSchema;

/** Every bundled model's settings, by title, for the README. */
export const BUNDLED_MODEL_SETTINGS: ReadonlyArray<{ title: string; schema: SettingsSchema }> = [
  { title: 'Text classifier (`examples/text-classifier`)', schema: TEXT_CLASSIFIER_SETTINGS },
];
