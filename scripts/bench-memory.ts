/**
 * Memory of the text classifier server across 10k predictions: RSS (/proc/<pid>/status, and
 * GET /metrics mlbackend_process_resident_memory_bytes) and the live TF.js tensor count
 * (mlbackend_tfjs_tensors). TARGETS.md: RSS under 400 MB; tensor count flat (a leak shows here).
 *
 *   npx tsx scripts/bench-memory.ts     (BENCH_BACKENDS=wasm,cpu  BENCH_PREDICTIONS=10000)
 *
 * One server trains on sms-spam-collection train.csv (BENCH_TRAIN_EPOCHS=5; its RSS after training includes the
 * training worker thread, which stays up between jobs); then per TF.js backend a server serves
 * that checkpoint: warm-up over every test.csv text (so the embedding cache is full), then
 * 10k single-task /predict requests over the same texts on 8 connections.
 * Writes bench-results/bench-memory.json.
 */
import { readFileSync } from 'node:fs';
import { choicesConfig, labelsOf, loadRows, predictBodies, trainBody } from './lib/bench-data.js';
import { trainViaExport } from './lib/bench-flows.js';
import { runLoad } from './lib/bench-load.js';
import { TARGETS } from './lib/bench-reference.js';
import { metric, postJson, startClassifier, tempModelDir, type BenchServer } from './lib/bench-server.js';
import { announce, int, loadAverage, machineInfo, mark, mb, ms, printTable, writeResults } from './lib/bench-utils.js';

const DATASET = 'sms-spam-collection';
const PROJECT = 1;
const PREDICTIONS = Number(process.env.BENCH_PREDICTIONS ?? 10_000);
/** Epochs of the checkpoint's training: they change its weights, not its size. */
const EPOCHS = Number(process.env.BENCH_TRAIN_EPOCHS ?? 5);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'wasm,cpu').split(',').map((b) => b.trim()).filter(Boolean);

const machine = machineInfo();
announce('bench-memory', machine);
const train = loadRows(DATASET, 'train');
const testTexts = loadRows(DATASET, 'test').map((r) => r.text);
const config = choicesConfig(labelsOf(train));

interface Snapshot {
  rss_bytes: number;
  peak_rss_bytes: number;
  metrics_rss_bytes: number | null;
  heap_used_bytes: number | null;
  tensors: number | null;
  tfjs_bytes: number | null;
}

/** VmRSS / VmHWM of a process, in bytes. */
function procMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

async function snapshot(server: BenchServer): Promise<Snapshot> {
  const { rss, peak } = procMemory(server.pid);
  return {
    rss_bytes: rss,
    peak_rss_bytes: peak,
    metrics_rss_bytes: (await metric(server.url, 'mlbackend_process_resident_memory_bytes')) ?? null,
    heap_used_bytes: (await metric(server.url, 'mlbackend_nodejs_heap_size_used_bytes')) ?? null,
    tensors: (await metric(server.url, 'mlbackend_tfjs_tensors')) ?? null,
    tfjs_bytes: (await metric(server.url, 'mlbackend_tfjs_bytes')) ?? null,
  };
}

const modelDir = tempModelDir();
const rows: Array<{ label: string; backend: string; snap: Snapshot; note: string }> = [];
const predicted: Array<{ backend: string; requests: number; req_per_s: number; p99_ms: number; errors: number }> = [];
try {
  // The training server: what a server that has trained holds.
  const trainer = await startClassifier({ TFJS_BACKEND: BACKENDS[0] ?? 'cpu', TRAIN_EVERY_N_ANNOTATIONS: '0' }, { modelDir: modelDir.dir });
  try {
    rows.push({ label: 'trainer: started', backend: trainer.tfjsBackend, snap: await snapshot(trainer), note: '' });
    await postJson(trainer.url, '/setup', { project: String(PROJECT), schema: config, extra_params: { epochs: EPOCHS } });
    const job = await trainViaExport(trainer.url, trainBody(PROJECT, config, train));
    rows.push({ label: `trainer: after training ${int(train.length)} rows`, backend: trainer.tfjsBackend, snap: await snapshot(trainer), note: `worker alive; ${EPOCHS} epochs, ${ms(job.wallMs)}` });
  } finally {
    await trainer.stop();
  }

  for (const backend of BACKENDS) {
    const server = await startClassifier({ TFJS_BACKEND: backend, TRAIN_EVERY_N_ANNOTATIONS: '0' }, { modelDir: modelDir.dir });
    try {
      console.log(`[${backend}] server pid ${server.pid}, tfjs_backend=${server.tfjsBackend}`);
      rows.push({ label: 'server: started', backend: server.tfjsBackend, snap: await snapshot(server), note: '' });
      const warm = predictBodies(PROJECT, config, testTexts, Math.ceil(testTexts.length / 50), 50, null);
      await runLoad({ url: server.url, path: '/predict', connections: 1, durationS: 60, bodies: warm });
      const before = await snapshot(server);
      rows.push({ label: 'before: model loaded, cache warm', backend: server.tfjsBackend, snap: before, note: `${testTexts.length} texts warmed` });
      const bodies = predictBodies(PROJECT, config, testTexts, PREDICTIONS, 1, null);
      const load = await runLoad({ url: server.url, path: '/predict', connections: 8, durationS: 90, bodies });
      predicted.push({ backend: server.tfjsBackend, requests: load.requests, req_per_s: load.req_per_s, p99_ms: load.latency_ms.p99, errors: load.errors + load.non2xx });
      const after = await snapshot(server);
      rows.push({ label: `after ${int(load.requests)} predictions`, backend: server.tfjsBackend, snap: after, note: `tensors ${before.tensors === after.tensors ? 'flat' : `${before.tensors} → ${after.tensors}`}` });
    } finally {
      await server.stop();
    }
  }
} finally {
  modelDir.remove();
}

printTable(
  `Memory — text classifier (hashed encoder) trained on ${DATASET}; ${machine.cpus} cores, Node ${machine.node}`,
  ['moment', 'tfjs', 'RSS', 'peak RSS', 'heap used', 'TF.js tensors', 'TF.js bytes', `RSS < ${mb(TARGETS.rssBytes)}`, 'note'],
  rows.map((r) => [r.label, r.backend, mb(r.snap.rss_bytes), mb(r.snap.peak_rss_bytes), mb(r.snap.heap_used_bytes ?? undefined), int(r.snap.tensors ?? undefined), mb(r.snap.tfjs_bytes ?? undefined), mark(r.snap.peak_rss_bytes < TARGETS.rssBytes), r.note]),
);
printTable('the 10k predictions', ['tfjs', 'requests', 'req/s', 'p99', 'errors'], predicted.map((p) => [p.backend, int(p.requests), int(p.req_per_s), ms(p.p99_ms), int(p.errors)]));

writeResults('bench-memory', {
  benchmark: 'bench-memory',
  machine,
  load_average_end: loadAverage(),
  dataset: DATASET,
  predictions_per_backend: PREDICTIONS,
  snapshots: rows,
  predictions: predicted,
  targets: { rss_bytes: TARGETS.rssBytes, tensors: 'flat' },
});
