/**
 * Wires MLBackend's private subsystems once: the stores, the model's preload (readiness), the
 * warm-model registry, the fit runner and trainer, the job queue and the predict gate. The seams
 * the next issues plug into are options here: another store set (Redis, issue 14), another
 * predict gate (admission and batching, issue 12), the prediction refresh (./refresh/, issue 13).
 * Distributed mode (REDIS_URL, issue 14) swaps in the shared stores and the BullMQ queue
 * (./distributed.ts).
 */
import type { BackendConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { ModelClass } from '../model/base.js';
import { openStores } from '../store/index.js';
import type { Stores } from '../store/types.js';
import { initTfRuntime, type TfRuntimeInfo } from '../tf/runtime.js';
import { LabelStudioClient } from '../io/label-studio-client.js';
import { labelStudioTaskFiles } from '../io/task-files.js';
import type { Clock } from './clock.js';
import { openJobQueue, redisTargetOf, type Deployment } from './distributed.js';
import { FitRunnerPool, InlineFitRunner, WorkerFitRunner, type FitRunner } from './fit-runner.js';
import type { KindPolicy } from './in-process-queue.js';
import type { InstanceContext } from './instance.js';
import type { JobHandler, JobQueue } from './job-queue.js';
import { loadModelClass, type ModelModuleRef } from './model-module.js';
import { ModelRegistry } from './model-registry.js';
import { DirectPredictGate, type PredictGate } from './predict-gate.js';
import { PredictionRefreshService } from './refresh/refresh-service.js';
import { refreshAfterPromotions } from './refresh/refresh-triggers.js';
import { ProjectSettings } from './project-settings.js';
import { Readiness } from './readiness.js';
import { TrainPolicy } from './train-policy.js';
import { Trainer } from './trainer.js';

export interface MLBackendOptions {
  config: BackendConfig;
  logger: Logger;
  /** The model: a class (trains on the main thread) and/or a module that exports it (trains in a worker). */
  model: { modelClass: ModelClass; module?: ModelModuleRef } | { module: ModelModuleRef };
  /** A store set to use instead of opening MODEL_DIR's (tests; a shared set in distributed mode). The backend closes it. */
  stores?: Stores;
  /** How /predict calls are admitted and batched. @default a gate that runs each call at once */
  predictGate?: PredictGate;
  /**
   * Runs as a 'refresh-predictions' job after each promotion of a project, instead of the
   * prediction refresh into Label Studio (./refresh/) that runs when its URL and key are set.
   */
  refreshPredictions?: JobHandler;
  /** The job queue's clock (tests). */
  clock?: Clock;
}

export interface BackendParts {
  modelClass: ModelClass;
  tf: TfRuntimeInfo;
  stores: Stores;
  settings: ProjectSettings;
  readiness: Readiness;
  registry: ModelRegistry;
  fitRunner: FitRunner;
  queue: JobQueue;
  policy: TrainPolicy;
  gate: PredictGate;
  /** The prediction refresh into Label Studio, when LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY are set. */
  refresh: PredictionRefreshService | undefined;
  deployment: Deployment;
}

export async function assemble(options: MLBackendOptions): Promise<BackendParts> {
  const { config, logger } = options;
  const modelClass = 'modelClass' in options.model ? options.model.modelClass : await loadModelClass(options.model.module);
  const tf = await initTfRuntime({ backend: config.tfjsBackend, logger: logger.child({ component: 'tf' }) });
  const redis = redisTargetOf(config);
  const stores = options.stores ?? openStores(config.modelDir, {
    onProblem: (message, details) => logger.warn(details ?? {}, message),
    pollMs: config.versionPollMs,
    redis,
  });
  // With replicas on a shared MODEL_DIR another process may be training now: there each training
  // removes its own project's leftovers instead (a project never trains twice at once).
  const removed = redis ? 0 : await stores.checkpoints.cleanupIncomplete();
  if (removed > 0) logger.warn({ removed }, 'removed unfinished checkpoint workdirs left by a crash');
  const module = options.model.module;
  const inWorker = module !== undefined && config.trainingThread === 'worker';

  const modelLogger = logger.child({ component: 'model' });
  const readiness = new Readiness(async () => {
    if (config.role === 'trainer' && inWorker) return; // serves no model: its worker thread preloads for training
    const started = Date.now();
    try {
      await modelClass.preload({ modelDir: config.modelDir, logger: modelLogger, purpose: 'serve' });
      logger.info({ ms: Date.now() - started }, 'model preloaded');
    } catch (error) {
      logger.error({ err: error }, 'model preload failed');
      throw error;
    }
  });
  const context: InstanceContext = {
    kv: stores.kv,
    logger: modelLogger,
    taskFiles: labelStudioTaskFiles(config),
    whenPreloaded: () => readiness.whenPreloaded(),
  };
  const settings = new ProjectSettings(stores.kv, { cache: !redis });
  const registry = new ModelRegistry(modelClass, stores.checkpoints, context);
  const fitRunner: FitRunner =
    module && inWorker
      ? new FitRunnerPool(Array.from({ length: config.trainerConcurrency }, () => new WorkerFitRunner(module, {
          modelDir: config.modelDir,
          redis,
          tfjsBackend: config.tfjsBackend,
          logLevel: config.logLevel,
          labelStudioUrl: config.labelStudioUrl,
          labelStudioApiKey: config.labelStudioApiKey,
          taskUrlOrigins: config.taskUrlOrigins,
        })))
      : new InlineFitRunner(modelClass, context, stores.annotations);
  const trainer = new Trainer({
    annotations: stores.annotations,
    checkpoints: stores.checkpoints,
    settings,
    fitRunner,
    keepVersions: config.keepVersions,
    logger: logger.child({ component: 'trainer' }),
    labelStudio: config.labelStudioUrl && config.labelStudioApiKey ? new LabelStudioClient({ url: config.labelStudioUrl, apiKey: config.labelStudioApiKey }) : undefined,
  });
  const kinds: Partial<Record<'train' | 'refresh-predictions', KindPolicy>> = {
    train: {
      handler: (job, onProgress) => trainer.run(job, onProgress),
      concurrency: config.trainerConcurrency,
      minIntervalMs: config.trainMinIntervalS * 1000,
      debounceMs: config.trainDebounceMs,
    },
  };
  const gate = options.predictGate ?? new DirectPredictGate();
  const refresh = options.refreshPredictions ? undefined : PredictionRefreshService.create({
    config,
    logger,
    kv: stores.kv,
    checkpoints: stores.checkpoints,
    settings,
    predictor: { modelClass, registry, checkpoints: stores.checkpoints, context, gate },
    currentVersion: (project) => registry.currentVersion(project),
    isShuttingDown: () => readiness.report().shuttingDown === true,
  });
  const refreshHandler = options.refreshPredictions ?? refresh?.handler;
  // One refresh at a time across projects (they share Label Studio); a burst of TASKS_CREATED waits for quiet.
  if (refreshHandler) kinds['refresh-predictions'] = { handler: refreshHandler, concurrency: 1, debounceMs: 2000 };
  const { queue, deployment } = await openJobQueue({ config, kinds, store: stores.jobs, logger, clock: options.clock });
  if (options.refreshPredictions) refreshAfterPromotions(queue, logger);
  refresh?.attach(queue);

  void reportCorruptCheckpoints(stores, logger);
  logger.info({ model: modelClass.modelName, tfBackend: tf.backend, modelDir: config.modelDir }, 'backend ready to serve');
  const policy = new TrainPolicy(config.trainEveryN, stores.annotationEvents);
  return { modelClass, tf, stores, settings, readiness, registry, fitRunner, queue, policy, gate, refresh, deployment };
}

/** One background pass over every checkpoint at start, so damaged old versions show in the logs. */
async function reportCorruptCheckpoints(stores: Stores, logger: Logger): Promise<void> {
  try {
    for (const project of await stores.checkpoints.listProjects()) {
      for (const info of await stores.checkpoints.list(project)) {
        if (info.corrupt) logger.warn({ project, version: info.version, reason: info.corrupt }, 'checkpoint is corrupt and will not be served');
      }
    }
  } catch (error) {
    logger.warn({ err: error }, 'could not scan checkpoints');
  }
}
