/**
 * One project's section: what it serves, its annotations, start training, its jobs, its
 * prediction refresh into Label Studio, learning curve, versions (with rollback after a
 * confirmation) and label config (shown as text).
 * Parts are rebuilt only when their data changed, so focus and open tables survive polling.
 */
import { selectVersion, startTraining } from './api.js';
import { confirmAction } from './dialog.js';
import { h, idPart, replaceChildren, scroller, table, time } from './dom.js';
import { compareMetrics, formatDate, formatDuration, formatNumber, isCountMetric, metricLabel, plural } from './format.js';
import { JobsView } from './jobs-view.js';
import { LearningCurve } from './learning-curve.js';
import { RefreshView } from './refresh-view.js';

/** train_output fields worth a column, when any version has them. */
const SUMMARY_COLUMNS = [
  ['samples', 'Rows'],
  ['epochs', 'Epochs'],
  ['embedder', 'Encoder'],
];

/** Rows trained on, with the training/validation split when the recipe made one. */
function rowsCell(version) {
  const { train_size: train, val_size: val } = version.metrics ?? {};
  const total = formatNumber(version.summary.samples);
  return typeof train === 'number' && typeof val === 'number' && val > 0 ? `${total} (${formatNumber(train)} train / ${formatNumber(val)} validation)` : total;
}

export class ProjectView {
  constructor(project, actions) {
    this.project = project;
    this.actions = actions;
    const base = `project-${idPart(project)}`;
    this.status = h('p', { class: 'project-status' });
    this.trainButton = h('button', { type: 'button', class: 'primary', 'data-focus-key': 'train', onclick: () => this.#train() }, 'Start training', h('span', { class: 'visually-hidden', text: ` of project ${project}` }));
    this.jobs = new JobsView(project, actions);
    this.refresh = new RefreshView(project);
    this.curve = new LearningCurve(project);
    this.versionsBox = h('div');
    this.configBox = h('div');
    this.element = h(
      'section',
      { class: 'project', id: base, 'aria-labelledby': `${base}-title`, 'data-project': project },
      h('div', { class: 'project-head' }, h('h2', { id: `${base}-title`, text: `Project ${project}` }), this.trainButton),
      this.status,
      h('div', { class: 'grid' }, h('div', { class: 'stack' }, this.jobs.live, this.refresh.element), this.curve.element),
      h('section', { class: 'card wide', 'aria-labelledby': `${base}-versions` }, h('h3', { id: `${base}-versions`, text: 'Versions' }), this.versionsBox),
      this.jobs.recent,
      h('section', { class: 'card wide', 'aria-labelledby': `${base}-config` }, h('h3', { id: `${base}-config`, text: 'Label config' }), this.configBox),
    );
    this.keys = {};
  }

  update(overview) {
    const { annotations, currentVersion } = overview;
    replaceChildren(
      this.status,
      'Serving ',
      h('code', { class: 'served', text: currentVersion }),
      ` · ${plural(annotations.usable, 'annotation')} on ${plural(annotations.tasks, 'task')}`,
      annotations.cancelled ? ` (${formatNumber(annotations.cancelled)} skipped)` : '',
    );
    this.jobs.update(overview.jobs);
    this.refresh.update(overview.predictionRefresh);
    this.curve.update(overview.versions);
    this.#part('versions', [overview.versions, currentVersion], () => this.#renderVersions(overview.versions));
    this.#part('config', overview.labelConfig, () => this.#renderConfig(overview.labelConfig));
  }

  /** Runs `render` when the data of a part changed since the last poll. */
  #part(name, data, render) {
    const key = JSON.stringify(data);
    if (this.keys[name] === key) return;
    this.keys[name] = key;
    render();
  }

  #renderVersions(versions) {
    if (versions.length === 0) {
      replaceChildren(this.versionsBox, h('p', { class: 'muted', text: 'No trained version yet: the project serves untrained predictions.' }));
      return;
    }
    const metricKeys = [...new Set(versions.flatMap((v) => Object.keys(v.metrics ?? {})))].filter((key) => !isCountMetric(key)).sort(compareMetrics);
    const summaryColumns = SUMMARY_COLUMNS.filter(([key]) => versions.some((v) => v.summary[key] !== undefined));
    const headers = ['Version', 'Serving', 'Created', 'Annotations', ...metricKeys.map(metricLabel), ...summaryColumns.map(([, label]) => label), 'Duration'];
    const newestFirst = [...versions].reverse();
    const rows = newestFirst.map((v) => [
      h('code', { text: v.version }),
      this.#servingCell(v),
      time(v.createdAt, formatDate(v.createdAt)),
      v.annotationCount === undefined ? '—' : formatNumber(v.annotationCount),
      ...metricKeys.map((key) => formatNumber(v.metrics?.[key])),
      ...summaryColumns.map(([key]) => (key === 'samples' ? rowsCell(v) : typeof v.summary[key] === 'number' ? formatNumber(v.summary[key]) : String(v.summary[key] ?? '—'))),
      formatDuration(v.durationMs),
    ]);
    const body = table({ headers, rows, className: 'versions' });
    newestFirst.forEach((v, i) => {
      if (v.current) body.tBodies[0].rows[i].classList.add('current');
    });
    const split = metricKeys.some((key) => key.startsWith('val_') || key.startsWith('train_'))
      ? h('p', { class: 'muted note', text: '(val): measured on a held-out validation split. (train): measured on the training rows themselves, reported when there are too few labels for a split.' })
      : null;
    replaceChildren(this.versionsBox, scroller(`Versions of project ${this.project}`, body), split);
  }

