/**
 * A Label Studio API stand-in that tests start on a free loopback port. It follows LS-API.md
 * (auth kinds with access-token expiry, the Data Manager task list with pagination and 404 past
 * the end, bulk prediction import, project GET/PATCH, model versions, webhooks, ML backends,
 * export, task files), records every request it receives, injects faults (a status, a hang, a
 * reset — before or after the request took effect), and plays Label Studio's side toward the
 * backend: annotation webhooks, TASKS_CREATED, Start Training.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { StandInAuth } from './auth.js';
import { route, type RouteReply } from './routes.js';
import { StandInData, type SiMlBackend, type SiProject, type SiTask } from './state.js';

export { makeJwt } from './auth.js';
export type { SiTask, SiProject, SiPrediction } from './state.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  body: unknown;
  status: number;
}

export interface Fault {
  method?: string;
  /** Matched against the path (a string matches exactly). */
  path: string | RegExp;
  /** Answer this status with a Label Studio error body... */
  status?: number;
  /** ...or never answer, or close the connection. */
  action?: 'hang' | 'reset';
  /** Carry the request out first, then fail (the client cannot tell whether it happened). */
  afterApplied?: boolean;
  /** Let this many matching requests through first. @default 0 */
  skip?: number;
  /** Fail this many matching requests, then stop. @default Infinity */
  times?: number;
}

const UNAUTHENTICATED = new Set(['/health/', '/health', '/api/token/refresh', '/api/token/refresh/']);

export class LabelStudioStandIn {
  readonly data = new StandInData();
  readonly auth: StandInAuth;
  readonly requests: RecordedRequest[] = [];
  readonly files = new Map<string, string>();
  /** Delay before every answer (a slower Label Studio). */
  latencyMs = 0;
  /** Called with every request before it is answered (tests change the data mid-way here). */
  onRequest: ((request: RecordedRequest) => void) | undefined;
  url = '';
  readonly #server: http.Server;
  readonly #faults: Array<Fault & { seen: number; used: number }> = [];
  readonly #hanging = new Set<http.ServerResponse>();

  private constructor(options: { accessTtlS?: number }) {
    this.auth = new StandInAuth(options.accessTtlS);
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
  }

