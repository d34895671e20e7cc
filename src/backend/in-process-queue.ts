/**
 * The job queue of a single process. Per project and kind one job runs and at most one waits;
 * the waiting job starts after a quiet moment (debounce, for annotation bursts) and the minimum
 * interval since the project's last start. Jobs of all projects share a concurrency limit per
 * kind (p-queue). Time comes from a Clock, so tests drive it with a fake one.
 */
import PQueue from 'p-queue';
import { shuttingDown } from '../errors.js';
import type { JobKind, JobRecord, TrainProgress } from '../types.js';
import type { JobStore } from '../store/types.js';
import { errorMessage } from '../util/json.js';
import { Listeners } from '../util/listeners.js';
import { systemClock, type Clock } from './clock.js';
import { appendHistory } from './job-history.js';
import { JobRecordWriter, earliestStart, newJobRecord } from './job-records.js';
import type { JobEvent, JobListener, JobQueue, JobTrigger, KindPolicy } from './job-queue.js';

export type { KindPolicy };

export interface InProcessJobQueueOptions {
  store: JobStore;
  kinds: Partial<Record<JobKind, KindPolicy>>;
  clock?: Clock;
  /** Told about a record it could not save while a job ran (the job itself goes on). */
  onStoreError?: (error: unknown, job: JobRecord) => void;
  /** Least time between two saves of a running job's progress. @default 1000 */
  progressSaveMs?: number;
}

interface LiveJob {
  record: JobRecord;
  trigger: JobTrigger;
  /** Earliest start, epoch ms. */
  notBefore: number;
  /** Cancels the running job. */
  controller: AbortController;
  /** Takes the job out of p-queue before it starts. */
  dispatch: AbortController;
  dispatched: boolean;
  timer?: unknown;
  lastSave: number;
}

interface Slot {
  kind: JobKind;
  running?: LiveJob | undefined;
  pending?: LiveJob | undefined;
  lastStart?: number;
}

export class InProcessJobQueue implements JobQueue {
  /** Jobs a previous run of this process left queued or running, marked failed when the queue opened. */
  readonly interrupted: JobRecord[];
  readonly #options: InProcessJobQueueOptions;
  readonly #clock: Clock;
  readonly #slots = new Map<string, Slot>();
  readonly #runners = new Map<JobKind, PQueue>();
  readonly #listeners = new Listeners<JobEvent>();
  readonly #idleWaiters: Array<() => void> = [];
  readonly #records: JobRecordWriter;
  #closed = false;
  #shutdown: Promise<void> | undefined;

