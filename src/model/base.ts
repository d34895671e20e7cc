/**
 * The class users extend: a TypeScript LabelStudioMLBase. One instance per project is kept warm
 * by the server and reused across requests; a new one is built when the label config, the extra
 * params or the served version changes. Pure: no HTTP, no disk — storage, task files and the
 * logger come in through `ModelInit`.
 *
 * Type parameters: `ExtraParams`, the shape of the project's extra params (/setup's
 * `extra_params`) the model reads; `TrainOutput`, what its `fit` returns and the next instance
 * gets back as `trainOutput`.
 */
import { TaskDataError } from '../errors.js';
import type { AnnotatedTask, JsonObject, JsonValue, Task, TrainProgress } from '../types.js';
import { LabelInterface, buildLabelMap, getFirstTagOccurrence, parsedView } from './label-config.js';
import type { ParsedLabelConfig, TagFilters, TagOccurrence } from './label-config.js';
import type { PredictResult } from './response.js';
import { getTaskText, isPreloadNeeded } from './task-data.js';

/** Project-scoped key-value store handed to a model (persisted by the server, shared by replicas). */
export interface ProjectKeyValue {
  get(key: string): Promise<JsonValue | undefined>;
  set(key: string, value: JsonValue): Promise<void>;
  has(key: string): Promise<boolean>;
}

/** Minimal logger a model may use; the server passes a pino child logger. */
export interface ModelLogger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** Reads the files task data refers to (Label Studio uploads, cloud storage, URLs). */
export interface TaskFiles {
  /** `value` itself, or the text of the file it names (downloaded with the server's Label Studio credentials). */
  resolveText(value: string, taskId?: number): Promise<string>;
}

/** What `preload` gets (contract C1). */
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
  /** The parsed config when the caller has it (the server does); parsed from `labelConfig` otherwise. */
  labelInterface?: LabelInterface;
  /** The version this instance serves: stamped on every prediction. */
  modelVersion: string;
  /** What `fit` returned for the served version (with `workdir` = its checkpoint dir), or null if untrained. */
  trainOutput: JsonObject | null;
  extraParams: JsonObject;
  kv: ProjectKeyValue;
  logger?: ModelLogger;
  /** Default: plain values only; a file reference is a TaskDataError. */
  taskFiles?: TaskFiles;
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
export type FitResult<TrainOutput extends object = JsonObject> = TrainOutput | null | undefined;

const NOOP_LOGGER: ModelLogger = { debug() {}, info() {}, warn() {}, error() {} };

const PLAIN_VALUES_ONLY: TaskFiles = {
  resolveText(value) {
    if (!isPreloadNeeded(value)) return Promise.resolve(value);
    return Promise.reject(new TaskDataError(`Cannot fetch "${value.slice(0, 120)}": this model instance was built without access to Label Studio`));
  },
};

export class LabelStudioMLBase<ExtraParams extends object = JsonObject, TrainOutput extends object = JsonObject> {
  readonly projectId: string;
  readonly labelConfig: string;
  /** The parsed label config: every control and object with all its attributes. */
  readonly labelInterface: LabelInterface;
  readonly modelVersion: string;
  readonly trainOutput: TrainOutput | null;
  readonly extraParams: ExtraParams;
  protected readonly logger: ModelLogger;
  readonly #kv: ProjectKeyValue;
  readonly #taskFiles: TaskFiles;

  constructor(init: ModelInit) {
    this.projectId = init.projectId;
    this.labelConfig = init.labelConfig;
    this.labelInterface = init.labelInterface ?? LabelInterface.forConfig(init.labelConfig);
    this.modelVersion = init.modelVersion;
    // The server hands back what this class's fit returned; the casts state that contract.
    this.trainOutput = init.trainOutput as TrainOutput | null;
    this.extraParams = init.extraParams as ExtraParams;
    this.#kv = init.kv;
    this.#taskFiles = init.taskFiles ?? PLAIN_VALUES_ONLY;
    this.logger = init.logger ?? NOOP_LOGGER;
  }

  /** Name shown by /health as `model_class`; defaults to the class name. */
  static get modelName(): string {
    return this.name;
  }

  /**
   * Runs once per process before the first instance is built (load weights, encoders ...). The
   * server answers /health at once, reports readiness on /ready, and builds no instance before
   * this has finished.
   */
  static async preload(_context: PreloadContext): Promise<void> {}

  /** Details for /health (e.g. the embedder in use); must be cheap and synchronous. */
  static describe(): Record<string, JsonValue> {
    return {};
  }

  /** Called once after construction, before the instance serves requests. */
  setup(): void | Promise<void> {}

  /** One prediction per task (or a ModelResponse); null means "no predictions". */
  predict(_tasks: Task[], _options: PredictOptions): PredictResult | Promise<PredictResult> {
    return null;
  }

  /** Train on `request.tasks`, save into `request.workdir`, return the train output (or null). */
  fit(_request: FitRequest): FitResult<TrainOutput> | Promise<FitResult<TrainOutput>> {
    return null;
  }

  /** Releases what the instance holds (tensors, models); called when it is replaced. */
  dispose(): void {}

  /** Python's `parsed_label_config`: a view of `labelInterface` (shared; do not mutate). */
  get parsedLabelConfig(): ParsedLabelConfig {
    return parsedView(this.labelInterface);
  }

  get(key: string): Promise<JsonValue | undefined> {
    return this.#kv.get(key);
  }

  set(key: string, value: JsonValue): Promise<void> {
    return this.#kv.set(key, value);
  }

  has(key: string): Promise<boolean> {
    return this.#kv.has(key);
  }

  /** The text a task holds for the object's data key; a Label Studio file it names is downloaded. Missing → "". */
  readTaskText(task: Pick<Task, 'data' | 'id'>, valueKey: string): Promise<string> {
    return this.resolveText(getTaskText(task, valueKey) ?? '', typeof task.id === 'number' ? task.id : undefined);
  }

  /** `value` itself, or the text of the Label Studio upload, cloud file or URL it names. */
  resolveText(value: string, taskId?: number): Promise<string> {
    return this.#taskFiles.resolveText(value, taskId);
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

/** Any model instance, whatever its type parameters. */
export type AnyModel = LabelStudioMLBase<object, object>;

/** A model class as the server needs it: constructible and carrying the static hooks. */
export type ModelClass = (new (init: ModelInit) => AnyModel) & {
  readonly modelName: string;
  preload(context: PreloadContext): Promise<void>;
  describe(): Record<string, JsonValue>;
};
