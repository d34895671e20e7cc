/**
 * What `doctor` checks, in order, each a one-line verdict and a fix: Label Studio reachable; the
 * key's kind and the Authorization header that works; the project readable; one task file
 * fetchable the way /predict fetches it; the project's webhook pointing at this backend with the
 * actions that train; the ML backend registered with matching auth; Basic auth and WEBHOOK_TOKEN
 * consistent; the backend itself answering. Later checks that need an earlier one's result are
 * left out when it failed.
 */
import { LabelStudioApiError } from '../errors.js';
import { apiKeyKind } from '../io/api-key.js';
import { networkReason } from '../io/http-body.js';
import { LabelStudioClient } from '../io/label-studio-client.js';
import type { LsMlBackend, LsProject } from '../io/label-studio-api.js';
import { isPreloadNeeded } from '../model/task-data.js';
import { errorMessage } from '../util/json.js';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix: string;
}

export interface DoctorOptions {
  labelStudioUrl: string | undefined;
  apiKey: string | undefined;
  project?: string | undefined;
  backendUrl?: string | undefined;
  basicAuthUser?: string | undefined;
  basicAuthPass?: string | undefined;
  webhookToken?: string | undefined;
  taskUrlOrigins?: readonly string[];
  timeoutMs: number;
}

const TRAINING_ACTIONS = ['ANNOTATION_CREATED', 'ANNOTATION_UPDATED'];
const KEY_KINDS = { 'legacy-token': 'legacy token', 'personal-access-token': 'personal access token', 'access-token': 'JWT access token' } as const;

export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const add = (name: string, ok: boolean, detail: string, fix = '') => checks.push({ name, ok, detail, fix: ok ? '' : fix });
  const { labelStudioUrl: url, apiKey } = options;
  if (!url) {
    add('label_studio_url', false, 'LABEL_STUDIO_URL is not set', 'set LABEL_STUDIO_URL to Label Studio\'s address as this backend reaches it, e.g. http://label-studio:8080');
    return checks;
  }
  const client = new LabelStudioClient({ url, apiKey, allowedOrigins: options.taskUrlOrigins, apiTimeoutMs: options.timeoutMs, timeoutMs: options.timeoutMs });
  const api = client.api!;
  try {
    const started = Date.now();
    try {
      await api.health();
      add('label_studio_url', true, `${client.url} answers (${Date.now() - started} ms)`);
    } catch (error) {
      add('label_studio_url', false, `${client.url}: ${errorMessage(error)}`, 'check LABEL_STUDIO_URL (scheme, host, port) and that Label Studio runs and is reachable from this machine');
      return checks;
    }

    if (!apiKey) {
      add('api_key', false, 'LABEL_STUDIO_API_KEY is not set', 'copy a personal access token from Label Studio (Account & Settings → Personal Access Token) into LABEL_STUDIO_API_KEY');
      return checks;
    }
    const kind = apiKeyKind(apiKey);
    const header = kind === 'legacy-token' ? 'Authorization: Token <key>' : kind === 'personal-access-token' ? 'Authorization: Bearer <access token from /api/token/refresh>' : 'Authorization: Bearer <key>';
    try {
      const me = await api.whoAmI();
      const note = kind === 'access-token' ? ' (an access token expires within minutes: use the personal access token itself)' : '';
      add('api_key', kind !== 'access-token', `${KEY_KINDS[kind]}; ${header} works (user ${me.email ?? me.username ?? me.id})${note}`, 'put the personal access token (not an access token made from it) in LABEL_STUDIO_API_KEY');
    } catch (error) {
      add('api_key', false, `${KEY_KINDS[kind]}; ${header} was refused: ${errorMessage(error)}`, keyFix(kind, error));
      return checks;
    }

    if (options.project === undefined) return checks;
    const project = options.project;
    let lsProject: LsProject;
    try {
      lsProject = await api.project(project);
      add('project', true, `project ${project} "${lsProject.title}": ${lsProject.task_number ?? '?'} tasks, model_version ${JSON.stringify(lsProject.model_version)}`);
    } catch (error) {
      const kindOf = error instanceof LabelStudioApiError ? error.kind : undefined;
      add('project', false, `project ${project}: ${errorMessage(error)}`, kindOf === 'not_found' ? 'check --project: the id is in the project\'s URL in Label Studio' : 'make the key\'s user a member of the project\'s organization with access to it');
      return checks;
    }

    await checkTaskFile(client, project, add);
    const backends = await api.mlBackends(project).catch(() => [] as LsMlBackend[]);
    const backendUrl = (options.backendUrl ?? (backends.length === 1 ? backends[0]!.url : undefined))?.replace(/\/+$/, '');
    await checkWebhook(client, project, backendUrl, options, add);
    checkMlBackend(backends, backendUrl, options, add);
    checkAuth(options, add);
    if (backendUrl) await checkBackend(backendUrl, options, add);
    return checks;
  } finally {
    await client.close();
  }
}

