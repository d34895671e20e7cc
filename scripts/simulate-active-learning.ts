/**
 * Issue 7: plays Label Studio against the real backend over HTTP to measure active learning.
 * Per strategy (each on its own project): /setup -> annotate a random seed set -> loop {
 * START_TRAINING -> wait for the new version (poll /setup) -> evaluate on the test split
 * (/predict) -> pick the next batch (uncertainty: /predict on the unlabelled pool, lowest score
 * first; random) -> "annotate" it from the ground truth with ANNOTATION_CREATED webhooks }.
 *
 *   npm run simulate -- --dataset sms-spam-collection [--strategies uncertainty,random]
 *     [--batch-size N] [--rounds N | --max-labels N] [--initial N] [--seed N] [--pool-sample N]
 *     [--score-method margin|least_confidence|entropy] [--extra-params JSON] [--reference-acc X | --no-full]
 *     [--stratified] [--out dir] [--png file]
 *   npm run simulate -- --replot bench-results/active-learning/<data set>/results.json [--png file]
 *   npm run simulate -- --train a.csv --test b.csv ...
 *   npm run simulate -- --dataset sms-spam-collection --strategies uncertainty,label-studio
 *
 * Strategies: random; uncertainty[:method] (this script asks /predict for the pool's scores);
 * label-studio[:method] (issue 13: a stand-in Label Studio and a second server connected to it;
 * the next batch comes from sorting the Data Manager by the scores the prediction refresh wrote,
 * never from /predict — scripts/lib/al-label-studio-loop.ts). Label Studio always sorts the whole
 * pool: --pool-sample applies to uncertainty only.
 *
 * The seed set is random (--stratified: stratified by label, at least one per label) and the same
 * for every strategy. Outputs in --out (default bench-results/active-learning/<data set>): curves.csv, results.json,
 * learning-curve.svg and learning-curve.png (--png writes a copy elsewhere, e.g. into docs/).
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSplit, prng, shuffled, stratifiedSample } from './lib/datasets.js';
import { startExampleServer } from './lib/example-server.js';
import { annotationCreated, choicesConfig, legacyTrainBody, startTraining } from './lib/ls-payloads.js';
import { MlClient } from './lib/ml-client.js';
import { accuracy, macroF1 } from './lib/metrics.js';
import type { CurvePoint } from './lib/learning-curve.js';
import { printReport, summarize, writeReport, type Curve, type Plan, type Reference, type Report } from './lib/al-report.js';
import { parseStrategy, pickLeastConfident, pickRandom, SCORE_METHODS, type ScoreMethod, type Strategy } from './lib/al-strategies.js';
import { runThroughLabelStudio } from './lib/al-label-studio-loop.js';

/** Sized so a strategy finishes in a few minutes on 2 cores and covers the TARGETS.md label budgets (15% / 40%). */
const DEFAULT_PLANS: Record<string, Plan> = {
  'sms-spam-collection': { initial: 50, batchSize: 50, rounds: 14, poolSample: 2000 },
  'sentiment-labelled-sentences': { initial: 50, batchSize: 50, rounds: 15, poolSample: 0 },
  banking77: { initial: 400, batchSize: 400, rounds: 9, poolSample: 2000 },
};

const { values: args } = parseArgs({
  options: {
    dataset: { type: 'string' },
    train: { type: 'string' },
    test: { type: 'string' },
    strategies: { type: 'string', default: 'uncertainty,random' },
    'score-method': { type: 'string', default: 'margin' },
    'batch-size': { type: 'string' },
    rounds: { type: 'string' },
    'max-labels': { type: 'string' },
    initial: { type: 'string' },
    'pool-sample': { type: 'string' },
    seed: { type: 'string', default: '42' },
    'extra-params': { type: 'string' },
    'reference-acc': { type: 'string' },
    'no-full': { type: 'boolean', default: false },
    out: { type: 'string' },
    png: { type: 'string' },
    replot: { type: 'string' },
    stratified: { type: 'boolean', default: false },
  },
});

