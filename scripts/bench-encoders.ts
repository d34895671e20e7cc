/**
 * The encoder's speed and memory (issue 10's targets), each figure next to its reference from
 * the same run:
 *  1. cold USE-lite throughput in the embedding pool, 1 worker vs 2 (target ≥ 1.7×);
 *  2. training over HTTP on 5,000 annotations with the default encoder: cold (empty embedding
 *     cache) vs warm (every text already embedded; target ≥ 10× faster), and RSS of the server
 *     at start, at its peak and once the idle training worker has exited (target ≤ 400 MB);
 *  3. /predict of 100 already-seen texts on the default encoder vs the hashed encoder
 *     (median of repeated requests; target within 2×).
 *
 *   npx tsx scripts/bench-encoders.ts    (BENCH_TEXTS=1500 cold-throughput texts; BENCH_ANNOTATIONS=5000)
 *
 * Run it on a quiet machine: it prints the load average with the figures. Writes bench-results/bench-encoders.json.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbedPool, useWeightsPackageDir } from '../src/index.js';
import { DATA_DIR, readCsv } from './lib/datasets.js';
import { spawnServer, type ChildServer } from './lib/spawn-server.js';
import { announce, loadAverage, machineInfo, mark, mb, printTable, sleep, summarize, writeResults } from './lib/bench-utils.js';

const SERVER = fileURLToPath(new URL('../examples/text-classifier/server.ts', import.meta.url));
const COLD_TEXTS = Number(process.env.BENCH_TEXTS ?? 1500);
const ANNOTATIONS = Number(process.env.BENCH_ANNOTATIONS ?? 5000);
const machine = machineInfo();
announce('bench-encoders', machine);

const sms = readCsv(join(DATA_DIR, 'sms-spam-collection', 'sms_spam.csv'));
const labels = [...new Set(sms.map((r) => r.label))].sort();
const CONFIG = `<View><Text name="text" value="$text"/><Choices name="label" toName="text">${labels.map((l) => `<Choice value="${l}"/>`).join('')}</Choices></View>`;

// 1. Cold throughput: the same unseen texts through a fresh pool of 1, then 2 workers.
const dir = useWeightsPackageDir();
if (dir === null) throw new Error('USE-lite weights package missing: run npm ci');
const coldTexts = readCsv(join(DATA_DIR, 'banking77', 'train.csv')).slice(0, COLD_TEXTS).map((r) => r.text);
const throughput: Array<{ workers: number; texts_per_s: number; load: number[] }> = [];
for (const workers of [1, 2]) {
  const pool = await EmbedPool.start({ dir, workers });
  await sleep(3000); // every worker loaded
  await pool.embed(['warm up the graph']);
  const t0 = performance.now();
  await pool.embed(coldTexts, { priority: 'bulk' });
  throughput.push({ workers, texts_per_s: coldTexts.length / ((performance.now() - t0) / 1000), load: loadAverage() });
  await pool.close();
}

// 2 and 3. Servers as a user runs them (npm run example:text-classifier sets MALLOC_ARENA_MAX=2).
const rss = (server: ChildServer) => {
  const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
};
async function post<T>(url: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
async function start(env: Record<string, string>): Promise<{ server: ChildServer; modelDir: string }> {
  const modelDir = mkdtempSync(join(tmpdir(), 'bench-enc-'));
  const server = await spawnServer(SERVER, { MODEL_DIR: modelDir, LOG_LEVEL: 'warn', TRAIN_EVERY_N_ANNOTATIONS: '0', MALLOC_ARENA_MAX: '2', MAX_BODY_MB: '200', ...env }, { startTimeoutMs: 120_000 });
  for (let i = 0; i < 1200 && (await fetch(`${server.url}/ready`)).status !== 200; i++) await sleep(100);
  return { server, modelDir };
}
/** POST /train with `rows` as exported tasks; seconds until the job has finished. */
async function train(url: string, project: string, rows: typeof sms): Promise<number> {
  await post(url, '/setup', { project, schema: CONFIG });
  const t0 = performance.now();
  const tasks = rows.map((row, i) => ({ id: i + 1, data: { text: row.text }, annotations: [{ id: i + 1, result: [{ from_name: 'label', to_name: 'text', type: 'choices', value: { choices: [row.label] } }] }] }));
  const { job } = await post<{ job: string }>(url, '/train', { project, label_config: CONFIG, annotations: tasks });
  for (;;) {
    const status = await post<{ job_status: string; job: { error?: string } }>(url, '/job_status', { job });
    if (status.job_status === 'finished') return (performance.now() - t0) / 1000;
    if (status.job_status === 'failed') throw new Error(`training failed: ${status.job.error}`);
    await sleep(100);
  }
}
/** Median ms of `repeats` /predict requests of the same 100 texts (after one warm-up). */
async function predictMs(url: string, project: string, texts: string[], repeats = 30): Promise<number> {
  const body = { project, label_config: CONFIG, tasks: texts.map((text, i) => ({ id: i + 1, data: { text } })) };
  await post(url, '/predict', body);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await post(url, '/predict', body);
    times.push(performance.now() - t0);
  }
  return summarize(times).p50;
}

