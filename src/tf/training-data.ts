/**
 * What a head's training loop needs around the model: labels, seeded shuffles, a stratified
 * validation split, mini-batches of similar row lengths, class weights, targets and metrics.
 */

/** Labels: a class index per row, or one multi-hot `Uint8Array(numClasses)` per row. */
export type Labels = Int32Array | readonly Uint8Array[];

/** Seeded PRNG (mulberry32): the same seed gives the same split and batch order. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function range(n: number): Int32Array {
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  return r;
}

export function shuffle(a: Int32Array, rand: () => number): Int32Array {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/** The class of each row, or its first positive label (multi-label): what splits stratify on. */
export function labelGroups(y: Labels): Int32Array {
  if (y instanceof Int32Array) return y;
  return Int32Array.from(y, (row) => Math.max(0, row.indexOf(1)));
}

/** Stratified train/validation split of row indices; every class keeps a training row. */
export function splitRows(groups: Int32Array, fraction: number, rand: () => number): { train: Int32Array; val: Int32Array } {
  const byGroup = new Map<number, number[]>();
  groups.forEach((g, i) => {
    const list = byGroup.get(g) ?? [];
    list.push(i);
    byGroup.set(g, list);
  });
  const train: number[] = [];
  const val: number[] = [];
  for (const g of [...byGroup.keys()].sort((a, b) => a - b)) {
    const rows = shuffle(Int32Array.from(byGroup.get(g)!), rand);
    const k = Math.min(rows.length - 1, Math.round(rows.length * fraction));
    rows.forEach((r, i) => (i < k ? val : train).push(r));
  }
  return { train: Int32Array.from(train), val: Int32Array.from(val) };
}

/** `items` sorted (stably) by `lengths[item]`. */
function byLength(items: Int32Array, lengths: Int32Array): Int32Array {
  return Int32Array.from([...items].sort((a, b) => lengths[a]! - lengths[b]! || a - b));
}

/**
 * One epoch's batches: shuffled, then (with row lengths) sorted by length within windows of 16
 * batches and the batches shuffled again, so batches stay random but need little padding.
 */
export function epochBatches(rows: Int32Array, lengths: Int32Array | null, batchSize: number, rand: () => number): Int32Array[] {
  shuffle(rows, rand);
  const batches: Int32Array[] = [];
  const window = lengths ? batchSize * 16 : batchSize;
  for (let w = 0; w < rows.length; w += window) {
    let chunk: Int32Array = rows.slice(w, Math.min(rows.length, w + window));
    if (lengths) chunk = byLength(chunk, lengths);
    for (let b = 0; b < chunk.length; b += batchSize) batches.push(chunk.subarray(b, Math.min(chunk.length, b + batchSize)));
  }
  for (let i = batches.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [batches[i], batches[j]] = [batches[j]!, batches[i]!];
  }
  return batches;
}

/** Small sets need more, smaller steps per epoch; large ones gain from big batches. */
export function autoBatchSize(rows: number): number {
  return Math.min(512, Math.max(32, 2 ** Math.round(Math.log2(Math.max(1, rows / 32)))));
}

/** n / (classes × count) per class: rare classes weigh as much as common ones in the loss. */
export function classWeightsFor(y: Int32Array, numClasses: number): Float32Array {
  const counts = new Float64Array(numClasses);
  for (const c of y) counts[c]!++;
  return Float32Array.from(counts, (n) => (n > 0 ? y.length / (numClasses * n) : 0));
}

/** Row targets (one-hot or multi-hot) and per-row loss weights for `rows`. */
export function targets(y: Labels, rows: ArrayLike<number>, numClasses: number, classW: Float32Array | null): { t: Float32Array; w: Float32Array } {
  const t = new Float32Array(rows.length * numClasses);
  const w = new Float32Array(rows.length).fill(1);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (y instanceof Int32Array) {
      t[i * numClasses + y[r]!] = 1;
      if (classW) w[i] = classW[y[r]!]!;
    } else {
      const row = y[r]!;
      for (let c = 0; c < numClasses; c++) t[i * numClasses + c] = row[c] ? 1 : 0;
    }
  }
  return { t, w };
}