type Add = (name: string, ok: boolean, detail: string, fix?: string) => void;

function keyFix(kind: keyof typeof KEY_KINDS, error: unknown): string {
  const message = errorMessage(error);
  if (/legacy token authentication has been disabled/i.test(message)) return 'legacy tokens are disabled in this organization: use a personal access token (Account & Settings), or enable legacy tokens (Organization → Access Token Settings)';
  if (kind === 'personal-access-token') return 'the personal access token was revoked or belongs to another Label Studio: create a new one (Account & Settings → Personal Access Token)';
  return 'copy a valid key from Label Studio (Account & Settings) into LABEL_STUDIO_API_KEY';
}

/** The first task value /predict would download, downloaded the same way. */
async function checkTaskFile(client: LabelStudioClient, project: string, add: Add): Promise<void> {
  try {
    const page = await client.api!.tasks(project, { pageSize: 20 });
    for (const task of page.tasks) {
      for (const [key, value] of Object.entries(task.data ?? {})) {
        if (typeof value !== 'string' || !isPreloadNeeded(value)) continue;
        try {
          const text = await client.fetchText(value, task.id);
          add('task_file', true, `task ${task.id}: ${key} (${shorten(value)}) fetched, ${text.length} characters`);
        } catch (error) {
          const refused = /Refused to fetch/.test(errorMessage(error));
          add('task_file', false, `task ${task.id}: ${key}: ${errorMessage(error)}`, refused
            ? 'list the files\' origin in TASK_URL_ORIGINS (or serve them through Label Studio: uploads, local files, cloud storage)'
            : 'check that the file exists and that LABEL_STUDIO_API_KEY may read it (cloud storage: the storage\'s credentials in Label Studio)');
        }
        return;
      }
    }
    add('task_file', true, page.tasks.length === 0 ? 'the project has no tasks yet' : 'the first tasks hold their text inline: nothing to download');
  } catch (error) {
    add('task_file', false, `listing tasks: ${errorMessage(error)}`, 'the key\'s user needs to see the project\'s tasks');
  }
}

async function checkWebhook(client: LabelStudioClient, project: string, backendUrl: string | undefined, options: DoctorOptions, add: Add): Promise<void> {
  if (!backendUrl) {
    add('webhook', false, 'no backend URL to look for', 'pass --backend-url (the URL Label Studio uses for this backend) or connect the backend in the project (Settings → Model)');
    return;
  }
  const target = `${backendUrl}/webhook`;
  const hooks = await client.api!.webhooks(project);
  const hook = hooks.find((h) => h.url.split('?')[0]!.replace(/\/+$/, '') === target);
  if (!hook) {
    add('webhook', false, `no webhook of project ${project} points at ${target} (${hooks.length} webhook(s): ${hooks.map((h) => h.url.split('?')[0]).join(', ') || 'none'})`, `add a webhook (Settings → Webhooks) with URL ${target}, "Send payload" on, for annotation events`);
    return;
  }
  const missing = hook.send_for_all_actions ? [] : TRAINING_ACTIONS.filter((action) => !hook.actions.includes(action));
  if (!hook.is_active || missing.length > 0) {
    add('webhook', false, `webhook ${hook.id} → ${target} is ${hook.is_active ? 'active' : 'not active'}${missing.length ? `, without ${missing.join(', ')}` : ''}`, `edit webhook ${hook.id}: make it active and send annotation created/updated events (or all events)`);
    return;
  }
  if (options.basicAuthUser && options.webhookToken && !carriesToken(hook, options.webhookToken)) {
    add('webhook', false, `webhook ${hook.id} → ${target} carries no WEBHOOK_TOKEN: Basic auth answers it with 401`, `edit webhook ${hook.id}: add the header X-Webhook-Token with the value of WEBHOOK_TOKEN`);
    return;
  }
  const refresh = hook.send_for_all_actions || hook.actions.includes('TASKS_CREATED') ? '' : ' (add TASKS_CREATED so imported tasks get predictions at once)';
  add('webhook', true, `webhook ${hook.id} → ${target}, ${hook.send_for_all_actions ? 'all events' : hook.actions.join(', ')}${refresh}`);
}

