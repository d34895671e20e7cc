/**
 * The quality bar, end to end over HTTP: for each shared data set, starts the real server
 * (default settings: the combined encoder; EMBEDDER=... to compare), sets up a project with the data set's <Choices>, sends train.csv as
 * annotations (legacy POST /train with exported tasks, or ANNOTATIONS_CREATED webhooks +
 * START_TRAINING), measures the fit time (training trigger -> new model_version served by
 * /setup), predicts test.csv via /predict in batches of 100 and prints accuracy, macro-F1, fit
 * time and predict rate next to the reference Python backend (TARGETS.md).
 *
 *   npm run quality -- [dataset ...] [--via train|webhooks] [--extra-params '{"epochs":20}'] [--out file]
 *
 * Env: DATA_DIR (default ../shared/data beside the repository); EMBED_CACHE_FROM=<dir> seeds each
 * server's MODEL_DIR with that directory's embedding cache (warm it once with
 * scripts/warm-embedding-cache.ts; fit times then exclude USE embedding); EMBEDDER, TFJS_BACKEND
 * and the server's other variables pass through.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { DATASETS, loadSplit, type Split } from './lib/datasets.js';
import { startExampleServer } from './lib/example-server.js';
import { choicesConfig, legacyTrainBody, projectObject, startTraining, VALUE_KEY, choiceResult, type LabelledTask } from './lib/ls-payloads.js';
import { MlClient } from './lib/ml-client.js';
import { accuracy, macroF1 } from './lib/metrics.js';
import { QUALITY_REFERENCE } from './lib/bench-reference.js';

const REFERENCE = QUALITY_REFERENCE;

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    via: { type: 'string', default: 'train' },
    'extra-params': { type: 'string' },
    'batch-size': { type: 'string', default: '100' },
    out: { type: 'string', default: 'bench-results/quality-http.json' },
  },
});
if (args.via !== 'train' && args.via !== 'webhooks') throw new Error(`--via must be train or webhooks, got ${args.via}`);
const extraParams = args['extra-params'] ? (JSON.parse(args['extra-params']) as Record<string, unknown>) : undefined;
const predictBatch = Number(args['batch-size']);
const PROJECT = 1;

/** Sends the annotations and triggers training; returns the job id and when the trigger was sent. */
async function sendAndTrain(client: MlClient, config: string, items: LabelledTask[]): Promise<{ job: string | undefined; triggeredAt: number; ackS: number; uploadS: number }> {
  if (args.via === 'train') {
    const t0 = performance.now();
    const reply = await client.post<{ job?: string }>('/train', legacyTrainBody(PROJECT, config, items), [200, 201]);
    return { job: reply.job, triggeredAt: t0, ackS: (performance.now() - t0) / 1000, uploadS: 0 };
  }
  // ANNOTATIONS_CREATED (LS's bulk event) in chunks of 500: annotation list + task list + project.
  const u0 = performance.now();
  for (let start = 0; start < items.length; start += 500) {
    const chunk = items.slice(start, start + 500);
    await client.post('/webhook', {
      action: 'ANNOTATIONS_CREATED',
      annotation: chunk.map((item) => ({ id: item.annotationId, task: item.taskId, project: PROJECT, result: choiceResult(item.label), was_cancelled: false, ground_truth: false, completed_by: 1 })),
      tasks: chunk.map((item) => ({ id: item.taskId, data: { [VALUE_KEY]: item.text }, project: PROJECT })),
      project: projectObject(PROJECT, config),
    });
  }
  const uploadS = (performance.now() - u0) / 1000;
  const t0 = performance.now();
  const reply = await client.post<{ job?: string }>('/webhook', startTraining(PROJECT, config));
  return { job: reply.job, triggeredAt: t0, ackS: (performance.now() - t0) / 1000, uploadS };
}

