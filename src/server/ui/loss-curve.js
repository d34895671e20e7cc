/**
 * A training job's loss curve from its progress history (contract C2): loss and validation
 * figures per epoch, losses on the left axis and scores (accuracy, F1) on the right.
 */
import { dataTable, lineChart } from './charts.js';
import { h, replaceChildren } from './dom.js';
import { compareMetrics, isCountMetric, isLossMetric, metricLabel } from './format.js';

/**
 * Epoch reports as chart data. Trainers that fit again after early stopping count epochs from 1
 * again; such a restart continues the x axis instead of drawing back over the first run.
 */
export function lossData(history = []) {
  const reports = history.filter((entry) => typeof entry.epoch === 'number');
  const keys = new Set();
  for (const entry of reports) {
    if (typeof entry.loss === 'number') keys.add('loss');
    for (const [key, value] of Object.entries(entry.metrics ?? {})) if (typeof value === 'number' && !isCountMetric(key)) keys.add(key);
  }
  const series = [...keys].sort(compareMetrics);
  const xs = [];
  const rows = [];
  let offset = 0;
  let last = 0;
  for (const entry of reports) {
    if (entry.epoch <= last) offset += last;
    last = entry.epoch;
    xs.push(offset + entry.epoch);
    rows.push(series.map((key) => valueOf(entry, key)));
  }
  return { xs, series, rows, reports };
}

function valueOf(entry, key) {
  const value = key === 'loss' ? entry.loss : entry.metrics?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function chartSpec(title, series) {
  const axes = {};
  if (series.some(isLossMetric)) axes.loss = { label: 'Loss' };
  if (series.some((key) => !isLossMetric(key))) axes.score = { label: 'Score', bounded: true };
  return {
    title,
    x: { label: 'Epoch', whole: true },
    axes,
    series: series.map((key, i) => ({ label: metricLabel(key), scale: isLossMetric(key) ? 'loss' : 'score', hollow: i % 2 === 1 })),
  };
}

function columns({ xs, series, rows }) {
  return [xs, ...series.map((_, i) => rows.map((row) => row[i]))];
}

/**
 * A live loss curve: `update(history)` redraws it in place (the running job's curve grows every
 * poll); a new set of series rebuilds it. The data table follows every update.
 */
export class LossCurve {
  constructor(title) {
    this.title = title;
    this.chartBox = h('div', { class: 'chart', role: 'img', 'aria-label': title });
    this.tableBox = h('div');
    this.empty = h('p', { class: 'muted', text: 'No epochs reported yet.' });
    this.element = h('div', { class: 'loss-curve' }, this.empty, this.chartBox, this.tableBox);
    this.chart = null;
    this.seriesKey = '';
  }

  update(history) {
    const data = lossData(history);
    const hasData = data.xs.length > 0 && data.series.length > 0;
    this.empty.hidden = hasData;
    this.chartBox.hidden = !hasData;
    const key = data.series.join('|');
    if (!hasData || key !== this.seriesKey) {
      this.chart?.destroy();
      this.chart = null;
      this.seriesKey = key;
    }
    if (hasData) {
      if (this.chart) this.chart.update(columns(data));
      else this.chart = lineChart(this.chartBox, chartSpec(this.title, data.series), columns(data));
      this.chartBox.setAttribute('aria-label', `${this.title}: ${data.series.map(metricLabel).join(', ')} over ${data.xs.length} epochs; the figures are in the table below.`);
    }
    const headers = ['Epoch', 'Phase', ...data.series.map(metricLabel)];
    const rows = data.reports.map((entry, i) => [entry.epochs ? `${entry.epoch} / ${entry.epochs}` : String(entry.epoch), entry.phase ?? '—', ...data.rows[i]]);
    const open = this.tableBox.querySelector('details')?.open ?? false;
    replaceChildren(this.tableBox, hasData ? dataTable('Loss curve as a table', headers, rows) : null);
    if (open) this.tableBox.querySelector('details').open = true;
  }

  destroy() {
    this.chart?.destroy();
    this.chart = null;
  }
}