function carriesToken(hook: { url: string; headers: Record<string, string> }, token: string): boolean {
  const headers = Object.fromEntries(Object.entries(hook.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  if (headers['x-webhook-token'] === token || headers['authorization'] === `Bearer ${token}`) return true;
  try {
    return new URL(hook.url).searchParams.get('token') === token;
  } catch {
    return false;
  }
}

function checkMlBackend(backends: LsMlBackend[], backendUrl: string | undefined, options: DoctorOptions, add: Add): void {
  const backend = backends.find((b) => b.url.replace(/\/+$/, '') === backendUrl);
  if (!backend) {
    add('ml_backend', false, `no ML backend of the project has URL ${backendUrl ?? '(unknown)'} (${backends.map((b) => b.url).join(', ') || 'none connected'})`, 'connect it in the project: Settings → Model → Connect Model, with the URL Label Studio reaches this backend at');
    return;
  }
  const wantsBasic = Boolean(options.basicAuthUser);
  const hasBasic = backend.auth_method === 'BASIC_AUTH';
  if (wantsBasic && (!hasBasic || backend.basic_auth_user !== options.basicAuthUser || !backend.basic_auth_pass_is_set)) {
    add('ml_backend', false, `"${backend.title}" (${backend.url}) sends ${hasBasic ? `Basic auth as ${JSON.stringify(backend.basic_auth_user)}` : 'no Basic auth'}; this backend requires user ${JSON.stringify(options.basicAuthUser)}`, `edit "${backend.title}" in Settings → Model: Use Basic Authentication, user ${options.basicAuthUser ?? ''} and BASIC_AUTH_PASS`);
    return;
  }
  if (backend.state !== undefined && backend.state !== 'CO') {
    add('ml_backend', false, `"${backend.title}" (${backend.url}) is ${backend.state}${backend.error_message ? `: ${backend.error_message.slice(0, 200)}` : ''}`, 'Label Studio cannot reach the backend at that URL: check the URL from Label Studio\'s side (container names, ports) and the backend\'s logs');
    return;
  }
  add('ml_backend', true, `"${backend.title}" (${backend.url}) connected, version ${backend.model_version ?? '?'}${hasBasic ? ', Basic auth' : ''}`);
}

function checkAuth(options: DoctorOptions, add: Add): void {
  const { basicAuthUser: user, basicAuthPass: pass, webhookToken } = options;
  if (Boolean(user) !== Boolean(pass)) {
    add('auth', false, 'only one of BASIC_AUTH_USER and BASIC_AUTH_PASS is set', 'set both, or neither');
  } else if (user && !webhookToken) {
    add('auth', false, 'Basic auth is on and WEBHOOK_TOKEN is not set: Label Studio\'s webhooks carry no credentials and get 401, so annotations never reach the backend', 'set WEBHOOK_TOKEN and add it to the webhook as the header X-Webhook-Token');
  } else {
    add('auth', true, user ? 'Basic auth on; webhooks let through with WEBHOOK_TOKEN' : 'no Basic auth (anyone who reaches the backend may call it)');
  }
}

async function checkBackend(backendUrl: string, options: DoctorOptions, add: Add): Promise<void> {
  const headers: Record<string, string> = options.basicAuthUser && options.basicAuthPass
    ? { Authorization: `Basic ${Buffer.from(`${options.basicAuthUser}:${options.basicAuthPass}`).toString('base64')}` }
    : {};
  try {
    const response = await fetch(`${backendUrl}/health`, { headers, signal: AbortSignal.timeout(options.timeoutMs) });
    await response.body?.cancel();
    if (response.ok) add('backend', true, `${backendUrl}/health answers 200`);
    else add('backend', false, `${backendUrl}/health answers ${response.status}`, response.status === 401 ? 'BASIC_AUTH_USER/BASIC_AUTH_PASS here differ from the running backend\'s' : 'check the backend\'s logs');
  } catch (error) {
    add('backend', false, `${backendUrl}/health: ${networkReason(error)}`, 'start the backend, or pass the --backend-url this machine reaches it at');
  }
}

function shorten(value: string): string {
  return value.length > 60 ? `${value.slice(0, 60)}…` : value;
}
