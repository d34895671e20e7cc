/**
 * Which sentence embedder the classifier uses, chosen once per process (EMBEDDER):
 * - `auto` (default): USE-lite if its verified weights are at USE_MODEL_DIR or in the cache
 *   directory (or can be downloaded there once), else the offline hashed n-gram encoder, with one
 *   warning saying how to get USE;
 * - `use`: USE-lite or a start-up error that says how to get the weights;
 * - `hashed`: the offline encoder (no weights, deterministic).
 * Rows are cached by text, so retraining only embeds texts it has not seen.
 */
import fs from 'node:fs';
import {
  CachedEmbedder, ConfigError, HashedNgramEmbedder, TEXT_CLASSIFIER_SETTINGS, UseEmbedder, downloadUseFiles, locateUseWeights, missingUseWeightsMessage, readSettings, type UseCatalog,
} from '../../src/index.js';
import { HASHED_OPTIONS } from './recipe.js';

export type EmbedderChoice = 'auto' | 'use' | 'hashed';

export interface EmbedderSettings {
  choice: EmbedderChoice;
  /** USE_MODEL_DIR: a directory holding the nine USE-lite files. */
  useModelDir: string | undefined;
  /** USE_CACHE_DIR: where a one-time download lands (default .cache/use-lite). */
  cacheDir: string;
  /** USE_DOWNLOAD: try the pinned URLs when no verified copy exists (default true). */
  download: boolean;
  /** USE_CATALOG: a JSON catalogue to verify against instead of the pinned one (mirrors, test models). */
  catalog: UseCatalog | undefined;
}

/** The settings as declared in TEXT_CLASSIFIER_SETTINGS (read, checked and documented with the server's). */
export function embedderSettingsFromEnv(env: Record<string, string | undefined> = process.env): EmbedderSettings {
  const settings = readSettings(TEXT_CLASSIFIER_SETTINGS, env);
  let catalog: UseCatalog | undefined;
  if (settings.useCatalog !== undefined) {
    try {
      catalog = JSON.parse(fs.readFileSync(settings.useCatalog, 'utf8')) as UseCatalog;
    } catch (error) {
      throw new ConfigError(`USE_CATALOG=${JSON.stringify(settings.useCatalog)} is not a readable JSON catalogue: ${(error as Error).message}`);
    }
  }
  return { choice: settings.embedder, useModelDir: settings.useModelDir, cacheDir: settings.useCacheDir, download: settings.useDownload, catalog };
}

export interface LoadedEmbedder {
  embedder: CachedEmbedder;
  /** Why USE is not in use, when it is not. */
  fallbackReason?: string;
}

async function findOrFetchUse(settings: EmbedderSettings): Promise<{ dir: string } | { reason: string }> {
  const candidates = [settings.useModelDir, settings.cacheDir].filter((dir): dir is string => Boolean(dir));
  const found = await locateUseWeights(candidates, settings.catalog);
  if (found) return { dir: found };
  if (!settings.download) return { reason: missingUseWeightsMessage(candidates) };
  try {
    await downloadUseFiles(settings.cacheDir, settings.catalog ? { catalog: settings.catalog } : {});
    return { dir: settings.cacheDir };
  } catch (error) {
    return { reason: `${missingUseWeightsMessage(candidates)} (download failed: ${(error as Error).message})` };
  }
}

export async function loadEmbedder(settings: EmbedderSettings = embedderSettingsFromEnv()): Promise<LoadedEmbedder> {
  if (settings.choice === 'hashed') return { embedder: new CachedEmbedder(new HashedNgramEmbedder(HASHED_OPTIONS)) };
  const use = await findOrFetchUse(settings);
  if ('dir' in use) {
    const encoder = await UseEmbedder.load(use.dir, settings.catalog ? { catalog: settings.catalog } : {});
    return { embedder: new CachedEmbedder(encoder) };
  }
  if (settings.choice === 'use') throw new ConfigError(`EMBEDDER=use: ${use.reason}`);
  return { embedder: new CachedEmbedder(new HashedNgramEmbedder(HASHED_OPTIONS)), fallbackReason: use.reason };
}