/** Index of the largest value in each row. */
export function argmaxRows(probs: Float32Array, numClasses: number): Int32Array {
  const rows = probs.length / numClasses;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (probs[r * numClasses + c]! > probs[r * numClasses + best]!) best = c;
    out[r] = best;
  }
  return out;
}

/** Unweighted mean of per-class F1 over classes that occur in truth or predictions. */
export function macroF1(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): number {
  const tp = new Float64Array(numClasses);
  const fp = new Float64Array(numClasses);
  const fn = new Float64Array(numClasses);
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i]!;
    const p = yPred[i]!;
    if (t === p) tp[t]!++;
    else {
      fp[p]!++;
      fn[t]!++;
    }
  }
  let sum = 0;
  let seen = 0;
  for (let c = 0; c < numClasses; c++) {
    const denom = 2 * tp[c]! + fp[c]! + fn[c]!;
    if (denom === 0) continue;
    sum += (2 * tp[c]!) / denom;
    seen++;
  }
  return seen === 0 ? 0 : sum / seen;
}

function binaryF1(truth: Int32Array, pred: Int32Array): number {
  let tp = 0;
  let wrong = 0;
  truth.forEach((t, i) => {
    if (t === 1 && pred[i] === 1) tp++;
    else if (t !== pred[i]) wrong++;
  });
  return tp + wrong === 0 ? 1 : (2 * tp) / (2 * tp + wrong);
}

/** Cross-entropy per row (summed over labels when multi-label), as the training loss. */
function crossEntropy(probs: Float32Array, t: Float32Array, rows: number, multiLabel: boolean): number {
  const eps = 1e-7;
  let sum = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probs[i]!));
    sum -= t[i]! * Math.log(p) + (multiLabel ? (1 - t[i]!) * Math.log(1 - p) : 0);
  }
  return sum / Math.max(1, rows);
}

export interface Evaluation {
  loss: number;
  /** Single-label: accuracy; multi-label: per-label (Hamming) accuracy. */
  accuracy: number;
  /** Single-label: macro-F1; multi-label: mean of per-label binary F1. */
  macroF1: number;
}

/** Loss, accuracy and macro-F1 of probabilities `probs` (one row per entry of `rows`). */
export function evaluate(probs: Float32Array, y: Labels, rows: Int32Array, numClasses: number): Evaluation {
  const multiLabel = !(y instanceof Int32Array);
  const { t } = targets(y, rows, numClasses, null);
  const loss = crossEntropy(probs, t, rows.length, multiLabel);
  if (!multiLabel) {
    const truth = Int32Array.from(rows, (r) => y[r]!);
    const pred = argmaxRows(probs, numClasses);
    let hits = 0;
    truth.forEach((c, i) => (hits += c === pred[i] ? 1 : 0));
    return { loss, accuracy: hits / Math.max(1, rows.length), macroF1: macroF1(truth, pred, numClasses) };
  }
  let hits = 0;
  let f1 = 0;
  for (let c = 0; c < numClasses; c++) {
    const truth = new Int32Array(rows.length);
    const pred = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      truth[i] = t[i * numClasses + c]!;
      pred[i] = probs[i * numClasses + c]! >= 0.5 ? 1 : 0;
      hits += truth[i] === pred[i] ? 1 : 0;
    }
    f1 += binaryF1(truth, pred);
  }
  return { loss, accuracy: hits / Math.max(1, rows.length * numClasses), macroF1: f1 / numClasses };
}

export function abortError(signal: AbortSignal): Error {
  if (signal.reason instanceof Error && signal.reason.name === 'AbortError') return signal.reason;
  const err = new Error('training aborted');
  err.name = 'AbortError';
  return err;
}
