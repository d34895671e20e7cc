/**
 * The job queue seam. Per project and job kind: one job running, at most one pending; a trigger
 * that arrives while a job is pending joins it (a burst of webhooks becomes one job that trains
 * on everything received). The queue alone writes job records. Implementations: in-process on
 * p-queue (./in-process-queue.ts) now; BullMQ on Redis for several processes (issue 14).
 */
import { MlBackendError } from '../errors.js';
import type { JobKind, JobRecord, JsonObject, TrainProgress } from '../types.js';

export interface JobTrigger {
  event: string;
  data: JsonObject;
  /** Start as soon as the slot and the minimum interval allow (START_TRAINING, /train, CLI); else debounce. */
  immediate?: boolean;
  /** Replace the project's annotations with Label Studio's export before training. */
  refreshAnnotations?: boolean;
}

/** A job as its handler sees it. */
export interface RunningJob {
  readonly record: Readonly<JobRecord>;
  readonly trigger: JobTrigger;
  readonly signal: AbortSignal;
}

/** What a handler reports back; the queue writes it into the job record. */
export type JobOutcome = Partial<Pick<JobRecord, 'annotationCount' | 'baseVersion' | 'version' | 'metrics'>>;

export type JobHandler = (job: RunningJob, onProgress: (progress: TrainProgress) => void) => Promise<JobOutcome>;

/** How jobs of one kind run: whatever the queue's implementation. */
export interface KindPolicy {
  handler: JobHandler;
  /** Jobs of this kind running at once, across projects. */
  concurrency: number;
  /** Least time between the starts of two jobs of a project. @default 0 */
  minIntervalMs?: number;
  /** Quiet time a non-immediate trigger waits for more triggers before its job starts. @default 0 */
  debounceMs?: number;
}

export interface JobEvent {
  type: 'queued' | 'started' | 'progress' | 'finished';
  /** A snapshot of the record at the time of the event. */
  job: JobRecord;
  /** Set on an event of a job that another process handles (distributed mode relays queued, started and finished). */
  remote?: true;
}

export type JobListener = (event: JobEvent) => void;

export interface JobQueue {
  /** Queues a job, or joins the project's pending one; resolves with the job the trigger landed in. Throws MLB_ERR_SHUTTING_DOWN once shut down. */
  enqueue(kind: JobKind, project: string, trigger: JobTrigger): Promise<JobRecord>;
  /** A job by id: live, or finished (from the job store). */
  get(jobId: string): Promise<JobRecord | undefined>;
  /** The running and pending job of a project, for one kind. */
  active(kind: JobKind, project: string): Promise<{ running?: JobRecord; pending?: JobRecord }>;
  /** The project's latest jobs, newest first. */
  recent(project: string, limit: number): Promise<JobRecord[]>;
  /** Cancels a pending or running job; false when there is no such live job. */
  cancel(jobId: string, reason?: string): Promise<boolean>;
  subscribe(listener: JobListener): () => void;
  /** Jobs running and pending in this process now. */
  stats(): { running: number; pending: number };
  /** Resolves when no job runs or waits. */
  onIdle(): Promise<void>;
  /** Stops taking jobs, cancels pending ones and cancels or finishes running ones (bounded). Idempotent. */
  shutdown(mode: 'cancel' | 'finish', timeoutMs: number): Promise<void>;
}

/** Resolves with a job's final record, whichever queue runs it. */
export async function waitForJob(queue: JobQueue, jobId: string): Promise<JobRecord> {
  let finished: ((job: JobRecord) => void) | undefined;
  const done = new Promise<JobRecord>((resolve) => (finished = resolve));
  const unsubscribe = queue.subscribe((event) => event.type === 'finished' && event.job.id === jobId && finished?.(event.job));
  try {
    const now = await queue.get(jobId);
    if (!now) throw new MlBackendError('MLB_ERR_JOB_NOT_FOUND', 404, `no job with id ${JSON.stringify(jobId)}`);
    return now.state === 'queued' || now.state === 'running' ? await done : now;
  } finally {
    unsubscribe();
  }
}
