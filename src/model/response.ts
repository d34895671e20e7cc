/**
 * What `predict` may return, and how the server turns it into the /predict `results` array.
 * `PredictionValue` and `ModelResponse` port the Python SDK classes (PROTOCOL.md §1.6, T6).
 */
import { MlBackendError } from '../errors.js';
import { isObject } from '../util/json.js';
import type { RegionResult } from '../types.js';

/** One region of a prediction: LS region JSON, or any object the model builds. */
export type PredictionResultItem = RegionResult | Record<string, unknown>;

/** What `new PredictionValue(...)` accepts (the Python keyword arguments). */
export interface PredictionInit {
  model_version?: string | null;
  /** @default 0.0 */
  score?: number | null;
  /** @default [] */
  result?: PredictionResultItem[];
}

/** A prediction for one task, as it goes on the wire. */
export interface PredictionJson {
  model_version: string | null;
  score?: number | null;
  result: PredictionResultItem[];
  [key: string]: unknown;
}

/** `results[i]` of /predict: one prediction, or several for task i. */
export type TaskPredictionsJson = PredictionJson | PredictionJson[];

/** A prediction as a model returns it: a plain object with a `result` array (extra fields are kept). */
export interface PredictionObject {
  model_version?: string | null;
  score?: number | null;
  result: PredictionResultItem[];
  [key: string]: unknown;
}

/** What a model returns for one task: a prediction, or several. */
export type TaskPrediction = PredictionValue | PredictionObject | ReadonlyArray<PredictionValue | PredictionObject>;

/**
 * What `predict` may return: one entry per task (in task order), the same under `predictions`,
 * a ModelResponse, or null/undefined for "no predictions".
 */
export type PredictResult =
  | ModelResponse
  | readonly TaskPrediction[]
  | { predictions: readonly TaskPrediction[]; model_version?: string | null }
  | null
  | undefined;

/** Python `PredictionValue`: dumps as `{model_version, score, result}` in that order. */
export class PredictionValue {
  model_version: string | null;
  score: number | null;
  result: PredictionResultItem[];

  constructor(init: PredictionInit = {}) {
    this.model_version = init.model_version ?? null;
    this.score = init.score === undefined ? 0.0 : init.score;
    this.result = init.result ?? [];
  }

  /** Accepts a PredictionValue or its init object (as pydantic coerces dicts). */
  static from(value: PredictionValue | PredictionInit): PredictionValue {
    return value instanceof PredictionValue ? value : new PredictionValue(value);
  }

  toJSON(): PredictionJson {
    return { model_version: this.model_version, score: this.score, result: this.result };
  }
}

export interface ModelResponseInit {
  modelVersion?: string | null;
  predictions: Array<PredictionValue | PredictionInit | Array<PredictionValue | PredictionInit>>;
}

/** Python `ModelResponse`: one entry per task, each a prediction or a list of predictions. */
export class ModelResponse {
  modelVersion: string | null;
  predictions: Array<PredictionValue | PredictionValue[]>;

  constructor(init: ModelResponseInit) {
    this.modelVersion = init.modelVersion ?? null;
    this.predictions = init.predictions.map((entry) =>
      Array.isArray(entry) ? entry.map((p) => PredictionValue.from(p)) : PredictionValue.from(entry),
    );
  }

  hasModelVersion(): boolean {
    return Boolean(this.modelVersion);
  }

  /** Gives every prediction without a version (null, undefined or "") the response's version. */
  updatePredictionsVersion(): void {
    for (const entry of this.predictions) {
      for (const prediction of Array.isArray(entry) ? entry : [entry]) {
        if (!prediction.model_version) prediction.model_version = this.modelVersion;
      }
    }
  }

  setVersion(version: string): void {
    this.modelVersion = version;
    this.updatePredictionsVersion();
  }

  toJSON(): { model_version: string | null; predictions: TaskPredictionsJson[] } {
    return {
      model_version: this.modelVersion,
      predictions: this.predictions.map((entry) =>
        Array.isArray(entry) ? entry.map((p) => p.toJSON()) : entry.toJSON(),
      ),
    };
  }
}