const rows = sms.slice(0, ANNOTATIONS);
const seen = rows.slice(0, 100).map((r) => r.text);
const { server, modelDir } = await start({});
const health = (await (await fetch(`${server.url}/health`)).json()) as { embedder: string };
const memory: Array<{ moment: string; rss: number; peak: number }> = [{ moment: 'started, USE-lite loaded', ...rss(server) }];
const coldS = await train(server.url, '1', rows);
memory.push({ moment: `after a cold training on ${ANNOTATIONS}`, ...rss(server) });
const warmS = await train(server.url, '2', rows);
const combinedMs = await predictMs(server.url, '2', seen);
await sleep(35_000); // the idle training worker exits after 30 s
memory.push({ moment: 'training worker idle-exited', ...rss(server) });
const loadTraining = loadAverage();
await server.stop();
rmSync(modelDir, { recursive: true, force: true });

const hashed = await start({ EMBEDDER: 'hashed' });
const hashedTrainS = await train(hashed.server.url, '1', rows);
const hashedMs = await predictMs(hashed.server.url, '1', seen);
await hashed.server.stop();
rmSync(hashed.modelDir, { recursive: true, force: true });

const [one, two] = throughput;
printTable(`Cold USE-lite throughput (${COLD_TEXTS} banking77 queries, never embedded before)`, ['workers', 'texts/s', 'vs 1 worker (target ≥ 1.7×)', 'load average'], throughput.map((t) => [t.workers, t.texts_per_s.toFixed(1), `${(t.texts_per_s / one!.texts_per_s).toFixed(2)}×${t.workers === 2 ? ` ${mark(two!.texts_per_s / one!.texts_per_s >= 1.7)}` : ''}`, t.load.join(' ')]));
printTable(`Training over HTTP on ${ANNOTATIONS} sms-spam annotations (${health.embedder}; trigger → job finished)`, ['cache', 'seconds', 'cold / warm (target ≥ 10×)'], [
  ['cold (nothing embedded)', coldS.toFixed(2), ''],
  ['warm (every text embedded)', warmS.toFixed(2), `${(coldS / warmS).toFixed(1)}× ${mark(coldS / warmS >= 10)}`],
  ['hashed encoder (reference)', hashedTrainS.toFixed(2), ''],
]);
printTable('/predict of 100 already-seen texts (median of 30)', ['encoder', 'ms', 'vs hashed (target ≤ 2×)'], [
  ['default (combined, cache hits)', combinedMs.toFixed(1), `${(combinedMs / hashedMs).toFixed(2)}× ${mark(combinedMs / hashedMs <= 2)}`],
  ['hashed', hashedMs.toFixed(1), '1×'],
]);
printTable('Server RSS, default configuration (VmRSS / VmHWM of the process, all threads)', ['moment', 'RSS', 'peak', 'RSS ≤ 400 MB'], memory.map((m) => [m.moment, mb(m.rss), mb(m.peak), mark(m.rss <= 400 * 1024 * 1024)]));
console.log(`load average at the end of the training runs: ${loadTraining.join(' ')}`);

writeResults('bench-encoders', { benchmark: 'bench-encoders', machine, embedder: health.embedder, throughput, training: { annotations: ANNOTATIONS, coldS, warmS, ratio: coldS / warmS, hashedTrainS }, predict100: { combinedMs, hashedMs, ratio: combinedMs / hashedMs }, memory, load_average_end: loadAverage() });
