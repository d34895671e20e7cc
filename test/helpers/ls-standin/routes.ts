/**
 * The stand-in's REST routes (LS-API.md §2–§8): what they accept, what they answer, with Label
 * Studio's status codes and error details. Pure functions of the request and the data, except
 * /api/ml, which (like Label Studio) first asks each listed backend for /health and /setup.
 */
import { StandInData, type DmQuery, type SiMlBackend, type SiProject } from './state.js';

export interface RouteRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

export interface RouteReply {
  status: number;
  body?: unknown;
  /** Raw text instead of JSON. */
  text?: string;
  headers?: Record<string, string>;
}

const notFound = (detail = 'Not found.'): RouteReply => ({ status: 404, body: { detail } });
const bad = (detail: string, validation?: object): RouteReply => ({ status: 400, body: { detail, ...(validation && { validation_errors: validation }) } });

export interface RouteContext {
  data: StandInData;
  files: Map<string, string>;
  /** Called by GET /api/ml for each backend (Label Studio's update_state). */
  updateBackendState(backend: SiMlBackend): Promise<void>;
}

export async function route(request: RouteRequest, ctx: RouteContext): Promise<RouteReply> {
  const { method, path, query, body } = request;
  const { data } = ctx;
  let m: RegExpExecArray | null;
  if (method === 'GET' && path === '/api/current-user/whoami') return { status: 200, body: { id: 1, email: 'owner@example.com', username: 'owner' } };
  if ((m = /^\/api\/projects\/(\d+)\/?$/.exec(path))) {
    const project = data.projects.get(Number(m[1]));
    if (!project) return notFound();
    if (method === 'GET') return { status: 200, body: projectJson(data, project) };
    if (method === 'PATCH') return patchProject(data, project, body);
  }
  if (method === 'GET' && (path === '/api/tasks' || path === '/api/tasks/')) return listTasks(data, query);
  if ((m = /^\/api\/projects\/(\d+)\/import\/predictions\/?$/.exec(path)) && method === 'POST') return importPredictions(data, Number(m[1]), body);
  if ((m = /^\/api\/projects\/(\d+)\/model-versions\/?$/.exec(path))) {
    const project = data.projects.get(Number(m[1]));
    if (!project) return notFound();
    if (method === 'GET') return { status: 200, body: modelVersions(data, project.id) };
    if (method === 'DELETE') return deleteModelVersion(data, project, body);
  }
  if ((m = /^\/api\/projects\/(\d+)\/export\/?$/.exec(path)) && method === 'GET') {
    if (!data.projects.has(Number(m[1]))) return notFound();
    const all = query.get('download_all_tasks') === 'true';
    const tasks = data.projectTasks(Number(m[1])).filter((t) => all || t.annotations.length > 0);
    return { status: 200, body: tasks.map((t) => ({ id: t.id, data: t.data, annotations: t.annotations, predictions: t.predictions })) };
  }
  if (method === 'GET' && (path === '/api/webhooks' || path === '/api/webhooks/')) {
    const project = Number(query.get('project'));
    return { status: 200, body: data.webhooks.filter((w) => w.project === project) };
  }
  if (method === 'GET' && (path === '/api/ml' || path === '/api/ml/')) {
    const backends = data.mlBackends.filter((b) => b.project === Number(query.get('project')));
    for (const backend of backends) await ctx.updateBackendState(backend);
    return { status: 200, body: backends.map(mlBackendJson) };
  }
  if (method === 'GET' && path.startsWith('/data/upload/')) {
    const text = ctx.files.get(path);
    return text === undefined ? { status: 404, text: '<h1>Not Found</h1>', headers: { 'Content-Type': 'text/html' } } : { status: 200, text, headers: { 'Content-Type': 'text/plain; charset=utf-8' } };
  }
  return notFound();
}

function projectJson(data: StandInData, project: SiProject): object {
  const tasks = data.projectTasks(project.id);
  return {
    ...project,
    task_number: tasks.length,
    num_tasks_with_annotations: tasks.filter((t) => StandInData.totalAnnotations(t) > 0).length,
    total_predictions_number: tasks.reduce((n, t) => n + t.predictions.length, 0),
  };
}

