/**
 * The job queue of a distributed deployment, on BullMQ. The per-project rule holds cluster-wide:
 * the project's slot in Redis (./job-slots.ts) names its running and pending job, a trigger joins
 * the pending job under the slot's lock, and a job a worker picks up while its project is busy,
 * or before its debounce and minimum interval allow, goes back to BullMQ's delayed set until then.
 * A trainer that dies (SIGKILL) stops renewing its job's lock: BullMQ's stalled-job check hands the
 * job to a live worker, which runs it again from the start (the dead run's workdir is never
 * promoted). A process that shuts down hands its running jobs back the same way. Job records
 * are in the shared job store; events reach every process through ./job-bus.ts.
 */
import { hostname } from 'node:os';
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { shuttingDown } from '../errors.js';
import type { Logger } from '../logger.js';
import type { JobKind, JobRecord, TrainProgress } from '../types.js';
import { failedRecord } from '../store/job-store.js';
import { RedisKeys, connectRedis, redisRetryDelay, type Redis, type RedisTarget } from '../store/redis-connection.js';
import type { JobStore } from '../store/types.js';
import { errorMessage } from '../util/json.js';
import { Listeners } from '../util/listeners.js';
import { appendHistory } from './job-history.js';
import { JobBus, type BusMessage } from './job-bus.js';
import { JobRecordWriter, earliestStart, newJobRecord } from './job-records.js';
import type { JobEvent, JobListener, JobQueue, JobTrigger, KindPolicy } from './job-queue.js';
import { JobSlots } from './job-slots.js';

export interface BullMqJobQueueOptions {
  target: RedisTarget;
  store: JobStore;
  /** Every kind this process queues, with its timing; `runs` says which it also runs. */
  kinds: Partial<Record<JobKind, KindPolicy>>;
  runs: JobKind[];
  /** BullMQ's job lock: a worker renews it twice per period; a dead worker's job is taken up after about twice this. */
  lockMs: number;
  logger: Logger;
  /** Least time between two saves of a running job's progress. @default 1000 */
  progressSaveMs?: number;
}

interface JobData {
  project: string;
  trigger: JobTrigger;
}

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
const ALIVE = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);
const isFinal = (job: JobRecord) => job.state !== 'queued' && job.state !== 'running';
const iso = (ms: number) => new Date(ms).toISOString();
const WORKER = `${hostname()}:${process.pid}`;

export class BullMqJobQueue implements JobQueue {
  readonly #options: BullMqJobQueueOptions;
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #slots: JobSlots;
  readonly #records: JobRecordWriter;
  readonly #bus: JobBus;
  readonly #queues = new Map<JobKind, Queue<JobData>>();
  readonly #workers: Worker<JobData>[] = [];
  readonly #live = new Map<string, LiveJob>();
  readonly #listeners = new Listeners<JobEvent>();
  readonly #timers: NodeJS.Timeout[] = [];
  #counts = { running: 0, pending: 0 };
  #closed = false;
  #shutdown: Promise<void> | undefined;

