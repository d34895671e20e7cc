/**
 * Accuracy and speed of the offline text classifier (hashed n-grams + head) on the shared data
 * sets, next to the reference Python backend's figures (TARGETS.md).
 *
 *   npx tsx scripts/quality-offline.ts [dataset ...] [--hidden N] [--lr X] [--batch N] [--seed N] [--refit true|false] ...
 *
 * Defaults are exactly what the server trains: HASHED_OPTIONS and recipeFor (recipe.ts), class
 * weights 'auto' (as model.ts); flags override them.
 *
 * Trains on train.csv (validation carved from it), evaluates on test.csv. Training and
 * prediction run on `wasm` (with the head's sparse kernels); `--train-backend cpu` to compare.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse/sync';
import * as tf from '@tensorflow/tfjs';
import { HashedNgramEmbedder } from '../src/tf/hashed-ngram-embedder.js';
import { DATA_DIR } from './lib/datasets.js';
import { QUALITY_REFERENCE } from './lib/bench-reference.js';
import { applyIdf, fitIdf } from '../examples/text-classifier/idf.js';
import { HASHED_OPTIONS, recipeFor } from '../examples/text-classifier/recipe.js';
import { type EpochProgress, argmaxRows, buildHead, macroF1, predictProbabilities, trainHead } from '../examples/text-classifier/head.js';

const DATA = DATA_DIR;
const REFERENCE = QUALITY_REFERENCE;

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    hidden: { type: 'string' },
    dropout: { type: 'string', default: '0' },
    lr: { type: 'string' },
    batch: { type: 'string' },
    epochs: { type: 'string' },
    patience: { type: 'string' },
    'val-split': { type: 'string' },
    l2: { type: 'string' },
    'class-weights': { type: 'string' },
    seed: { type: 'string' },
    refit: { type: 'string' },
    'train-backend': { type: 'string', default: 'wasm' },
    'word-buckets': { type: 'string' },
    'char-buckets': { type: 'string' },
    'char-weight': { type: 'string' },
    idf: { type: 'boolean' },
    'word-max': { type: 'string' },
    verbose: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results/quality-offline.json' },
  },
});

function num(v: string | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/** Drops unset options so the callee's defaults apply. */
function definedOnly<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

function readCsv(path: string): { texts: string[]; labels: string[] } {
  const records = parse<{ text: string; label: string }>(readFileSync(path), { columns: true, skip_empty_lines: true });
  return { texts: records.map((r) => r.text), labels: records.map((r) => r.label) };
}

async function useBackend(name: string): Promise<void> {
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend(name);
  await tf.ready();
}

async function runDataset(name: string) {
  const train = readCsv(join(DATA, name, 'train.csv'));
  const test = readCsv(join(DATA, name, 'test.csv'));
  const classes = [...new Set(train.labels)].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  const yTrain = Int32Array.from(train.labels, (l) => index.get(l)!);
  const yTest = Int32Array.from(test.labels, (l) => index.get(l) ?? -1);

  const embedderArgs = {
    wordBuckets: num(args['word-buckets']),
    charBuckets: num(args['char-buckets']),
    charWeight: num(args['char-weight']),
    wordNgrams: args['word-max'] ? ([1, Number(args['word-max'])] as const) : undefined,
  };
  // The server's settings (recipe.ts) unless a flag overrides them.
  const embedder = new HashedNgramEmbedder({ ...HASHED_OPTIONS, ...definedOnly(embedderArgs) });
  const recipe = recipeFor(train.texts.length, classes.length);
  const hidden = args.hidden === undefined ? recipe.hidden : Number(args.hidden);
  let t0 = performance.now();
  let xTrain = await embedder.embed(train.texts);
  const featurizeS = (performance.now() - t0) / 1000;
  let xTest = await embedder.embed(test.texts);
  if (args.idf ?? recipe.idf) {
    const idf = fitIdf(xTrain);
    xTrain = applyIdf(xTrain, idf);
    xTest = applyIdf(xTest, idf);
  }

  await useBackend(args['train-backend']);
  t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const model = buildHead({ featureKind: 'sparse', dim: embedder.dim, numClasses: classes.length, multiLabel: false, hidden, dropout: Number(args.dropout) });
  const cw = args['class-weights'];
  const trainArgs = {
    learningRate: num(args.lr),
    batchSize: num(args.batch),
    epochs: num(args.epochs),
    patience: num(args.patience),
    validationSplit: num(args['val-split']),
    l2: num(args.l2),
    seed: num(args.seed),
    refit: args.refit === undefined ? undefined : args.refit === 'true',
    classWeights: cw === undefined ? undefined : cw === 'auto' ? ('auto' as const) : cw === 'true',
    onEpoch: args.verbose ? (p: EpochProgress) => console.error(name, JSON.stringify(p)) : undefined,
  };
  // As model.ts: the recipe, class weights 'auto', then explicit overrides.
  const result = await trainHead(model, xTrain, yTrain, { ...recipe.train, ...definedOnly(trainArgs) });
  const fitS = (performance.now() - t0) / 1000;
  const fitCpu = process.cpuUsage(cpu0);
  // CPU time of this process: a fairer figure than wall time when the machine is shared.
  const fitCpuS = (fitCpu.user + fitCpu.system) / 1e6;

  await useBackend('wasm');
  predictProbabilities(model, xTest); // warm-up (kernel compilation, data moves)
  t0 = performance.now();
  const probs = predictProbabilities(model, xTest);
  const predictS = (performance.now() - t0) / 1000;
  const pred = argmaxRows(probs, classes.length);
  let hits = 0;
  yTest.forEach((c, i) => (hits += c === pred[i] ? 1 : 0));
  model.dispose();
  return {
    dataset: name,
    nTrain: train.texts.length,
    nTest: test.texts.length,
    classes: classes.length,
    acc: hits / test.texts.length,
    macroF1: macroF1(yTest, pred, classes.length),
    featurizeS,
    featurizeRate: train.texts.length / featurizeS,
    fitS,
    fitCpuS,
    epochs: result.epochs,
    bestEpoch: result.bestEpoch,
    predictRowsPerS: test.texts.length / predictS,
    backend: `${args['train-backend']} (fit) / wasm (predict)`,
    embedder: embedder.id,
    width: xTrain.width,
    reference: REFERENCE[name],
  };
}

const datasets = positionals.length > 0 ? positionals : Object.keys(REFERENCE);
const results = [];
for (const name of datasets) results.push(await runDataset(name));

const f = (v: number, d = 4) => v.toFixed(d);
console.log('| dataset | n_train | n_test | classes | acc | macro-F1 | featurize s | fit s (cpu s; epochs) | predict rows/s | backend | ref acc | ref F1 | ref fit s |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const ref = r.reference;
  console.log(`| ${r.dataset} | ${r.nTrain} | ${r.nTest} | ${r.classes} | ${f(r.acc)} | ${f(r.macroF1)} | ${f(r.featurizeS, 2)} | ${f(r.fitS, 2)} (${f(r.fitCpuS, 2)}; ${r.epochs}, best ${r.bestEpoch}) | ${Math.round(r.predictRowsPerS)} | ${r.backend} | ${ref ? f(ref.acc) : '-'} | ${ref ? f(ref.f1) : '-'} | ${ref?.fitS ?? '-'} |`);
}
mkdirSync(join(args.out, '..'), { recursive: true });
writeFileSync(args.out, JSON.stringify({ date: new Date().toISOString(), args, results }, null, 2) + '\n');
