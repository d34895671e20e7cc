/**
 * A project's training jobs: the running one (progress, epoch, loss, validation figures and a
 * live loss curve), the pending one, and the recent ones with their loss curves on request.
 * Screen readers hear starts, phase changes, every quarter of the epochs and the outcome.
 */
import { fetchJob } from './api.js';
import { h, idPart, replaceChildren, scroller, table, time } from './dom.js';
import { compareMetrics, formatDate, formatDuration, formatNumber, isCountMetric, metricLabel, plural } from './format.js';
import { LossCurve } from './loss-curve.js';

function progressFigures(progress = {}) {
  const parts = [];
  if (typeof progress.epoch === 'number') parts.push(progress.epochs ? `epoch ${progress.epoch} of ${progress.epochs}` : `epoch ${progress.epoch}`);
  if (typeof progress.loss === 'number') parts.push(`loss ${formatNumber(progress.loss)}`);
  for (const key of Object.keys(progress.metrics ?? {}).sort(compareMetrics)) parts.push(`${metricLabel(key)} ${formatNumber(progress.metrics[key])}`);
  return parts.join(' · ');
}

/** A few headline figures of a finished job. */
function jobOutcome(job) {
  if (job.state === 'failed' || job.state === 'cancelled') return job.error ?? job.state;
  const metrics = Object.keys(job.metrics ?? {}).filter((key) => !isCountMetric(key)).sort(compareMetrics).slice(0, 2);
  return metrics.map((key) => `${metricLabel(key)} ${formatNumber(job.metrics[key])}`).join(' · ') || '—';
}

export class JobsView {
  constructor(project, actions) {
    this.project = project;
    this.actions = actions;
    const base = `project-${idPart(project)}`;
    this.liveBox = h('div', { class: 'live-job' });
    this.announcer = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
    this.live = h('section', { class: 'card', 'aria-labelledby': `${base}-live` }, h('h3', { id: `${base}-live`, text: 'Training now' }), this.announcer, this.liveBox);
    this.recentBox = h('div');
    this.pastCurve = h('div', { id: `${base}-past-curve`, class: 'past-curve', hidden: true, tabindex: -1 });
    this.recent = h('section', { class: 'card wide', 'aria-labelledby': `${base}-recent` }, h('h3', { id: `${base}-recent`, text: 'Recent training jobs' }), this.recentBox, this.pastCurve);
    this.runningId = null;
    this.runningView = null;
    this.recentKey = '';
    this.spoken = '';
    this.shownJob = null;
  }

  update(jobs) {
    this.#updateLive(jobs.running, jobs.pending);
    const key = JSON.stringify(jobs.recent.map((job) => [job.id, job.state, job.version]));
    if (key !== this.recentKey) {
      this.recentKey = key;
      this.#renderRecent(jobs.recent);
    }
  }

  /** Whether anything runs or waits (the page then polls faster). */
  static isBusy(jobs) {
    return Boolean(jobs.running || jobs.pending);
  }

  #updateLive(running, pending) {
    if (running?.id !== this.runningId) {
      this.runningView?.curve.destroy();
      if (this.runningId && !running) this.#say(`Training job ${this.runningId} of project ${this.project} ended.`);
      this.runningId = running?.id ?? null;
      this.runningView = running ? this.#runningView(running) : null;
      if (running) this.#say(`Training started for project ${this.project}.`);
    }
    const parts = [];
    if (this.runningView) parts.push(this.runningView.element);
    if (pending) parts.push(this.#pendingView(pending, Boolean(running)));
    if (parts.length === 0) parts.push(h('p', { class: 'muted', text: 'No training is running or queued.' }));
    // The running job's element is kept (its chart is updated in place, not rebuilt).
    if (parts.length !== this.liveBox.children.length || parts.some((part, i) => this.liveBox.children[i] !== part)) {
      replaceChildren(this.liveBox, parts);
    }
    if (running) this.#refreshRunning(running);
  }

