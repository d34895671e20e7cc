/**
 * /predict throughput and latency of the text classifier (offline encoder) over HTTP, next to the
 * reference Python backend (TARGETS.md "Serving over HTTP").
 *
 *   npx tsx scripts/bench-predict.ts        (BENCH_BACKENDS=wasm,cpu  BENCH_SECONDS=5)
 *
 * Per TF.js backend, one server process: trained on sms-spam-collection train.csv through legacy
 * POST /train, then loaded by autocannon at 1 and 100 tasks per request, 1 and 8 connections.
 * Every task text is unique (test.csv texts + a serial number), so the embedding cache does not
 * answer for the encoder. Writes bench-results/bench-predict.json.
 */
import { choicesConfig, labelsOf, loadRows, predictBodies, trainBody } from './lib/bench-data.js';
import { runLoad, type LoadResult } from './lib/bench-load.js';
import { REFERENCE, TARGETS, type ReferenceRow } from './lib/bench-reference.js';
import { postJson, startClassifier, tempModelDir } from './lib/bench-server.js';
import { trainViaExport, type JobInfo } from './lib/bench-flows.js';
import { announce, int, loadAverage, machineInfo, mark, ms, printTable, writeResults } from './lib/bench-utils.js';

const DATASET = 'sms-spam-collection';
const PROJECT = 1;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'wasm,cpu').split(',').map((b) => b.trim()).filter(Boolean);

interface Scenario {
  key: keyof typeof REFERENCE;
  label: string;
  tasks: number;
  connections: number;
}

const SCENARIOS: Scenario[] = [
  { key: 'predict_1task_1conn', label: '/predict, 1 task, 1 connection', tasks: 1, connections: 1 },
  { key: 'predict_1task_8conn', label: '/predict, 1 task', tasks: 1, connections: 8 },
  { key: 'predict_100tasks_1conn', label: '/predict, 100 tasks, 1 connection', tasks: 100, connections: 1 },
  { key: 'predict_100tasks_8conn', label: '/predict, 100 tasks', tasks: 100, connections: 8 },
];

interface Measured extends LoadResult {
  scenario: Scenario['key'];
  backend: string;
  tasks_per_request: number;
  tasks_per_s: number;
  reference: ReferenceRow;
  speedup_vs_reference: number;
}

const train = loadRows(DATASET, 'train');
const testTexts = loadRows(DATASET, 'test').map((r) => r.text);
const config = choicesConfig(labelsOf(train));

const modelDir = tempModelDir();
let trained: (JobInfo & { wallMs: number; backend: string }) | undefined;

/** One server per backend on a shared MODEL_DIR: the first trains, the others serve its checkpoint. */
async function benchBackend(backend: string): Promise<{ measured: Measured[]; reported: string }> {
  const server = await startClassifier({ TFJS_BACKEND: backend, TRAIN_EVERY_N_ANNOTATIONS: '0' }, { modelDir: modelDir.dir });
  try {
    console.log(`\n[${backend}] server pid ${server.pid} reports tfjs_backend=${server.tfjsBackend}`);
    if (!trained) {
      console.log(`[${backend}] training on ${train.length} ${DATASET} rows (POST /train)…`);
      trained = { ...(await trainViaExport(server.url, trainBody(PROJECT, config, train))), backend: server.tfjsBackend };
      console.log(`[${backend}] trained ${trained.version} in ${ms(trained.wallMs)} (val_accuracy ${trained.metrics?.val_accuracy?.toFixed(4) ?? '?'})`);
    }
    const job = trained;
    const check = await postJson(server.url, '/predict', predictBodies(PROJECT, config, testTexts, 1, 2, 'check')[0]!);
    if (check.body.model_version !== job.version) throw new Error(`/predict serves ${String(check.body.model_version)}, expected ${job.version}`);

    const measured: Measured[] = [];
    for (const scenario of SCENARIOS) {
      const count = scenario.tasks === 1 ? 40_000 : 2_500;
      // Warm-up (JIT, wasm, sockets) on texts of its own.
      await runLoad({ url: server.url, path: '/predict', connections: scenario.connections, durationS: 1, bodies: predictBodies(PROJECT, config, testTexts, scenario.tasks === 1 ? 500 : 20, scenario.tasks, `w${scenario.key}-`) });
      const bodies = predictBodies(PROJECT, config, testTexts, count, scenario.tasks, `${scenario.key}-`);
      const result = await runLoad({ url: server.url, path: '/predict', connections: scenario.connections, durationS: SECONDS, bodies });
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${scenario.label}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      const reference = REFERENCE[scenario.key];
      measured.push({
        ...result,
        scenario: scenario.key,
        backend: server.tfjsBackend,
        tasks_per_request: scenario.tasks,
        tasks_per_s: result.req_per_s * scenario.tasks,
        reference,
        speedup_vs_reference: result.req_per_s / reference.req_per_s,
      });
      console.log(`[${backend}] ${scenario.label}: ${int(result.req_per_s)} req/s, p99 ${ms(result.latency_ms.p99)} (${result.requests} requests)`);
    }
    return { measured, reported: server.tfjsBackend };
  } finally {
    await server.stop();
  }
}

