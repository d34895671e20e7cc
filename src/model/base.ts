/**
 * The class users extend: a TypeScript LabelStudioMLBase. One instance per project is kept warm
 * by the server and reused across requests; a new one is built when the label config or the
 * served version changes. Pure: no HTTP, no disk — storage comes in through `ModelInit`.
 */
import type { AnnotatedTask, JsonObject, JsonValue, Task, TrainProgress } from '../types.js';
import { buildLabelMap, getFirstTagOccurrence, parseLabelConfig } from './label-config.js';
import type { ParsedLabelConfig, TagFilters, TagOccurrence } from './label-config.js';

/** Project-scoped key-value store handed to a model (persisted by the server). */
export interface ProjectKeyValue {
  get(key: string): JsonValue | undefined;
  set(key: string, value: JsonValue): void;
  has(key: string): boolean;
}

/** Minimal logger a model may use; the server passes a pino child logger. */
export interface ModelLogger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** What `preload` gets: where process-wide state may live, a logger, and which process part it runs in. */
export interface PreloadContext {
  /** MODEL_DIR: where a model may keep process-wide state (e.g. an embedding cache). */
  modelDir: string;
  logger: ModelLogger;
  /** 'serve' in the server process, 'train' in the training worker. */
  purpose: 'serve' | 'train';
}

export interface ModelInit {
  projectId: string;
  labelConfig: string;
  /** Parsed form of `labelConfig` when the caller already has it (parsing is cached per config). */
  parsedLabelConfig?: ParsedLabelConfig;
  /** The version this instance serves: stamped on every prediction. */
  modelVersion: string;
  /** What `fit` returned for the served version (with `workdir` = its checkpoint dir), or null if untrained. */
  trainOutput: JsonObject | null;
  extraParams: JsonObject;
  kv: ProjectKeyValue;
  logger?: ModelLogger;
}

export interface PredictOptions {
  /** Interactive context (smart tools), or null. */
  context: JsonValue | null;
  /** The rest of Label Studio's `params` (login, password, ...). */
  params: Record<string, unknown>;
}

/** Everything `fit` gets: the training data, a fresh workdir it owns, cancellation and progress. */
export interface FitRequest {
  /** START_TRAINING, ANNOTATION_CREATED, ANNOTATION_UPDATED, ANNOTATIONS_DELETED, TRAIN (legacy /train), CLI ... */
  event: string;
  /** The triggering payload (webhook body without `action`, or the /train body). */
  data: JsonObject;
  /** Every kept, non-cancelled annotation of the project, grouped by task. */
  tasks: AnnotatedTask[];
  /** Empty directory for the checkpoint; becomes the version's directory when training succeeds. */
  workdir: string;
  jobId: string;
  signal: AbortSignal;
  onProgress(progress: TrainProgress): void;
}

/** A JSON object stored as train_output.json and handed to the next instance; null = nothing trained. */
export type FitResult = JsonObject | null | undefined;

const NOOP_LOGGER: ModelLogger = { debug() {}, info() {}, warn() {}, error() {} };

export class LabelStudioMLBase {
  readonly projectId: string;
  readonly labelConfig: string;
  readonly modelVersion: string;
  readonly trainOutput: JsonObject | null;
  readonly extraParams: JsonObject;
  protected readonly logger: ModelLogger;
  readonly #kv: ProjectKeyValue;
  #parsed: ParsedLabelConfig | undefined;

  constructor(init: ModelInit) {
    this.projectId = init.projectId;
    this.labelConfig = init.labelConfig;
    this.#parsed = init.parsedLabelConfig;
    this.modelVersion = init.modelVersion;
    this.trainOutput = init.trainOutput;
    this.extraParams = init.extraParams;
    this.#kv = init.kv;
    this.logger = init.logger ?? NOOP_LOGGER;
  }

  /** Name shown by /health as `model_class`; defaults to the class name. */
  static get modelName(): string {
    return this.name;
  }

  /**
   * Runs once per process before the first instance is built (load weights, encoders ...).
   * The server starts answering /health at once and reports readiness on /ready.
   */
  static async preload(_context: PreloadContext): Promise<void> {}

  /** Details for /health (e.g. the embedder in use); must be cheap and synchronous. */
  static describe(): Record<string, JsonValue> {
    return {};
  }

  /** Called once after construction, before the instance serves requests. */
  setup(): void | Promise<void> {}

  /** One prediction per task (or a ModelResponse); null means "no predictions". */
  predict(_tasks: Task[], _options: PredictOptions): unknown {
    return null;
  }

  /** Train on `request.tasks`, save into `request.workdir`, return the train output (or null). */
  fit(_request: FitRequest): FitResult | Promise<FitResult> {
    return null;
  }

  /** Releases what the instance holds (tensors, models); called when it is replaced. */
  dispose(): void {}

  get parsedLabelConfig(): ParsedLabelConfig {
    this.#parsed ??= this.labelConfig ? parseLabelConfig(this.labelConfig) : {};
    return this.#parsed;
  }

  get(key: string): JsonValue | undefined {
    return this.#kv.get(key);
  }

  set(key: string, value: JsonValue): void {
    this.#kv.set(key, value);
  }

  has(key: string): boolean {
    return this.#kv.has(key);
  }

  /** First control of `controlType` attached to an object of `objectType` (Python get_first_tag_occurence). */
  getFirstTagOccurrence(controlType: string | string[], objectType: string | string[], filters?: TagFilters): TagOccurrence {
    return getFirstTagOccurrence(this.parsedLabelConfig, controlType, objectType, filters);
  }

  /** Maps model label names to the config's labels (predicted_values, exact, lower-case). */
  buildLabelMap(tagName: string, names: string[]): Record<string, string> {
    return buildLabelMap(this.parsedLabelConfig, tagName, names);
  }
}

/** A model class as the server needs it: constructible and carrying the static hooks. */
export type ModelClass = (new (init: ModelInit) => LabelStudioMLBase) & {
  readonly modelName: string;
  preload(context: PreloadContext): Promise<void>;
  describe(): Record<string, JsonValue>;
};
