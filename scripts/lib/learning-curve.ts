/** Learning-curve summaries: labels needed to reach a share of the full-data accuracy, and the area under the curve. */

export interface CurvePoint {
  round: number;
  labels: number;
  accuracy: number;
  macroF1: number;
  /** Training trigger -> new version served. */
  fitS: number;
  /** Label Studio loop: new version served -> every unlabelled task carries its prediction (the refresh). */
  refreshS?: number;
  /** Pool candidates scored to pick the next batch (0 for random picks). */
  scored: number;
  modelVersion: string;
}

/** The fewest labels at which the curve reaches `fraction * reference` accuracy, or null. */
export function labelsToReach(points: readonly CurvePoint[], reference: number, fraction: number): number | null {
  const target = fraction * reference;
  const hit = points.find((point) => point.accuracy >= target);
  return hit ? hit.labels : null;
}

/** The fewest labels from which every later point stays at or above `fraction * reference`, or null. */
export function labelsToStay(points: readonly CurvePoint[], reference: number, fraction: number): number | null {
  const target = fraction * reference;
  let from: number | null = null;
  for (const point of points) {
    if (point.accuracy < target) from = null;
    else from ??= point.labels;
  }
  return from;
}

/**
 * Area under accuracy-vs-labels by the trapezoid rule, divided by the label range it spans: the
 * mean accuracy over the run (in [0, 1]; comparable between strategies run on the same grid).
 */
export function normalizedAulc(points: readonly CurvePoint[], metric: 'accuracy' | 'macroF1' = 'accuracy'): number {
  if (points.length === 0) return 0;
  if (points.length === 1) return points[0]![metric];
  let area = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    area += ((b.labels - a.labels) * (a[metric] + b[metric])) / 2;
  }
  const span = points[points.length - 1]!.labels - points[0]!.labels;
  return span > 0 ? area / span : points[0]![metric];
}
