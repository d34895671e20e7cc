/**
 * Online training as Label Studio drives it (TRAIN_EVERY_N_ANNOTATIONS=0): how fast ANNOTATION_CREATED
 * webhooks are acknowledged (TARGETS.md: p99 ≤ 50 ms; Label Studio gives webhooks 1 s), and the
 * time from START_TRAINING to the new model_version being served — POST /setup polled until the
 * version changes (target ≤ 5 s for 5k annotations).
 *
 *   npx tsx scripts/bench-training.ts    (BENCH_BACKENDS=wasm,cpu  BENCH_DATASET=sms-spam-collection)
 *
 * Per TF.js backend, one server: the first 1,000 rows are sent as ANNOTATION_CREATED webhooks on
 * 1 connection (as Label Studio sends them), START_TRAINING; then the next 4,000 on 8 connections
 * (a burst from many annotators), START_TRAINING again (5,000 annotations). Rows: train.csv then
 * test.csv of the data set. Writes bench-results/bench-training.json.
 */
import { annotationWebhook, choicesConfig, labelsOf, loadRows, startTrainingWebhook, type Row } from './lib/bench-data.js';
import { setupVersion, waitForJob, waitForNewVersion } from './lib/bench-flows.js';
import { runLoad, type LoadResult } from './lib/bench-load.js';
import { TARGETS } from './lib/bench-reference.js';
import { postJson, startClassifier } from './lib/bench-server.js';
import { announce, int, loadAverage, machineInfo, mark, ms, printTable, writeResults } from './lib/bench-utils.js';

const DATASET = process.env.BENCH_DATASET ?? 'sms-spam-collection';
const PROJECT = 1;
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'wasm,cpu').split(',').map((b) => b.trim()).filter(Boolean);
const TRAIN_TIMEOUT_S = Number(process.env.BENCH_TRAIN_TIMEOUT_S ?? 60);
const STEPS = [
  { annotations: 1_000, connections: 1 },
  { annotations: 5_000, connections: 8 },
];

const machine = machineInfo();
announce('bench-training', machine);
const rows: Row[] = [...loadRows(DATASET, 'train'), ...loadRows(DATASET, 'test')];
const config = choicesConfig(labelsOf(rows));
const needed = STEPS.at(-1)!.annotations;
if (rows.length < needed) throw new Error(`${DATASET} has ${rows.length} rows, ${needed} needed`);

interface Step {
  backend: string;
  annotations: number;
  ack: LoadResult & { webhooks: number };
  start_training_ack_ms: number;
  job_ms: number | null;
  /** START_TRAINING sent → /setup reports the new version. */
  served_ms: number | null;
  version: string | null;
  val_accuracy: number | null;
  epochs: number | null;
  /** When /job_status first showed each progress phase, ms after START_TRAINING was sent. */
  phases_ms: Record<string, number>;
  error: string | null;
}

async function benchBackend(backend: string): Promise<Step[]> {
  const server = await startClassifier({ TFJS_BACKEND: backend, TRAIN_EVERY_N_ANNOTATIONS: '0' });
  const steps: Step[] = [];
  try {
    console.log(`\n[${backend}] server pid ${server.pid}, tfjs_backend=${server.tfjsBackend}`);
    let version = await setupVersion(server.url, PROJECT, config);
    let sent = 0;
    for (const step of STEPS) {
      const bodies = rows.slice(sent, step.annotations).map((row, i) => JSON.stringify(annotationWebhook(PROJECT, config, row, sent + i + 1)));
      const ack = await runLoad({ url: server.url, path: '/webhook', connections: step.connections, durationS: 60, bodies });
      if (ack.non2xx > 0 || ack.errors > 0 || ack.requests !== bodies.length) throw new Error(`webhooks: ${ack.requests}/${bodies.length} answered, ${ack.non2xx} non-2xx, ${ack.errors} errors`);
      sent = step.annotations;

      const started = performance.now();
      const reply = await postJson(server.url, '/webhook', startTrainingWebhook(PROJECT, config));
      const result: Step = { backend: server.tfjsBackend, annotations: sent, ack: { ...ack, webhooks: bodies.length }, start_training_ack_ms: reply.ms, job_ms: null, served_ms: null, version: null, val_accuracy: null, epochs: null, phases_ms: {}, error: null };
      try {
        const [served, job] = await Promise.all([
          waitForNewVersion(server.url, PROJECT, config, version, TRAIN_TIMEOUT_S * 1000),
          waitForJob(server.url, String(reply.body.job), TRAIN_TIMEOUT_S * 1000, 100, (status, info) => {
            const phase = status === 'started' ? (info.progress?.phase ?? 'started') : status;
            result.phases_ms[phase] ??= performance.now() - started;
            if (info.progress?.epoch !== undefined) result.epochs = info.progress.epoch;
          }),
        ]);
        result.served_ms = served.at - started;
        result.job_ms = job.durationMs ?? null;
        result.version = served.version;
        result.val_accuracy = job.metrics?.val_accuracy ?? null;
        version = served.version;
      } catch (error) {
        result.error = (error as Error).message;
      }
      steps.push(result);
      console.log(`[${backend}] ${int(sent)} annotations: webhook p99 ${ms(ack.latency_ms.p99)}; START_TRAINING → served ${result.served_ms === null ? `not within ${TRAIN_TIMEOUT_S} s` : ms(result.served_ms)}`);
      if (result.error) break; // a later step would wait on the same slow training
    }
  } finally {
    await server.stop();
  }
  return steps;
}

