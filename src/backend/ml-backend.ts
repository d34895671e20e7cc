/**
 * The application: MLBackend is the one boundary the HTTP routes, the metrics and the CLI call
 * (setup, predict, webhook, train now, versions, select a version, job status, job events,
 * stats). Its subsystems — stores, warm-model registry, job queue, trainer — are private and
 * wired once, in ./assemble.ts.
 */
import type { AnnotatedTask, JobKind, JobRecord, JsonObject, JsonValue, PredictionRefreshStatus, Task } from '../types.js';
import type { BackendConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { ModelClass } from '../model/base.js';
import { LabelInterface } from '../model/label-config.js';
import { normalizePredictResult } from '../model/response.js';
import type { AnnotationCounts, CheckpointInfo } from '../store/types.js';
import { normalizeProjectId, assertSafeVersion } from '../store/safe-names.js';
import type { TfRuntimeInfo } from '../tf/runtime.js';
import { MlBackendError, badRequest } from '../errors.js';
import type { RefreshRequest } from './refresh/refresh-job.js';
import { isObject, toJsonObject } from '../util/json.js';
import { assemble, type BackendParts, type MLBackendOptions } from './assemble.js';
import { describeModel } from './model-module.js';
import { waitForJob, type JobListener } from './job-queue.js';
import type { Deployment } from './distributed.js';
import type { ReadinessReport } from './readiness.js';
import { extraParamsIn, labelConfigIn } from './project-settings.js';
import { servedVersionsOf, versionsJson } from './versions-view.js';
import type { BackendStats, TrainNowOptions } from './backend-types.js';
import { annotationsFromTasks, receiveWebhook, type WebhookReply } from './webhook-events.js';

export type { MLBackendOptions } from './assemble.js';
export type { BackendStats, TrainNowOptions } from './backend-types.js';
export type { WebhookReply } from './webhook-events.js';

type Obj = Record<string, unknown>;

/** Label Studio reads RQ-style job states from /job_status. */
const LS_JOB_STATUS: Record<JobRecord['state'], string> = { queued: 'queued', running: 'started', succeeded: 'finished', failed: 'failed', cancelled: 'canceled' };

export class MLBackend {
  readonly config: BackendConfig;
  readonly logger: Logger;
  readonly modelName: string;
  readonly tfRuntime: Readonly<TfRuntimeInfo>;
  readonly startedAt = new Date();
  readonly #modelClass: ModelClass;
  readonly #parts: BackendParts;
  #stopping: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  private constructor(options: MLBackendOptions, parts: BackendParts) {
    this.config = options.config;
    this.logger = options.logger;
    this.#modelClass = parts.modelClass;
    this.modelName = parts.modelClass.modelName;
    this.tfRuntime = parts.tf;
    this.#parts = parts;
  }

  /** Opens the stores, picks the TF.js backend, starts the model's preload and the job queue. */
  static async create(options: MLBackendOptions): Promise<MLBackend> {
    return new MLBackend(options, await assemble(options));
  }

  /** /health: never waits on a model, a disk or a training. */
  health(): JsonObject {
    return {
      status: 'UP',
      model_class: this.modelName,
      tfjs_backend: this.tfRuntime.backend,
      tfjs_native: this.tfRuntime.native,
      ready: this.#parts.readiness.preloaded,
      training_jobs: this.#parts.queue.stats().running,
      uptime_s: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      ...this.#parts.deployment.health(),
      ...describeModel(this.#modelClass),
    };
  }

  /** /ready: the preload finished, the server is not shutting down and (distributed) Redis answers. */
  readiness(): ReadinessReport {
    return this.#parts.deployment.readiness(this.#parts.readiness.report());
  }

  /** This process's place in a deployment: its ROLE and, in distributed mode, its Redis connection's state. */
  get deployment(): Pick<Deployment, 'role' | 'redisStatus'> {
    return this.#parts.deployment;
  }

  /** Resolves when the model's preload finished; rejects (MLB_ERR_MODEL_NOT_READY) when it failed. */
  whenPreloaded(): Promise<void> {
    return this.#parts.readiness.whenPreloaded();
  }

  async setup(body: Obj): Promise<JsonObject> {
    const { settings, registry } = this.#parts;
    const project = normalizeProjectId(body.project);
    if (typeof body.schema === 'string') await settings.rememberLabelConfig(project, body.schema);
    const extraParams = extraParamsIn(body.extra_params);
    if (extraParams) await settings.setExtraParams(project, extraParams);
    const requested = body.model_version;
    if (typeof requested === 'string' && requested !== '' && requested !== (await registry.currentVersion(project))) {
      await this.#selectIfKnown(project, requested);
    }
    const labelInterface = LabelInterface.forConfig(await settings.labelConfig(project));
    const version = await registry.use(project, labelInterface, await settings.extraParams(project), async (served) => served.version);
    return { model_version: version };
  }

  async predict(body: Obj): Promise<{ results: JsonValue[]; model_version: string }> {
    const { settings, registry, gate } = this.#parts;
    const tasks = (Array.isArray(body.tasks) ? body.tasks : [body.tasks]) as Task[];
    const project = normalizeProjectId(body.project);
    const carried = labelConfigIn(body);
    if (carried !== undefined) await settings.rememberLabelConfig(project, carried);
    const labelConfig = carried ?? (await settings.labelConfig(project));
    const labelInterface = LabelInterface.forConfig(labelConfig);
    const extraParams = await settings.extraParams(project);
    const params: Record<string, unknown> = { ...(isObject(body.params) ? body.params : {}) };
    const context = (params.context ?? null) as JsonValue | null;
    delete params.context;
    const batchKey = context === null ? JSON.stringify([project, labelConfig, extraParams, params]) : undefined;
    const outcome = await gate.submit({ project, tasks, batchKey }, (batch) =>
      registry.use(project, labelInterface, extraParams, async (served) => {
        const raw = await served.instance.predict(batch, { context, params });
        return { results: normalizePredictResult(raw, batch.length, served.version), version: served.version };
      }),
    );
    return { results: outcome.results as JsonValue[], model_version: outcome.version };
  }

  /** Stores what the event says and answers at once; training (or, for new tasks, the prediction refresh) runs as a job. */
  async webhook(body: Obj): Promise<WebhookReply> {
    const { settings, stores, policy, queue, refresh } = this.#parts;
    return (await refresh?.onWebhook(body)) ?? receiveWebhook(body, { settings, annotations: stores.annotations, policy, queue });
  }

  /** Queues a prediction refresh into Label Studio (the job that also runs after every new version). */
  refreshPredictions(projectRaw: unknown, request: RefreshRequest): Promise<JobRecord> {
    const { refresh } = this.#parts;
    if (!refresh) throw new MlBackendError('MLB_ERR_REFRESH_UNAVAILABLE', 409, 'the prediction refresh needs LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY');
    if (request.version !== undefined) assertSafeVersion(request.version);
    return refresh.request(normalizeProjectId(projectRaw), request);
  }

  /**
   * Legacy /train: the body carries Label Studio's export (every annotated task), and training
   * uses it as upstream does — no second export from Label Studio, which could fail or differ.
   */
  async train(body: Obj): Promise<WebhookReply> {
    const tasks = body.annotations as AnnotatedTask[];
    if (tasks.length === 0) throw badRequest('No annotations found.', { field: 'annotations' });
    const carried = labelConfigIn(body);
    const job = await this.trainNow(body.project, {
      ...(carried !== undefined && { labelConfig: carried }),
      annotatedTasks: tasks,
      event: 'TRAIN',
      data: { project: normalizeProjectId(body.project) },
    });
    return { status: 201, body: { job: job.id } };
  }

  /** Stores what comes along, then queues a training that starts as soon as the project is free. */
  async trainNow(projectRaw: unknown, options: TrainNowOptions = {}): Promise<JobRecord> {
    const { settings, stores, policy, queue } = this.#parts;
    const project = normalizeProjectId(projectRaw);
    if (options.labelConfig !== undefined) await settings.rememberLabelConfig(project, options.labelConfig);
    if (options.extraParams !== undefined) await settings.setExtraParams(project, options.extraParams);
    if (options.annotatedTasks) await stores.annotations.upsert(project, annotationsFromTasks(options.annotatedTasks));
    await policy.reset(project);
    return queue.enqueue('train', project, {
      event: options.event ?? 'START_TRAINING',
      data: options.data ?? { project },
      immediate: true,
      refreshAnnotations: options.refreshFromLabelStudio ?? false,
    });
  }

  async isTraining(projectRaw: unknown): Promise<JsonObject> {
    const project = normalizeProjectId(projectRaw);
    const { running, pending } = await this.#parts.queue.active('train', project);
    const job = running ?? pending;
    return {
      is_training: Boolean(running),
      backend: 'tfjs',
      model_version: await this.#parts.registry.currentVersion(project),
      ...(job && { job_id: job.id, job: toJsonObject(job) }),
    };
  }

  async jobStatus(jobId: string): Promise<JsonObject> {
    const job = await this.job(jobId);
    if (!job) throw new MlBackendError('MLB_ERR_JOB_NOT_FOUND', 404, `no training job with id ${JSON.stringify(jobId)}`);
    return { job_status: LS_JOB_STATUS[job.state], job: toJsonObject(job) };
  }

  job(jobId: string): Promise<JobRecord | undefined> {
    return this.#parts.queue.get(jobId);
  }

  /** The project's latest jobs, newest first. */
  jobs(projectRaw: unknown, limit = 10): Promise<JobRecord[]> {
    return this.#parts.queue.recent(normalizeProjectId(projectRaw), limit);
  }

  activeJobs(projectRaw: unknown, kind: JobKind = 'train'): Promise<{ running?: JobRecord; pending?: JobRecord }> {
    return this.#parts.queue.active(kind, normalizeProjectId(projectRaw));
  }

  cancelJob(jobId: string, reason?: string): Promise<boolean> {
    return this.#parts.queue.cancel(jobId, reason);
  }

  /** Job events (queued, started, progress, finished) of this process; returns an unsubscribe. */
  onJobEvent(listener: JobListener): () => void {
    return this.#parts.queue.subscribe(listener);
  }

  /** Resolves with the job's final record. */
  waitForJob(jobId: string): Promise<JobRecord> {
    return waitForJob(this.#parts.queue, jobId);
  }

  /** Resolves when no job runs or waits. */
  waitForJobs(): Promise<void> {
    return this.#parts.queue.onIdle();
  }

  async versions(projectRaw: unknown): Promise<JsonObject> {
    const { checkpoints } = this.#parts.stores;
    const projects = projectRaw === undefined || projectRaw === null || projectRaw === '' ? await checkpoints.listProjects() : [normalizeProjectId(projectRaw)];
    return versionsJson(await Promise.all(projects.map(async (project) => ({ project, ...(await this.versionList(project)), refresh: await this.predictionRefresh(project) }))));
  }

  /** The project's latest prediction refresh into Label Studio (its ledger); undefined when none ran or none is configured. */
  async predictionRefresh(projectRaw: unknown): Promise<PredictionRefreshStatus | undefined> {
    return this.#parts.refresh?.status(normalizeProjectId(projectRaw));
  }

  /** Every version of a project (oldest first, corrupt ones flagged) and the one it serves. */
  async versionList(projectRaw: unknown): Promise<{ current: string; list: CheckpointInfo[] }> {
    const project = normalizeProjectId(projectRaw);
    const list = await this.#parts.stores.checkpoints.list(project);
    return { current: await this.#parts.registry.currentVersion(project), list };
  }

  /** Serves `version` from now on (rollback or roll forward), in every process; persists across restarts. */
  async selectVersion(projectRaw: unknown, version: string): Promise<JsonObject> {
    const project = normalizeProjectId(projectRaw);
    assertSafeVersion(version);
    await this.#parts.stores.checkpoints.setCurrent(project, version);
    this.logger.info({ project, version }, 'served version selected');
    return { model_version: version, project };
  }

  /** Projects with checkpoints under MODEL_DIR. */
  projects(): Promise<string[]> {
    return this.#parts.stores.checkpoints.listProjects();
  }

  async labelInterface(projectRaw: unknown): Promise<LabelInterface> {
    return LabelInterface.forConfig(await this.#parts.settings.labelConfig(normalizeProjectId(projectRaw)));
  }

  annotationCounts(projectRaw: unknown): Promise<AnnotationCounts> {
    return this.#parts.stores.annotations.counts(normalizeProjectId(projectRaw));
  }

  async stats(): Promise<BackendStats> {
    const servedVersions = await servedVersionsOf(await this.projects(), (project) => this.#parts.registry.currentVersion(project));
    return { readiness: this.readiness(), jobs: this.#parts.queue.stats(), predict: this.#parts.gate.stats(), servedVersions };
  }

  /** Not ready from now on; stops the job queue (cancelling or finishing training, bounded). Idempotent. */
  beginShutdown(mode: 'cancel' | 'finish' = 'cancel'): Promise<void> {
    this.#parts.readiness.beginShutdown();
    this.#stopping ??= this.#parts.queue.shutdown(mode, this.config.shutdownTimeoutS * 1000);
    return this.#stopping;
  }

  /** Shuts down (see beginShutdown), then disposes the models and closes the stores. Idempotent. */
  close(mode: 'cancel' | 'finish' = 'cancel'): Promise<void> {
    this.#closing ??= (async () => {
      await this.beginShutdown(mode);
      await this.#parts.fitRunner.close();
      await this.#parts.registry.close();
      await this.#parts.refresh?.close();
      await this.#parts.stores.close();
    })();
    return this.#closing;
  }

  async #selectIfKnown(project: string, version: string): Promise<void> {
    const known = (await this.#parts.stores.checkpoints.list(project)).some((info) => info.version === version && !info.corrupt);
    if (known) await this.selectVersion(project, version);
    else this.logger.warn({ project, version }, '/setup asked for an unknown model_version: serving the current one');
  }
}
