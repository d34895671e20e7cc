/**
 * A project's learning curve: a metric of each version against the number of annotations it
 * was trained on. It answers "do more labels still help?". The served version is marked.
 */
import { dataTable, lineChart } from './charts.js';
import { h, idPart, replaceChildren } from './dom.js';
import { compareMetrics, isCountMetric, isLossMetric, metricLabel } from './format.js';

/** Preferred metrics, best first. */
const PREFERRED = ['val_macro_f1', 'macro_f1', 'val_accuracy', 'accuracy', 'train_macro_f1', 'train_accuracy'];

function metricKeys(versions) {
  const counts = new Map();
  for (const version of versions) {
    if (version.annotationCount === undefined) continue;
    for (const [key, value] of Object.entries(version.metrics ?? {})) {
      if (typeof value === 'number' && Number.isFinite(value) && !isCountMetric(key)) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** The first preferred metric that draws a curve (two versions or more), else the most common one. */
function defaultMetric(counts) {
  const rank = (key) => (PREFERRED.includes(key) ? PREFERRED.indexOf(key) : PREFERRED.length);
  const curve = (key) => ((counts.get(key) ?? 0) >= 2 ? 0 : 1);
  return [...counts.keys()].sort((a, b) => curve(a) - curve(b) || rank(a) - rank(b) || counts.get(b) - counts.get(a) || compareMetrics(a, b))[0];
}

export class LearningCurve {
  constructor(project) {
    const base = `project-${idPart(project)}-curve`;
    this.project = project;
    this.metric = null;
    this.select = h('select', { id: `${base}-metric`, onchange: () => this.#choose(this.select.value) });
    this.picker = h('p', { class: 'picker' }, h('label', { for: this.select.id, text: 'Metric ' }), this.select);
    this.chartBox = h('div', { class: 'chart', role: 'img' });
    this.rest = h('div');
    this.element = h('section', { class: 'card', 'aria-labelledby': `${base}-title` }, h('h3', { id: `${base}-title`, text: 'Learning curve' }), this.picker, this.chartBox, this.rest);
    this.chart = null;
    this.versions = [];
    this.key = '';
  }

  update(versions) {
    const key = JSON.stringify(versions.map((v) => [v.version, v.current, v.annotationCount, v.metrics]));
    if (key === this.key) return;
    this.key = key;
    this.versions = versions;
    const counts = metricKeys(versions);
    if (!this.metric || !counts.has(this.metric)) this.metric = defaultMetric(counts) ?? null;
    const options = [...counts.keys()].sort(compareMetrics);
    if (options.join('|') !== [...this.select.options].map((o) => o.value).join('|')) {
      replaceChildren(this.select, options.map((option) => h('option', { value: option, text: metricLabel(option) })));
    }
    if (this.metric) this.select.value = this.metric;
    this.picker.hidden = options.length === 0;
    this.#draw();
  }

  #choose(metric) {
    this.metric = metric;
    this.#draw();
  }

  #draw() {
    this.chart?.destroy();
    this.chart = null;
    const metric = this.metric;
    const points = this.versions
      .filter((v) => metric && v.annotationCount !== undefined && typeof v.metrics?.[metric] === 'number')
      .sort((a, b) => a.annotationCount - b.annotationCount || (a.version < b.version ? -1 : 1));
    if (points.length === 0) {
      this.chartBox.hidden = true;
      replaceChildren(this.rest, h('p', { class: 'muted', text: 'No trained version with metrics yet: train the project to see how its quality grows with its labels.' }));
      return;
    }
    this.chartBox.hidden = false;
    const label = metricLabel(metric);
    this.chartBox.setAttribute('aria-label', `Learning curve of project ${this.project}: ${label} against annotations for ${points.length} versions; the figures are in the table below.`);
    const xs = points.map((v) => v.annotationCount);
    const all = points.map((v) => v.metrics[metric]);
    const served = points.map((v) => (v.current ? v.metrics[metric] : null));
    this.chart = lineChart(
      this.chartBox,
      {
        title: `${label} against annotations`,
        x: { label: 'Annotations trained on', whole: true },
        axes: { y: { label, bounded: !isLossMetric(metric) } },
        series: [{ label: 'Versions' }, { label: 'Served version', hollow: true, line: false, markerSize: 14 }],
      },
      [xs, all, served],
    );
    const rows = points.map((v) => [v.version, v.annotationCount, v.metrics[metric], v.current ? 'served' : '']);
    replaceChildren(this.rest, dataTable('Learning curve as a table', ['Version', 'Annotations', label, 'Served'], rows));
  }
}
