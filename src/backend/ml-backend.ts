/**
 * The application: one MLBackend that the HTTP routes and the CLI call (setup, predict, webhook,
 * train, versions, job status). It owns the warm model registry and the training job queue.
 */
import type { AnnotatedTask, JobRecord, JsonObject, JsonValue, Task } from '../types.js';
import type { BackendConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { ModelClass } from '../model/base.js';
import { normalizePredictResult } from '../model/response.js';
import { openStores, type Stores } from '../store/index.js';
import { normalizeProjectId, assertSafeVersion } from '../store/safe-names.js';
import { initTfRuntime, type TfRuntimeInfo } from '../tf/runtime.js';
import { LabelStudioClient } from '../io/label-studio-client.js';
import { badRequest, MlBackendError } from '../errors.js';
import { loadModelClass, type ModelModuleRef } from './model-module.js';
import { ModelRegistry, INITIAL_VERSION } from './model-registry.js';
import { JobQueue } from './job-queue.js';
import { Trainer } from './trainer.js';
import { InlineFitRunner, WorkerFitRunner, type FitRunner } from './fit-runner.js';
import { TrainPolicy } from './train-policy.js';
import { ProjectSettings } from './project-settings.js';
import { ANNOTATION_EVENTS, DELETE_EVENTS, annotationsFromPayload, annotationsFromTasks, deletedAnnotationIds } from './webhook-events.js';

export interface MLBackendOptions {
  config: BackendConfig;
  logger: Logger;
  /** The model: a class (trains on the main thread) and/or a module that exports it (trains in a worker). */
  model: { modelClass: ModelClass; module?: ModelModuleRef } | { module: ModelModuleRef };
}

type Obj = Record<string, unknown>;

export interface WebhookReply {
  status: number;
  body: JsonObject;
}

/** Label Studio reads RQ-style job states from /job_status. */
const LS_JOB_STATUS: Record<JobRecord['state'], string> = {
  queued: 'queued',
  running: 'started',
  succeeded: 'finished',
  failed: 'failed',
  cancelled: 'canceled',
};

export class MLBackend {
  readonly config: BackendConfig;
  readonly logger: Logger;
  readonly modelClass: ModelClass;
  readonly stores: Stores;
  readonly registry: ModelRegistry;
  readonly queue: JobQueue;
  readonly tf: TfRuntimeInfo;
  readonly settings: ProjectSettings;
  readonly startedAt = new Date();
  #ready = false;
  #readyError: string | undefined;
  /** Settles when the model's preload finished (rejects with its error). */
  preloaded: Promise<void> = Promise.resolve();
  readonly #fitRunner: FitRunner;
  readonly #policy: TrainPolicy;

  private constructor(options: MLBackendOptions, modelClass: ModelClass, tf: TfRuntimeInfo, stores: Stores) {
    const { config, logger } = options;
    this.config = config;
    this.logger = logger;
    this.modelClass = modelClass;
    this.tf = tf;
    this.stores = stores;
    this.settings = new ProjectSettings(stores.kv);
    const modelLogger = logger.child({ component: 'model' });
    this.registry = new ModelRegistry(modelClass, stores.checkpoints, stores.kv, modelLogger);
    const module = options.model.module;
    this.#fitRunner =
      module && config.trainingThread === 'worker'
        ? new WorkerFitRunner(module, { modelDir: config.modelDir, tfjsBackend: config.tfjsBackend, logLevel: config.logLevel })
        : new InlineFitRunner(modelClass, stores.kv, stores.annotations, modelLogger);
    const labelStudio =
      config.labelStudioUrl && config.labelStudioApiKey
        ? new LabelStudioClient({ url: config.labelStudioUrl, apiKey: config.labelStudioApiKey })
        : undefined;
    const trainer = new Trainer({
      annotations: stores.annotations,
      checkpoints: stores.checkpoints,
      settings: this.settings,
      registry: this.registry,
      fitRunner: this.#fitRunner,
      keepVersions: config.keepVersions,
      logger: logger.child({ component: 'trainer' }),
      labelStudio,
    });
    this.queue = new JobQueue({
      run: (job, onProgress) => trainer.run(job, onProgress),
      store: stores.jobs,
      concurrency: 1,
      minIntervalMs: config.trainMinIntervalS * 1000,
      debounceMs: config.trainDebounceMs,
    });
    this.#policy = new TrainPolicy(config.trainEveryN);
  }

  /** Opens the stores, picks the TF.js backend and starts preloading the model (readiness). */
  static async create(options: MLBackendOptions): Promise<MLBackend> {
    const { config, logger } = options;
    const modelClass = 'modelClass' in options.model ? options.model.modelClass : await loadModelClass(options.model.module);
    const tf = await initTfRuntime({ backend: config.tfjsBackend, logger: logger.child({ component: 'tf' }) });
    const stores = openStores(config.modelDir, { onProblem: (message, details) => logger.warn(details ?? {}, message) });
    const removed = await stores.checkpoints.cleanupIncomplete();
    if (removed > 0) logger.warn({ removed }, 'removed unfinished checkpoint workdirs left by a crash');
    for (const job of stores.jobs.failInterrupted('interrupted by a restart')) logger.warn({ job: job.id, project: job.project }, 'training job was interrupted by a restart');
    const backend = new MLBackend(options, modelClass, tf, stores);
    backend.#preload();
    void backend.#reportCorruptCheckpoints();
    logger.info({ model: modelClass.modelName, tfBackend: tf.backend, modelDir: config.modelDir }, 'backend ready to serve');
    return backend;
  }

  #preload(): void {
    const started = Date.now();
    this.preloaded = this.modelClass.preload({ modelDir: this.config.modelDir, logger: this.logger.child({ component: 'model' }), purpose: 'serve' });
    this.preloaded.then(
      () => {
        this.#ready = true;
        this.logger.info({ ms: Date.now() - started }, 'model preloaded');
      },
      (error: unknown) => {
        this.#readyError = error instanceof Error ? error.message : String(error);
        this.logger.error({ err: error }, 'model preload failed');
      },
    );
  }

  /** One background pass over every checkpoint at start, so damaged old versions show in the logs. */
  async #reportCorruptCheckpoints(): Promise<void> {
    try {
      for (const project of await this.stores.checkpoints.listProjects()) {
        for (const info of await this.stores.checkpoints.list(project)) {
          if (info.corrupt) this.logger.warn({ project, version: info.version, reason: info.corrupt }, 'checkpoint is corrupt and will not be served');
        }
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'could not scan checkpoints');
    }
  }

  get ready(): { ready: boolean; error?: string } {
    return this.#readyError ? { ready: false, error: this.#readyError } : { ready: this.#ready };
  }

  /** /health: never waits on a model, a disk or a training. */
  health(): JsonObject {
    return {
      status: 'UP',
      model_class: this.modelClass.modelName,
      tfjs_backend: this.tf.backend,
      tfjs_native: this.tf.native,
      ready: this.#ready,
      training_jobs: this.queue.runningCount,
      uptime_s: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      ...safeDescribe(this.modelClass),
    };
  }

  async setup(body: Obj): Promise<JsonObject> {
    const project = normalizeProjectId(body.project);
    const labelConfig = typeof body.schema === 'string' ? body.schema : this.settings.labelConfig(project);
    if (typeof body.schema === 'string') this.settings.rememberLabelConfig(project, body.schema);
    this.#storeExtraParams(project, body.extra_params);
    const requested = body.model_version;
    if (typeof requested === 'string' && requested !== '' && requested !== (await this.registry.servedVersion(project))) {
      await this.#selectIfKnown(project, requested);
    }
    const served = await this.registry.get(project, labelConfig, this.settings.extraParams(project));
    return { model_version: served.version };
  }

  async predict(body: Obj): Promise<{ results: JsonValue[]; model_version: string }> {
    const tasks = (Array.isArray(body.tasks) ? body.tasks : [body.tasks]) as Task[];
    const project = normalizeProjectId(body.project);
    const labelConfig = this.settings.labelConfig(project, body as JsonObject);
    const params: Record<string, unknown> = { ...((body.params as Obj | undefined) ?? {}) };
    const context = (params.context ?? null) as JsonValue | null;
    delete params.context;
    return this.registry.use(project, labelConfig, this.settings.extraParams(project), async (served) => {
      const raw = await served.instance.predict(tasks, { context, params });
      const results = normalizePredictResult(raw, tasks.length, served.version) as JsonValue[];
      return { results, model_version: served.version };
    });
  }

  /** Stores what the event says and answers at once; training runs as a job. */
  webhook(body: Obj): WebhookReply {
    const action = body.action as string;
    const isTrain = action === 'START_TRAINING';
    const isAnnotation = ANNOTATION_EVENTS.has(action);
    const isDelete = DELETE_EVENTS.has(action);
    if (!isTrain && !isAnnotation && !isDelete) return { status: 200, body: { status: 'Unknown event' } };

    const projectObj = body.project as Obj;
    const project = normalizeProjectId(projectObj.id);
    this.settings.labelConfig(project, body as JsonObject);
    const data = { ...body } as JsonObject;
    delete data.action;

    let changed = 0;
    if (isAnnotation) {
      const items = annotationsFromPayload(body);
      this.stores.annotations.upsert(project, items);
      changed = items.length;
    } else if (isDelete) {
      changed = this.stores.annotations.remove(project, deletedAnnotationIds(body));
    }
    const train = isTrain || this.#policy.onAnnotationEvents(project, Math.max(changed, isDelete ? 0 : 1));
    if (!train) return { status: 201, body: { status: 'ok', result: { stored: changed, training: false } } };
    if (isTrain) this.#policy.reset(project);
    const job = this.queue.enqueue(project, { event: action, data, immediate: isTrain });
    return { status: 201, body: { status: 'ok', job: job.id, job_id: job.id, result: { stored: changed, training: true, job: job.id } } };
  }

  /** Legacy /train: the body carries exported tasks with annotations. */
  train(body: Obj): WebhookReply {
    const tasks = body.annotations as AnnotatedTask[];
    if (tasks.length === 0) throw badRequest('No annotations found.', { field: 'annotations' });
    const project = normalizeProjectId(body.project);
    this.settings.labelConfig(project, body as JsonObject);
    this.stores.annotations.upsert(project, annotationsFromTasks(tasks));
    this.#policy.reset(project);
    const job = this.queue.enqueue(project, { event: 'TRAIN', data: { project }, immediate: true });
    return { status: 201, body: { job: job.id } };
  }

  async isTraining(projectRaw: unknown): Promise<JsonObject> {
    const project = normalizeProjectId(projectRaw);
    const { running, pending } = this.queue.active(project);
    const job = running ?? pending;
    return {
      is_training: Boolean(running),
      backend: 'tfjs',
      model_version: await this.registry.servedVersion(project),
      ...(job ? { job_id: job.id, job: toJson(job) } : {}),
    };
  }

  jobStatus(jobId: string): JsonObject {
    const job = this.queue.find(jobId) ?? this.stores.jobs.get(jobId);
    if (!job) throw new MlBackendError('MLB_ERR_JOB_NOT_FOUND', 404, `no training job with id ${JSON.stringify(jobId)}`);
    return { job_status: LS_JOB_STATUS[job.state], job: toJson(job) };
  }

  async versions(projectRaw: unknown): Promise<JsonObject> {
    const projects = projectRaw === undefined || projectRaw === null || projectRaw === '' ? await this.stores.checkpoints.listProjects() : [normalizeProjectId(projectRaw)];
    const perProject: JsonObject = {};
    const all: string[] = [];
    for (const project of projects) {
      const list = await this.stores.checkpoints.list(project);
      const current = await this.registry.servedVersion(project);
      all.push(...list.filter((info) => !info.corrupt).map((info) => info.version));
      perProject[project] = {
        current_version: current,
        versions: list.map((info) => ({
          version: info.version,
          created_at: info.createdAt,
          current: info.version === current,
          size_bytes: info.sizeBytes,
          ...(info.corrupt ? { corrupt: info.corrupt } : {}),
          ...(info.job?.annotationCount !== undefined ? { annotation_count: info.job.annotationCount } : {}),
          ...(info.job?.metrics ? { metrics: info.job.metrics } : {}),
        })),
      };
    }
    const single = projects.length === 1 ? (perProject[projects[0] as string] as JsonObject) : undefined;
    return {
      versions: [...new Set(all)].sort(),
      ...(single ? { current_version: single.current_version ?? INITIAL_VERSION } : {}),
      projects: perProject,
    };
  }

  /** Serves `version` from now on (rollback or roll forward); persists across restarts. */
  async selectVersion(projectRaw: unknown, version: string): Promise<JsonObject> {
    const project = normalizeProjectId(projectRaw);
    assertSafeVersion(version);
    await this.stores.checkpoints.setCurrent(project, version);
    this.registry.setServed(project, await this.stores.checkpoints.load(project, version));
    this.logger.info({ project, version }, 'served version selected');
    return { model_version: version, project };
  }

  /** Stops training (cancelling or finishing jobs), disposes models and closes the stores. */
  async close(mode: 'cancel' | 'finish' = 'cancel'): Promise<void> {
    await this.queue.shutdown(mode, this.config.shutdownTimeoutS * 1000);
    await this.#fitRunner.close();
    await this.registry.close();
    this.stores.close();
  }

  async #selectIfKnown(project: string, version: string): Promise<void> {
    const known = (await this.stores.checkpoints.list(project)).some((info) => info.version === version && !info.corrupt);
    if (known) await this.selectVersion(project, version);
    else this.logger.warn({ project, version }, '/setup asked for an unknown model_version: serving the current one');
  }

  /** extra_params arrives as an object (LS) or JSON text (older callers); stored as JSON. */
  #storeExtraParams(project: string, raw: unknown): void {
    if (raw === undefined || raw === null || raw === '') return;
    let value: unknown = raw;
    if (typeof raw === 'string') {
      try {
        value = JSON.parse(raw);
      } catch {
        throw badRequest('extra_params must be a JSON object or a string holding one', { field: 'extra_params' });
      }
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw badRequest('extra_params must be a JSON object or a string holding one', { field: 'extra_params' });
    }
    if (Object.keys(value).length === 0) return;
    this.settings.setExtraParams(project, value as JsonObject);
  }
}

function toJson(job: JobRecord): JsonObject {
  return JSON.parse(JSON.stringify(job)) as JsonObject;
}

function safeDescribe(modelClass: ModelClass): JsonObject {
  try {
    return modelClass.describe() as JsonObject;
  } catch {
    return {};
  }
}
