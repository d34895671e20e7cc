/**
 * The server's settings (names familiar to label-studio-ml users). `BackendConfig` is derived
 * from this table, so a setting is declared, typed, defaulted and documented in one place.
 */
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { LOG_LEVELS, OLD_PREDICTION_VERSIONS, PREDICTION_REFRESH_MODES, ROLES, TF_BACKENDS, TRAINING_THREADS } from './choices.js';
import { boolean, choice, decimal, filePath, httpUrl, integer, originList, readSettings, redisUrl, text, type Env, type SettingsOf } from './settings.js';

export const SERVER_SETTINGS = {
  port: integer({ env: 'PORT', default: 9090, min: 0, max: 65535, doc: 'port' }),
  host: text({ env: 'HOST', default: '0.0.0.0', doc: 'interface' }),
  modelDir: filePath({ env: 'MODEL_DIR', default: 'checkpoints', doc: 'checkpoints, annotations, key-value store, job records' }),
  basicAuthUser: text({ env: 'BASIC_AUTH_USER', secret: true, doc: 'with `BASIC_AUTH_PASS`: Basic auth on every route (constant-time compare)' }),
  basicAuthPass: text({ env: 'BASIC_AUTH_PASS', secret: true, doc: 'the Basic auth password; both must be set, or neither' }),
  webhookToken: text({ env: 'WEBHOOK_TOKEN', secret: true, doc: 'lets Label Studio webhooks through on `/webhook` (see below)' }),
  logLevel: choice({ env: 'LOG_LEVEL', choices: LOG_LEVELS, default: 'info', doc: 'JSON logs, pretty on a terminal' }),
  labelStudioUrl: httpUrl({ env: 'LABEL_STUDIO_URL', aliases: ['LABEL_STUDIO_HOST'], doc: 'for task files (uploads, cloud storage), the annotation export and the prediction refresh' }),
  labelStudioApiKey: text({ env: 'LABEL_STUDIO_API_KEY', aliases: ['LABEL_STUDIO_ACCESS_TOKEN'], secret: true, doc: 'legacy token or personal access token (JWT, refreshed)' }),
  labelStudioTimeoutS: decimal({ env: 'LABEL_STUDIO_TIMEOUT_S', default: 30, min: 0.1, max: 3600, doc: 'time allowed for one Label Studio API request (the export has its own, longer bound)' }),
  taskUrlOrigins: originList({ env: 'TASK_URL_ORIGINS', doc: "origins besides Label Studio's that task URLs may be fetched from (comma-separated; `*` = any public host); loopback, link-local and private addresses are refused unless their origin is listed" }),
  predictionRefresh: choice({ env: 'PREDICTION_REFRESH', choices: PREDICTION_REFRESH_MODES, default: 'auto', doc: "`auto`: after every new version, write fresh predictions for the project's unlabelled tasks into Label Studio (needs `LABEL_STUDIO_URL` and `LABEL_STUDIO_API_KEY`); `off`: only on demand" }),
  predictionRefreshBatch: integer({ env: 'PREDICTION_REFRESH_BATCH', default: 100, min: 1, max: 1000, doc: 'tasks listed, predicted and written per Label Studio request' }),
  predictionRefreshRps: decimal({ env: 'PREDICTION_REFRESH_RPS', default: 10, min: 0.1, max: 1000, doc: 'most requests per second the refresh sends to Label Studio' }),
  predictionRefreshConcurrency: integer({ env: 'PREDICTION_REFRESH_CONCURRENCY', default: 2, min: 1, max: 16, doc: 'most refresh requests in flight toward Label Studio at once' }),
  predictionRefreshRetries: integer({ env: 'PREDICTION_REFRESH_RETRIES', default: 5, min: 0, max: 20, doc: 'tries after the first for a Label Studio request that failed in a way that may pass (5xx, 429, timeout, network), with exponential backoff from 0.5 s to 15 s' }),
  predictionRefreshOldVersions: choice({ env: 'PREDICTION_REFRESH_OLD_VERSIONS', choices: OLD_PREDICTION_VERSIONS, default: 'delete', doc: "what happens to predictions of this backend's older versions once a refresh is complete: `delete` them from Label Studio, or `keep` them" }),
  tfjsBackend: choice({ env: 'TFJS_BACKEND', choices: TF_BACKENDS, default: 'auto', doc: '`auto` tries tfjs-node-gpu → tfjs-node → wasm → cpu; the others force one' }),
  trainingThread: choice({ env: 'TRAINING_THREAD', choices: TRAINING_THREADS, default: 'worker', doc: 'train in a worker thread, or on the main thread' }),
  trainEveryN: integer({ env: 'TRAIN_EVERY_N_ANNOTATIONS', default: 1, min: 0, max: 1_000_000, doc: 'annotation events that start a training; `0` = only Start Training' }),
  trainDebounceMs: integer({ env: 'TRAIN_DEBOUNCE_MS', default: 1000, min: 0, max: 3_600_000, doc: 'an annotation-triggered training waits this long for more annotations (bursts become one job)' }),
  trainMinIntervalS: decimal({ env: 'TRAIN_MIN_INTERVAL_S', default: 0, min: 0, max: 86_400, doc: 'minimum time between two trainings of a project (the pending job waits; nothing is dropped)' }),
  keepVersions: integer({ env: 'KEEP_VERSIONS', default: 10, min: 1, max: 10_000, doc: 'versions kept per project (the current one is never pruned)' }),
  versionPollMs: integer({ env: 'VERSION_POLL_MS', default: 1000, min: 50, max: 600_000, doc: 'how often the server looks for a version selected by another process (CLI rollback)' }),
  maxBodyMb: decimal({ env: 'MAX_BODY_MB', default: 50, min: 0.001, max: 2048, doc: 'largest request body' }),
  requestTimeoutS: decimal({ env: 'REQUEST_TIMEOUT_S', default: 120, min: 0.1, max: 86_400, doc: 'longest time a client may take to send a whole request (slow bodies get a JSON 408)' }),
  headersTimeoutS: decimal({ env: 'HEADERS_TIMEOUT_S', default: 30, min: 0.1, max: 86_400, doc: 'longest time a client may take to send the headers (at most `REQUEST_TIMEOUT_S`)' }),
  shutdownTimeoutS: decimal({ env: 'SHUTDOWN_TIMEOUT_S', default: 20, min: 0, max: 3600, doc: 'bound on graceful shutdown' }),
  debugErrors: boolean({ env: 'DEBUG_ERRORS', default: false, doc: 'stack traces in 5xx bodies' }),
  redisUrl: redisUrl({ env: 'REDIS_URL', doc: 'run distributed: jobs on BullMQ and shared state in this Redis (see "Beyond one machine"); unset = one process, SQLite' }),
  role: choice({ env: 'ROLE', choices: ROLES, default: 'all', doc: 'with `REDIS_URL`: `api` serves Label Studio and never trains, `trainer` trains and serves only `/health`, `/ready`, `/metrics`, `all` does both' }),
  trainerConcurrency: integer({ env: 'TRAINER_CONCURRENCY', default: 1, min: 1, max: 64, doc: 'training jobs this process runs at once (of different projects: a project never trains twice at once)' }),
  redisPrefix: text({ env: 'REDIS_PREFIX', default: 'mlb', doc: 'prefix of every Redis key and channel of this deployment (several can share one Redis)' }),
  jobLockMs: integer({ env: 'JOB_LOCK_MS', default: 30_000, min: 200, max: 3_600_000, doc: 'with `REDIS_URL`: a trainer renews its hold on a running job within this; the job of a trainer that died is taken up by another after about twice this' }),
};

export type BackendConfig = SettingsOf<typeof SERVER_SETTINGS>;
export type TrainingThread = BackendConfig['trainingThread'];

/** The server's configuration: the environment, overridden by options (the CLI's flags). */
export function loadConfig(env: Env = process.env, overrides: Partial<BackendConfig> = {}): BackendConfig {
  const merged = { ...readSettings(SERVER_SETTINGS, env), ...definedOnly(overrides) };
  if ((merged.basicAuthUser === undefined) !== (merged.basicAuthPass === undefined)) {
    throw new ConfigError('BASIC_AUTH_USER and BASIC_AUTH_PASS must be set together (one of them is empty)');
  }
  if (merged.role !== 'all' && merged.redisUrl === undefined) {
    throw new ConfigError(`ROLE=${merged.role} needs REDIS_URL: without Redis one process serves and trains (ROLE=all)`);
  }
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(merged.redisPrefix)) {
    throw new ConfigError(`REDIS_PREFIX=${JSON.stringify(merged.redisPrefix)} is invalid: expected 1 to 64 letters, digits, _ . : or -`);
  }
  merged.modelDir = path.resolve(merged.modelDir);
  return merged;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