function positiveInt(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer >= ${min}, got ${raw}`);
  return value;
}

if (args.replot) {
  // Re-renders the outputs of an earlier run (results.json) without running anything.
  const report = JSON.parse(readFileSync(args.replot, 'utf8')) as Report;
  await writeReport(report, args.out ?? dirname(args.replot), args.png);
  printReport(report);
  process.exit(0);
}
if (!args.dataset && !(args.train && args.test)) throw new Error('give --dataset <name> (under DATA_DIR) or --train <csv> --test <csv>');
const split = loadSplit({ ...(args.dataset ? { dataset: args.dataset } : {}), ...(args.train ? { train: args.train } : {}), ...(args.test ? { test: args.test } : {}) });
const tag = args.dataset ?? basename(dirname(args.train!));
const fallbackBatch = Math.max(10, Math.round(split.train.length * 0.01));
const base = DEFAULT_PLANS[tag] ?? { initial: fallbackBatch, batchSize: fallbackBatch, rounds: 20, poolSample: 3000 };
const batchSize = positiveInt('batch-size', args['batch-size'], base.batchSize);
const initial = Math.min(positiveInt('initial', args.initial, base.initial), split.train.length);
const maxLabels = args['max-labels'] ? positiveInt('max-labels', args['max-labels'], 0) : undefined;
const rounds = maxLabels !== undefined ? Math.max(0, Math.ceil((maxLabels - initial) / batchSize)) : positiveInt('rounds', args.rounds, base.rounds, 0);
const plan: Plan = { initial, batchSize, rounds, poolSample: positiveInt('pool-sample', args['pool-sample'], base.poolSample, 0) };
const seed = positiveInt('seed', args.seed, 42, 0);
const defaultMethod = args['score-method'] as ScoreMethod;
if (!SCORE_METHODS.includes(defaultMethod)) throw new Error(`--score-method must be one of ${SCORE_METHODS.join(', ')}`);
const strategies = args.strategies.split(',').filter(Boolean).map((spec) => parseStrategy(spec, defaultMethod));
const extraParams = args['extra-params'] ? (JSON.parse(args['extra-params']) as Record<string, unknown>) : {};
const outDir = args.out ?? join('bench-results', 'active-learning', tag);
const config = choicesConfig(split.labels);
const testTasks = split.test.map((row, i) => ({ id: 10_000_000 + i, text: row.text }));
const testTruth = split.test.map((row) => row.label);

/** Runs `fn` over `items` with at most `limit` in flight. */
async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}

async function evaluate(client: MlClient, project: number, expected: string) {
  const { predictions, versions } = await client.predict(project, config, testTasks);
  if (versions.size !== 1 || !versions.has(expected)) throw new Error(`test predictions came from ${[...versions].join(', ')}, expected ${expected}`);
  const predicted = predictions.map((p) => p.choice);
  return { accuracy: accuracy(testTruth, predicted), macroF1: macroF1(testTruth, predicted) };
}

/** Trains on the whole train split once (legacy /train) for the full-data accuracy. */
async function fullDataReference(client: MlClient, project: number) {
  const v0 = await client.setup(project, config, extraParams);
  const t0 = performance.now();
  const items = split.train.map((row, i) => ({ taskId: i + 1, annotationId: i + 1, text: row.text, label: row.label }));
  const reply = await client.post<{ job?: string }>('/train', legacyTrainBody(project, config, items));
  const version = await client.waitForNewVersion(project, v0, { timeoutMs: 1_800_000, ...(reply.job ? { job: reply.job } : {}) });
  const fitS = (performance.now() - t0) / 1000;
  return { ...(await evaluate(client, project, version)), fitS, labels: split.train.length };
}

async function runStrategy(client: MlClient, strategy: Strategy, project: number, seedSet: number[]): Promise<{ points: CurvePoint[]; seconds: number }> {
  if (strategy.kind === 'label-studio') return runThroughLabelStudio({ split, plan, seedSet, extraParams, scoreMethod: strategy.scoreMethod });
  const random = prng(seed * 7919 + project);
  const t0 = performance.now();
  let version = await client.setup(project, config, { ...extraParams, score_method: strategy.scoreMethod });
  const labelled = new Set<number>();
  let pool = split.train.map((_, i) => i);
  let batch = seedSet;
  let scored = 0;
  const points: CurvePoint[] = [];
  for (let round = 0; round <= plan.rounds && batch.length > 0; round++) {
    // Annotate: one ANNOTATION_CREATED per task, as Label Studio sends them.
    await mapLimit(batch, 4, (i) =>
      client.post('/webhook', annotationCreated(project, config, { taskId: i + 1, annotationId: i + 1, text: split.train[i]!.text, label: split.train[i]!.label })),
    );
    for (const i of batch) labelled.add(i);
    pool = pool.filter((i) => !labelled.has(i));

    const f0 = performance.now();
    const reply = await client.post<{ job?: string }>('/webhook', startTraining(project, config));
    version = await client.waitForNewVersion(project, version, { timeoutMs: 900_000, ...(reply.job ? { job: reply.job } : {}) });
    const fitS = (performance.now() - f0) / 1000;
    const metrics = await evaluate(client, project, version);
    points.push({ round, labels: labelled.size, ...metrics, fitS, scored, modelVersion: version });
    console.error(`[simulate] ${strategy.name} round ${round}: ${labelled.size} labels, acc ${metrics.accuracy.toFixed(4)}, F1 ${metrics.macroF1.toFixed(4)}, fit ${fitS.toFixed(1)} s, ${((performance.now() - t0) / 1000).toFixed(0)} s so far`);

    if (round === plan.rounds || pool.length === 0) break;
    const n = Math.min(plan.batchSize, pool.length);
    if (strategy.kind === 'random') {
      batch = pickRandom(pool, n, random);
      scored = 0;
    } else {
      const candidates = plan.poolSample > 0 && pool.length > plan.poolSample ? shuffled(pool, random).slice(0, plan.poolSample) : pool;
      const { predictions } = await client.predict(project, config, candidates.map((i) => ({ id: i + 1, text: split.train[i]!.text })));
      batch = pickLeastConfident(candidates, predictions.map((p) => p.score), n);
      scored = candidates.length;
    }
  }
  return { points, seconds: (performance.now() - t0) / 1000 };
}

const started = performance.now();
console.error(`[simulate] ${tag}: ${split.train.length} train, ${split.test.length} test, ${split.labels.length} labels; plan ${JSON.stringify(plan)}; strategies ${strategies.map((s) => s.name).join(', ')}`);
const backend = await startExampleServer();
const client = new MlClient(backend.server.url);
const curves: Curve[] = [];
let full: Reference | undefined;
try {
  if (args['reference-acc']) full = { accuracy: Number(args['reference-acc']), macroF1: NaN, fitS: NaN, labels: split.train.length, source: 'given' };
  else if (!args['no-full']) {
    full = { ...(await fullDataReference(client, 1)), source: 'full-data' };
    console.error(`[simulate] full data: acc ${full.accuracy.toFixed(4)}, F1 ${full.macroF1.toFixed(4)}, fit ${full.fitS.toFixed(1)} s`);
  }
  // The same random seed set for every strategy, so the curves share their first point.
  const seedSet = args.stratified
    ? stratifiedSample(split.train.map((row) => row.label), plan.initial, prng(seed))
    : shuffled(split.train.map((_, i) => i), prng(seed)).slice(0, plan.initial);
  for (const [k, strategy] of strategies.entries()) curves.push({ strategy: strategy.name, ...(await runStrategy(client, strategy, 10 + k, seedSet)) });
} catch (error) {
  console.error(backend.server.output().slice(-4000));
  throw error;
} finally {
  await backend.close();
}
const reference: Reference =
  full ??
  (() => {
    const last = curves.map((c) => c.points[c.points.length - 1]!).reduce((a, b) => (b.labels > a.labels || (b.labels === a.labels && b.accuracy > a.accuracy) ? b : a));
    return { accuracy: last.accuracy, macroF1: last.macroF1, fitS: last.fitS, labels: last.labels, source: 'last-point' as const };
  })();

const report: Report = {
  date: new Date().toISOString(),
  dataset: tag,
  nTrain: split.train.length,
  nTest: split.test.length,
  labels: split.labels.length,
  plan,
  seed,
  extraParams,
  embedder: backend.health.embedder,
  full: reference,
  summary: summarize(curves, reference, split.train.length),
  curves,
};
const pngBytes = await writeReport(report, outDir, args.png);
printReport(report);
console.log(`\nwrote ${outDir}/{curves.csv,results.json,learning-curve.svg,learning-curve.png} (PNG ${(pngBytes / 1024).toFixed(0)} KB)${args.png ? ` and ${args.png}` : ''}; ${((performance.now() - started) / 1000).toFixed(0)} s in all`);
