/**
 * Runs one training job end to end: gather the project's annotations (replaced by Label Studio's
 * export when the trigger asks for it), reserve a workdir, let the model's `fit` train there,
 * then promote the checkpoint. The checkpoint store announces the new current version; the
 * trainer only returns what happened (the job queue writes it into the job record). A failed or
 * cancelled job leaves the previous version serving and no checkpoint behind.
 */
import type { AnnotatedTask, JsonObject, TrainProgress } from '../types.js';
import type { AnnotationStore, CheckpointStore } from '../store/types.js';
import type { Logger } from '../logger.js';
import { MlBackendError } from '../errors.js';
import type { JobOutcome, RunningJob } from './job-queue.js';
import type { FitRunner } from './fit-runner.js';
import type { ProjectSettings } from './project-settings.js';

/** Version a project serves before its first training. */
export const INITIAL_VERSION = 'v0000-initial';

/** The last phase of a job whose fit returned nothing (e.g. no usable annotations). */
export const NO_NEW_VERSION = 'fit returned no train output (no usable annotations?): the served version stays';

export interface AnnotationSource {
  /** Every annotated task of the project, from Label Studio's export API. */
  exportAnnotations(projectId: string, options?: { signal?: AbortSignal }): Promise<AnnotatedTask[]>;
}

export interface TrainerDeps {
  annotations: AnnotationStore;
  checkpoints: CheckpointStore;
  settings: ProjectSettings;
  fitRunner: FitRunner;
  keepVersions: number;
  logger: Logger;
  labelStudio?: AnnotationSource | undefined;
}

export class Trainer {
  constructor(private readonly deps: TrainerDeps) {}

  async run(job: RunningJob, onProgress: (p: TrainProgress) => void): Promise<JobOutcome> {
    const { annotations, checkpoints, fitRunner, settings, logger } = this.deps;
    const { record, trigger, signal } = job;
    const project = record.project;
    const log = logger.child({ project, job: record.id });

    if (this.deps.labelStudio && trigger.refreshAnnotations) {
      onProgress({ phase: 'exporting annotations from Label Studio' });
      const exported = await this.deps.labelStudio.exportAnnotations(project, { signal });
      await annotations.replaceAll(project, exported);
      log.info({ tasks: exported.length }, 'annotations refreshed from Label Studio export');
    }
    const { usable: annotationCount, tasks } = await annotations.counts(project);
    const served = await checkpoints.loadCurrent(project);
    const baseVersion = served?.version ?? INITIAL_VERSION;
    const labelConfig = await settings.labelConfig(project);
    log.info({ event: trigger.event, tasks, annotations: annotationCount, baseVersion }, 'training started');

    // A workdir left by a run that died (a killed trainer) is never promoted: it goes now.
    const leftovers = await checkpoints.cleanupIncomplete(project);
    if (leftovers > 0) log.warn({ removed: leftovers }, 'removed unfinished workdirs of a training that died');
    const pending = await checkpoints.begin(project);
    const outcome: JobOutcome = { annotationCount, baseVersion };
    try {
      const result = await fitRunner.run(
        {
          init: {
            projectId: project,
            labelConfig,
            modelVersion: baseVersion,
            trainOutput: served?.trainOutput ?? null,
            extraParams: await settings.extraParams(project),
          },
          request: { event: trigger.event, data: trigger.data, workdir: pending.workdir, jobId: record.id },
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
        // Said in the job too: Label Studio's user sees Start Training "finished" and nothing new served.
        onProgress({ phase: NO_NEW_VERSION });
        log.info(NO_NEW_VERSION);
        return outcome;
      }
      const trainOutput = asTrainOutput(result);
      const metrics = numericMetrics(trainOutput['metrics']);
      const startedAt = record.startedAt ?? record.createdAt;
      await checkpoints.promote(pending, trainOutput, {
        id: record.id,
        project,
        event: trigger.event,
        createdAt: record.createdAt,
        startedAt,
        annotationCount,
        baseVersion,
        durationMs: Date.now() - Date.parse(startedAt),
        ...(metrics && { metrics }),
      });
      const pruned = await checkpoints.prune(project, this.deps.keepVersions);
      log.info({ version: pending.version, pruned, metrics }, 'new version serving');
      return { ...outcome, version: pending.version, ...(metrics && { metrics }) };
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
