/** USE-lite from the weights package in a pool of embedding threads, started on first use (scripts reading a warm cache never start it). */
import { EmbedPool, lazyEmbedder, useEncoderId, useWeightsPackageDir, type Embedder } from '../../src/index.js';

export function lazyUsePool(workers = Number(process.env.EMBED_WORKERS ?? 2)): Embedder & { close(): Promise<void> } {
  const dir = useWeightsPackageDir();
  if (dir === null) throw new Error('the USE-lite weights package is not installed: run npm ci');
  let pool: Promise<EmbedPool> | undefined;
  const embedder = lazyEmbedder(useEncoderId(dir), 512, () => (pool ??= EmbedPool.start({ dir, workers })));
  return { ...embedder, close: async () => (pool ? (await pool).close() : undefined) };
}
