/**
 * The error catalogue. Every error the backend raises on purpose carries a stable `code`, an
 * HTTP `status` and `expose` (Koa's contract: only exposed messages reach the client).
 */
export type ErrorCode =
  | 'MLB_ERR_BAD_REQUEST'
  | 'MLB_ERR_VALIDATION'
  | 'MLB_ERR_INVALID_JSON'
  | 'MLB_ERR_BODY_TOO_LARGE'
  | 'MLB_ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'MLB_ERR_UNAUTHORIZED'
  | 'MLB_ERR_NOT_FOUND'
  | 'MLB_ERR_METHOD_NOT_ALLOWED'
  | 'MLB_ERR_BAD_PROJECT_ID'
  | 'MLB_ERR_BAD_VERSION'
  | 'MLB_ERR_LABEL_CONFIG'
  | 'MLB_ERR_INVALID_TASKS'
  | 'MLB_ERR_MODEL'
  | 'MLB_ERR_MODEL_NOT_READY'
  | 'MLB_ERR_PREDICTION_COUNT'
  | 'MLB_ERR_JOB_NOT_FOUND'
  | 'MLB_ERR_VERSION_NOT_FOUND'
  | 'MLB_ERR_CHECKPOINT_CORRUPT'
  | 'MLB_ERR_STORAGE'
  | 'MLB_ERR_TASK_DATA'
  | 'MLB_ERR_SHUTTING_DOWN'
  | 'MLB_ERR_CONFIG';

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
    super(code, code === 'MLB_ERR_VERSION_NOT_FOUND' ? 404 : 409, message, details);
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