/**
 * Turns whatever `predict` returned into the /predict `results` array: a ModelResponse, an object
 * with `predictions`, or an array with one entry per task (a prediction or a list of them);
 * null/undefined mean no predictions (`[]`, as the reference answers). Every prediction without a
 * version gets `version`. Throws MLB_ERR_MODEL for a malformed prediction and
 * MLB_ERR_PREDICTION_COUNT when the count is neither 0 nor `taskCount` (Label Studio would drop
 * the batch or re-request it task by task).
 */
export function normalizePredictResult(raw: unknown, taskCount: number, version: string): TaskPredictionsJson[] {
  if (raw === null || raw === undefined) return [];
  let entries: unknown;
  let fallbackVersion = version;
  if (raw instanceof ModelResponse) {
    const json = raw.toJSON();
    entries = json.predictions;
    fallbackVersion = json.model_version || version;
  } else if (Array.isArray(raw)) {
    entries = raw;
  } else if (isObject(raw) && 'predictions' in raw) {
    entries = raw['predictions'];
    const own = raw['model_version'];
    if (typeof own === 'string' && own) fallbackVersion = own;
    if (!Array.isArray(entries)) {
      throw modelError(`predict() returned {predictions} whose predictions is ${describe(entries)}, not an array`);
    }
  } else {
    throw modelError(
      `predict() returned ${describe(raw)}; expected an array with one prediction per task, ` +
        '{predictions: [...]}, a ModelResponse, or null',
    );
  }

  const results = (entries as unknown[]).map((entry, i) =>
    Array.isArray(entry)
      ? entry.map((item, j) => normalizePrediction(item, `predictions[${i}][${j}]`, fallbackVersion))
      : normalizePrediction(entry, `predictions[${i}]`, fallbackVersion),
  );
  if (results.length !== 0 && results.length !== taskCount) {
    throw new MlBackendError(
      'MLB_ERR_PREDICTION_COUNT',
      500,
      `model returned ${results.length} predictions for ${taskCount} tasks; /predict needs exactly one entry ` +
        '(a prediction or a list of predictions) per task, in task order',
      { predictions: results.length, tasks: taskCount },
    );
  }
  return results;
}

function normalizePrediction(value: unknown, where: string, version: string): PredictionJson {
  const prediction = value instanceof PredictionValue ? value.toJSON() : value;
  if (!isObject(prediction)) {
    throw modelError(`${where} is ${describe(prediction)}; a prediction must be an object with a "result" array`);
  }
  const result = prediction['result'];
  if (!Array.isArray(result)) {
    throw modelError(`${where}.result is ${describe(result)}; it must be an array of regions`);
  }
  for (const [k, region] of result.entries()) {
    if (!isObject(region)) throw modelError(`${where}.result[${k}] is ${describe(region)}; a region must be an object`);
  }
  const score = prediction['score'];
  if (score !== undefined && score !== null && typeof score !== 'number') {
    throw modelError(`${where}.score is ${describe(score)}; it must be a number`);
  }
  assertJsonNumbers(prediction, where);
  return { ...prediction, model_version: readVersion(prediction['model_version'], where) || version, result: result as PredictionResultItem[] };
}

/** Falsy versions get the fallback; numbers (1.x timestamps) become strings, as LS stores them. */
function readVersion(value: unknown, where: string): string {
  if (!value) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw modelError(`${where}.model_version is ${describe(value)}; it must be a string`);
}

/** JSON.stringify would silently turn NaN/Infinity into null and throw on BigInt or cycles. */
function assertJsonNumbers(value: unknown, path: string, stack: object[] = []): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw modelError(`${path} is ${value}; numbers must be finite`);
    return;
  }
  if (typeof value === 'bigint') throw modelError(`${path} is a BigInt; use a number`);
  if (value === null || typeof value !== 'object') return;
  if (stack.includes(value)) throw modelError(`${path} refers back to itself (circular structure)`);
  stack.push(value);
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertJsonNumbers(item, `${path}[${i}]`, stack));
  } else {
    for (const [key, item] of Object.entries(value)) assertJsonNumbers(item, `${path}.${key}`, stack);
  }
  stack.pop();
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (typeof value === 'string') return `string "${value.length > 30 ? `${value.slice(0, 30)}…` : value}"`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

function modelError(message: string): MlBackendError {
  return new MlBackendError('MLB_ERR_MODEL', 500, message);
}
