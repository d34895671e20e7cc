/**
 * The prediction refresh as MLBackend sees it: the job handler, its triggers, the on-demand
 * request (HTTP and CLI), Label Studio's TASKS_CREATED webhook, and the status /versions shows.
 * Built only when LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY are both set; PREDICTION_REFRESH=off
 * keeps the automatic triggers off (on-demand refreshes still run).
 */
import type { BackendConfig } from '../../config/index.js';
import type { Logger } from '../../logger.js';
import type { JobRecord, PredictionRefreshStatus } from '../../types.js';
import type { CheckpointStore, KeyValueStore } from '../../store/types.js';
import { CheckpointError } from '../../errors.js';
import { LabelStudioClient } from '../../io/label-studio-client.js';
import type { JobHandler, JobQueue } from '../job-queue.js';
import type { ProjectSettings } from '../project-settings.js';
import type { WebhookReply } from '../webhook-events.js';
import { LabelStudioPacer } from './ls-pacer.js';
import { PredictionRefresher, refreshTriggerData, type RefreshRequest } from './refresh-job.js';
import type { PredictorDeps } from './refresh-predictor.js';
import { RefreshLedger, statusJson } from './refresh-state.js';
import { refreshAfterPromotions, refreshOnTasksCreated, refreshOnVersionChange, resumeUnfinished } from './refresh-triggers.js';

export interface RefreshServiceDeps {
  config: BackendConfig;
  logger: Logger;
  kv: KeyValueStore;
  checkpoints: CheckpointStore;
  settings: ProjectSettings;
  predictor: PredictorDeps;
  currentVersion(project: string): Promise<string>;
  isShuttingDown(): boolean;
}

export class PredictionRefreshService {
  readonly handler: JobHandler;
  readonly #deps: RefreshServiceDeps;
  readonly #client: LabelStudioClient;
  readonly #ledger: RefreshLedger;
  readonly #log: Logger;
  #queue: JobQueue | undefined;
  #unsubscribe: (() => void) | undefined;

  private constructor(deps: RefreshServiceDeps) {
    const { config } = deps;
    this.#deps = deps;
    this.#log = deps.logger.child({ component: 'prediction-refresh' });
    this.#client = new LabelStudioClient({ url: config.labelStudioUrl, apiKey: config.labelStudioApiKey, allowedOrigins: config.taskUrlOrigins, apiTimeoutMs: config.labelStudioTimeoutS * 1000 });
    this.#ledger = new RefreshLedger(deps.kv);
    const pacer = new LabelStudioPacer({
      concurrency: config.predictionRefreshConcurrency,
      requestsPerSecond: config.predictionRefreshRps,
      retries: config.predictionRefreshRetries,
      onRetry: (error, attempt) => this.#log.warn({ attempt, kind: error.kind, err: error.message }, 'Label Studio request failed; trying again'),
    });
    const refresher = new PredictionRefresher({
      api: this.#client.api!,
      pacer,
      ledger: this.#ledger,
      predictor: deps.predictor,
      settings: deps.settings,
      checkpoints: deps.checkpoints,
      currentVersion: (project) => deps.currentVersion(project),
      batch: config.predictionRefreshBatch,
      oldVersions: config.predictionRefreshOldVersions,
      logger: this.#log,
      isShuttingDown: () => deps.isShuttingDown(),
      cancelJob: (jobId, reason) => this.#queue?.cancel(jobId, reason) ?? Promise.resolve(false),
    });
    this.handler = (job, onProgress) => refresher.run(job, onProgress);
  }

  /** The service, when Label Studio's URL and key are both configured. */
  static create(deps: RefreshServiceDeps): PredictionRefreshService | undefined {
    const { labelStudioUrl, labelStudioApiKey } = deps.config;
    return labelStudioUrl && labelStudioApiKey ? new PredictionRefreshService(deps) : undefined;
  }

  get automatic(): boolean {
    return this.#deps.config.predictionRefresh === 'auto';
  }

  /** Starts the automatic triggers on the queue that runs the handler, and resumes unfinished refreshes (not with PREDICTION_REFRESH=off: one-shot CLI commands). */
  attach(queue: JobQueue): void {
    this.#queue = queue;
    if (!this.automatic) return;
    refreshAfterPromotions(queue, this.#log);
    this.#unsubscribe = refreshOnVersionChange(queue, this.#deps.checkpoints, this.#log);
    void resumeUnfinished(queue, this.#deps.checkpoints, this.#ledger, this.#log).catch((error: unknown) =>
      this.#log.warn({ err: error }, 'could not look for unfinished prediction refreshes'));
  }

  /** An on-demand refresh (HTTP, CLI): the same job as the automatic one. */
  async request(project: string, request: RefreshRequest): Promise<JobRecord> {
    if (request.version !== undefined) {
      const info = (await this.#deps.checkpoints.list(project)).find((entry) => entry.version === request.version);
      if (!info) throw new CheckpointError('MLB_ERR_VERSION_NOT_FOUND', `project ${project} has no version ${request.version}`, { version: request.version });
      if (info.corrupt) throw new CheckpointError('MLB_ERR_CHECKPOINT_CORRUPT', `version ${request.version} of project ${project} is corrupt: ${info.corrupt}`);
    }
    return this.#queue!.enqueue('refresh-predictions', project, { event: 'MANUAL', data: refreshTriggerData(request), immediate: true });
  }

  /** Label Studio's TASKS_CREATED: a refresh for the new tasks (when automatic). Other events: undefined. */
  async onWebhook(body: Record<string, unknown>): Promise<WebhookReply | undefined> {
    if (body['action'] !== 'TASKS_CREATED' || !this.automatic || !this.#queue) return undefined;
    const job = await refreshOnTasksCreated(this.#queue, body);
    return job ? { status: 200, body: { status: 'ok', result: { refresh_job: job.id } } } : undefined;
  }

  /** The project's latest refresh, as /versions shows it. */
  async status(project: string): Promise<PredictionRefreshStatus | undefined> {
    const state = await this.#ledger.load(project);
    return state && statusJson(state);
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    await this.#client.close();
  }
}
