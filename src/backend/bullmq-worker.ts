/**
 * The running side of the BullMQ job queue, in processes whose ROLE runs a job kind. A job a
 * worker picks up runs when its project's slot allows; one picked up while the project runs
 * another, or before its debounce and minimum interval allow, goes back to BullMQ's delayed set.
 * A worker that dies stops renewing its job's lock, and BullMQ's stalled-job check hands the job
 * to a live worker, which runs it again from the start. A process that shuts down hands its
 * running jobs back the same way, at once. A periodic sweep fails the records of jobs BullMQ no
 * longer holds (failed after stalling too often, or lost with Redis data).
 */
import { hostname } from 'node:os';
import { DelayedError, Worker, type Job } from 'bullmq';
import type { JobKind, JobRecord, TrainProgress } from '../types.js';
import { failedRecord } from '../store/job-store.js';
import { errorMessage } from '../util/json.js';
import { iso, isFinal, type JobData, type QueueCore } from './bullmq-core.js';
import { appendHistory } from './job-history.js';

interface LiveJob {
  record: JobRecord;
  controller: AbortController;
  lastSave: number;
  /** This process shuts down: the job goes back to the queue instead of finishing. */
  handBack: boolean;
  /** The lock was lost: another worker may run the job now; this run must not record anything. */
  lost: boolean;
}

type Plan = { type: 'drop' } | { type: 'wait'; until: number } | { type: 'run'; record: JobRecord };

/** How long a job waits before looking again while its project's other job runs (it is woken when that one ends). */
const BUSY_RECHECK_MS = 5_000;
const WORKER = `${hostname()}:${process.pid}`;

export class JobWorkers {
  readonly #core: QueueCore;
  readonly #workers: Worker<JobData>[] = [];
  readonly #live = new Map<string, LiveJob>();

  constructor(core: QueueCore) {
    this.#core = core;
    for (const kind of core.options.runs) this.#start(kind);
  }

  get running(): number {
    return this.#live.size;
  }

  /** A job running in this process, as it is now (fresher than its saved record). */
  live(jobId: string): JobRecord | undefined {
    const live = this.#live.get(jobId);
    return live ? structuredClone(live.record) : undefined;
  }

  cancel(jobId: string, reason: string): void {
    this.#live.get(jobId)?.controller.abort(new Error(reason));
  }

  /** Stops taking jobs; 'cancel' hands running jobs back to the queue, 'finish' lets them end (bounded by `timeoutMs`). */
  async close(mode: 'cancel' | 'finish', timeoutMs: number): Promise<void> {
    if (mode === 'cancel') {
      for (const live of this.#live.values()) {
        live.handBack = true;
        live.controller.abort(new Error('this process is shutting down: the job goes back to the queue'));
      }
    }
    let bound: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (bound = setTimeout(() => resolve(true), timeoutMs)));
    const closed = Promise.all(this.#workers.map((worker) => worker.close())).then(() => false);
    if (await Promise.race([closed, timedOut])) await Promise.all(this.#workers.map((worker) => worker.close(true)));
    clearTimeout(bound);
  }

  /** Fails the records of jobs BullMQ no longer holds as ones to run. */
  async sweep(): Promise<void> {
    const core = this.#core;
    try {
      for (const record of await core.store.listUnfinished()) {
        const kind = record.kind ?? 'train';
        if (!core.handles(kind) || this.#live.has(record.id) || (await core.alive(kind, record.id))) continue;
        await core.slots.lock(kind, record.project, async () => {
          const fresh = await core.store.get(record.id);
          if (!fresh || isFinal(fresh) || (await core.alive(kind, record.id))) return;
          const failedReason = (await core.queue(kind).getJob(record.id))?.failedReason;
          await core.abandon(kind, record.project, record.id, failedReason ? `the queue failed the job: ${failedReason}` : 'the job was lost from the queue');
          await core.wakePending(kind, record.project);
        });
      }
    } catch (error) {
      core.logger.warn({ err: error }, 'could not check unfinished jobs against the queue');
    }
  }

  #start(kind: JobKind): void {
    const { options, connection, keys, logger } = this.#core;
    const worker = new Worker<JobData>(kind, (job, token) => this.#process(kind, job, token), {
      connection,
      prefix: keys.bull,
      concurrency: this.#core.policy(kind).concurrency,
      lockDuration: options.lockMs,
      stalledInterval: options.lockMs,
      // A job survives two dead workers; a third death fails it (it may be what kills them).
      maxStalledCount: 2,
    });
    worker.on('error', () => undefined); // reconnection attempts; jobs report their own failures
    worker.on('lockRenewalFailed', (jobIds) => {
      for (const id of jobIds) {
        const live = this.#live.get(id);
        if (!live) continue;
        logger.warn({ job: id }, 'lost the lock of a running job: another worker takes it up');
        live.lost = true;
        live.controller.abort(new Error('this process lost its hold on the job'));
      }
    });
    this.#workers.push(worker);
  }

