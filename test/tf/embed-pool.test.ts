/** The embedding worker pool on the real USE-lite, the cross-thread host, and the cached embedder in front of them. */
import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import { EmbeddingCache } from '../../src/store/embedding-cache.js';
import { CachedEmbedder } from '../../src/tf/cached-embedder.js';
import { connectEmbedder, hostEmbedder } from '../../src/tf/embed-channel.js';
import { EmbedPool } from '../../src/tf/embed-pool.js';
import type { DenseFeatures, Embedder } from '../../src/tf/embedder.js';
import { initTfRuntime } from '../../src/tf/runtime.js';
import { UseEmbedder, useWeightsPackageDir } from '../../src/tf/use-embedder.js';
import { workerBootstrap } from '../../src/util/worker-bootstrap.js';
import { tempDir } from '../helpers/server.js';

const TEXTS = ['Where is my card?', 'I want a refund.', '', 'The app keeps crashing when I open it.', 'Can I change my PIN at a cash machine?', 'exchange rate for euros'];

function expectSameRows(a: DenseFeatures, b: DenseFeatures): void {
  expect(a.rows).to.equal(b.rows);
  for (let i = 0; i < a.values.length; i++) if (Math.abs(a.values[i]! - b.values[i]!) > 1e-5) expect.fail(`rows differ at ${i}: ${a.values[i]} vs ${b.values[i]}`);
}

describe('tf/embed-pool: USE-lite in worker threads', function () {
  this.timeout(120_000);
  const dir = useWeightsPackageDir()!;
  let pool: EmbedPool;
  let direct: UseEmbedder;

  before(async () => {
    await initTfRuntime();
    [pool, direct] = await Promise.all([EmbedPool.start({ dir, workers: 2, chunkSize: 2 }), UseEmbedder.load(dir, { verify: false })]);
  });
  after(async () => {
    await pool.close();
    direct.dispose();
  });

  it('gives the rows the encoder gives in this thread, in order, over several workers', async () => {
    expect(pool.id).to.equal(direct.id);
    const rows = await pool.embed(TEXTS, { priority: 'bulk' });
    expectSameRows(rows, await direct.embed(TEXTS));
    expect(pool.stats.workers).to.equal(2);
  });

  it('serves interactive requests before queued bulk work', async () => {
    const one = await EmbedPool.start({ dir, workers: 1, chunkSize: 4 });
    try {
      const finished: string[] = [];
      const bulkTexts = Array.from({ length: 160 }, (_, i) => `bulk sentence number ${i} about a bank transfer`);
      const bulk = one.embed(bulkTexts, { priority: 'bulk' }).then(() => finished.push('bulk'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(one.stats.queued.bulk).to.be.greaterThan(10);
      const interactive = one.embed(['is my card blocked?'], { priority: 'interactive' }).then(() => finished.push('interactive'));
      await Promise.all([bulk, interactive]);
      expect(finished).to.deep.equal(['interactive', 'bulk']);
    } finally {
      await one.close();
    }
  });

  it('replaces a worker that did bulk work once the pool is idle, and keeps serving', async () => {
    const one = await EmbedPool.start({ dir, workers: 1, recycleIdleMs: 300 });
    try {
      await one.embed(['interactive work keeps a worker'], { priority: 'interactive' });
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(one.stats.recycled).to.equal(0);
      await one.embed(['a training embeds', 'many texts'], { priority: 'bulk' });
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(one.stats.recycled).to.equal(1);
      expect(one.stats.workers).to.equal(1);
      expectSameRows(await one.embed(['after the swap']), await direct.embed(['after the swap']));
    } finally {
      await one.close();
    }
  });

  it('a pool that cannot load its files fails to start with a clear error', async () => {
    try {
      await EmbedPool.start({ dir: tempDir('no-use-'), workers: 1 });
      expect.fail('expected a start failure');
    } catch (error) {
      expect((error as Error).message).to.match(/embedding worker could not start/);
    }
  });

  it('the persistent cache in front embeds each text once, across instances', async () => {
    const modelDir = tempDir();
    const counting: Embedder & { texts: number } = {
      id: pool.id,
      kind: 'dense',
      dim: pool.dim,
      texts: 0,
      embed(texts, options) {
        this.texts += texts.length;
        return pool.embed(texts, options);
      },
    };
    const first = new CachedEmbedder(counting, EmbeddingCache.open(modelDir), { blockSize: 2 });
    const progress: number[] = [];
    const rows = await first.embed([...TEXTS, TEXTS[0]!], { onProgress: (done) => progress.push(done) });
    expect(counting.texts).to.equal(TEXTS.length);
    expect(progress.at(-1)).to.equal(TEXTS.length + 1);
    // A new process (another cache connection) finds every row.
    const second = new CachedEmbedder(counting, EmbeddingCache.open(modelDir));
    expectSameRows(await second.embed(TEXTS), { ...rows, rows: TEXTS.length, values: rows.values.slice(0, TEXTS.length * 512) });
    expect(counting.texts).to.equal(TEXTS.length);
    expect(second.stats).to.deep.equal({ hits: TEXTS.length, misses: 0 });
  });

  it('is reachable from another thread through the host channel', async () => {
    const name = `test-embed-${process.pid}-${Date.now()}`;
    hostEmbedder(name, pool);
    const expected = await direct.embed(['card arrived damaged']);
    // A worker thread connects and embeds through this thread's pool.
    const source = `import { parentPort, workerData } from 'node:worker_threads';
      const { connectEmbedder } = await import(workerData.module);
      const remote = await connectEmbedder(workerData.name);
      const rows = await remote.embed(['card arrived damaged'], { priority: 'bulk' });
      parentPort.postMessage({ id: remote.id, values: rows.values });
      remote.dispose();`;
    const moduleUrl = new URL('../../src/tf/embed-channel.ts', import.meta.url);
    const wrapper = workerBootstrap(new URL(`data:text/javascript,${encodeURIComponent(source)}`));
    const worker = new Worker(wrapper, { eval: true, workerData: { module: moduleUrl.href, name } });
    const reply = await new Promise<{ id: string; values: Float32Array }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(reply.id).to.equal(pool.id);
    expectSameRows({ ...expected, values: reply.values }, expected);
    expect(await connectEmbedder(`${name}-nobody`, 200)).to.equal(null);
  });
});
