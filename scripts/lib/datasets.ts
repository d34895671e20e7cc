/**
 * The shared data sets (../shared/data beside the repository, or DATA_DIR): CSV loading in place (header
 * text,label), a seeded PRNG, shuffling and stratified sampling. Nothing is copied into the repo.
 */
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';

/** ../shared/data beside the repository (read in place, never copied), or DATA_DIR. */
export const DATA_DIR = process.env.DATA_DIR ?? fileURLToPath(new URL('../../../shared/data', import.meta.url));
export const DATASETS = ['sms-spam-collection', 'sentiment-labelled-sentences', 'banking77'] as const;

export interface Example {
  text: string;
  label: string;
}

export interface Split {
  name: string;
  train: Example[];
  test: Example[];
  /** Labels of the train split, sorted (the <Choices> of the generated config). */
  labels: string[];
}

export function readCsv(path: string): Example[] {
  const records = parse<Record<string, string | undefined>>(readFileSync(path), { columns: true, skip_empty_lines: true });
  return records.map((record, i) => {
    const { text, label } = record;
    if (typeof text !== 'string' || typeof label !== 'string') throw new Error(`${path}: row ${i + 2} lacks text or label`);
    return { text, label };
  });
}

export function labelsOf(rows: readonly Example[]): string[] {
  return [...new Set(rows.map((row) => row.label))].sort();
}

/** A named data set under DATA_DIR, or explicit train/test CSV paths. */
export function loadSplit(options: { dataset?: string; train?: string; test?: string }): Split {
  const trainPath = options.train ?? (options.dataset ? join(DATA_DIR, options.dataset, 'train.csv') : undefined);
  const testPath = options.test ?? (options.dataset ? join(DATA_DIR, options.dataset, 'test.csv') : undefined);
  if (!trainPath || !testPath) throw new Error('give a data set name, or both train and test CSV paths');
  const train = readCsv(trainPath);
  const test = readCsv(testPath);
  return { name: options.dataset ?? trainPath, train, test, labels: labelsOf(train) };
}

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates on a copy. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * `n` indices into `labels`, spread over the classes in proportion to their size, with at
 * least one per class while `n` allows (so a seed set of a few dozen still sees every class).
 */
export function stratifiedSample(labels: readonly string[], n: number, random: () => number): number[] {
  const byClass = new Map<string, number[]>();
  labels.forEach((label, i) => {
    const list = byClass.get(label) ?? [];
    list.push(i);
    byClass.set(label, list);
  });
  const total = labels.length;
  const want = Math.min(n, total);
  const classes = shuffled([...byClass.keys()].sort(), random);
  const picks = new Map<string, number[]>(classes.map((c) => [c, shuffled(byClass.get(c)!, random)]));
  const taken = new Map<string, number>(classes.map((c) => [c, 0]));
  const take = (c: string, k: number) => taken.set(c, Math.min(picks.get(c)!.length, taken.get(c)! + k));
  let left = want;
  // One per class first, then the proportional shares, then the remainder round-robin.
  for (const c of classes) {
    if (left === 0) break;
    take(c, 1);
    left -= 1;
  }
  for (const c of classes) {
    const share = Math.max(0, Math.floor((want * picks.get(c)!.length) / total) - taken.get(c)!);
    const add = Math.min(share, left, picks.get(c)!.length - taken.get(c)!);
    take(c, add);
    left -= add;
  }
  for (let guard = 0; left > 0 && guard < total; guard++) {
    for (const c of classes) {
      if (left === 0) break;
      if (taken.get(c)! < picks.get(c)!.length) {
        take(c, 1);
        left -= 1;
      }
    }
  }
  return classes.flatMap((c) => picks.get(c)!.slice(0, taken.get(c)));
}
