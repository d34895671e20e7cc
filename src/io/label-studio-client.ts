/**
 * The one module that talks HTTP to Label Studio: the annotation export used for training and
 * task files referenced by task data (a port of the SDK's `get_local_path` rewrites, PROTOCOL.md
 * §1.6). The API key travels only to Label Studio's own origin, never to other hosts, and never
 * appears in error messages.
 */
import { ConfigError, TaskDataError } from '../errors.js';
import type { AnnotatedTask } from '../types.js';
import { isObject } from '../util/json.js';
import { readExcerpt, readLimited, networkReason } from './http-body.js';
import { ApiKeyAuth, isWellFormedJwt } from './api-key.js';

export { isWellFormedJwt };

export interface LabelStudioClientOptions {
  /** Label Studio's base URL (LABEL_STUDIO_URL), e.g. http://label-studio:8080; a sub-path is kept. */
  url?: string | undefined;
  /** Legacy token or personal access token (LABEL_STUDIO_API_KEY). */
  apiKey?: string | undefined;
  /** For tests; @default globalThis.fetch */
  fetchImpl?: typeof fetch;
  /** Time allowed for one file download, body included. @default 10000 */
  timeoutMs?: number;
  /** Largest file `fetchText` accepts. @default 10 MiB */
  maxBytes?: number;
  /** Time allowed for the project export (it grows with the project). @default 300000 */
  exportTimeoutMs?: number;
}

export interface RequestOptions {
  /** Cancels the request (e.g. a training job's signal). */
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
const DEFAULT_EXPORT_TIMEOUT_MS = 300_000;
const MAX_EXPORT_BYTES = 512 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const CLOUD_PREFIXES = ['s3:', 'gs:', 'azure-blob:'];
const ENV_HINT = 'set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY';

export class LabelStudioClient {
  /** Base URL without trailing slash, or undefined when not configured. */
  readonly url: string | undefined;
  readonly #origin: string | undefined;
  readonly #apiKey: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #exportTimeoutMs: number;
  readonly #auth: ApiKeyAuth | undefined;

  constructor(options: LabelStudioClientOptions = {}) {
    const url = options.url?.trim() || undefined;
    if (url !== undefined) {
      let parsed: URL | undefined;
      try {
        parsed = new URL(url);
      } catch {
        parsed = undefined;
      }
      if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
        throw new ConfigError(
          `LABEL_STUDIO_URL must be an http(s) URL such as http://label-studio:8080, got "${url}"`,
        );
      }
      this.#origin = parsed.origin;
      this.url = url.replace(/\/+$/, '');
    } else {
      this.#origin = undefined;
      this.url = undefined;
    }
    this.#apiKey = options.apiKey?.trim() || undefined;
    this.#fetch = options.fetchImpl ?? globalThis.fetch;
    this.#auth = this.#apiKey === undefined ? undefined : new ApiKeyAuth(this.#apiKey, this.url, this.#fetch, (url) => this.#describe(url));
    this.#timeoutMs = positive('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS);
    this.#maxBytes = positive('maxBytes', options.maxBytes, DEFAULT_MAX_BYTES);
    this.#exportTimeoutMs = positive('exportTimeoutMs', options.exportTimeoutMs, DEFAULT_EXPORT_TIMEOUT_MS);
  }

  /** `Bearer <key>` for a well-formed JWT (personal access token), else `Token <key>`. */
  authHeader(): string {
    const key = this.#requireKey('authenticate to Label Studio');
    return isWellFormedJwt(key) ? `Bearer ${key}` : `Token ${key}`;
  }