  async #process(kind: JobKind, job: Job<JobData>, token: string | undefined): Promise<void> {
    const jobId = job.id as string;
    const plan = await this.#core.slots.lock(kind, job.data.project, () => this.#plan(kind, job.data.project, jobId));
    if (plan.type === 'drop') return;
    if (plan.type === 'wait') {
      await job.moveToDelayed(plan.until, token);
      throw new DelayedError();
    }
    await this.#run(kind, job, token, plan.record);
  }

  /** Under the slot's lock: run, wait (project busy or not yet due), or nothing (cancelled, superseded). */
  async #plan(kind: JobKind, project: string, jobId: string): Promise<Plan> {
    const core = this.#core;
    const record = await core.store.get(jobId);
    const slot = await core.slots.read(kind, project);
    const now = Date.now();
    if (!record || isFinal(record)) {
      await core.slots.release(kind, project, jobId);
      return { type: 'drop' };
    }
    if (slot.running !== undefined && slot.running !== jobId) {
      if (await core.alive(kind, slot.running)) return { type: 'wait', until: now + BUSY_RECHECK_MS };
      await core.abandon(kind, project, slot.running, 'the worker running it stopped and the job left the queue');
    }
    if (slot.running === jobId) {
      record.restarts = (record.restarts ?? 0) + 1;
      delete record.progress; // the run starts over: so does its curve
      delete record.history;
      core.logger.warn({ job: jobId, project, restarts: record.restarts }, 'running a job again: the worker that ran it stopped');
      await core.slots.restart(kind, project, now);
    } else if (slot.pending !== undefined && slot.pending !== jobId) {
      await core.records.save(failedRecord(record, `superseded by job ${slot.pending}`, new Date(now)));
      return { type: 'drop' };
    } else {
      const minInterval = core.policy(kind).minIntervalMs ?? 0;
      const due = Math.max(slot.notBefore ?? 0, slot.lastStart === undefined ? 0 : slot.lastStart + minInterval);
      if (due > now + 5) return { type: 'wait', until: due };
      await core.slots.start(kind, project, jobId, now);
    }
    Object.assign(record, { state: 'running', startedAt: iso(now), worker: WORKER });
    delete record.error;
    await core.records.save(record);
    return { type: 'run', record };
  }

  async #run(kind: JobKind, job: Job<JobData>, token: string | undefined, record: JobRecord): Promise<void> {
    const core = this.#core;
    // The data as the last trigger left it (one may have joined after the pick-up, before the start).
    const { project, trigger } = (await core.queue(kind).getJob(record.id).catch(() => undefined))?.data ?? job.data;
    const live: LiveJob = { record, controller: new AbortController(), lastSave: Date.now(), handBack: false, lost: false };
    this.#live.set(record.id, live);
    const cancelled = await core.redis.get(core.keys.cancelRequest(record.id)).catch(() => null);
    if (cancelled !== null) live.controller.abort(new Error(cancelled));
    core.emit('started', record);
    const started = Date.now();
    try {
      const outcome = await core.policy(kind).handler({ record, trigger, signal: live.controller.signal }, (progress) => this.#progress(live, progress));
      Object.assign(record, outcome);
      record.state = live.controller.signal.aborted ? 'cancelled' : 'succeeded';
    } catch (error) {
      if (live.lost || live.handBack) {
        this.#live.delete(record.id);
        if (live.lost) throw error;
        await this.#handBack(job, token, record);
      }
      record.state = live.controller.signal.aborted ? 'cancelled' : 'failed';
      record.error = errorMessage(error);
    }
    record.finishedAt = iso(Date.now());
    record.durationMs = Date.now() - started;
    await this.#finish(kind, project, record);
    this.#live.delete(record.id);
    core.emit('finished', record);
  }

  /** Records the outcome and frees the slot; retried while Redis is away (a restart), so a result is not lost. */
  async #finish(kind: JobKind, project: string, record: JobRecord): Promise<void> {
    const core = this.#core;
    for (let attempt = 1; ; attempt++) {
      try {
        await core.slots.lock(kind, project, async () => {
          await core.records.save(record);
          await core.slots.release(kind, project, record.id);
          await core.wakePending(kind, project);
        });
        return;
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** Back to the queue, still the project's running job: the next worker to pick it up runs it again. */
  async #handBack(job: Job<JobData>, token: string | undefined, record: JobRecord): Promise<never> {
    Object.assign(record, { state: 'queued', progress: { phase: 'waiting for a worker: the one running it shut down' } });
    await this.#core.records.save(record);
    await job.moveToDelayed(Date.now(), token);
    throw new DelayedError();
  }

  #progress(live: LiveJob, progress: TrainProgress): void {
    const { record } = live;
    if (record.state !== 'running' || live.lost) return;
    record.progress = progress;
    const phaseChange = progress.phase !== undefined && progress.phase !== record.history?.at(-1)?.phase;
    appendHistory(record, progress, new Date());
    this.#core.listeners.emit({ type: 'progress', job: structuredClone(record) });
    if (phaseChange || Date.now() - live.lastSave >= (this.#core.options.progressSaveMs ?? 1000)) {
      live.lastSave = Date.now();
      void this.#core.records.saveQuietly(record);
    }
  }
}