function patchProject(data: StandInData, project: SiProject, body: unknown): RouteReply {
  const patch = (body ?? {}) as Partial<SiProject>;
  if (typeof patch.model_version === 'string' && patch.model_version !== '') {
    const version = patch.model_version;
    const live = data.mlBackends.some((b) => b.project === project.id && b.title === version);
    const stored = data.projectTasks(project.id).some((t) => t.predictions.some((p) => p.model_version === version));
    if (!live && !stored) return bad('Validation error', { model_version: ["Model version doesn't exist either as live model or as static predictions."] });
  }
  Object.assign(project, patch, { id: project.id });
  return { status: 200, body: projectJson(data, project) };
}

function listTasks(data: StandInData, query: URLSearchParams): RouteReply {
  const projectId = Number(query.get('project'));
  if (!data.projects.has(projectId)) return { status: 404, body: { detail: 'Neither project nor view id specified' } };
  const dm = query.has('query') ? (JSON.parse(query.get('query') ?? '{}') as DmQuery) : {};
  const selected = data.query(projectId, dm);
  const pageSize = Number(query.get('page_size') ?? 100);
  const page = Number(query.get('page') ?? 1);
  const pages = Math.max(1, Math.ceil(selected.length / pageSize));
  if (!Number.isInteger(page) || page < 1 || page > pages) return notFound('Invalid page.');
  const all = query.get('fields') === 'all';
  const tasks = selected.slice((page - 1) * pageSize, page * pageSize).map((t) => ({
    id: t.id,
    data: t.data,
    meta: {},
    total_annotations: StandInData.totalAnnotations(t),
    total_predictions: t.predictions.length,
    is_labeled: StandInData.totalAnnotations(t) > 0,
    ...(all && { annotations: t.annotations, predictions: t.predictions }),
  }));
  return {
    status: 200,
    body: {
      total_annotations: selected.reduce((n, t) => n + StandInData.totalAnnotations(t), 0),
      total_predictions: selected.reduce((n, t) => n + t.predictions.length, 0),
      total: selected.length,
      tasks,
    },
  };
}

function importPredictions(data: StandInData, projectId: number, body: unknown): RouteReply {
  if (!data.projects.has(projectId)) return notFound();
  if (!Array.isArray(body)) return bad('Validation error', { non_field_errors: ['Expected a list of items'] });
  for (const [i, item] of body.entries()) {
    const task = data.tasks.get(Number((item as { task?: unknown }).task));
    if (!task || task.project !== projectId) return bad('Validation error', { [i]: { task: [`Invalid pk "${String((item as { task?: unknown }).task)}" - object does not exist.`] } });
    if (!Array.isArray((item as { result?: unknown }).result)) return bad('Validation error', { [i]: { result: ['Expected a list'] } });
  }
  for (const item of body as Array<{ task: number; result: unknown[]; score?: number; model_version?: string }>) {
    data.addPrediction(item.task, { result: item.result, score: item.score ?? null, model_version: item.model_version ?? 'undefined' });
  }
  return { status: 201, body: { created: body.length } };
}

function modelVersions(data: StandInData, projectId: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const task of data.projectTasks(projectId)) for (const p of task.predictions) counts[p.model_version] = (counts[p.model_version] ?? 0) + 1;
  return counts;
}

function deleteModelVersion(data: StandInData, project: SiProject, body: unknown): RouteReply {
  const version = (body as { model_version?: unknown } | null)?.model_version;
  if (typeof version !== 'string') return bad('model_version is required');
  let deleted = 0;
  for (const task of data.projectTasks(project.id)) {
    const kept = task.predictions.filter((p) => p.model_version !== version);
    deleted += task.predictions.length - kept.length;
    task.predictions = kept;
  }
  // Label Studio nulls the project's version when it was this one or an ML backend's title (LS-API.md §3).
  const isTitle = data.mlBackends.some((b) => b.project === project.id && b.title === project.model_version);
  if (project.model_version === version || isTitle) project.model_version = null;
  return { status: 200, body: { deleted_predictions: deleted } };
}

function mlBackendJson(backend: SiMlBackend): object {
  const { basic_auth_pass, ...rest } = backend;
  return { ...rest, readable_state: backend.state, basic_auth_pass_is_set: Boolean(basic_auth_pass), auto_update: true, timeout: 100, is_interactive: false };
}
