/**
 * When a prediction refresh is queued. All through the JobQueue, so any queue implementation runs
 * it: after a training promoted a version (PROMOTED), when the served version changed otherwise
 * (a rollback here or in another process: VERSION_CHANGED), when Label Studio reports new tasks
 * (TASKS_CREATED, debounced), at start for a refresh a stopped process left unfinished (RESUME),
 * and on demand (MANUAL: the HTTP trigger and the CLI).
 */
import type { Logger } from '../../logger.js';
import type { JobRecord, JsonObject } from '../../types.js';
import type { CheckpointStore } from '../../store/types.js';
import { isObject } from '../../util/json.js';
import type { JobQueue, JobTrigger } from '../job-queue.js';
import type { RefreshLedger } from './refresh-state.js';
import { isOrphaned } from './refresh-state.js';

const KIND = 'refresh-predictions';

/**
 * A training that promoted a version queues the project's prediction refresh: only the process
 * that ran it (in distributed mode every process hears of every job, as `remote` events).
 */
export function refreshAfterPromotions(queue: JobQueue, logger: Logger): void {
  queue.subscribe(({ type, job, remote }) => {
    if (remote || type !== 'finished' || (job.kind ?? 'train') !== 'train' || job.state !== 'succeeded' || job.version === undefined) return;
    enqueueQuietly(queue, job.project, { event: 'PROMOTED', data: { version: job.version }, immediate: true }, logger);
  });
}

/**
 * A version served for another reason than a training here (rollback, a version trained or
 * selected by another process) queues a refresh too. A promotion announces itself while its
 * training still runs: PROMOTED covers it.
 */
export function refreshOnVersionChange(queue: JobQueue, checkpoints: CheckpointStore, logger: Logger): () => void {
  return checkpoints.onCurrentChange((project) => {
    void (async () => {
      const { running } = await queue.active('train', project);
      if (running) return;
      const version = (await checkpoints.loadCurrent(project))?.version;
      if (version) enqueueQuietly(queue, project, { event: 'VERSION_CHANGED', data: { version }, immediate: true }, logger);
    })().catch((error: unknown) => logger.warn({ err: error, project }, 'could not queue the prediction refresh'));
  });
}

/** Refreshes a stopped process left unfinished (crash, shutdown) continue where they were. */
export async function resumeUnfinished(queue: JobQueue, checkpoints: CheckpointStore, ledger: RefreshLedger, logger: Logger): Promise<void> {
  for (const project of await checkpoints.listProjects()) {
    const state = await ledger.load(project);
    if (!state || !isOrphaned(state)) continue;
    const data: JsonObject = { version: state.version, pinned: state.pinned, only_unlabelled: state.only_unlabelled, batch: state.batch };
    logger.info({ project, version: state.version, cursor: state.cursor }, 'resuming an unfinished prediction refresh');
    enqueueQuietly(queue, project, { event: 'RESUME', data, immediate: true }, logger);
  }
}

/** TASKS_CREATED: the new tasks get predictions of the served version (bursts of imports wait for quiet). */
export async function refreshOnTasksCreated(queue: JobQueue, body: Record<string, unknown>): Promise<JobRecord | undefined> {
  const projectRef = isObject(body['project']) ? body['project']['id'] : body['project'];
  if (typeof projectRef !== 'number' && typeof projectRef !== 'string') return undefined;
  return queue.enqueue(KIND, String(projectRef), { event: 'TASKS_CREATED', data: { only_unlabelled: true }, immediate: false });
}

function enqueueQuietly(queue: JobQueue, project: string, trigger: JobTrigger, logger: Logger): void {
  queue.enqueue(KIND, project, trigger).catch((error: unknown) => logger.warn({ err: error, project }, 'could not queue the prediction refresh'));
}
