/**
 * Runs the serving benchmarks one after the other, each in its own process (bench-predict,
 * bench-health, bench-training, bench-memory), then prints the targets of TARGETS.md against
 * what they wrote to bench-results/. Exit code: non-zero if a benchmark failed.
 *
 *   npm run bench        (BENCH_ONLY=predict,health to run a subset)
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TARGETS } from './lib/bench-reference.js';
import { announce, machineInfo, mark, mb, ms, printTable, writeResults } from './lib/bench-utils.js';

const NAMES = ['predict', 'health', 'training', 'memory'];
const only = process.env.BENCH_ONLY?.split(',').map((n) => n.trim());
const selected = NAMES.filter((name) => !only || only.includes(name));
const dir = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.resolve(process.env.BENCH_RESULTS_DIR ?? 'bench-results');

function run(script: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(dir, script)], { stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const machine = machineInfo();
announce('bench-all', machine);
const runs: Array<{ name: string; exit_code: number; seconds: number }> = [];
for (const name of selected) {
  console.log(`\n===== bench-${name} =====`);
  const started = performance.now();
  const code = await run(`bench-${name}.ts`);
  runs.push({ name, exit_code: code, seconds: (performance.now() - started) / 1000 });
}

// The parts of each benchmark's JSON this summary reads.
interface Latency {
  p99: number;
  max: number;
}
interface PredictJson {
  results: Array<{ scenario: string; backend: string; req_per_s: number; speedup_vs_reference: number }>;
}
interface HealthJson {
  tfjs_backend: string;
  phases: Array<{ key: string; latency_ms: Latency }>;
}
interface TrainingJson {
  train_timeout_s: number;
  steps: Array<{ backend: string; annotations: number; served_ms: number | null; ack: { connections: number; latency_ms: Latency } }>;
}
interface MemoryJson {
  predictions_per_backend: number;
  snapshots: Array<{ label: string; backend: string; snap: { peak_rss_bytes: number; tensors: number | null } }>;
}

/** A benchmark's JSON, if it ran in this invocation and wrote one. */
function read<T>(name: string): T | undefined {
  const file = path.join(resultsDir, `bench-${name}.json`);
  return selected.includes(name) && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;
}
const rows: Array<[string, string, string]> = [];
const predict = read<PredictJson>('predict');
if (predict) {
  for (const r of predict.results) {
    rows.push([`/predict ${r.scenario} (${r.backend}) ≥ ${TARGETS.predictSpeedup}× reference`, `${Math.round(r.req_per_s)} req/s = ${r.speedup_vs_reference.toFixed(2)}×`, mark(r.speedup_vs_reference >= TARGETS.predictSpeedup)]);
  }
}
const health = read<HealthJson>('health');
if (health) {
  for (const p of health.phases.filter((x) => x.key.startsWith('training'))) {
    const ok = p.latency_ms.p99 <= TARGETS.healthP99Ms && p.latency_ms.max <= TARGETS.healthMaxMs;
    rows.push([`/health while training (${p.key}, ${health.tfjs_backend}): p99 ≤ ${TARGETS.healthP99Ms} ms, max ≤ ${TARGETS.healthMaxMs} ms`, `p99 ${ms(p.latency_ms.p99)}, max ${ms(p.latency_ms.max)}`, mark(ok)]);
  }
}
const training = read<TrainingJson>('training');
if (training) {
  for (const s of training.steps) {
    rows.push([`webhook ack p99 ≤ ${TARGETS.webhookP99Ms} ms (${s.backend}, ${s.ack.connections} conn.)`, ms(s.ack.latency_ms.p99), mark(s.ack.latency_ms.p99 <= TARGETS.webhookP99Ms)]);
    if (s.annotations >= 5_000) {
      rows.push([`START_TRAINING → served ≤ ${TARGETS.startTrainingToServedMs / 1000} s, 5k annotations (${s.backend})`, s.served_ms === null ? `not within ${training.train_timeout_s} s` : ms(s.served_ms), mark(s.served_ms !== null && s.served_ms <= TARGETS.startTrainingToServedMs)]);
    }
  }
}
const memory = read<MemoryJson>('memory');
if (memory) {
  const peak = Math.max(...memory.snapshots.map((s) => s.snap.peak_rss_bytes));
  rows.push([`RSS < ${mb(TARGETS.rssBytes)} (peak over all moments)`, mb(peak), mark(peak < TARGETS.rssBytes)]);
  for (const s of memory.snapshots.filter((x) => x.label.startsWith('after'))) {
    const before = memory.snapshots.find((x) => x.backend === s.backend && x.label.startsWith('before'));
    rows.push([`TF.js tensors flat across ${memory.predictions_per_backend} predictions (${s.backend})`, `${before?.snap.tensors} → ${s.snap.tensors}`, mark(before?.snap.tensors === s.snap.tensors)]);
  }
}

printTable('Targets (TARGETS.md) against this run', ['target', 'measured', 'verdict'], rows);
printTable('Benchmarks run', ['benchmark', 'exit code', 'time'], runs.map((r) => [`bench-${r.name}`, r.exit_code, ms(r.seconds * 1000)]));
writeResults('bench-all', { benchmark: 'bench-all', machine, runs, targets: rows.map(([target, measured, verdict]) => ({ target, measured, verdict })) });
process.exitCode = runs.some((r) => r.exit_code !== 0) ? 1 : 0;