  #runningView(job) {
    const view = {
      progress: h('progress', { max: 1, 'aria-label': `Training progress of job ${job.id}` }),
      figures: h('p', { class: 'figures' }),
      phase: h('p', { class: 'muted' }),
      curve: new LossCurve(`Loss curve of job ${job.id}`),
      lastQuarter: -1,
      lastPhase: undefined,
    };
    view.element = h(
      'div',
      { class: 'job running', 'data-job': job.id },
      h('p', {}, h('strong', { text: 'Running' }), ` job ${job.id} (${job.event}${job.triggers > 1 ? `, ${job.triggers} triggers` : ''}), started `, time(job.startedAt, formatDate(job.startedAt))),
      view.progress,
      view.figures,
      view.phase,
      view.curve.element,
    );
    return view;
  }

  #refreshRunning(job) {
    const view = this.runningView;
    const { epoch, epochs, phase } = job.progress ?? {};
    if (typeof epoch === 'number' && typeof epochs === 'number' && epochs > 0) {
      view.progress.max = epochs;
      view.progress.value = Math.min(epoch, epochs);
    } else {
      view.progress.removeAttribute('value'); // indeterminate until the first epoch
    }
    view.figures.textContent = progressFigures(job.progress) || 'Waiting for the first epoch…';
    const elapsed = job.startedAt ? Date.now() - Date.parse(job.startedAt) : undefined;
    view.phase.textContent = `${phase ? `Phase: ${phase} · ` : ''}running for ${formatDuration(elapsed)}`;
    view.curve.update(job.history);
    const quarter = typeof epoch === 'number' && epochs ? Math.floor((4 * epoch) / epochs) : -1;
    if (phase !== view.lastPhase || quarter > view.lastQuarter) {
      view.lastPhase = phase;
      view.lastQuarter = Math.max(quarter, view.lastQuarter);
      this.#say(`Project ${this.project}: ${[phase, progressFigures(job.progress)].filter(Boolean).join(', ')}`);
    }
  }

  #pendingView(job, behindRunning) {
    const why = behindRunning ? 'starts when the running job ends' : 'starts shortly';
    return h(
      'div',
      { class: 'job pending', 'data-job': job.id },
      h('p', {}, h('strong', { text: 'Queued' }), ` job ${job.id} (${job.event}, ${plural(job.triggers, 'trigger')}) since `, time(job.createdAt, formatDate(job.createdAt)), `; ${why}.`),
    );
  }

  #renderRecent(recent) {
    if (recent.length === 0) {
      replaceChildren(this.recentBox, h('p', { class: 'muted', text: 'No finished training jobs yet.' }));
      return;
    }
    const rows = recent.map((job) => [
      h('code', { text: job.id }),
      h('span', { class: `state state-${job.state}`, text: job.state }),
      job.startedAt
        ? h('button', { type: 'button', 'data-focus-key': `curve:${job.id}`, 'aria-controls': this.pastCurve.id, onclick: () => this.#showPast(job.id) }, 'Loss curve', h('span', { class: 'visually-hidden', text: ` of job ${job.id}` }))
        : '—',
      job.triggers > 1 ? `${job.event} (${job.triggers}×)` : job.event,
      time(job.startedAt ?? job.createdAt, formatDate(job.startedAt ?? job.createdAt)),
      formatDuration(job.durationMs),
      job.annotationCount === undefined ? '—' : formatNumber(job.annotationCount),
      job.version ? h('code', { text: job.version }) : '—',
      h('span', { class: job.state === 'succeeded' ? 'outcome' : null, text: jobOutcome(job) }),
    ]);
    replaceChildren(
      this.recentBox,
      scroller(`Recent training jobs of project ${this.project}`, table({ headers: ['Job', 'State', 'Curve', 'Trigger', 'Started', 'Duration', 'Annotations', 'New version', 'Outcome'], rows })),
    );
  }

  async #showPast(jobId) {
    try {
      const job = await fetchJob(jobId);
      this.shownJob?.destroy();
      const curve = new LossCurve(`Loss curve of job ${job.id}`);
      this.shownJob = curve;
      const close = h('button', { type: 'button', onclick: () => this.#hidePast(jobId) }, 'Close', h('span', { class: 'visually-hidden', text: ' loss curve' }));
      replaceChildren(this.pastCurve, h('div', { class: 'past-head' }, h('h4', { text: `Loss curve of job ${job.id} (${job.state})` }), close), curve.element);
      this.pastCurve.hidden = false;
      curve.update(job.history);
      this.pastCurve.focus();
    } catch (error) {
      this.actions.alert(`Could not load job ${jobId}: ${error.message}`);
    }
  }

  #hidePast(jobId) {
    this.shownJob?.destroy();
    this.shownJob = null;
    this.pastCurve.hidden = true;
    this.pastCurve.replaceChildren();
    this.recentBox.querySelector(`[data-focus-key="curve:${CSS.escape(jobId)}"]`)?.focus();
  }

  #say(text) {
    if (text !== this.spoken) this.announcer.textContent = this.spoken = text;
  }
}