  #servingCell(v) {
    // Same focus key as the Serve button it replaces: a keyboard rollback leaves focus on this row.
    if (v.current) return h('strong', { class: 'badge', tabindex: '-1', 'data-focus-key': `serve:${v.version}`, text: 'Serving' });
    if (v.corrupt) return h('span', { class: 'corrupt', text: `Corrupt: ${v.corrupt}` });
    return h(
      'button',
      { type: 'button', class: 'rollback', 'data-focus-key': `serve:${v.version}`, onclick: (event) => this.#rollback(v.version, event.currentTarget) },
      'Serve',
      h('span', { class: 'visually-hidden', text: ` version ${v.version} of project ${this.project}` }),
    );
  }

  async #rollback(version, button) {
    // aria-disabled, not disabled: a disabled button loses keyboard focus, which then could not
    // follow the row to its "Serving" badge.
    if (button.getAttribute('aria-disabled') === 'true') return;
    const confirmed = await confirmAction({
      title: `Serve ${version}?`,
      text: `Project ${this.project} will predict with version ${version} from now on, and Label Studio will see it as the model version. You can switch back at any time.`,
      confirmLabel: `Serve ${version}`,
    });
    if (!confirmed) return;
    button.setAttribute('aria-disabled', 'true');
    try {
      await selectVersion(this.project, version);
      this.actions.announce(`Project ${this.project} now serves ${version}.`);
      await this.actions.refresh();
    } catch (error) {
      this.actions.alert(`Could not serve ${version} for project ${this.project}: ${error.message}`);
    } finally {
      if (button.isConnected) button.removeAttribute('aria-disabled');
    }
  }

  async #train() {
    this.trainButton.disabled = true;
    try {
      const reply = await startTraining(this.project);
      this.actions.announce(reply?.job ? `Training queued for project ${this.project} (job ${reply.job}).` : `Project ${this.project}: ${reply?.status ?? 'no training queued'}.`);
      await this.actions.refresh();
    } catch (error) {
      this.actions.alert(`Could not start training for project ${this.project}: ${error.message}`);
    } finally {
      this.trainButton.disabled = false;
    }
  }

  #renderConfig({ controls, raw }) {
    const summary = controls.length
      ? scroller(
          `Label config controls of project ${this.project}`,
          table({
            headers: ['Control', 'Type', 'Applies to', 'Labels'],
            rows: controls.map((c) => [h('code', { text: c.name }), c.type, c.toName.join(', '), c.labels.length ? c.labels.join(', ') : '—']),
          }),
        )
      : h('p', { class: 'muted', text: raw ? 'The label config has no control tags that could be read.' : 'No label config received yet (Label Studio sends it with /setup and webhooks).' });
    const xml = raw ? h('details', {}, h('summary', { 'data-focus-key': 'xml' }, 'Label config XML'), h('pre', { class: 'xml' }, h('code', { text: raw }))) : null;
    replaceChildren(this.configBox, summary, xml);
  }
}