  private constructor(options: InProcessJobQueueOptions, interrupted: JobRecord[]) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.interrupted = interrupted;
    this.#records = new JobRecordWriter(options.store, options.onStoreError);
    for (const [kind, policy] of Object.entries(options.kinds) as Array<[JobKind, KindPolicy]>) {
      this.#runners.set(kind, new PQueue({ concurrency: policy.concurrency }));
    }
  }

  /** Opens the queue; jobs the store still holds as queued or running died with the last process. */
  static async open(options: InProcessJobQueueOptions): Promise<InProcessJobQueue> {
    return new InProcessJobQueue(options, await options.store.failInterrupted('interrupted by a restart'));
  }

  handles(kind: JobKind): boolean {
    return this.#runners.has(kind);
  }

  async enqueue(kind: JobKind, project: string, trigger: JobTrigger): Promise<JobRecord> {
    if (this.#closed) throw shuttingDown(`no new ${kind} job is queued`);
    const policy = this.#policy(kind);
    const slot = this.#slot(kind, project);
    const now = this.#clock.now();
    const pending = slot.pending;
    if (pending) {
      pending.trigger = trigger;
      pending.record.event = trigger.event;
      pending.record.triggers += 1;
      // Once handed to p-queue it starts as soon as a place is free; it reads its data then anyway.
      if (!pending.dispatched) {
        pending.notBefore = earliestStart(policy, trigger, { now, createdAt: Date.parse(pending.record.createdAt), lastStart: slot.lastStart });
        this.#arm(slot);
      }
      await this.#records.save(pending.record);
      return structuredClone(pending.record);
    }
    const record = newJobRecord(kind, project, trigger.event, now);
    const job: LiveJob = {
      record,
      trigger,
      notBefore: earliestStart(policy, trigger, { now, createdAt: now, lastStart: slot.lastStart }),
      controller: new AbortController(),
      dispatch: new AbortController(),
      dispatched: false,
      lastSave: now,
    };
    slot.pending = job;
    try {
      await this.#records.save(record);
    } catch (error) {
      if (slot.pending === job) slot.pending = undefined;
      throw error;
    }
    this.#emit('queued', record);
    this.#arm(slot);
    return structuredClone(record);
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const live = this.#live(jobId);
    return live ? structuredClone(live.record) : this.#options.store.get(jobId);
  }

  async active(kind: JobKind, project: string): Promise<{ running?: JobRecord; pending?: JobRecord }> {
    const slot = this.#slots.get(slotKey(kind, project));
    return {
      ...(slot?.running && { running: structuredClone(slot.running.record) }),
      ...(slot?.pending && { pending: structuredClone(slot.pending.record) }),
    };
  }

  async recent(project: string, limit: number): Promise<JobRecord[]> {
    const stored = await this.#options.store.listByProject(project, limit);
    return stored.map((record) => (this.#live(record.id) ? structuredClone(this.#live(record.id)!.record) : record));
  }

  async cancel(jobId: string, reason = 'cancelled'): Promise<boolean> {
    for (const slot of this.#slots.values()) {
      const pending = slot.pending;
      if (pending?.record.id === jobId) {
        slot.pending = undefined;
        await this.#finishUnstarted(pending, reason);
        return true;
      }
      if (slot.running?.record.id === jobId) {
        slot.running.controller.abort(new Error(reason));
        return true;
      }
    }
    return false;
  }

  subscribe(listener: JobListener): () => void {
    return this.#listeners.add(listener);
  }

  stats(): { running: number; pending: number } {
    let running = 0;
    let pending = 0;
    for (const slot of this.#slots.values()) {
      if (slot.running) running++;
      if (slot.pending) pending++;
    }
    return { running, pending };
  }

  async onIdle(): Promise<void> {
    while (!this.#isIdle()) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  shutdown(mode: 'cancel' | 'finish', timeoutMs: number): Promise<void> {
    this.#closed = true;
    this.#shutdown ??= (async () => {
      const unstarted: Promise<void>[] = [];
      for (const slot of this.#slots.values()) {
        if (slot.pending) unstarted.push(this.#finishUnstarted(slot.pending, 'server shutting down'));
        slot.pending = undefined;
        if (mode === 'cancel') slot.running?.controller.abort(new Error('server shutting down'));
      }
      await Promise.all(unstarted);
      let bound: unknown;
      await Promise.race([this.onIdle(), new Promise<void>((resolve) => (bound = this.#clock.setTimeout(resolve, timeoutMs)))]);
      this.#clock.clearTimeout(bound);
    })();
    return this.#shutdown;
  }

  #policy(kind: JobKind): KindPolicy {
    const policy = this.#options.kinds[kind];
    if (!policy) throw new Error(`this job queue runs no ${kind} jobs`);
    return policy;
  }

  #slot(kind: JobKind, project: string): Slot {
    const key = slotKey(kind, project);
    let slot = this.#slots.get(key);
    if (!slot) this.#slots.set(key, (slot = { kind }));
    return slot;
  }

  #live(jobId: string): LiveJob | undefined {
    for (const slot of this.#slots.values()) {
      if (slot.running?.record.id === jobId) return slot.running;
      if (slot.pending?.record.id === jobId) return slot.pending;
    }
    return undefined;
  }

  /** Sets the pending job's timer. Even a due job goes through a timer: the request that queued it answers first. */
  #arm(slot: Slot): void {
    const job = slot.pending;
    if (!job || job.dispatched || slot.running || this.#closed) return;
    if (job.timer !== undefined) this.#clock.clearTimeout(job.timer);
    job.timer = this.#clock.setTimeout(() => {
      job.timer = undefined;
      this.#dispatch(slot, job);
    }, Math.max(0, job.notBefore - this.#clock.now()));
  }

  #dispatch(slot: Slot, job: LiveJob): void {
    if (slot.pending !== job || slot.running || this.#closed) return;
    job.dispatched = true;
    const runner = this.#runners.get(slot.kind)!;
    // A job cancelled while it waits for a place is taken out of p-queue (the rejection is expected).
    runner.add(() => this.#run(slot, job), { signal: job.dispatch.signal }).catch(() => undefined);
  }

  async #run(slot: Slot, job: LiveJob): Promise<void> {
    if (slot.pending !== job || job.dispatch.signal.aborted) return;
    const { record } = job;
    slot.pending = undefined;
    slot.running = job;
    const started = this.#clock.now();
    slot.lastStart = started;
    record.state = 'running';
    record.startedAt = new Date(started).toISOString();
    await this.#saveQuietly(job);
    this.#emit('started', record);
    try {
      const outcome = await this.#policy(slot.kind).handler({ record, trigger: job.trigger, signal: job.controller.signal }, (progress) => this.#progress(job, progress));
      Object.assign(record, outcome);
      record.state = job.controller.signal.aborted ? 'cancelled' : 'succeeded';
    } catch (error) {
      record.state = job.controller.signal.aborted ? 'cancelled' : 'failed';
      record.error = errorMessage(error);
    }
    record.finishedAt = new Date(this.#clock.now()).toISOString();
    record.durationMs = this.#clock.now() - started;
    await this.#saveQuietly(job);
    slot.running = undefined;
    this.#emit('finished', record);
    this.#arm(slot);
    this.#wakeIdleWaiters();
  }

  #progress(job: LiveJob, progress: TrainProgress): void {
    const { record } = job;
    if (record.state !== 'running') return;
    record.progress = progress;
    const phaseChange = progress.phase !== undefined && progress.phase !== record.history?.at(-1)?.phase;
    appendHistory(record, progress, new Date(this.#clock.now()));
    this.#emit('progress', record);
    if (phaseChange || this.#clock.now() - job.lastSave >= (this.#options.progressSaveMs ?? 1000)) void this.#saveQuietly(job);
  }

  async #finishUnstarted(job: LiveJob, reason: string): Promise<void> {
    if (job.timer !== undefined) this.#clock.clearTimeout(job.timer);
    job.dispatch.abort();
    job.record.state = 'cancelled';
    job.record.error = reason;
    job.record.finishedAt = new Date(this.#clock.now()).toISOString();
    await this.#saveQuietly(job);
    this.#emit('finished', job.record);
    this.#wakeIdleWaiters();
  }

  #saveQuietly(job: LiveJob): Promise<void> {
    job.lastSave = this.#clock.now();
    return this.#records.saveQuietly(job.record);
  }

  #emit(type: JobEvent['type'], record: JobRecord): void {
    this.#listeners.emit({ type, job: structuredClone(record) });
  }

  #isIdle(): boolean {
    for (const slot of this.#slots.values()) if (slot.pending || slot.running) return false;
    return true;
  }

  #wakeIdleWaiters(): void {
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}

function slotKey(kind: JobKind, project: string): string {
  return `${kind}\u0000${project}`;
}