  static async start(options: { accessTtlS?: number } = {}): Promise<LabelStudioStandIn> {
    const standIn = new LabelStudioStandIn(options);
    standIn.#server.listen(0, '127.0.0.1');
    await once(standIn.#server, 'listening');
    standIn.url = `http://127.0.0.1:${(standIn.#server.address() as AddressInfo).port}`;
    return standIn;
  }

  async stop(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  fault(fault: Fault): void {
    this.#faults.push({ ...fault, seen: 0, used: 0 });
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** A project with tasks of `{text}`; returns the project and its tasks. */
  addProject(init: Partial<SiProject> & { label_config: string }, texts: string[] = []): { project: SiProject; tasks: SiTask[] } {
    const project = this.data.addProject(init);
    return { project, tasks: this.data.addTasks(project.id, texts.map((text) => ({ text }))) };
  }

  /** What Label Studio does when a backend is added in the UI: the backend and its webhook (LS-API.md §6). */
  connectBackend(project: number, url: string, options: { basicAuth?: [string, string]; title?: string; webhookHeaders?: Record<string, string> } = {}): SiMlBackend {
    const base = url.replace(/\/+$/, '');
    this.data.addWebhook({ project, url: `${base}/webhook`, headers: options.webhookHeaders ?? {} });
    return this.data.addMlBackend({
      project,
      url: base,
      title: options.title ?? 'tfjs',
      auth_method: options.basicAuth ? 'BASIC_AUTH' : 'NONE',
      basic_auth_user: options.basicAuth?.[0] ?? null,
      basic_auth_pass: options.basicAuth?.[1] ?? null,
    });
  }

  /** An annotator labels a task: the annotation is stored and ANNOTATION_CREATED goes to the project's webhooks. */
  async annotate(taskId: number, result: unknown[]): Promise<void> {
    const annotation = this.data.addAnnotation(taskId, result);
    const task = this.data.tasks.get(taskId)!;
    await this.#sendWebhooks(task.project, 'ANNOTATION_CREATED', { annotation: { ...annotation }, task: { id: task.id, data: task.data, project: task.project } });
  }

  /** Tasks imported: stored, then TASKS_CREATED to the project's webhooks. */
  async importTasks(project: number, texts: string[]): Promise<SiTask[]> {
    const tasks = this.data.addTasks(project, texts.map((text) => ({ text })));
    await this.#sendWebhooks(project, 'TASKS_CREATED', { tasks: tasks.map((t) => ({ id: t.id, data: t.data })) });
    return tasks;
  }

  /** "Start Training": POST START_TRAINING to the backend's /webhook with the backend's Basic auth (PROTOCOL.md §1.4). */
  async startTraining(project: number): Promise<{ status: number; body: unknown }> {
    const backend = this.data.mlBackends.find((b) => b.project === project);
    if (!backend) throw new Error(`stand-in: project ${project} has no ML backend`);
    const response = await fetch(`${backend.url}/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...basicHeader(backend) },
      body: JSON.stringify({ action: 'START_TRAINING', project: this.#projectPayload(project) }),
    });
    return { status: response.status, body: await response.json().catch(() => null) };
  }

  /** Predictions of one version on one task. */
  predictionsOf(taskId: number, version?: string): SiTask['predictions'] {
    return (this.data.tasks.get(taskId)?.predictions ?? []).filter((p) => version === undefined || p.model_version === version);
  }

  unlabelledTasks(project: number): SiTask[] {
    return this.data.projectTasks(project).filter((t) => StandInData.totalAnnotations(t) === 0);
  }

  requestsTo(path: string | RegExp, method?: string): RecordedRequest[] {
    return this.requests.filter((r) => (typeof path === 'string' ? r.path === path : path.test(r.path)) && (method === undefined || r.method === method));
  }

  async #sendWebhooks(project: number, action: string, payload: object): Promise<void> {
    const hooks = this.data.webhooks.filter((w) => w.is_active && w.project === project && (w.send_for_all_actions || w.actions.includes(action)));
    for (const hook of hooks) {
      // Like Label Studio: no retries, errors only logged, the answer ignored.
      await fetch(hook.url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...hook.headers }, body: JSON.stringify({ action, project: this.#projectPayload(project), ...payload }) }).catch(() => undefined);
    }
  }

  #projectPayload(project: number): object {
    const p = this.data.projects.get(project);
    return { id: project, title: p?.title, label_config: p?.label_config };
  }

  async #updateBackendState(backend: SiMlBackend): Promise<void> {
    try {
      const headers = { 'Content-Type': 'application/json', ...basicHeader(backend) };
      const health = await fetch(`${backend.url}/health`, { headers, signal: AbortSignal.timeout(2000) });
      if (!health.ok) throw new Error(`health answered ${health.status}`);
      const project = this.data.projects.get(backend.project);
      const setup = await fetch(`${backend.url}/setup`, { method: 'POST', headers, body: JSON.stringify({ project: `${backend.project}.1700000000`, schema: project?.label_config }), signal: AbortSignal.timeout(3000) });
      if (!setup.ok) throw new Error(`setup answered ${setup.status}`);
      const body = (await setup.json()) as { model_version?: string };
      backend.model_version = body.model_version ?? backend.model_version;
      backend.state = 'CO';
      backend.error_message = null;
    } catch (error) {
      backend.state = 'ER';
      backend.error_message = (error as Error).message;
    }
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://stand-in');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
    const record: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, authorization: req.headers.authorization, body, status: 0 };
    this.requests.push(record);
    this.onRequest?.(record);
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const fault = this.#matchFault(record);
    if (fault && !fault.afterApplied) return this.#fail(fault, record, res);
    const reply = await this.#reply(record);
    if (fault) return this.#fail(fault, record, res);
    this.#send(res, record, reply);
  }

  async #reply(record: RecordedRequest): Promise<RouteReply> {
    if (record.method === 'POST' && (record.path === '/api/token/refresh' || record.path === '/api/token/refresh/')) return this.auth.refresh(record.body);
    if (record.path === '/health/' || record.path === '/health') return { status: 200, body: { status: 'UP' } };
    if (!UNAUTHENTICATED.has(record.path)) {
      const outcome = this.auth.check(record.authorization);
      if (!outcome.ok) return { status: 401, body: errorBody(401, outcome.detail) };
    }
    try {
      const reply = await route(record, { data: this.data, files: this.files, updateBackendState: (b) => this.#updateBackendState(b) });
      const detail = (reply.body as { detail?: unknown } | undefined)?.detail;
      if (reply.status >= 400 && reply.body && typeof reply.body === 'object') reply.body = errorBody(reply.status, typeof detail === 'string' ? detail : '', reply.body);
      return reply;
    } catch (error) {
      return { status: 500, body: errorBody(500, (error as Error).message) };
    }
  }

  #matchFault(record: RecordedRequest): (Fault & { seen: number; used: number }) | undefined {
    for (const fault of this.#faults) {
      const pathOk = typeof fault.path === 'string' ? fault.path === record.path : fault.path.test(record.path);
      if (!pathOk || (fault.method !== undefined && fault.method !== record.method)) continue;
      fault.seen++;
      if (fault.seen <= (fault.skip ?? 0) || fault.used >= (fault.times ?? Infinity)) continue;
      fault.used++;
      return fault;
    }
    return undefined;
  }

  #fail(fault: Fault, record: RecordedRequest, res: http.ServerResponse): void {
    if (fault.action === 'hang') {
      this.#hanging.add(res);
      return;
    }
    if (fault.action === 'reset') {
      res.socket?.destroy();
      return;
    }
    const status = fault.status ?? 500;
    this.#send(res, record, { status, body: errorBody(status, status === 403 ? 'You do not have permission to perform this action.' : status >= 500 ? 'Internal server error' : 'Injected fault') });
  }

  #send(res: http.ServerResponse, record: RecordedRequest, reply: RouteReply): void {
    record.status = reply.status;
    const payload = reply.text ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
    res.writeHead(reply.status, { 'Content-Type': 'application/json', ...reply.headers }).end(payload);
  }
}

/** Label Studio's error envelope (LS-API.md §1). */
function errorBody(status: number, detail: string, extra: unknown = {}): object {
  return { id: '00000000-0000-0000-0000-000000000000', status_code: status, version: '1.20.0', ...(extra as object), detail, exc_info: null };
}

function basicHeader(backend: SiMlBackend): Record<string, string> {
  if (backend.auth_method !== 'BASIC_AUTH' || !backend.basic_auth_user) return {};
  return { Authorization: `Basic ${Buffer.from(`${backend.basic_auth_user}:${backend.basic_auth_pass ?? ''}`).toString('base64')}` };
}