const machine = machineInfo();
announce('bench-predict', machine);
const runs: Record<string, Awaited<ReturnType<typeof benchBackend>>> = {};
try {
  for (const backend of BACKENDS) runs[backend] = await benchBackend(backend);
} finally {
  modelDir.remove();
}

const all = Object.values(runs).flatMap((run) => run.measured);
printTable(
  `/predict — text classifier (hashed encoder) trained on ${DATASET}; ${machine.cpus} cores, Node ${machine.node}; ${SECONDS} s each, unique texts`,
  ['request', 'tfjs', 'req/s', 'tasks/s', 'p50', 'p95', 'p99', 'ref req/s', 'ref tasks/s', 'ref p99', '× ref', `≥${TARGETS.predictSpeedup}× ref`],
  SCENARIOS.flatMap((scenario) =>
    all
      .filter((m) => m.scenario === scenario.key)
      .map((m) => [
        scenario.label,
        m.backend,
        int(m.req_per_s),
        int(m.tasks_per_s),
        ms(m.latency_ms.p50),
        ms(m.latency_ms.p95),
        ms(m.latency_ms.p99),
        int(m.reference.req_per_s),
        int(m.reference.tasks_per_s ?? undefined),
        ms(m.reference.p99_ms),
        `${m.speedup_vs_reference.toFixed(2)}×`,
        mark(m.speedup_vs_reference >= TARGETS.predictSpeedup),
      ]),
  ),
);

const ratios: Array<{ scenario: string; wasm_req_per_s: number; cpu_req_per_s: number; wasm_over_cpu: number }> = [];
if (runs.wasm && runs.cpu) {
  for (const scenario of SCENARIOS) {
    const wasm = runs.wasm.measured.find((m) => m.scenario === scenario.key);
    const cpu = runs.cpu.measured.find((m) => m.scenario === scenario.key);
    if (wasm && cpu) ratios.push({ scenario: scenario.key, wasm_req_per_s: wasm.req_per_s, cpu_req_per_s: cpu.req_per_s, wasm_over_cpu: wasm.req_per_s / cpu.req_per_s });
  }
  printTable(
    'wasm vs cpu (same run, two server processes)',
    ['request', 'wasm req/s', 'cpu req/s', 'wasm / cpu', 'wasm p99', 'cpu p99'],
    SCENARIOS.map((scenario, i) => {
      const wasm = runs.wasm!.measured[i]!;
      const cpu = runs.cpu!.measured[i]!;
      return [scenario.label, int(wasm.req_per_s), int(cpu.req_per_s), `${(wasm.req_per_s / cpu.req_per_s).toFixed(2)}×`, ms(wasm.latency_ms.p99), ms(cpu.latency_ms.p99)];
    }),
  );
}

writeResults('bench-predict', {
  benchmark: 'bench-predict',
  machine,
  dataset: DATASET,
  embedder: 'hashed',
  seconds_per_scenario: SECONDS,
  tfjs_backends: Object.fromEntries(Object.entries(runs).map(([requested, run]) => [requested, run.reported])),
  training: trained && { tfjs_backend: trained.backend, version: trained.version, wall_ms: trained.wallMs, metrics: trained.metrics ?? {} },
  load_average_end: loadAverage(),
  results: all,
  wasm_vs_cpu: ratios,
  reference: REFERENCE,
  targets: TARGETS,
});