  /** Every annotated task of a project, from `GET /api/projects/{id}/export`. */
  async exportAnnotations(projectId: number | string, options: RequestOptions = {}): Promise<AnnotatedTask[]> {
    const base = this.#requireUrl(`export project ${projectId}`);
    this.#requireKey(`export project ${projectId}`);
    const id = encodeURIComponent(String(projectId));
    const url = `${base}/api/projects/${id}/export?exportType=JSON&download_all_tasks=false`;
    const what = `the Label Studio export of project ${projectId}`;
    const bytes = await this.#get(url, what, this.#exportTimeoutMs, MAX_EXPORT_BYTES, options.signal);
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new TaskDataError(`${capitalise(what)} is not JSON (${this.#describe(url)})`);
    }
    if (!Array.isArray(body)) throw new TaskDataError(`${capitalise(what)} is not a JSON array of tasks`);
    return body.map((item, i) => toAnnotatedTask(item, i, what));
  }

  /**
   * Where a task data value can be downloaded from: Label Studio uploads and local files under
   * its URL, cloud URIs through its presign endpoint (needs the task id), http(s) URLs as they are.
   */
  resolveUrl(value: string, taskId?: number | string): string {
    if (value.startsWith('upload/')) return `${this.#requireUrl(`fetch "${value}"`)}/data/${value}`;
    if (value.startsWith('/upload/')) return `${this.#requireUrl(`fetch "${value}"`)}/data${value}`;
    if (value.startsWith('/data/upload/') || (value.startsWith('/data/') && value.includes('?d='))) {
      return `${this.#requireUrl(`fetch "${value}"`)}${value}`;
    }
    if (CLOUD_PREFIXES.some((prefix) => value.startsWith(prefix))) {
      const base = this.#requireUrl(`fetch "${value}"`);
      if (taskId === undefined || taskId === null || String(taskId) === '') {
        throw new TaskDataError(`Cannot fetch "${value}": cloud storage files are presigned per task and no task id was given`);
      }
      // Label Studio base64-decodes `fileuri` (urlsafe alphabet, padding required).
      const fileuri = Buffer.from(value, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
      return `${base}/tasks/${encodeURIComponent(String(taskId))}/presign/?fileuri=${encodeURIComponent(fileuri)}`;
    }
    if (/^https?:\/\//i.test(value)) {
      try {
        new URL(value);
        return value;
      } catch {
        throw new TaskDataError(`Cannot fetch "${shorten(value)}": not a valid URL`);
      }
    }
    throw new TaskDataError(
      `Cannot fetch "${shorten(value)}": not a Label Studio upload, local-files path, cloud storage URI or http(s) URL`,
    );
  }

  /** Downloads a task file as UTF-8 text (size- and time-limited). Failures are TaskDataErrors. */
  async fetchText(value: string, taskId?: number | string, options: RequestOptions = {}): Promise<string> {
    const url = this.resolveUrl(value, taskId);
    // Uploads, local files and cloud URIs are only served to an authenticated client.
    if (!/^https?:\/\//i.test(value)) this.#requireKey(`fetch "${value}"`);
    const bytes = await this.#get(url, `task file "${shorten(value)}"`, this.#timeoutMs, this.#maxBytes, options.signal);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new TaskDataError(`Task file "${shorten(value)}" is not UTF-8 text (${this.#describe(url)})`);
    }
  }

  /** GET with manual redirects, so each hop decides again whether it may carry the key. */
  async #get(url: string, what: string, timeoutMs: number, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let current = url;
    try {
      for (let hop = 0; ; hop++) {
        const headers: Record<string, string> = { Accept: '*/*' };
        if (this.#isLabelStudio(current) && this.#auth) headers['Authorization'] = await this.#auth.header(combined);
        const response = await this.#fetch(current, { headers, redirect: 'manual', signal: combined });
        const location = response.headers.get('location');
        if (response.status >= 300 && response.status < 400 && location) {
          await response.body?.cancel();
          if (hop >= MAX_REDIRECTS) throw new TaskDataError(`Could not download ${what}: more than ${MAX_REDIRECTS} redirects`);
          current = new URL(location, current).toString();
          if (!/^https?:$/.test(new URL(current).protocol)) {
            throw new TaskDataError(`Could not download ${what}: redirected to a non-http(s) URL`);
          }
          continue;
        }
        if (!response.ok) {
          const excerpt = this.#scrub(await readExcerpt(response));
          const hint = response.status === 401 || response.status === 403 ? ` (check LABEL_STUDIO_API_KEY; ${ENV_HINT})` : '';
          throw new TaskDataError(
            `Could not download ${what}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''} ` +
              `from ${this.#describe(current)}${hint}${excerpt ? `: ${excerpt}` : ''}`,
            { upstream_status: response.status },
          );
        }
        return await readLimited(response, maxBytes, () => `Could not download ${what}: larger than ${maxBytes} bytes`);
      }
    } catch (error) {
      if (error instanceof TaskDataError) throw error;
      if (timeout.aborted) {
        throw new TaskDataError(`Could not download ${what} from ${this.#describe(current)}: timed out after ${timeoutMs} ms`);
      }
      if (signal?.aborted) throw new TaskDataError(`Download of ${what} was cancelled`, undefined, { cause: signal.reason });
      throw new TaskDataError(
        `Could not download ${what} from ${this.#describe(current)}: ${this.#scrub(networkReason(error))}`,
      );
    }
  }

  #isLabelStudio(url: string): boolean {
    if (this.#origin === undefined) return false;
    try {
      return new URL(url).origin === this.#origin;
    } catch {
      return false;
    }
  }

  #requireUrl(action: string): string {
    if (this.url === undefined) {
      throw new TaskDataError(`Cannot ${action}: Label Studio's URL is not configured; ${ENV_HINT}`);
    }
    return this.url;
  }

  #requireKey(action: string): string {
    if (this.#apiKey === undefined) {
      throw new TaskDataError(`Cannot ${action}: no Label Studio API key is configured; ${ENV_HINT}`);
    }
    return this.#apiKey;
  }

  /** A URL safe to log: no credentials, and no query (signatures) on hosts other than Label Studio. */
  #describe(url: string): string {
    try {
      const parsed = new URL(url);
      parsed.username = '';
      parsed.password = '';
      if (parsed.origin !== this.#origin) parsed.search = '';
      return this.#scrub(parsed.toString());
    } catch {
      return '(invalid URL)';
    }
  }

  /** Removes the key and the current access token from text bound for a message. */
  #scrub(text: string): string {
    let out = text;
    for (const secret of [this.#apiKey, this.#auth?.accessToken]) {
      if (secret) out = out.split(secret).join('***');
    }
    return out;
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`LabelStudioClient option ${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function shorten(value: string): string {
  return value.length > 120 ? `${value.slice(0, 120)}…` : value;
}

function toAnnotatedTask(item: unknown, index: number, what: string): AnnotatedTask {
  if (!isObject(item)) {
    throw new TaskDataError(`${capitalise(what)}: item ${index} is not a task object`);
  }
  const task = item;
  const data = task['data'];
  if (typeof task['id'] !== 'number' || typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new TaskDataError(`${capitalise(what)}: item ${index} has no numeric "id" or no "data" object`);
  }
  const annotations = Array.isArray(task['annotations']) ? (task['annotations'] as AnnotatedTask['annotations']) : [];
  return { ...task, id: task['id'], data: data as Record<string, unknown>, annotations };
}
