/**
 * The text encoder a classifier uses, assembled from the settings (EMBEDDER ...):
 * USE-lite rows come from the persistent embedding cache first, then from the process's one
 * pool of embedding threads (hosted by the server, reached from the training worker);
 * the combined encoder puts them beside hashed n-grams. Built once per process and MODEL_DIR.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { EmbeddingCache } from '../store/embedding-cache.js';
import { CachedEmbedder, MemoryRowCache } from './cached-embedder.js';
import { CombinedEmbedder } from './combined-embedder.js';
import { connectEmbedder, hostEmbedder } from './embed-channel.js';
import { EmbedPool } from './embed-pool.js';
import type { DenseFeatures, EmbedOptions, Embedder, RowCache } from './embedder.js';
import type { EncoderSettings } from './encoder-settings.js';
import { HashedNgramEmbedder, type HashedNgramOptions } from './hashed-ngram-embedder.js';
import { getTfRuntimeInfo } from './runtime.js';
import { locateUseWeights, missingUseWeightsMessage, useWeightsPackageDir } from './use-embedder.js';
import { downloadUseFiles } from './use-files.js';

/**
 * Feature settings, tuned on held-out parts of the benchmark sets' train splits (never on their
 * test splits). The hashed encoder alone needs many buckets (collisions cost accuracy); beside
 * USE, fewer suffice and keep the head small.
 */
export const HASHED_ALONE: Readonly<Partial<HashedNgramOptions>> = Object.freeze({ wordBuckets: 65536, charBuckets: 65536 });
export interface EncoderTuning {
  /** Scale of the USE rows beside the n-gram block. */
  denseWeight: number;
  wordBuckets: number;
  charBuckets: number;
  /** Scale of the character n-gram block beside the word n-gram block. */
  charWeight: number;
}
export const DEFAULT_ENCODER_TUNING: Readonly<EncoderTuning> = Object.freeze({ denseWeight: 1, wordBuckets: 32768, charBuckets: 32768, charWeight: 0.5 });

export interface TextEncoderContext {
  /** MODEL_DIR: the persistent embedding cache lives there. */
  modelDir: string;
  /** 'serve' hosts the embedding pool for the process; 'train' uses the host's when there is one. */
  purpose: 'serve' | 'train';
  logger?: { warn(obj: object | string, msg?: string): void };
}

export interface TextEncoder {
  embedder: Embedder;
  /** The cached USE-lite rows inside `embedder` (texts served from the cache, texts embedded). */
  cached?: CachedEmbedder;
  /** Why USE-lite is not used, when EMBEDDER=auto fell back to the hashed encoder. */
  fallbackReason?: string;
}

const pools = new Map<string, Promise<EmbedPool>>();
const caches = new Map<string, RowCache>();

export async function loadTextEncoder(settings: EncoderSettings, context: TextEncoderContext): Promise<TextEncoder> {
  if (settings.embedder === 'hashed') return { embedder: new HashedNgramEmbedder(HASHED_ALONE) };
  const found = await findUseWeights(settings);
  if ('reason' in found) {
    if (settings.embedder !== 'auto') throw new ConfigError(`EMBEDDER=${settings.embedder}: ${found.reason}`);
    context.logger?.warn({ reason: found.reason }, 'USE-lite unavailable: using the offline hashed n-gram encoder');
    return { embedder: new HashedNgramEmbedder(HASHED_ALONE), fallbackReason: found.reason };
  }
  const use = new CachedEmbedder(await usePool(found.dir, settings, context), rowCache(context.modelDir, settings.embedCacheMb, context));
  if (settings.embedder === 'use') return { embedder: use, cached: use };
  const t = DEFAULT_ENCODER_TUNING;
  const hashed = new HashedNgramEmbedder({ wordBuckets: t.wordBuckets, charBuckets: t.charBuckets, charWeight: t.charWeight });
  return { embedder: new CombinedEmbedder(use, hashed, { denseWeight: t.denseWeight }), cached: use };
}

/** USE_MODEL_DIR, then the weights package, then USE_CACHE_DIR (downloading there if allowed). */
async function findUseWeights(settings: EncoderSettings): Promise<{ dir: string } | { reason: string }> {
  const candidates = [settings.useModelDir, useWeightsPackageDir(), settings.useCacheDir].filter((dir): dir is string => Boolean(dir));
  const found = await locateUseWeights(candidates, settings.useCatalog);
  if (found) return { dir: found };
  if (!settings.useDownload) return { reason: missingUseWeightsMessage(candidates) };
  try {
    await downloadUseFiles(settings.useCacheDir, settings.useCatalog ? { catalog: settings.useCatalog } : {});
    return { dir: settings.useCacheDir };
  } catch (error) {
    return { reason: `${missingUseWeightsMessage(candidates)} (download failed: ${(error as Error).message})` };
  }
}

/** USE-lite's id (as UseEmbedder computes it) without loading the graph. */
export function useEncoderId(dir: string): string {
  return `use-lite@${createHash('sha256').update(readFileSync(join(dir, 'model.json'))).digest('hex').slice(0, 12)}`;
}

const USE_DIM = 512;

/**
 * The process's pool for `dir`: started and hosted by the server; in the training worker, the
 * server's (over a BroadcastChannel), else one of its own started on first use.
 */
async function usePool(dir: string, settings: EncoderSettings, context: TextEncoderContext): Promise<Embedder> {
  const id = useEncoderId(dir);
  const channel = `label-studio-ml-tfjs/embed/${id}`;
  const start = (): Promise<EmbedPool> => {
    let pool = pools.get(dir);
    if (!pool) {
      const backend = getTfRuntimeInfo()?.backend;
      pool = EmbedPool.start({ dir, workers: settings.embedWorkers, ...(backend === 'cpu' ? { tfjsBackend: 'cpu' as const } : {}) });
      pools.set(dir, pool);
      pool.catch(() => pools.delete(dir));
    }
    return pool;
  };
  if (context.purpose === 'serve') {
    const pool = await start();
    hostEmbedder(channel, pool);
    return pool;
  }
  const remote = await connectEmbedder(channel);
  return remote ?? lazyEmbedder(id, USE_DIM, start);
}

/** An embedder that starts `start()` on its first embed (a fully cached training never does). */
export function lazyEmbedder(id: string, dim: number, start: () => Promise<Embedder>): Embedder {
  let inner: Promise<Embedder> | undefined;
  return {
    id,
    kind: 'dense',
    dim,
    async embed(texts: readonly string[], options?: EmbedOptions): Promise<DenseFeatures> {
      inner ??= start();
      const embedder = await inner;
      if (embedder.id !== id || embedder.dim !== dim) throw new ConfigError(`encoder ${embedder.id} (${embedder.dim}-d) started where ${id} (${dim}-d) was expected`);
      return (await embedder.embed(texts, options)) as DenseFeatures;
    },
  };
}

function rowCache(modelDir: string, maxMb: number, context: TextEncoderContext): RowCache {
  const key = `${modelDir}\u0000${maxMb}`;
  let cache = caches.get(key);
  if (!cache) {
    cache = maxMb === 0 ? new MemoryRowCache() : EmbeddingCache.open(modelDir, { maxBytes: maxMb * 1024 * 1024, onProblem: (message) => context.logger?.warn({}, message) });
    caches.set(key, cache);
  }
  return cache;
}
