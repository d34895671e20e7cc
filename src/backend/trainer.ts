/**
 * Runs one training job end to end: gather the project's annotations (refreshed from Label
 * Studio's export when credentials are set and training was asked for), reserve a workdir, let
 * the model's `fit` train there, then promote the checkpoint and swap the served model. A failed
 * or cancelled job leaves the previous version serving and no checkpoint behind.
 */
import type { JobRecord, JsonObject, TrainProgress } from '../types.js';
import type { AnnotationStore, CheckpointStore } from '../store/types.js';
import type { Logger } from '../logger.js';
import { MlBackendError } from '../errors.js';
import type { QueuedJob } from './job-queue.js';
import type { FitRunner } from './fit-runner.js';
import { INITIAL_VERSION, type ModelRegistry } from './model-registry.js';
import type { ProjectSettings } from './project-settings.js';

export interface AnnotationSource {
  /** Every annotated task of the project, from Label Studio's export API. */
  exportAnnotations(projectId: string): Promise<import('../types.js').AnnotatedTask[]>;
}

export interface TrainerDeps {
  annotations: AnnotationStore;
  checkpoints: CheckpointStore;
  settings: ProjectSettings;
  registry: ModelRegistry;
  fitRunner: FitRunner;
  keepVersions: number;
  logger: Logger;
  labelStudio?: AnnotationSource | undefined;
}

const REFRESH_EVENTS = new Set(['START_TRAINING', 'TRAIN']);

export class Trainer {
  constructor(private readonly deps: TrainerDeps) {}

  async run(job: QueuedJob, onProgress: (p: TrainProgress) => void): Promise<Partial<JobRecord>> {
    const { annotations, checkpoints, registry, fitRunner, logger } = this.deps;
    const project = job.record.project;
    const log = logger.child({ project, job: job.record.id });
    const signal = job.controller.signal;

    if (this.deps.labelStudio && REFRESH_EVENTS.has(job.trigger.event)) {
      onProgress({ phase: 'exporting annotations from Label Studio' });
      const exported = await this.deps.labelStudio.exportAnnotations(project);
      annotations.replaceAll(project, exported);
      log.info({ tasks: exported.length }, 'annotations refreshed from Label Studio export');
    }
    const { usable: annotationCount, tasks } = annotations.counts(project);
    const served = await registry.served(project);
    const baseVersion = served?.version ?? INITIAL_VERSION;
    const labelConfig = this.deps.settings.labelConfig(project, job.trigger.data);
    log.info({ event: job.trigger.event, tasks, annotations: annotationCount, baseVersion }, 'training started');

    const pending = await checkpoints.begin(project);
    const outcome: Partial<JobRecord> = { annotationCount, baseVersion };
    try {
      const result = await fitRunner.run(
        {
          init: {
            projectId: project,
            labelConfig,
            modelVersion: baseVersion,
            trainOutput: served?.trainOutput ?? null,
            extraParams: this.deps.settings.extraParams(project),
          },
          request: { event: job.trigger.event, data: job.trigger.data, workdir: pending.workdir, jobId: job.record.id },
        },
        signal,
        (progress) => {
          log.info(progress, 'training progress');
          onProgress(progress);
        },
      );
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('training cancelled');
      if (result === null || result === undefined) {
        await checkpoints.discard(pending);
        log.info('fit returned no train output: the served version stays');
        return outcome;
      }
      const trainOutput = asTrainOutput(result);
      const metrics = numericMetrics(trainOutput.metrics);
      const record: JobRecord = { ...job.record, ...outcome, state: 'succeeded', version: pending.version, finishedAt: new Date().toISOString() };
      if (metrics) record.metrics = metrics;
      await checkpoints.promote(pending, trainOutput, record);
      registry.setServed(project, await checkpoints.load(project, pending.version));
      const pruned = await checkpoints.prune(project, this.deps.keepVersions);
      log.info({ version: pending.version, pruned, metrics }, 'new version serving');
      return { ...outcome, version: pending.version, ...(metrics ? { metrics } : {}) };
    } catch (error) {
      await checkpoints.discard(pending).catch((discardError: unknown) => log.error({ err: discardError }, 'could not remove workdir'));
      log.warn({ err: error }, signal.aborted ? 'training cancelled' : 'training failed');
      throw error;
    }
  }
}

/** fit must return a JSON object: it becomes train_output.json. */
function asTrainOutput(result: unknown): JsonObject {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) {
    throw new MlBackendError('MLB_ERR_MODEL', 500, `fit must return a JSON object or null, got ${Array.isArray(result) ? 'an array' : typeof result}`);
  }
  try {
    return JSON.parse(JSON.stringify(result)) as JsonObject;
  } catch (error) {
    throw new MlBackendError('MLB_ERR_MODEL', 500, `fit returned a value that is not JSON-serialisable: ${(error as Error).message}`);
  }
}

function numericMetrics(value: unknown): Record<string, number> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const entries = Object.entries(value).filter((entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1]));
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}
