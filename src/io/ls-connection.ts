/**
 * One authenticated connection to Label Studio's REST API: the base URL, the API key (a personal
 * access token is exchanged for access tokens, again when Label Studio refuses one before its
 * expiry), a time limit per request, and failures as LabelStudioApiErrors that name the request
 * and the reason — never the key, and of Label Studio's answer only its JSON `detail`.
 */
import { ConfigError, LabelStudioApiError, TaskDataError, type LabelStudioFailure } from '../errors.js';
import { isObject } from '../util/json.js';
import { ApiKeyAuth, type ApiKeyKind } from './api-key.js';
import { networkReason, readLimited } from './http-body.js';

export interface ApiRequest {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** @default the connection's timeout */
  timeoutMs?: number;
  /** Largest answer accepted. @default 64 MiB */
  maxBytes?: number;
}

export interface LabelStudioConnectionOptions {
  url: string;
  apiKey: string | undefined;
  fetchImpl?: typeof fetch;
  /** @default 30000 */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const KEY_HINT = 'check LABEL_STUDIO_API_KEY (Label Studio: Account & Settings → Access Token)';

export class LabelStudioConnection {
  /** Base URL without trailing slash (a sub-path is kept). */
  readonly url: string;
  readonly origin: string;
  readonly #apiKey: string | undefined;
  readonly #auth: ApiKeyAuth | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: LabelStudioConnectionOptions) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(options.url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw new ConfigError(`LABEL_STUDIO_URL must be an http(s) URL such as http://label-studio:8080, got "${options.url}"`);
    }
    this.url = options.url.trim().replace(/\/+$/, '');
    this.origin = parsed.origin;
    this.#apiKey = options.apiKey?.trim() || undefined;
    this.#fetch = options.fetchImpl ?? globalThis.fetch;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#auth = this.#apiKey === undefined ? undefined : new ApiKeyAuth(this.#apiKey, this.url, this.#fetch, (url) => this.describe(url));
  }

  get hasKey(): boolean {
    return this.#auth !== undefined;
  }

  get keyKind(): ApiKeyKind | undefined {
    return this.#auth?.kind;
  }

  /** The Authorization header value for Label Studio (a personal access token is exchanged first). */
  authHeader(signal: AbortSignal): Promise<string> {
    if (!this.#auth) throw new TaskDataError('no Label Studio API key is configured; set LABEL_STUDIO_API_KEY');
    return this.#auth.header(signal);
  }

  /** A JSON API call; `path` starts with /api/. A 204 or empty answer resolves as null. */
  async json<T = unknown>(path: string, request: ApiRequest = {}): Promise<T> {
    const bytes = await this.bytes(path, request);
    if (bytes.byteLength === 0) return null as T;
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as T;
    } catch {
      throw new LabelStudioApiError('invalid_response', `${this.#what(path, request)}: Label Studio's answer is not JSON (is LABEL_STUDIO_URL Label Studio?)`);
    }
  }

  /** An API call's raw answer. A personal access token refused before its expiry is exchanged once more. */
  async bytes(path: string, request: ApiRequest = {}): Promise<Uint8Array> {
    try {
      return await this.#send(path, request);
    } catch (error) {
      if (!(error instanceof LabelStudioApiError) || error.kind !== 'unauthorized' || this.#auth?.kind !== 'personal-access-token') throw error;
      this.#auth.invalidate();
      return this.#send(path, request);
    }
  }

  async #send(path: string, request: ApiRequest): Promise<Uint8Array> {
    const what = this.#what(path, request);
    const timeoutMs = request.timeoutMs ?? this.#timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    let response: Response;
    try {
      const headers: Record<string, string> = { Accept: 'application/json' };
      if (this.#auth) headers['Authorization'] = await this.authHeader(signal);
      if (request.body !== undefined) headers['Content-Type'] = 'application/json';
      response = await this.#fetch(this.#urlFor(path, request.query), {
        method: request.method ?? 'GET',
        headers,
        ...(request.body !== undefined && { body: JSON.stringify(request.body) }),
        redirect: 'error',
        signal,
      });
      if (!response.ok) throw await this.#failure(response, what);
      return await readLimited(response, request.maxBytes ?? DEFAULT_MAX_BYTES, () => `${what}: the answer is larger than ${request.maxBytes ?? DEFAULT_MAX_BYTES} bytes`);
    } catch (error) {
      if (error instanceof LabelStudioApiError) throw error;
      if (error instanceof TaskDataError) {
        // The personal access token exchange itself was refused.
        const status = error.details?.['upstream_status'];
        throw new LabelStudioApiError(status === 401 || status === 403 ? 'unauthorized' : 'server', `${what}: ${error.message}`, typeof status === 'number' ? status : undefined);
      }
      if (request.signal?.aborted) throw new LabelStudioApiError('cancelled', `${what}: cancelled`, undefined, { cause: request.signal.reason });
      if (timeout.aborted) throw new LabelStudioApiError('timeout', `${what}: no answer within ${timeoutMs} ms (LABEL_STUDIO_TIMEOUT_S)`);
      throw new LabelStudioApiError('network', `${what}: ${this.scrub(networkReason(error))} (is LABEL_STUDIO_URL=${this.describe(this.url)} reachable from here?)`);
    }
  }

  async #failure(response: Response, what: string): Promise<LabelStudioApiError> {
    const detail = await detailOf(response);
    const status = response.status;
    const kind: LabelStudioFailure =
      status === 401 ? 'unauthorized'
        : status === 403 ? 'forbidden'
          : status === 404 ? 'not_found'
            : status === 429 ? 'rate_limited'
              : status >= 500 ? 'server'
                : 'bad_request';
    const hint = kind === 'unauthorized' ? ` (${KEY_HINT})` : kind === 'forbidden' ? ' (the key\'s user may not do this in this project)' : '';
    return new LabelStudioApiError(kind, `${what}: HTTP ${status}${detail ? ` ${this.scrub(detail)}` : ''}${hint}`, status);
  }

  #urlFor(path: string, query: ApiRequest['query']): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(key, String(value));
    const text = params.toString();
    return `${this.url}${path}${text ? `?${text}` : ''}`;
  }

  #what(path: string, request: ApiRequest): string {
    return `Label Studio ${request.method ?? 'GET'} ${path}`;
  }

  isLabelStudio(url: string): boolean {
    try {
      return new URL(url).origin === this.origin;
    } catch {
      return false;
    }
  }

  /** A URL safe to show: no credentials, and no query (signatures) on hosts other than Label Studio. */
  describe(url: string): string {
    try {
      const parsed = new URL(url);
      parsed.username = '';
      parsed.password = '';
      if (parsed.origin !== this.origin) parsed.search = '';
      return this.scrub(parsed.toString());
    } catch {
      return '(invalid URL)';
    }
  }

  /** Removes the key and the current access token from text bound for a message. */
  scrub(text: string): string {
    let out = text;
    for (const secret of [this.#apiKey, this.#auth?.accessToken]) {
      if (secret) out = out.split(secret).join('***');
    }
    return out;
  }
}

/** Label Studio's error envelope keeps the reason in `detail` (validation errors in `validation_errors`). */
async function detailOf(response: Response): Promise<string> {
  try {
    const body: unknown = JSON.parse(await response.text());
    if (!isObject(body)) return '';
    const parts = [body['detail'], body['validation_errors'] === undefined ? undefined : JSON.stringify(body['validation_errors'])];
    const text = parts.filter((part) => typeof part === 'string' && part !== '').join(' ').replace(/\s+/g, ' ').trim();
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return '';
  }
}
