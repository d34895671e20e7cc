/**
 * Line charts drawn with uPlot, readable without colour: each series has its own dash pattern
 * and marker shape (named in the legend text), the axes are labelled, and every chart comes
 * with a data table holding the same figures.
 */
import uPlot from './uPlot.esm.js';
import { h, table } from './dom.js';
import { formatNumber } from './format.js';

/** Okabe–Ito colours (safe for colour-blind readers), each with a dash pattern and a marker of its own. */
const STYLES = [
  { stroke: '#0072b2', dash: [], marker: 'circle', line: 'solid line' },
  { stroke: '#d55e00', dash: [10, 5], marker: 'square', line: 'dashed line' },
  { stroke: '#009e73', dash: [2, 4], marker: 'triangle', line: 'dotted line' },
  { stroke: '#cc79a7', dash: [12, 4, 3, 4], marker: 'diamond', line: 'dash-dot line' },
  { stroke: '#000000', dash: [6, 3, 2, 3, 2, 3], marker: 'cross', line: 'dash-dot-dot line' },
];
const HEIGHT = 240;

function addShape(path, shape, x, y, r) {
  switch (shape) {
    case 'square':
      path.rect(x - r, y - r, 2 * r, 2 * r);
      break;
    case 'triangle':
      path.moveTo(x, y - r * 1.2);
      path.lineTo(x + r * 1.1, y + r * 0.8);
      path.lineTo(x - r * 1.1, y + r * 0.8);
      path.closePath();
      break;
    case 'diamond':
      path.moveTo(x, y - r * 1.3);
      path.lineTo(x + r * 1.1, y);
      path.lineTo(x, y + r * 1.3);
      path.lineTo(x - r * 1.1, y);
      path.closePath();
      break;
    case 'cross':
      path.rect(x - r, y - r / 3, 2 * r, (2 * r) / 3);
      path.rect(x - r / 3, y - r, (2 * r) / 3, 2 * r);
      break;
    default:
      path.moveTo(x + r, y);
      path.arc(x, y, r, 0, Math.PI * 2);
  }
}

/** uPlot draws round points only; this path builder draws the series' own marker shape. */
function markerPaths(shape, size) {
  return (u, seriesIdx, idx0, idx1) => {
    const path = new Path2D();
    const xs = u.data[0];
    const ys = u.data[seriesIdx];
    const scale = u.series[seriesIdx].scale;
    const r = (size / 2) * uPlot.pxRatio;
    for (let i = idx0; i <= idx1; i++) {
      if (ys[i] === null || ys[i] === undefined) continue;
      addShape(path, shape, u.valToPos(xs[i], 'x', true), u.valToPos(ys[i], scale, true), r);
    }
    return { stroke: path, fill: path, clip: null, flags: 0 };
  };
}

function seriesOptions(spec, index) {
  const style = STYLES[index % STYLES.length];
  const size = spec.markerSize ?? 9;
  const marker = `${spec.hollow ? 'hollow ' : ''}${style.marker}s`;
  return {
    label: `${spec.label} (${spec.line === false ? marker : `${style.line}, ${marker}`})`,
    scale: spec.scale ?? 'y',
    stroke: style.stroke,
    width: spec.line === false ? 0 : 2,
    dash: style.dash,
    spanGaps: true,
    value: (_u, value) => formatNumber(value),
    points: { show: true, size, width: 2, dash: [], fill: spec.hollow ? 'transparent' : style.stroke, paths: markerPaths(style.marker, size) },
  };
}

/**
 * Axis ranges: a little room around the data, a lone value (one version, one epoch) kept off
 * the edges, and scores that live in [0, 1] never drawn outside it.
 */
function padRange(bounded) {
  /** @type {(u: unknown, min: number | null, max: number | null) => [number, number]} */
  const range = (_u, min, max) => {
    if (min === null || max === null) return [0, 1];
    const pad = min === max ? Math.abs(min) * 0.1 || 1 : (max - min) * 0.08;
    return bounded && min >= 0 && max <= 1 ? [Math.max(0, min - pad), Math.min(1, max + pad)] : [min - pad, max + pad];
  };
  return range;
}

/** Tick steps for counts (annotations, epochs): whole numbers only. */
const WHOLE_STEPS = [1, 2, 5].flatMap((step) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6].map((scale) => step * scale)).sort((a, b) => a - b);

/**
 * A chart in `container`: `spec` = { title, x: { label, whole? }, axes: { <scale>: { label, bounded? } },
 * series: [{ label, scale?, hollow?, line?, markerSize? }] }
 * and `data` = [xs, ...ys] (null = no value). Returns { update(data), destroy() }.
 */
export function lineChart(container, spec, data) {
  const scales = { x: { time: false, range: padRange(false) } };
  /** @type {Array<Record<string, unknown>>} */
  const axes = [{ label: spec.x.label, ...(spec.x.whole && { incrs: WHOLE_STEPS }) }];
  for (const [index, [scale, { label, bounded }]] of Object.entries(spec.axes).entries()) {
    scales[scale] = { range: padRange(bounded) };
    axes.push({ scale, label, side: index === 0 ? 3 : 1, grid: { show: index === 0 } });
  }
  const width = () => Math.max(280, Math.floor(container.clientWidth || 480));
  const plot = new uPlot(
    {
      title: spec.title,
      width: width(),
      height: HEIGHT,
      scales,
      axes,
      series: [{ label: spec.x.label, value: (_u, value) => formatNumber(value) }, ...spec.series.map(seriesOptions)],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    },
    data,
    container,
  );
  const resize = new ResizeObserver(() => {
    if (plot.width !== width()) plot.setSize({ width: width(), height: HEIGHT });
  });
  resize.observe(container);
  return {
    update: (next) => plot.setData(next),
    destroy: () => {
      resize.disconnect();
      plot.destroy();
    },
  };
}

/** The same figures as a table, inside a disclosure widget (closed until asked for). */
export function dataTable(summary, headers, rows) {
  return h(
    'details',
    { class: 'data-table' },
    h('summary', { 'data-focus-key': 'data-table' }, summary),
    table({ headers, rows: rows.map((row) => row.map((cell) => (typeof cell === 'number' ? formatNumber(cell) : cell ?? '—'))) }),
  );
}
