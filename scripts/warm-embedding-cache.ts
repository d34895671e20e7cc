/**
 * Embeds the shared data sets (train and test splits) with USE-lite into a MODEL_DIR's
 * persistent embedding cache, so quality runs, simulations and benchmarks that point at that
 * MODEL_DIR never embed a text twice.
 *
 *   npx tsx scripts/warm-embedding-cache.ts --model-dir /path/outside/the/repo [--workers 2] [dataset ...]
 */
import { parseArgs } from 'node:util';
import { CachedEmbedder, EmbedPool, EmbeddingCache, locateUseWeights, useWeightsPackageDir } from '../src/index.js';
import { DATASETS, loadSplit } from './lib/datasets.js';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'model-dir': { type: 'string' }, workers: { type: 'string', default: '2' } },
});
if (!args['model-dir']) throw new Error('--model-dir is required (a directory outside the repository)');
const dir = await locateUseWeights([useWeightsPackageDir()].filter((d): d is string => d !== null));
if (dir === null) throw new Error('USE-lite weights not found: run npm ci');
const cache = EmbeddingCache.open(args['model-dir']);
const pool = await EmbedPool.start({ dir, workers: Number(args.workers) });
const embedder = new CachedEmbedder(pool, cache);
for (const name of positionals.length > 0 ? positionals : DATASETS) {
  const split = loadSplit({ dataset: name });
  const texts = [...split.train, ...split.test].map((row) => row.text);
  const t0 = performance.now();
  const before = embedder.stats.misses;
  await embedder.embed(texts, { priority: 'bulk', onProgress: (done, total) => process.stderr.write(`\r${name}: ${done}/${total}`) });
  const embedded = embedder.stats.misses - before;
  const s = (performance.now() - t0) / 1000;
  console.log(`\n${name}: ${texts.length} texts, ${embedded} embedded in ${s.toFixed(1)} s (${(embedded / s).toFixed(1)} texts/s)`);
}
console.log('cache', cache.stats);
await pool.close();
cache.close();
