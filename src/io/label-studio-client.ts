/**
 * The backend's way to Label Studio: its REST API (./label-studio-api.ts, on one authenticated
 * connection), the annotation export used for training, and task files referenced by task data
 * (a port of the SDK's `get_local_path` rewrites, PROTOCOL.md §1.6) under the task URL policy.
 * The API key travels only to Label Studio's own origin and never appears in error messages.
 */
import { ConfigError, LabelStudioApiError, TaskDataError } from '../errors.js';
import type { AnnotatedTask } from '../types.js';
import { isObject } from '../util/json.js';
import { isWellFormedJwt } from './api-key.js';
import { TaskUrlPolicy } from './fetch-policy.js';
import { LabelStudioApi } from './label-studio-api.js';
import { LabelStudioConnection } from './ls-connection.js';
import { TaskFileFetcher } from './task-file-fetcher.js';

export { isWellFormedJwt };

export interface LabelStudioClientOptions {
  /** Label Studio's base URL (LABEL_STUDIO_URL), e.g. http://label-studio:8080; a sub-path is kept. */
  url?: string | undefined;
  /** Legacy token or personal access token (LABEL_STUDIO_API_KEY). */
  apiKey?: string | undefined;
  /** TASK_URL_ORIGINS: origins task URLs may be fetched from besides Label Studio's (`*`: any public host). */
  allowedOrigins?: readonly string[] | undefined;
  /** For tests: replaces fetch for API calls and file downloads (the connect-time address check then does not apply). */
  fetchImpl?: typeof fetch;
  /** Time allowed for one file download, body included. @default 10000 */
  timeoutMs?: number;
  /** Largest file `fetchText` accepts. @default 10 MiB */
  maxBytes?: number;
  /** Time allowed for the project export (it grows with the project). @default 300000 */
  exportTimeoutMs?: number;
  /** Time allowed for one API call (LABEL_STUDIO_TIMEOUT_S). @default 30000 */
  apiTimeoutMs?: number;
}

export interface RequestOptions {
  /** Cancels the request (e.g. a training job's signal). */
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
const DEFAULT_EXPORT_TIMEOUT_MS = 300_000;
const MAX_EXPORT_BYTES = 512 * 1024 * 1024;
const CLOUD_PREFIXES = ['s3:', 'gs:', 'azure-blob:'];
const ENV_HINT = 'set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY';

export class LabelStudioClient {
  /** Base URL without trailing slash, or undefined when not configured. */
  readonly url: string | undefined;
  /** The REST API, when LABEL_STUDIO_URL is set. */
  readonly api: LabelStudioApi | undefined;
  readonly #connection: LabelStudioConnection | undefined;
  readonly #apiKey: string | undefined;
  readonly #policy: TaskUrlPolicy;
  readonly #files: TaskFileFetcher;
  readonly #exportTimeoutMs: number;

  constructor(options: LabelStudioClientOptions = {}) {
    const url = options.url?.trim() || undefined;
    this.#apiKey = options.apiKey?.trim() || undefined;
    this.#connection = url === undefined ? undefined : new LabelStudioConnection({
      url,
      apiKey: this.#apiKey,
      ...(options.fetchImpl && { fetchImpl: options.fetchImpl }),
      timeoutMs: positive('apiTimeoutMs', options.apiTimeoutMs, 30_000),
    });
    this.url = this.#connection?.url;
    this.api = this.#connection && new LabelStudioApi(this.#connection);
    this.#policy = new TaskUrlPolicy({ labelStudioOrigin: this.#connection?.origin, allowedOrigins: options.allowedOrigins });
    this.#files = new TaskFileFetcher({
      connection: this.#connection,
      policy: this.#policy,
      timeoutMs: positive('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS),
      maxBytes: positive('maxBytes', options.maxBytes, DEFAULT_MAX_BYTES),
      fetchImpl: options.fetchImpl,
    });
    this.#exportTimeoutMs = positive('exportTimeoutMs', options.exportTimeoutMs, DEFAULT_EXPORT_TIMEOUT_MS);
  }

  /** `Bearer <key>` for a well-formed JWT (personal access token), else `Token <key>`. */
  authHeader(): string {
    const key = this.#requireKey('authenticate to Label Studio');
    return isWellFormedJwt(key) ? `Bearer ${key}` : `Token ${key}`;
  }

  /** Every annotated task of a project, from `GET /api/projects/{id}/export`. */
  async exportAnnotations(projectId: number | string, options: RequestOptions = {}): Promise<AnnotatedTask[]> {
    const connection = this.#connection;
    if (!connection) throw new TaskDataError(`Cannot export project ${projectId}: Label Studio's URL is not configured; ${ENV_HINT}`);
    this.#requireKey(`export project ${projectId}`);
    const what = `the Label Studio export of project ${projectId}`;
    let bytes: Uint8Array;
    try {
      bytes = await connection.bytes(`/api/projects/${encodeURIComponent(String(projectId))}/export`, {
        query: { exportType: 'JSON', download_all_tasks: 'false' },
        timeoutMs: this.#exportTimeoutMs,
        maxBytes: MAX_EXPORT_BYTES,
        ...(options.signal && { signal: options.signal }),
      });
    } catch (error) {
      // Training reads a failed export as task data it could not get.
      if (error instanceof LabelStudioApiError) {
        throw new TaskDataError(`Could not download ${what}: ${error.message}`, error.upstreamStatus === undefined ? undefined : { upstream_status: error.upstreamStatus });
      }
      throw error;
    }
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new TaskDataError(`${capitalise(what)} is not JSON`);
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

  /** Downloads a task file as UTF-8 text (size- and time-limited, under the task URL policy). Failures are TaskDataErrors. */
  async fetchText(value: string, taskId?: number | string, options: RequestOptions = {}): Promise<string> {
    const url = this.resolveUrl(value, taskId);
    // Uploads, local files and cloud URIs are only served to an authenticated client.
    if (!/^https?:\/\//i.test(value)) this.#requireKey(`fetch "${value}"`);
    const bytes = await this.#files.get(url, `task file "${shorten(value)}"`, options.signal);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new TaskDataError(`Task file "${shorten(value)}" is not UTF-8 text`);
    }
  }

  /** Closes the connection pools of the task URL policy. */
  close(): Promise<void> {
    return this.#policy.close();
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
