/** The simulator's outputs: summary per strategy, curves.csv, results.json, the plot (SVG + PNG) and the printed table. */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { labelsToReach, labelsToStay, normalizedAulc, type CurvePoint } from './learning-curve.js';
import { lineSpec, renderSvg, svgToPng } from './plot.js';

export interface Plan {
  initial: number;
  batchSize: number;
  rounds: number;
  /** Unlabelled items scored per round (a random subsample of the pool); 0 = the whole pool. */
  poolSample: number;
}

export interface Reference {
  accuracy: number;
  macroF1: number;
  fitS: number;
  labels: number;
  source: 'full-data' | 'given' | 'last-point';
}

export interface Curve {
  strategy: string;
  points: CurvePoint[];
  seconds: number;
}

export interface Report {
  date: string;
  dataset: string;
  nTrain: number;
  nTest: number;
  labels: number;
  plan: Plan;
  seed: number;
  extraParams: Record<string, unknown>;
  embedder: unknown;
  full: Reference;
  summary: ReturnType<typeof summarize>;
  curves: Curve[];
}

export function summarize(curves: readonly Curve[], full: Reference, nTrain: number) {
  const share = (labels: number | null) => (labels === null ? null : labels / nTrain);
  return curves.map(({ strategy, points, seconds }) => {
    const to95 = labelsToReach(points, full.accuracy, 0.95);
    const to99 = labelsToReach(points, full.accuracy, 0.99);
    const last = points[points.length - 1];
    return {
      strategy,
      labelsTo95: to95,
      fractionTo95: share(to95),
      labelsTo99: to99,
      fractionTo99: share(to99),
      /** From here on the curve never drops below 99% again (within the run). */
      labelsTo99Sustained: labelsToStay(points, full.accuracy, 0.99),
      aulcAccuracy: normalizedAulc(points, 'accuracy'),
      aulcMacroF1: normalizedAulc(points, 'macroF1'),
      finalLabels: last?.labels ?? 0,
      finalAccuracy: last?.accuracy ?? NaN,
      finalMacroF1: last?.macroF1 ?? NaN,
      meanFitS: points.reduce((sum, p) => sum + p.fitS, 0) / Math.max(1, points.length),
      seconds,
    };
  });
}

function referenceText(report: Report): string {
  const { full } = report;
  if (full.source === 'given') return 'given';
  if (full.source === 'last-point') return `best last point (${full.labels} labels)`;
  return `full data (${report.nTrain} labels)`;
}

export async function plotReport(report: Report): Promise<string> {
  const { plan, full } = report;
  const rows = report.curves.flatMap(({ strategy, points }) => points.map((p) => ({ x: p.labels, y: p.accuracy, series: strategy })));
  const lowest = Math.min(...rows.map((r) => r.y), 0.95 * full.accuracy);
  return renderSvg(
    lineSpec({
      title: `Active learning on ${report.dataset} (over HTTP)`,
      subtitle: [
        `random seed set of ${plan.initial}, then batches of ${plan.batchSize}`,
        ...(plan.poolSample ? [`uncertainty scores ${plan.poolSample} random pool items per round`] : []),
        ...(report.curves.some((c) => c.points.some((p) => p.refreshS !== undefined)) ? ['the Label Studio loop sorts the whole pool (refresh scores)'] : []),
        `reference accuracy ${full.accuracy.toFixed(4)} (top dashed line): ${referenceText(report)}`,
      ],
      xTitle: 'labels used',
      yTitle: 'test accuracy',
      rows,
      rules: [
        { y: full.accuracy, label: '' },
        { y: 0.99 * full.accuracy, label: '99%' },
        { y: 0.95 * full.accuracy, label: '95%' },
      ],
      yDomain: [Math.max(0, Math.floor(lowest * 50) / 50), Math.min(1, Math.ceil(Math.max(full.accuracy, ...rows.map((r) => r.y)) * 100 + 0.5) / 100)],
    }),
  );
}

/** Writes curves.csv, results.json, learning-curve.svg/.png into `outDir` (and the PNG to `pngCopy`); returns the PNG's size. */
export async function writeReport(report: Report, outDir: string, pngCopy?: string): Promise<number> {
  report.summary = summarize(report.curves, report.full, report.nTrain);
  mkdirSync(outDir, { recursive: true });
  const csv = ['strategy,round,labels,label_fraction,accuracy,macro_f1,fit_s,refresh_s,scored,model_version'];
  for (const { strategy, points } of report.curves) {
    for (const p of points) {
      csv.push([JSON.stringify(strategy), p.round, p.labels, (p.labels / report.nTrain).toFixed(4), p.accuracy.toFixed(4), p.macroF1.toFixed(4), p.fitS.toFixed(3), p.refreshS?.toFixed(3) ?? '', p.scored, p.modelVersion].join(','));
    }
  }
  writeFileSync(join(outDir, 'curves.csv'), csv.join('\n') + '\n');
  writeFileSync(join(outDir, 'results.json'), JSON.stringify(report, null, 2) + '\n');
  const svg = await plotReport(report);
  writeFileSync(join(outDir, 'learning-curve.svg'), svg);
  const png = svgToPng(svg, 680);
  writeFileSync(join(outDir, 'learning-curve.png'), png);
  if (pngCopy) {
    mkdirSync(dirname(pngCopy), { recursive: true });
    copyFileSync(join(outDir, 'learning-curve.png'), pngCopy);
  }
  return png.length;
}

export function printReport(report: Report): void {
  const n = report.nTrain;
  const show = (labels: number | null) => (labels === null ? 'not reached' : `${labels} (${((labels / n) * 100).toFixed(1)}%)`);
  console.log(`\nActive learning on ${report.dataset}: ${n} train / ${report.nTest} test; reference accuracy ${report.full.accuracy.toFixed(4)} (${referenceText(report)})\n`);
  console.log('| strategy | labels to 95% | labels to 99% | 99% for good | AULC acc | AULC macro-F1 | final labels | final acc | mean fit s | run s |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const s of report.summary) {
    console.log(
      `| ${s.strategy} | ${show(s.labelsTo95)} | ${show(s.labelsTo99)} | ${show(s.labelsTo99Sustained)} | ${s.aulcAccuracy.toFixed(4)} | ${s.aulcMacroF1.toFixed(4)} | ${s.finalLabels} | ${s.finalAccuracy.toFixed(4)} | ${s.meanFitS.toFixed(2)} | ${s.seconds.toFixed(0)} |`,
    );
  }
}
