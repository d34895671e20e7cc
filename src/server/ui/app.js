/**
 * The page's entry: polls GET /ui/api/projects (every second while a job or a prediction refresh
 * runs or waits, every five seconds otherwise, not at all while the tab is hidden) and keeps one
 * view per project.
 * Polling rather than a push stream, so any replica behind a load balancer can answer.
 */
import { fetchHealth, fetchProjects } from './api.js';
import { h, replaceChildren } from './dom.js';
import { formatClock, formatDuration } from './format.js';
import { JobsView } from './jobs-view.js';
import { ProjectView } from './project-view.js';
import { RefreshView } from './refresh-view.js';

const BUSY_MS = 1000;
const IDLE_MS = 5000;
const RETRY_MS = 5000;

const list = document.getElementById('project-list');
const empty = document.getElementById('empty');
const connection = document.getElementById('connection');
const backendInfo = document.getElementById('backend-info');
const announcer = document.getElementById('announcer');
const alerts = document.getElementById('alerts');

const views = new Map();
let timer;
let inFlight;

const actions = {
  /** After an action: a poll that starts now (one already under way may predate the action). */
  async refresh() {
    await inFlight;
    return refresh();
  },
  announce(text) {
    announcer.textContent = text;
  },
  alert(text) {
    const dismiss = h('button', { type: 'button', onclick: () => alerts.replaceChildren() }, 'Dismiss');
    alerts.replaceChildren(h('div', { class: 'alert' }, h('p', { text }), dismiss));
  },
};

function schedule(ms) {
  clearTimeout(timer);
  timer = document.hidden ? undefined : setTimeout(refresh, ms);
}

function showHealth(health) {
  const parts = [
    health.model_class,
    `TF.js ${health.tfjs_backend}${health.tfjs_native ? ' (native)' : ''}`,
    health.ready ? 'model ready' : 'model loading',
    `up ${formatDuration((health.uptime_s ?? 0) * 1000)}`,
  ];
  backendInfo.textContent = parts.filter(Boolean).join(' · ');
}

function showProjects(projects) {
  const seen = new Set();
  for (const overview of projects) {
    seen.add(overview.project);
    let view = views.get(overview.project);
    if (!view) {
      view = new ProjectView(overview.project, actions);
      views.set(overview.project, view);
    }
    // Appending an element already in place keeps it; new projects land in the server's order.
    if (list.children[seen.size - 1] !== view.element) list.insertBefore(view.element, list.children[seen.size - 1] ?? null);
    view.update(overview);
  }
  for (const [project, view] of views) {
    if (seen.has(project)) continue;
    view.element.remove();
    views.delete(project);
  }
  empty.hidden = projects.length > 0;
}

/** One poll; concurrent callers share it. Schedules the next one. */
function refresh() {
  inFlight ??= (async () => {
    try {
      const [projects, health] = await Promise.all([fetchProjects(), fetchHealth().catch(() => null)]);
      if (health) showHealth(health);
      showProjects(projects);
      connection.classList.remove('error');
      connection.textContent = `Updated at ${formatClock(new Date())}`;
      schedule(projects.some((p) => JobsView.isBusy(p.jobs) || RefreshView.isBusy(p.predictionRefresh)) ? BUSY_MS : IDLE_MS);
    } catch (error) {
      connection.classList.add('error');
      connection.textContent = `Cannot load the projects (${error.message}); retrying every ${RETRY_MS / 1000} s.`;
      schedule(RETRY_MS);
    }
  })().finally(() => {
    inFlight = undefined;
  });
  return inFlight;
}

document.addEventListener('visibilitychange', () => {
  if (document.hidden) schedule(0);
  else void refresh();
});

replaceChildren(connection, 'Loading…');
void refresh();