  constructor(options: BullMqJobQueueOptions) {
    this.#options = options;
    const { target, logger } = options;
    const keys = (this.#keys = new RedisKeys(target.prefix));
    this.#redis = connectRedis(target.url, `${target.prefix}-queue`);
    this.#slots = new JobSlots(this.#redis, keys);
    this.#records = new JobRecordWriter(options.store, (error, job) => logger.error({ err: error, job: job.id }, 'could not save a job record'));
    this.#bus = new JobBus(this.#redis, target.url, keys, (message, own) => this.#onBusMessage(message, own));
    const connection = { url: target.url, retryStrategy: redisRetryDelay };
    for (const kind of Object.keys(options.kinds) as JobKind[]) {
      const queue = new Queue<JobData>(kind, { connection, prefix: keys.bull });
      queue.on('error', () => undefined); // reconnection attempts; commands report their own failures
      this.#queues.set(kind, queue);
    }
    for (const kind of options.runs) this.#startWorker(kind, connection, keys);
    this.#every(1000, () => this.#refreshCounts());
    if (options.runs.length > 0) this.#every(Math.max(1000, options.lockMs * 2), () => this.#sweep());
  }

  /** Resolves once the queue listens for events of other processes. */
  async ready(): Promise<void> {
    await this.#bus.ready();
    await this.#refreshCounts();
  }

  /** The state of the Redis connection (`ready` when reachable). */
  get redisStatus(): string {
    return this.#redis.status;
  }

  handles(kind: JobKind): boolean {
    return this.#queues.has(kind);
  }

  async enqueue(kind: JobKind, project: string, trigger: JobTrigger): Promise<JobRecord> {
    if (this.#closed) throw shuttingDown(`no new ${kind} job is queued`);
    const policy = this.#policy(kind);
    const queue = this.#queue(kind);
    return this.#slots.lock(kind, project, async () => {
      const slot = await this.#slots.read(kind, project);
      const now = Date.now();
      if (slot.pending !== undefined) {
        const pending = await this.#options.store.get(slot.pending);
        const job = pending && !isFinal(pending) ? await queue.getJob(slot.pending) : undefined;
        if (pending && job) {
          pending.event = trigger.event;
          pending.triggers += 1;
          const notBefore = earliestStart(policy, trigger, { now, createdAt: Date.parse(pending.createdAt), lastStart: slot.lastStart });
          await job.updateData({ project, trigger });
          await this.#slots.setNotBefore(kind, project, notBefore);
          // A later start is enforced when the job is picked up; an earlier one (Start Training) is made now.
          if (notBefore < (slot.notBefore ?? 0) && (await job.isDelayed())) await job.changeDelay(Math.max(1, notBefore - now));
          await this.#records.save(pending);
          return pending;
        }
        await this.#abandon(kind, project, slot.pending, 'the pending job was lost from the queue');
      }
      const record = newJobRecord(kind, project, trigger.event, now);
      const notBefore = earliestStart(policy, trigger, { now, createdAt: now, lastStart: slot.lastStart });
      await this.#records.save(record);
      await queue.add(kind, { project, trigger }, { jobId: record.id, delay: Math.max(0, notBefore - now), removeOnComplete: true, removeOnFail: { age: 86_400 } });
      await this.#slots.setPending(kind, project, record.id, notBefore);
      this.#emit('queued', record);
      return record;
    });
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const live = this.#live.get(jobId);
    return live ? structuredClone(live.record) : this.#options.store.get(jobId);
  }

  async active(kind: JobKind, project: string): Promise<{ running?: JobRecord; pending?: JobRecord }> {
    const slot = await this.#slots.read(kind, project);
    const read = (id: string | undefined) => (id === undefined ? Promise.resolve(undefined) : this.get(id));
    const [running, pending] = await Promise.all([read(slot.running), read(slot.pending)]);
    return { ...(running && !isFinal(running) && { running }), ...(pending && !isFinal(pending) && { pending }) };
  }

  async recent(project: string, limit: number): Promise<JobRecord[]> {
    const stored = await this.#options.store.listByProject(project, limit);
    return stored.map((record) => (this.#live.has(record.id) ? structuredClone(this.#live.get(record.id)!.record) : record));
  }

  async cancel(jobId: string, reason = 'cancelled'): Promise<boolean> {
    const found = await this.#options.store.get(jobId);
    if (!found || isFinal(found)) return false;
    const kind = found.kind ?? 'train';
    return this.#slots.lock(kind, found.project, async () => {
      const record = await this.#options.store.get(jobId);
      if (!record || isFinal(record)) return false;
      const slot = await this.#slots.read(kind, record.project);
      if (slot.running === jobId || record.state === 'running') {
        // Wherever it runs, or is taken up again after its trainer died.
        await this.#redis.set(this.#keys.cancelRequest(jobId), reason, 'EX', 86_400);
        this.#live.get(jobId)?.controller.abort(new Error(reason));
        await this.#bus.publish({ type: 'cancel', jobId, reason });
        return true;
      }
      await this.#slots.release(kind, record.project, jobId);
      Object.assign(record, { state: 'cancelled', error: reason, finishedAt: iso(Date.now()) });
      await this.#records.save(record);
      // A job being picked up right now is locked: its worker finds the record final and drops it.
      await this.#queue(kind).remove(jobId).catch(() => undefined);
      this.#emit('finished', record);
      return true;
    });
  }

  subscribe(listener: JobListener): () => void {
    return this.#listeners.add(listener);
  }

