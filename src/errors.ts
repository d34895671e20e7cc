/**
 * The error catalogue: every code the backend throws or sends, with its HTTP status and meaning.
 * `ErrorCode` is derived from this table, and a test checks that the codes used in src/ are
 * exactly its keys. Errors carry `code`, `status` and `expose` (Koa's contract: only exposed
 * messages reach the client).
 */
export const ERROR_CATALOGUE = {
  MLB_ERR_BAD_REQUEST: { status: 400, meaning: 'the request cannot be processed as sent (also 408/431 for slow or oversized requests)' },
  MLB_ERR_VALIDATION: { status: 400, meaning: 'a field of the body is missing or has the wrong type; `field` names it' },
  MLB_ERR_INVALID_JSON: { status: 400, meaning: 'the body is not JSON' },
  MLB_ERR_BODY_TOO_LARGE: { status: 413, meaning: 'the body is larger than MAX_BODY_MB' },
  MLB_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'a POST body that is not application/json' },
  MLB_ERR_UNAUTHORIZED: { status: 401, meaning: 'Basic auth (or the webhook token) is missing or wrong' },
  MLB_ERR_NOT_FOUND: { status: 404, meaning: 'no such route' },
  MLB_ERR_METHOD_NOT_ALLOWED: { status: 405, meaning: 'the route exists for other methods' },
  MLB_ERR_BAD_PROJECT_ID: { status: 400, meaning: 'a project id that is not a safe name' },
  MLB_ERR_BAD_VERSION: { status: 400, meaning: 'a model version that is not a safe name' },
  MLB_ERR_LABEL_CONFIG: { status: 400, meaning: 'the label config is not XML the model can use' },
  MLB_ERR_MODEL: { status: 500, meaning: 'the model failed or returned something unusable' },
  MLB_ERR_MODEL_NOT_READY: { status: 503, meaning: "the model's preload failed: no instance can be built" },
  MLB_ERR_PREDICTION_COUNT: { status: 500, meaning: 'the model returned a prediction count other than 0 or one per task' },
  MLB_ERR_JOB_NOT_FOUND: { status: 404, meaning: 'no training job with that id' },
  MLB_ERR_VERSION_NOT_FOUND: { status: 404, meaning: 'no such model version in the project' },
  MLB_ERR_CHECKPOINT_CORRUPT: { status: 409, meaning: 'the version exists but does not match its manifest' },
  MLB_ERR_STORAGE: { status: 500, meaning: 'the disk or database failed (507 when it is full); nothing stored is lost' },
  MLB_ERR_REDIS_UNAVAILABLE: { status: 503, meaning: 'distributed mode: Redis cannot be reached or timed out; nothing was half-written, retry' },
  MLB_ERR_TASK_DATA: { status: 422, meaning: "a task's data could not be read (a Label Studio file that failed to download)" },
  MLB_ERR_LABEL_STUDIO: { status: 502, meaning: "Label Studio's API refused or failed a request this backend made (key, permission, unreachable); `kind` says which" },
  MLB_ERR_REFRESH_UNAVAILABLE: { status: 409, meaning: 'a prediction refresh was asked for but LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY are not both set' },
  MLB_ERR_SHUTTING_DOWN: { status: 503, meaning: 'the server is shutting down and takes no new training' },
  MLB_ERR_CONFIG: { status: 500, meaning: 'invalid configuration (environment variable or option)' },
  MLB_ERR_INTERNAL: { status: 500, meaning: 'an unexpected failure (a bug): the detail names the error' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Keys of the JSON error envelope; `details` never override them. */
export const ENVELOPE_KEYS = ['status', 'error', 'detail', 'result'] as const;

export class MlBackendError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  /** Extra JSON-safe facts for the client (e.g. the offending field). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, status: number, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MlBackendError';
    this.code = code;
    this.status = status;
    this.expose = status < 500 || status === 503;
    this.details = details;
  }
}

/**
 * True for any MlBackendError, also one thrown by another copy of this module (a model module
 * loaded through a different loader, or the built package next to the sources).
 */
export function isMlBackendError(error: unknown): error is MlBackendError {
  if (error instanceof MlBackendError) return true;
  if (!(error instanceof Error)) return false;
  const candidate = error as Error & { code?: unknown; status?: unknown; expose?: unknown };
  return typeof candidate.code === 'string' && candidate.code.startsWith('MLB_ERR_') && typeof candidate.status === 'number' && typeof candidate.expose === 'boolean';
}

export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new MlBackendError('MLB_ERR_BAD_REQUEST', 400, message, details);

/** Training asked for while the server shuts down (what was stored stays stored). */
export const shuttingDown = (what: string) =>
  new MlBackendError('MLB_ERR_SHUTTING_DOWN', 503, `the server is shutting down: ${what}`);

/** A bad label config: the message names what is wrong. 400 at the route. */
export class LabelConfigError extends MlBackendError {
  constructor(message: string, options?: ErrorOptions) {
    super('MLB_ERR_LABEL_CONFIG', 400, message, undefined, options);
    this.name = 'LabelConfigError';
  }
}

/** A checkpoint that is missing or does not match its manifest. */
export class CheckpointError extends MlBackendError {
  constructor(code: 'MLB_ERR_VERSION_NOT_FOUND' | 'MLB_ERR_CHECKPOINT_CORRUPT', message: string, details?: Record<string, unknown>) {
    super(code, ERROR_CATALOGUE[code].status, message, details);
    this.name = 'CheckpointError';
  }
}

/** Task data that could not be read (a Label Studio upload that failed to download, ...). */
export class TaskDataError extends MlBackendError {
  constructor(message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super('MLB_ERR_TASK_DATA', 422, message, details, options);
    this.name = 'TaskDataError';
  }
}

/** Invalid configuration (env or options): fails at start with the name and the value. */
export class ConfigError extends MlBackendError {
  constructor(message: string) {
    super('MLB_ERR_CONFIG', 500, message);
    this.name = 'ConfigError';
  }
}

/** Why a Label Studio API request failed; `retryable` ones may succeed when tried again. */
export type LabelStudioFailure =
  | 'unauthorized' | 'forbidden' | 'not_found' | 'bad_request' | 'rate_limited' | 'server'
  | 'timeout' | 'network' | 'invalid_response' | 'cancelled';

const RETRYABLE: ReadonlySet<LabelStudioFailure> = new Set(['rate_limited', 'server', 'timeout', 'network']);

/** A Label Studio API request that failed: the message names the request and the reason, never the key. */
export class LabelStudioApiError extends MlBackendError {
  readonly kind: LabelStudioFailure;
  readonly upstreamStatus: number | undefined;
  constructor(kind: LabelStudioFailure, message: string, upstreamStatus?: number, options?: ErrorOptions) {
    super('MLB_ERR_LABEL_STUDIO', 502, message, { kind, ...(upstreamStatus !== undefined && { upstream_status: upstreamStatus }) }, options);
    this.name = 'LabelStudioApiError';
    this.kind = kind;
    this.upstreamStatus = upstreamStatus;
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }

  /** The request may have been carried out although no answer came back (so verify before repeating it). */
  get ambiguous(): boolean {
    return this.kind === 'server' || this.kind === 'timeout' || this.kind === 'network';
  }
}
