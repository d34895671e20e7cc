/** Classification metrics over label strings (macro-F1 as scikit-learn: over the labels seen in truth or predictions). */

export function accuracy(truth: readonly string[], predicted: readonly string[]): number {
  if (truth.length !== predicted.length) throw new Error(`length mismatch: ${truth.length} truths, ${predicted.length} predictions`);
  if (truth.length === 0) return 0;
  let hits = 0;
  truth.forEach((label, i) => (hits += label === predicted[i] ? 1 : 0));
  return hits / truth.length;
}

export function macroF1(truth: readonly string[], predicted: readonly string[]): number {
  if (truth.length !== predicted.length) throw new Error(`length mismatch: ${truth.length} truths, ${predicted.length} predictions`);
  const labels = new Set([...truth, ...predicted]);
  if (labels.size === 0) return 0;
  const tp = new Map<string, number>();
  const fp = new Map<string, number>();
  const fn = new Map<string, number>();
  const inc = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  truth.forEach((label, i) => {
    const guess = predicted[i]!;
    if (guess === label) inc(tp, label);
    else {
      inc(fp, guess);
      inc(fn, label);
    }
  });
  let sum = 0;
  for (const label of labels) {
    const t = tp.get(label) ?? 0;
    const denominator = 2 * t + (fp.get(label) ?? 0) + (fn.get(label) ?? 0);
    sum += denominator === 0 ? 0 : (2 * t) / denominator;
  }
  return sum / labels.size;
}