  /** Running and pending jobs of the whole deployment (read every second). */
  stats(): { running: number; pending: number } {
    return { ...this.#counts };
  }

  async onIdle(): Promise<void> {
    for (;;) {
      await this.#refreshCounts();
      if (this.#live.size === 0 && this.#counts.running === 0 && this.#counts.pending === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops taking jobs; 'cancel' hands running jobs back to the queue, 'finish' lets them end (bounded). Pending jobs stay queued. */
  shutdown(mode: 'cancel' | 'finish', timeoutMs: number): Promise<void> {
    this.#closed = true;
    this.#shutdown ??= (async () => {
      for (const timer of this.#timers) clearInterval(timer);
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
      await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
      this.#bus.close();
      await this.#redis.quit().catch(() => this.#redis.disconnect());
    })();
    return this.#shutdown;
  }

  #startWorker(kind: JobKind, connection: object, keys: RedisKeys): void {
    const { lockMs, logger } = this.#options;
    const worker = new Worker<JobData>(kind, (job, token) => this.#process(kind, job, token), {
      connection,
      prefix: keys.bull,
      concurrency: this.#policy(kind).concurrency,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      // A job survives two dead trainers; a third death fails it (it may be what kills them).
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
    const plan = await this.#slots.lock(kind, job.data.project, () => this.#plan(kind, job.data.project, jobId));
    if (plan.type === 'drop') return;
    if (plan.type === 'wait') {
      await job.moveToDelayed(plan.until, token);
      throw new DelayedError();
    }
    await this.#run(kind, job, token, plan.record);
  }

  /** What a picked-up job does now: run, wait (project busy or not yet due), or nothing (cancelled, superseded). */
  async #plan(kind: JobKind, project: string, jobId: string): Promise<Plan> {
    const record = await this.#options.store.get(jobId);
    const slot = await this.#slots.read(kind, project);
    const now = Date.now();
    if (!record || isFinal(record)) {
      await this.#slots.release(kind, project, jobId);
      return { type: 'drop' };
    }
    if (slot.running !== undefined && slot.running !== jobId) {
      if (await this.#alive(kind, slot.running)) return { type: 'wait', until: now + BUSY_RECHECK_MS };
      await this.#abandon(kind, project, slot.running, 'the worker running it stopped and the job left the queue');
    }
    if (slot.running === jobId) {
      record.restarts = (record.restarts ?? 0) + 1;
      delete record.progress; // the run starts over: so does its curve
      delete record.history;
      this.#options.logger.warn({ job: jobId, project, restarts: record.restarts }, 'running a job again: the worker that ran it stopped');
      await this.#slots.restart(kind, project, now);
    } else if (slot.pending !== undefined && slot.pending !== jobId) {
      await this.#records.save(failedRecord(record, `superseded by job ${slot.pending}`, new Date(now)));
      return { type: 'drop' };
    } else {
      const minInterval = this.#policy(kind).minIntervalMs ?? 0;
      const due = Math.max(slot.notBefore ?? 0, slot.lastStart === undefined ? 0 : slot.lastStart + minInterval);
      if (due > now + 5) return { type: 'wait', until: due };
      await this.#slots.start(kind, project, jobId, now);
    }
    Object.assign(record, { state: 'running', startedAt: iso(now), worker: WORKER });
    delete record.error;
    await this.#records.save(record);
    return { type: 'run', record };
  }

  async #run(kind: JobKind, job: Job<JobData>, token: string | undefined, record: JobRecord): Promise<void> {
    const { project, trigger } = job.data;
    const live: LiveJob = { record, controller: new AbortController(), lastSave: Date.now(), handBack: false, lost: false };
    this.#live.set(record.id, live);
    const cancelled = await this.#redis.get(this.#keys.cancelRequest(record.id)).catch(() => null);
    if (cancelled !== null) live.controller.abort(new Error(cancelled));
    this.#emit('started', record);
    const started = Date.now();
    try {
      const outcome = await this.#policy(kind).handler({ record, trigger, signal: live.controller.signal }, (progress) => this.#progress(live, progress));
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
    this.#emit('finished', record);
  }

  /** Records the outcome and frees the slot; retried while Redis is away (a restart), so a result is not lost. */
  async #finish(kind: JobKind, project: string, record: JobRecord): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#slots.lock(kind, project, async () => {
          await this.#records.save(record);
          await this.#slots.release(kind, project, record.id);
          await this.#wakePending(kind, project);
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
    await this.#records.save(record);
    await job.moveToDelayed(Date.now(), token);
    throw new DelayedError();
  }

  /** Under the slot's lock: a job that will never finish by itself is recorded failed and leaves the slot. */
  async #abandon(kind: JobKind, project: string, jobId: string, reason: string): Promise<void> {
    const record = await this.#options.store.get(jobId);
    await this.#slots.release(kind, project, jobId);
    if (!record || isFinal(record)) return;
    const failed = failedRecord(record, reason, new Date());
    await this.#records.save(failed);
    this.#options.logger.warn({ job: jobId, project, reason }, 'job abandoned');
    this.#emit('finished', failed);
  }

  /** Under the slot's lock: a pending job delayed while the project was busy starts when it is due. */
  async #wakePending(kind: JobKind, project: string): Promise<void> {
    const slot = await this.#slots.read(kind, project);
    if (slot.pending === undefined) return;
    const job = await this.#queue(kind).getJob(slot.pending);
    if (!job || !(await job.isDelayed())) return;
    const due = Math.max(slot.notBefore ?? 0, (slot.lastStart ?? 0) + (this.#policy(kind).minIntervalMs ?? 0));
    await job.changeDelay(Math.max(1, due - Date.now()));
  }

  /** Records queued or running whose BullMQ job is gone or failed (a job that stalled too often, Redis data lost) are failed. */
  async #sweep(): Promise<void> {
    try {
      for (const record of await this.#options.store.listUnfinished()) {
        const kind = record.kind ?? 'train';
        if (!this.#queues.has(kind) || this.#live.has(record.id) || (await this.#alive(kind, record.id))) continue;
        await this.#slots.lock(kind, record.project, async () => {
          const fresh = await this.#options.store.get(record.id);
          if (!fresh || isFinal(fresh) || (await this.#alive(kind, record.id))) return;
          const failedReason = (await this.#queue(kind).getJob(record.id))?.failedReason;
          await this.#abandon(kind, record.project, record.id, failedReason ? `the queue failed the job: ${failedReason}` : 'the job was lost from the queue');
          await this.#wakePending(kind, record.project);
        });
      }
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'could not check unfinished jobs against the queue');
    }
  }

  async #alive(kind: JobKind, jobId: string): Promise<boolean> {
    return ALIVE.has(await this.#queue(kind).getJobState(jobId));
  }

  #progress(live: LiveJob, progress: TrainProgress): void {
    const { record } = live;
    if (record.state !== 'running' || live.lost) return;
    record.progress = progress;
    const phaseChange = progress.phase !== undefined && progress.phase !== record.history?.at(-1)?.phase;
    appendHistory(record, progress, new Date());
    this.#listeners.emit({ type: 'progress', job: structuredClone(record) });
    if (phaseChange || Date.now() - live.lastSave >= (this.#options.progressSaveMs ?? 1000)) {
      live.lastSave = Date.now();
      void this.#records.saveQuietly(record);
    }
  }

  #onBusMessage(message: BusMessage, own: boolean): void {
    if (message.type === 'cancel') this.#live.get(message.jobId)?.controller.abort(new Error(message.reason));
    else if (!own) this.#listeners.emit({ type: message.type, job: message.job, remote: true });
  }

  #emit(type: 'queued' | 'started' | 'finished', record: JobRecord): void {
    this.#listeners.emit({ type, job: structuredClone(record) });
    void this.#bus.publish({ type, job: record });
    void this.#refreshCounts();
  }

  async #refreshCounts(): Promise<void> {
    this.#counts = await this.#slots.counts().catch(() => this.#counts);
  }

  #every(ms: number, fn: () => Promise<void>): void {
    const timer = setInterval(() => void fn(), ms);
    timer.unref();
    this.#timers.push(timer);
  }

  #policy(kind: JobKind): KindPolicy {
    const policy = this.#options.kinds[kind];
    if (!policy) throw new Error(`this job queue runs no ${kind} jobs`);
    return policy;
  }

  #queue(kind: JobKind): Queue<JobData> {
    const queue = this.#queues.get(kind);
    if (!queue) throw new Error(`this job queue has no ${kind} queue`);
    return queue;
  }
}