const steps: Step[] = [];
for (const backend of BACKENDS) steps.push(...(await benchBackend(backend)));

printTable(
  `ANNOTATION_CREATED webhook acknowledgement (TRAIN_EVERY_N_ANNOTATIONS=0); ${machine.cpus} cores, Node ${machine.node}`,
  ['tfjs', 'webhooks', 'connections', 'req/s', 'p50', 'p95', 'p99', 'max', `p99 ≤ ${TARGETS.webhookP99Ms} ms`],
  steps.map((s) => [s.backend, int(s.ack.webhooks), s.ack.connections, int(s.ack.req_per_s), ms(s.ack.latency_ms.p50), ms(s.ack.latency_ms.p95), ms(s.ack.latency_ms.p99), ms(s.ack.latency_ms.max), mark(s.ack.latency_ms.p99 <= TARGETS.webhookP99Ms)]),
);
printTable(
  `START_TRAINING → new model_version served (POST /setup polled every 50 ms), ${DATASET}, default training`,
  ['tfjs', 'annotations', 'ack', 'embedding from', 'training from', 'saving from', 'job', 'epochs', 'served after', 'val acc', `≤ ${TARGETS.startTrainingToServedMs / 1000} s (5k)`],
  steps.map((s) => [
    s.backend,
    int(s.annotations),
    ms(s.start_training_ack_ms),
    ms(s.phases_ms.embedding),
    ms(s.phases_ms.training),
    ms(s.phases_ms.saving),
    ms(s.job_ms ?? undefined),
    int(s.epochs ?? undefined),
    s.served_ms === null ? `> ${TRAIN_TIMEOUT_S} s` : ms(s.served_ms),
    s.val_accuracy === null ? '—' : s.val_accuracy.toFixed(4),
    s.annotations >= 5_000 ? mark(s.served_ms !== null && s.served_ms <= TARGETS.startTrainingToServedMs) : '',
  ]),
);
const wasm = steps.filter((s) => s.backend === 'wasm');
const cpu = steps.filter((s) => s.backend === 'cpu');
const ratios = wasm.flatMap((w) => {
  const c = cpu.find((s) => s.annotations === w.annotations);
  return c && w.served_ms !== null && c.served_ms !== null ? [{ annotations: w.annotations, wasm_ms: w.served_ms, cpu_ms: c.served_ms, wasm_over_cpu: w.served_ms / c.served_ms }] : [];
});
if (ratios.length > 0) {
  printTable('START_TRAINING → served, wasm vs cpu', ['annotations', 'wasm', 'cpu', 'wasm / cpu'], ratios.map((r) => [int(r.annotations), ms(r.wasm_ms), ms(r.cpu_ms), `${r.wasm_over_cpu.toFixed(2)}×`]));
}

writeResults('bench-training', {
  benchmark: 'bench-training',
  machine,
  load_average_end: loadAverage(),
  dataset: DATASET,
  embedder: 'hashed',
  train_timeout_s: TRAIN_TIMEOUT_S,
  steps,
  wasm_vs_cpu: ratios,
  targets: { webhook_p99_ms: TARGETS.webhookP99Ms, start_training_to_served_ms: TARGETS.startTrainingToServedMs },
});
