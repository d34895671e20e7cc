/**
 * Distributed mode (issue 14) next to single-process mode, on the text classifier (offline hashed
 * encoder) and sentiment-labelled-sentences:
 *
 *   npm run bench:distributed
 *
 * 1. webhook acknowledgement: BENCH_ANNOTATIONS single ANNOTATION_CREATED webhooks from
 *    BENCH_CONCURRENCY clients (round-robin over the api replicas): p50, p99, throughput;
 * 2. START_TRAINING → the new version served by ALL api replicas (POST /setup polled every 20 ms
 *    on each), BENCH_TRAININGS times: the whole wait, the job's own duration, and the propagation
 *    from the job's end until the last replica serves the new version.
 * Single process: one server. Distributed: a private redis-server (AOF everysec), BENCH_API_REPLICAS
 * api replicas (default 2) and one trainer on one MODEL_DIR. Both on this machine: the distributed
 * figures carry Redis round trips and the extra processes' CPU, not a network. Writes
 * bench-results/bench-distributed.json.
 */
import { rmSync } from 'node:fs';
import { startRedisServer } from './lib/redis-server.js';
import { annotationWebhook, choicesConfig, labelsOf, loadRows, startTrainingWebhook, type Row } from './lib/bench-data.js';
import { postJson, startClassifier, tempModelDir, type BenchServer } from './lib/bench-server.js';
import { waitForJob } from './lib/bench-flows.js';
import { announce, int, loadAverage, machineInfo, ms, printTable, summarize, writeResults, type LatencySummary } from './lib/bench-utils.js';

const DATASET = 'sentiment-labelled-sentences';
const PROJECT = 1;
const ANNOTATIONS = Number(process.env.BENCH_ANNOTATIONS ?? 600);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const TRAININGS = Number(process.env.BENCH_TRAININGS ?? 3);
const API_REPLICAS = Number(process.env.BENCH_API_REPLICAS ?? 2);
const EPOCHS = Number(process.env.BENCH_TRAIN_EPOCHS ?? 5);

interface ModeResult {
  mode: string;
  processes: string;
  webhook: LatencySummary & { per_second: number };
  /** Milliseconds per training: START_TRAINING until every api replica serves the new version. */
  served_on_all: LatencySummary;
  job: LatencySummary;
  /** From the job's end (its record's finishedAt) until the last replica serves the new version. */
  propagation: LatencySummary;
}

const machine = machineInfo();
announce('bench-distributed', machine);
const rows = loadRows(DATASET, 'train').slice(0, ANNOTATIONS);
const config = choicesConfig(labelsOf(rows));
console.log(`${rows.length} annotations of ${DATASET}, ${CONCURRENCY} clients, ${TRAININGS} trainings of ${EPOCHS} epochs, ${API_REPLICAS} api replicas + 1 trainer`);

/** Sends the webhooks from `CONCURRENCY` clients, each spreading its calls over the replicas in turn. */
async function ingest(apis: BenchServer[], items: Row[]): Promise<ModeResult['webhook']> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let i = next++; i < items.length; i = next++) {
      const reply = await postJson(apis[i % apis.length]!.url, '/webhook', annotationWebhook(PROJECT, config, items[i]!, i + 1));
      latencies.push(reply.ms);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  return { ...summarize(latencies), per_second: items.length / seconds };
}

const setupVersion = async (api: BenchServer) => String((await postJson(api.url, '/setup', { project: String(PROJECT), schema: config })).body.model_version);

/** One START_TRAINING (sent to the first replica) until every replica's /setup names the new version. */
async function trainOnce(apis: BenchServer[]): Promise<{ total: number; job: number; propagation: number }> {
  const before = await setupVersion(apis[0]!);
  const started = performance.now();
  const startedAt = Date.now();
  const { body } = await postJson(apis[0]!.url, '/webhook', startTrainingWebhook(PROJECT, config));
  const served = await Promise.all(apis.map(async (api) => {
    for (;;) {
      if ((await setupVersion(api)) !== before) return Date.now();
      if (performance.now() - started > 300_000) throw new Error('no new version within 300 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }));
  const total = performance.now() - started;
  const job = await waitForJob(apis[0]!.url, String(body.job));
  const { body: status } = await postJson(apis[0]!.url, '/job_status', { job: String(body.job) });
  const record = status.job as { startedAt?: string; finishedAt?: string };
  const finishedAt = Date.parse(record.finishedAt ?? '') || startedAt;
  return { total, job: job.durationMs ?? 0, propagation: Math.max(...served) - finishedAt };
}

async function measure(mode: string, processes: string, apis: BenchServer[]): Promise<ModeResult> {
  await postJson(apis[0]!.url, '/setup', { project: String(PROJECT), schema: config, extra_params: { epochs: EPOCHS } });
  const webhook = await ingest(apis, rows);
  const runs = [];
  for (let i = 0; i < TRAININGS; i++) runs.push(await trainOnce(apis));
  const result = {
    mode,
    processes,
    webhook,
    served_on_all: summarize(runs.map((run) => run.total)),
    job: summarize(runs.map((run) => run.job)),
    propagation: summarize(runs.map((run) => run.propagation)),
  };
  console.log(`${mode}: webhook p50 ${ms(webhook.p50)} p99 ${ms(webhook.p99)}, served on all replicas after ${ms(result.served_on_all.p50)} (median)`);
  return result;
}

const quiet = { TRAIN_EVERY_N_ANNOTATIONS: '0', EMBEDDER: 'hashed' };
const single = await startClassifier(quiet);
let singleResult: ModeResult;
try {
  singleResult = await measure('single process', '1', [single]);
} finally {
  await single.stop();
}

const redis = await startRedisServer();
const shared = tempModelDir();
const env = { ...quiet, REDIS_URL: redis.url };
const servers: BenchServer[] = [];
let distributedResult: ModeResult;
try {
  for (const role of [...Array<string>(API_REPLICAS).fill('api'), 'trainer']) servers.push(await startClassifier({ ...env, ROLE: role }, { modelDir: shared.dir }));
  distributedResult = await measure('distributed', `${API_REPLICAS} api + 1 trainer + redis-server`, servers.slice(0, API_REPLICAS));
} finally {
  await Promise.all(servers.map((server) => server.stop()));
  await redis.stop();
  rmSync(redis.dir, { recursive: true, force: true });
  shared.remove();
}

const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : '—');
const line = (label: string, pick: (result: ModeResult) => number, format: (value: number) => string = ms): Array<string> => {
  const [s, d] = [pick(singleResult), pick(distributedResult)];
  return [label, format(s), format(d), ratio(d, s)];
};
printTable('Distributed vs single process (ratio = distributed / single)', ['measure', 'single process', 'distributed', 'ratio'], [
  line('webhook ack p50', (r) => r.webhook.p50),
  line('webhook ack p99', (r) => r.webhook.p99),
  line('webhooks per second', (r) => r.webhook.per_second, int),
  line('START_TRAINING → served on all replicas (median)', (r) => r.served_on_all.p50),
  line('  of which the training job (median)', (r) => r.job.p50),
  line('  job end → last replica serves (median)', (r) => r.propagation.p50),
  line('  job end → last replica serves (max)', (r) => r.propagation.max),
]);
console.log(`\nload average now ${loadAverage().join(' / ')} (at start ${machine.load_average.join(' / ')})`);
writeResults('bench-distributed', { machine, settings: { dataset: DATASET, annotations: rows.length, concurrency: CONCURRENCY, trainings: TRAININGS, epochs: EPOCHS, api_replicas: API_REPLICAS }, results: [singleResult, distributedResult] });