async function runDataset(split: Split) {
  const backend = await startExampleServer();
  try {
    const client = new MlClient(backend.server.url);
    const config = choicesConfig(split.labels);
    const v0 = await client.setup(PROJECT, config, extraParams);
    const items = split.train.map((row, i) => ({ taskId: i + 1, annotationId: i + 1, text: row.text, label: row.label }));
    const { job, triggeredAt, ackS, uploadS } = await sendAndTrain(client, config, items);
    const version = await client.waitForNewVersion(PROJECT, v0, { timeoutMs: 900_000, ...(job ? { job } : {}) });
    const fitS = (performance.now() - triggeredAt) / 1000;
    const jobInfo = job ? await client.post<{ job?: { metrics?: unknown; result?: Record<string, unknown> } }>('/job_status', { job }, [200]) : undefined;

    const tasks = split.test.map((row, i) => ({ id: 1_000_000 + i, text: row.text }));
    await client.predict(PROJECT, config, tasks.slice(0, 1)); // warm-up: the first request loads the new head
    const { predictions, seconds, versions } = await client.predict(PROJECT, config, tasks, predictBatch);
    const truth = split.test.map((row) => row.label);
    const predicted = predictions.map((p) => p.choice);
    if (versions.size !== 1 || !versions.has(version)) throw new Error(`predictions came from ${[...versions].join(', ')}, expected ${version}`);
    return {
      dataset: split.name,
      nTrain: split.train.length,
      nTest: split.test.length,
      classes: split.labels.length,
      acc: accuracy(truth, predicted),
      macroF1: macroF1(truth, predicted),
      fitS,
      trainAckS: ackS,
      uploadS,
      predictTasksPerS: tasks.length / seconds,
      predictBatch,
      via: args.via,
      modelVersion: version,
      embedder: backend.health.embedder,
      tfBackend: backend.health.tfjs_backend,
      job: jobInfo?.job ?? null,
      reference: REFERENCE[split.name] ?? null,
    };
  } catch (error) {
    console.error(backend.server.output().slice(-4000));
    throw error;
  } finally {
    await backend.close();
  }
}

const names = positionals.length > 0 ? positionals : [...DATASETS];
const results: Array<Awaited<ReturnType<typeof runDataset>>> = [];
/** Written after every data set, so a long run stopped early keeps what it measured. */
function save(): void {
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, JSON.stringify({ date: new Date().toISOString(), node: process.version, args, extraParams: extraParams ?? null, complete: results.length === names.length, results }, null, 2) + '\n');
}
for (const name of names) {
  const split = loadSplit({ dataset: name });
  console.error(`[quality] ${name}: ${split.train.length} train, ${split.test.length} test, ${split.labels.length} labels`);
  const result = await runDataset(split);
  console.error(`[quality] ${name}: acc ${result.acc.toFixed(4)}, F1 ${result.macroF1.toFixed(4)}, fit ${result.fitS.toFixed(2)} s, predict ${Math.round(result.predictTasksPerS)} tasks/s`);
  results.push(result);
  save();
}

const f = (v: number, d = 4) => v.toFixed(d);
console.log(`\nText classifier over HTTP (encoder ${JSON.stringify(results[0]?.embedder ?? '?')}, embedding cache ${process.env.EMBED_CACHE_FROM ? 'seeded' : 'cold'}, annotations via ${args.via === 'train' ? 'legacy /train' : 'ANNOTATIONS_CREATED + START_TRAINING'}; fit = trigger -> new version served)\n`);
console.log('| data set | train / test / labels | acc | macro-F1 | fit s | predict tasks/s | ref acc | ref macro-F1 | ref fit s |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const ref = r.reference;
  console.log(
    `| ${r.dataset} | ${r.nTrain} / ${r.nTest} / ${r.classes} | ${f(r.acc)} | ${f(r.macroF1)} | ${f(r.fitS, 2)} | ${Math.round(r.predictTasksPerS)} | ${ref ? f(ref.acc) : '-'} | ${ref ? f(ref.f1) : '-'} | ${ref ? ref.fitS : '-'} |`,
  );
}
console.log(`\nwrote ${args.out}`);
