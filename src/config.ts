/**
 * Configuration from the environment (names familiar to label-studio-ml users), overridable by
 * options (the CLI's flags). Invalid values fail at start with the variable and the value.
 */
import path from 'node:path';
import { ConfigError } from './errors.js';
import type { TfBackendChoice } from './tf/runtime.js';

export type { TfBackendChoice };
export type TrainingThread = 'worker' | 'main';

export interface BackendConfig {
  /** PORT, default 9090. */
  port: number;
  /** HOST, default 0.0.0.0. */
  host: string;
  /** MODEL_DIR, default ./checkpoints: checkpoints, annotations and the key-value store. */
  modelDir: string;
  /** BASIC_AUTH_USER / BASIC_AUTH_PASS: both set = Basic auth on every route. */
  basicAuthUser: string | undefined;
  basicAuthPass: string | undefined;
  /** WEBHOOK_TOKEN: lets Label Studio webhooks (which carry no Basic auth) through on /webhook. */
  webhookToken: string | undefined;
  /** LOG_LEVEL: trace, debug, info, warn, error, fatal, silent. */
  logLevel: string;
  /** LABEL_STUDIO_URL (or LABEL_STUDIO_HOST) and LABEL_STUDIO_API_KEY: task files and annotation export. */
  labelStudioUrl: string | undefined;
  labelStudioApiKey: string | undefined;
  /** TFJS_BACKEND: auto (tensorflow > wasm > cpu) or one forced backend. */
  tfjsBackend: TfBackendChoice;
  /** TRAINING_THREAD: train in a worker thread (default) or on the main thread. */
  trainingThread: TrainingThread;
  /** TRAIN_EVERY_N_ANNOTATIONS: annotation events needed to start training; 0 = only START_TRAINING. */
  trainEveryN: number;
  /** TRAIN_MIN_INTERVAL_S: minimum seconds between the starts of two trainings of a project. */
  trainMinIntervalS: number;
  /** TRAIN_DEBOUNCE_MS: quiet time an annotation-triggered training waits for more annotations. */
  trainDebounceMs: number;
  /** KEEP_VERSIONS: checkpoints kept per project (the current one is never pruned). */
  keepVersions: number;
  /** MAX_BODY_MB: largest accepted request body. */
  maxBodyMb: number;
  /** REQUEST_TIMEOUT_S: longest time a client may take to send a whole request (slow bodies), default 120. */
  requestTimeoutS: number;
  /** HEADERS_TIMEOUT_S: longest time a client may take to send the request headers, default 30 (at most REQUEST_TIMEOUT_S). */
  headersTimeoutS: number;
  /** SHUTDOWN_TIMEOUT_S: how long shutdown waits for requests and training before exiting. */
  shutdownTimeoutS: number;
  /** DEBUG_ERRORS: include stack traces in 5xx bodies. */
  debugErrors: boolean;
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function fail(name: string, value: string, expected: string): never {
  throw new ConfigError(`${name}=${JSON.stringify(value)} is invalid: expected ${expected}`);
}

function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) fail(name, raw, `an integer from ${min} to ${max}`);
  const value = Number(raw);
  if (value < min || value > max) fail(name, raw, `an integer from ${min} to ${max}`);
  return value;
}

function readNumber(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) fail(name, raw, `a number from ${min} to ${max}`);
  return value;
}

/** "false" means false (the Python SDK's truthy-string bug is a known complaint). */
function readBool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  return fail(name, env[name] ?? '', 'true/false (also 1/0, yes/no, on/off)');
}

function readChoice<T extends string>(env: Env, name: string, fallback: T, choices: readonly T[]): T {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (!(choices as readonly string[]).includes(raw)) fail(name, raw, `one of ${choices.join(', ')}`);
  return raw as T;
}

function readUrl(env: Env, names: string[]): string | undefined {
  for (const name of names) {
    const raw = env[name]?.trim();
    if (!raw) continue;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return fail(name, raw, 'an absolute http(s) URL such as http://label-studio:8080');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(name, raw, 'an http:// or https:// URL');
    return raw.replace(/\/+$/, '');
  }
  return undefined;
}

const nonEmpty = (value: string | undefined) => (value && value.length > 0 ? value : undefined);

export function loadConfig(env: Env = process.env, overrides: Partial<BackendConfig> = {}): BackendConfig {
  const config: BackendConfig = {
    port: readInt(env, 'PORT', 9090, 0, 65535),
    host: env.HOST?.trim() || '0.0.0.0',
    modelDir: path.resolve(env.MODEL_DIR?.trim() || 'checkpoints'),
    basicAuthUser: nonEmpty(env.BASIC_AUTH_USER),
    basicAuthPass: nonEmpty(env.BASIC_AUTH_PASS),
    webhookToken: nonEmpty(env.WEBHOOK_TOKEN),
    logLevel: readChoice(env, 'LOG_LEVEL', 'info', LOG_LEVELS),
    labelStudioUrl: readUrl(env, ['LABEL_STUDIO_URL', 'LABEL_STUDIO_HOST']),
    labelStudioApiKey: nonEmpty(env.LABEL_STUDIO_API_KEY) ?? nonEmpty(env.LABEL_STUDIO_ACCESS_TOKEN),
    tfjsBackend: readChoice(env, 'TFJS_BACKEND', 'auto', ['auto', 'tensorflow', 'wasm', 'cpu'] as const),
    trainingThread: readChoice(env, 'TRAINING_THREAD', 'worker', ['worker', 'main'] as const),
    trainEveryN: readInt(env, 'TRAIN_EVERY_N_ANNOTATIONS', 1, 0, 1_000_000),
    trainMinIntervalS: readNumber(env, 'TRAIN_MIN_INTERVAL_S', 0, 0, 86_400),
    trainDebounceMs: readInt(env, 'TRAIN_DEBOUNCE_MS', 1000, 0, 3_600_000),
    keepVersions: readInt(env, 'KEEP_VERSIONS', 10, 1, 10_000),
    maxBodyMb: readNumber(env, 'MAX_BODY_MB', 50, 0.001, 2048),
    requestTimeoutS: readNumber(env, 'REQUEST_TIMEOUT_S', 120, 0.1, 86_400),
    headersTimeoutS: readNumber(env, 'HEADERS_TIMEOUT_S', 30, 0.1, 86_400),
    shutdownTimeoutS: readNumber(env, 'SHUTDOWN_TIMEOUT_S', 20, 0, 3600),
    debugErrors: readBool(env, 'DEBUG_ERRORS', false),
  };
  const merged = { ...config, ...definedOnly(overrides) };
  if ((merged.basicAuthUser === undefined) !== (merged.basicAuthPass === undefined)) {
    throw new ConfigError('BASIC_AUTH_USER and BASIC_AUTH_PASS must be set together (one of them is empty)');
  }
  merged.modelDir = path.resolve(merged.modelDir);
  return merged;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
