/**
 * The closed loop's bounded time: from Start Training to every unlabelled task of the project
 * carrying a prediction of the new version (written by the prediction refresh), against the Label
 * Studio API stand-in (test/helpers/ls-standin), for projects of 1k and 10k tasks.
 *
 *   npx tsx scripts/bench-refresh.ts [sizes, default 1000,10000]
 *     BENCH_MODEL=toy|text-classifier   the model the server runs (default toy: measures the loop, not the encoder)
 *     BENCH_LS_LATENCY_MS=0             extra latency per Label Studio request
 *     PREDICTION_REFRESH_BATCH / _RPS / _CONCURRENCY are passed to the server (defaults: the server's)
 *
 * Per size: the server runs as its own process; 20 tasks are annotated through webhooks, then
 * START_TRAINING. Printed: time to the new version, time until every unlabelled task carries it,
 * the refresh job's own duration, tasks/s, requests Label Studio received, and the reference of the
 * same run — one synchronous /predict of all unlabelled tasks (what Label Studio's "Retrieve
 * Predictions" asks of a backend) — with the ratio. Writes bench-results/bench-refresh.json.
 */
import { fileURLToPath } from 'node:url';
import { LabelStudioStandIn } from '../test/helpers/ls-standin/index.js';
import { spawnServer } from './lib/spawn-server.js';
import { announce, int, loadAverage, machineInfo, ms, printTable, sleep, writeResults } from './lib/bench-utils.js';

const SIZES = (process.argv[2] ?? '1000,10000').split(',').map(Number);
const MODEL = process.env.BENCH_MODEL ?? 'toy';
const LATENCY = Number(process.env.BENCH_LS_LATENCY_MS ?? 0);
const SCRIPT = fileURLToPath(new URL(MODEL === 'toy' ? '../test/fixtures/serve-toy.ts' : '../examples/text-classifier/server.ts', import.meta.url));
const CONFIG = '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices></View>';
const WORDS = [['love', 'great', 'happy', 'excellent', 'wonderful'], ['hate', 'awful', 'sad', 'terrible', 'horrible']] as const;
const passThrough = ['PREDICTION_REFRESH_BATCH', 'PREDICTION_REFRESH_RPS', 'PREDICTION_REFRESH_CONCURRENCY', 'TFJS_BACKEND'];

const machine = machineInfo();
announce('bench-refresh', machine);
const rows: Array<Record<string, string | number>> = [];

for (const size of SIZES) {
  const ls = await LabelStudioStandIn.start();
  ls.latencyMs = LATENCY;
  const texts = Array.from({ length: size }, (_, i) => `I ${WORDS[i % 2]![i % 5]} this, item ${i}`);
  const { project, tasks } = ls.addProject({ id: 1, label_config: CONFIG }, texts);
  const env: Record<string, string> = { LABEL_STUDIO_URL: ls.url, LABEL_STUDIO_API_KEY: ls.auth.personalAccessToken, TRAIN_EVERY_N_ANNOTATIONS: '0', LOG_LEVEL: 'warn', MODEL_DIR: `/tmp/bench-refresh-${process.pid}-${size}` };
  for (const name of passThrough) if (process.env[name]) env[name] = process.env[name];
  const server = await spawnServer(SCRIPT, env, { startTimeoutMs: 120_000 });
  try {
    ls.connectBackend(project.id, server.url);
    for (const task of tasks.slice(0, 20)) {
      await ls.annotate(task.id, [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: [task.id % 2 === 1 ? 'Positive' : 'Negative'] } }]);
    }
    const requestsBefore = ls.requests.length;
    const started = performance.now();
    await ls.startTraining(project.id);
    let versionAt = 0;
    let version = '';
    for (;;) {
      const body = (await (await fetch(`${server.url}/versions?project=${project.id}`)).json()) as { current_version: string };
      if (body.current_version !== 'v0000-initial') {
        version = body.current_version;
        versionAt = performance.now() - started;
        break;
      }
      await sleep(20);
    }
    const unlabelled = ls.unlabelledTasks(project.id);
    while (!unlabelled.every((task) => ls.predictionsOf(task.id, version).length > 0)) await sleep(20);
    const doneAt = performance.now() - started;
    const received = ls.requests.slice(requestsBefore);
    const count = (re: RegExp, method: string) => received.filter((r) => r.method === method && re.test(r.path)).length;
    const jobs = (await (await fetch(`${server.url}/versions?project=${project.id}`)).json()) as { projects: Record<string, { prediction_refresh?: { started_at: string; updated_at: string; written: number } }> };
    const refresh = jobs.projects[String(project.id)]?.prediction_refresh;
    const refreshMs = refresh ? Date.parse(refresh.updated_at) - Date.parse(refresh.started_at) : NaN;

    // Reference, same run: one synchronous /predict of every unlabelled task.
    const refStart = performance.now();
    const reply = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ tasks: unlabelled.map((t) => ({ id: t.id, data: t.data })), project: String(project.id), label_config: CONFIG }) });
    await reply.arrayBuffer();
    const predictMs = performance.now() - refStart;
    rows.push({
      tasks: size,
      unlabelled: unlabelled.length,
      to_version_ms: Math.round(versionAt),
      to_all_predictions_ms: Math.round(doneAt),
      refresh_job_ms: Math.round(refreshMs),
      tasks_per_s: Math.round(unlabelled.length / (refreshMs / 1000)),
      ls_requests: received.length,
      list_requests: count(/^\/api\/tasks$/, 'GET'),
      import_requests: count(/\/import\/predictions$/, 'POST'),
      sync_predict_ms: Math.round(predictMs),
      ratio_refresh_to_sync_predict: Math.round((refreshMs / predictMs) * 100) / 100,
      load_average: loadAverage().join(' '),
    });
  } finally {
    await server.stop();
    await ls.stop();
  }
}

printTable(
  `Start Training → every unlabelled task has a prediction of the new version (model ${MODEL}, LS latency ${LATENCY} ms)`,
  ['tasks', 'to version', 'to all predictions', 'refresh job', 'tasks/s', 'LS requests (list/import)', 'sync /predict (ref)', 'refresh ÷ ref', 'load avg'],
  rows.map((r) => [int(Number(r.tasks)), ms(Number(r.to_version_ms)), ms(Number(r.to_all_predictions_ms)), ms(Number(r.refresh_job_ms)), int(Number(r.tasks_per_s)), `${String(r.ls_requests)} (${String(r.list_requests)}/${String(r.import_requests)})`, ms(Number(r.sync_predict_ms)), String(r.ratio_refresh_to_sync_predict), String(r.load_average)]),
);
console.log(`settings: ${passThrough.map((name) => `${name}=${process.env[name] ?? '(default)'}`).join(' ')}`);
console.log(`results: ${writeResults('bench-refresh', { machine, model: MODEL, ls_latency_ms: LATENCY, rows })}`);
