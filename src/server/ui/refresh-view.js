/**
 * A project's prediction refresh into Label Studio (issue 13): after a new version, every
 * unlabelled task gets its prediction and score. Shows the running or last refresh — version,
 * tasks done of total as a bar and in words, errors, state, when it finished — and the next one
 * queued. Every state is said in words, not only by colour; screen readers hear when a refresh
 * starts and how it ended, not every poll.
 */
import { h, idPart, replaceChildren, time } from './dom.js';
import { formatDate, formatDuration, formatNumber, plural } from './format.js';

/** The ledger's states, as the page says them. */
const STATES = {
  running: 'Running',
  done: 'Done',
  failed: 'Failed',
  superseded: 'Superseded by a newer version',
  cancelled: 'Cancelled',
  interrupted: 'Interrupted (resumes when the backend starts again)',
};

function percent(done, total) {
  return total > 0 ? ` (${Math.floor((100 * done) / total)}%)` : '';
}

export class RefreshView {
  constructor(project) {
    this.project = project;
    const base = `project-${idPart(project)}`;
    this.box = h('div', { class: 'refresh' });
    this.announcer = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
    this.element = h(
      'section',
      { class: 'card', 'aria-labelledby': `${base}-refresh`, hidden: true, 'data-refresh': project },
      h('h3', { id: `${base}-refresh`, text: 'Predictions in Label Studio' }),
      this.announcer,
      this.box,
    );
    this.key = '';
    /** The refresh last seen: its job and state. */
    this.seen = undefined;
    this.spoken = '';
  }

  /** Whether a refresh runs or waits (the page then polls faster). */
  static isBusy(refresh) {
    return Boolean(refresh && (refresh.running || refresh.pending || refresh.latest?.status === 'running'));
  }

  /** `refresh`: the overview's predictionRefresh (absent when Label Studio is not connected or none ran). */
  update(refresh) {
    this.element.hidden = !refresh;
    if (!refresh) return;
    this.#announce(refresh.latest);
    const key = JSON.stringify([refresh.latest, refresh.running?.progress?.phase, refresh.pending?.id]);
    if (key === this.key) return;
    this.key = key;
    const { latest, running, pending } = refresh;
    replaceChildren(
      this.box,
      latest ? this.#latestView(latest, running) : h('p', { class: 'muted', text: running ? `Refresh job ${running.id} is starting…` : 'No prediction refresh has run yet.' }),
      pending ? h('p', { class: 'queued' }, h('strong', { text: 'Queued' }), ` refresh job ${pending.id} (${pending.event}) since `, time(pending.createdAt, formatDate(pending.createdAt)), '.') : null,
    );
  }

  #latestView(latest, running) {
    const { version, status, done, total, errors } = latest;
    const state = STATES[status] ?? status;
    const isRunning = status === 'running';
    const bar = h('progress', { max: Math.max(total, 1), 'aria-label': `Prediction refresh of project ${this.project}` });
    // No tasks to do: still counting while it runs (indeterminate), else complete.
    if (total > 0) bar.value = Math.min(done, total);
    else if (!isRunning) bar.value = 1;
    const counts = `${formatNumber(done)} of ${plural(total, 'task')}${percent(done, total)} · ${plural(errors, 'error')}`;
    // A refresh another process runs (or left behind) has no job here: its last progress tells whether it moves.
    const when = isRunning
      ? ['started ', time(latest.started_at, formatDate(latest.started_at)), running?.progress?.phase ? ` · phase: ${running.progress.phase}` : [' · last progress ', time(latest.updated_at, formatDate(latest.updated_at))]]
      : [
          'finished ',
          time(latest.finished_at, formatDate(latest.finished_at)),
          ` (took ${formatDuration(Date.parse(latest.finished_at ?? '') - Date.parse(latest.started_at))})`,
        ];
    return h(
      'div',
      { class: `refresh-latest refresh-${status}`, 'data-refresh-status': status },
      h('p', {}, h('strong', { class: `state state-refresh-${status}`, text: state }), ' · version ', h('code', { text: version })),
      bar,
      h('p', { class: 'figures' }, counts, latest.written || latest.skipped ? ` · ${formatNumber(latest.written)} written, ${formatNumber(latest.skipped)} already there` : null),
      h('p', { class: 'muted' }, ...when),
      latest.activated === true ? h('p', { class: 'muted' }, 'Label Studio shows this version\u2019s scores (project model version).') : null,
      latest.activated === false ? h('p', { class: 'muted' }, 'Label Studio\u2019s model version was not switched: no prediction of this version was written.') : null,
      latest.error ? h('p', { class: 'error-text' }, h('strong', { text: 'Error: ' }), latest.error) : null,
      latest.failures?.length ? this.#failures(latest.failures) : null,
    );
  }

  #failures(failures) {
    return h(
      'details',
      {},
      h('summary', { 'data-focus-key': 'refresh-failures' }, `Tasks that failed (first ${failures.length})`),
      h('ul', {}, failures.map((f) => h('li', {}, `Task ${f.task} (${plural(f.attempts, 'attempt')}): `, f.error))),
    );
  }

  /** Says when a refresh starts and how it ended, once each (also one that ran entirely between two polls; not an old one found at load). */
  #announce(latest) {
    if (!latest) return;
    const before = this.seen;
    const isNew = latest.job_id !== before?.id;
    this.seen = { id: latest.job_id, status: latest.status };
    if (latest.status === 'running') {
      if (isNew) this.#say(`Prediction refresh of ${latest.version} started for project ${this.project}.`);
    } else if (before && (isNew || before.status === 'running')) {
      const ending = STATES[latest.status] ?? latest.status;
      this.#say(`Prediction refresh of ${latest.version} for project ${this.project} ended: ${ending}, ${formatNumber(latest.done)} of ${plural(latest.total, 'task')}, ${plural(latest.errors, 'error')}.`);
    }
  }

  #say(text) {
    if (text !== this.spoken) this.announcer.textContent = this.spoken = text;
  }
}
