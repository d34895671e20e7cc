/**
 * The text classifier's features and head in-process (no HTTP), for tuning: each encoder mode
 * and head setting on the shared data sets. `--tune` trains on 80% of train.csv and scores the
 * other 20% (settings are chosen there, never on test.csv); without it, trains on train.csv and
 * scores test.csv. USE rows come from MODEL_DIR's persistent embedding cache (warm it once with
 * scripts/warm-embedding-cache.ts), so runs take seconds.
 *
 *   npx tsx scripts/quality-offline.ts [dataset ...] --model-dir DIR [--encoder combined|use|hashed] [--tune]
 *     [--dense-weight X] [--word-buckets N] [--char-buckets N] [--char-weight X] [--lr X] [--epochs N] [--l2 X] [--batch N] [--seed N]
 */
import { parseArgs } from 'node:util';
import {
  CachedEmbedder,
  CombinedEmbedder,
  EmbeddingCache,
  HashedNgramEmbedder,
  LinearHead,
  argmaxRows,
  initTfRuntime,
  macroF1,
  recipeFor,
  shapeFor,
  trainLinearHead,
  type Embedder,
  type Features,
} from '../src/index.js';
import { DEFAULT_ENCODER_TUNING, type EncoderTuning } from '../src/tf/text-encoder.js';
import { QUALITY_REFERENCE } from './lib/bench-reference.js';
import { DATASETS, loadSplit, prng, shuffled, type Example } from './lib/datasets.js';
import { lazyUsePool } from './lib/use-pool.js';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'model-dir': { type: 'string' },
    encoder: { type: 'string', default: 'combined' },
    tune: { type: 'boolean', default: false },
    'dense-weight': { type: 'string' },
    'word-buckets': { type: 'string' },
    'char-buckets': { type: 'string' },
    'char-weight': { type: 'string' },
    lr: { type: 'string' },
    epochs: { type: 'string' },
    l2: { type: 'string' },
    batch: { type: 'string' },
    seed: { type: 'string' },
    schedule: { type: 'string' },
    'val-split': { type: 'string' },
    c: { type: 'string' },
    idf: { type: 'string' },
    'class-weights': { type: 'string' },
    subset: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };

await initTfRuntime();
const cache = args['model-dir'] ? EmbeddingCache.open(args['model-dir']) : undefined;
const tuning: EncoderTuning = { ...DEFAULT_ENCODER_TUNING, ...defined({ denseWeight: num(args['dense-weight']), wordBuckets: num(args['word-buckets']), charBuckets: num(args['char-buckets']), charWeight: num(args['char-weight']) }) };
const hashed = new HashedNgramEmbedder({ wordBuckets: tuning.wordBuckets, charBuckets: tuning.charBuckets, charWeight: tuning.charWeight });
const pool = lazyUsePool();
const use = cache ? new CachedEmbedder(pool, cache) : undefined;
function encoder(): Embedder {
  if (args.encoder === 'hashed') return hashed;
  if (!use) throw new Error('--model-dir (with a warm embedding cache) is needed for USE');
  return args.encoder === 'use' ? use : new CombinedEmbedder(use, hashed, { denseWeight: tuning.denseWeight });
}

/** Train/evaluate rows: train.csv/test.csv, or (--tune) a stratified 80/20 split of train.csv. Labels are those of the full train split. */
function rowsOf(name: string): { train: Example[]; test: Example[] } {
  const split = loadSplit({ dataset: name });
  if (!args.tune) return split;
  const rand = prng(7);
  const byLabel = new Map<string, Example[]>();
  for (const row of split.train) byLabel.set(row.label, [...(byLabel.get(row.label) ?? []), row]);
  const train: Example[] = [];
  const test: Example[] = [];
  for (const rows of byLabel.values()) shuffled(rows, rand).forEach((row, i) => (i < Math.round(rows.length * 0.2) ? test : train).push(row));
  return { train, test };
}

async function run(name: string) {
  const rows = rowsOf(name);
  const test = rows.test;
  // --subset N: a random N of the training rows (how the head does with few labels).
  const train = args.subset ? shuffled(rows.train, prng(11)).slice(0, Number(args.subset)) : rows.train;
  const labels = [...new Set(train.map((r) => r.label))].sort();
  const index = new Map(labels.map((l, i) => [l, i]));
  const enc = encoder();
  const xTrain: Features = await enc.embed(train.map((r) => r.text), { priority: 'bulk' });
  const xTest: Features = await enc.embed(test.map((r) => r.text));

  const head = new LinearHead(shapeFor(xTrain, labels.length, false));
  const t0 = performance.now();
  const result = await trainLinearHead(head, xTrain, Int32Array.from(train, (r) => index.get(r.label)!), {
    ...recipeFor(train.length, xTrain.kind),
    ...defined({ learningRate: num(args.lr), epochs: num(args.epochs), l2: args.c ? 1 / (2 * Number(args.c) * train.length) : num(args.l2), batchSize: num(args.batch), seed: num(args.seed), validationSplit: num(args['val-split']) }),
    ...(args.idf ? { idf: args.idf === 'true' } : {}),
    ...(args['class-weights'] ? { classWeights: args['class-weights'] === 'true' } : {}),
    ...(args.schedule ? { schedule: args.schedule as 'linear' | 'constant' } : {}),
    ...(args.verbose ? { onEpoch: (p) => console.error(name, JSON.stringify(p)) } : {}),
  });
  const fitS = (performance.now() - t0) / 1000;
  const truth = Int32Array.from(test, (r) => index.get(r.label) ?? -1);
  const pred = argmaxRows(head.probabilities(xTest), labels.length);
  const hits = truth.reduce((s, c, i) => s + (c === pred[i] ? 1 : 0), 0);
  return { name, encoder: enc.id, acc: hits / test.length, f1: macroF1(truth, pred, labels.length), fitS, epochs: result.epochs, bestEpoch: result.bestEpoch, n: `${train.length}/${test.length}` };
}

console.log(`${args.tune ? 'TUNE (80/20 of train.csv)' : 'TEST (train.csv -> test.csv)'}; tuning ${JSON.stringify(tuning)}; args ${JSON.stringify(defined({ lr: args.lr, epochs: args.epochs, l2: args.l2, batch: args.batch }))}`);
for (const name of positionals.length > 0 ? positionals : DATASETS) {
  const r = await run(name);
  const ref = QUALITY_REFERENCE[name];
  console.log(`${r.name.padEnd(30)} acc ${r.acc.toFixed(4)} F1 ${r.f1.toFixed(4)} fit ${r.fitS.toFixed(1)} s epochs ${r.epochs} (best ${r.bestEpoch}) n ${r.n}${ref && !args.tune ? ` | ref ${ref.acc.toFixed(4)}` : ''}`);
}
await pool.close();
cache?.close();
