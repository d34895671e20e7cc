/**
 * Training jobs: per project one running and at most one pending. A trigger that arrives while a
 * job is pending joins it (a burst of webhooks becomes one job that trains on everything
 * received); jobs of different projects share a global concurrency limit.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { JobRecord, JsonObject, TrainProgress } from '../types.js';
import type { JobStore } from '../store/types.js';
import { recordProgress } from './job-history.js';

export interface TrainTrigger {
  event: string;
  data: JsonObject;
  /** START_TRAINING and /train start at once; annotation events wait for a quiet moment. */
  immediate?: boolean;
}

export interface QueuedJob {
  record: JobRecord;
  trigger: TrainTrigger;
  /** Earliest start (TRAIN_MIN_INTERVAL_S), epoch ms. */
  notBefore: number;
  controller: AbortController;
}

export type RunJob = (job: QueuedJob, onProgress: (p: TrainProgress) => void) => Promise<Partial<JobRecord>>;

export interface JobQueueOptions {
  run: RunJob;
  store: JobStore;
  concurrency: number;
  minIntervalMs: number;
  /** Quiet time an annotation-triggered job waits for more annotations before it starts. */
  debounceMs?: number;
  now?: () => number;
}

/** A stream of annotations postpones its job by at most this many debounce periods. */
const MAX_DEBOUNCE_PERIODS = 5;

interface ProjectSlot {
  running?: QueuedJob | undefined;
  pending?: QueuedJob | undefined;
  lastStart?: number;
  timer?: NodeJS.Timeout | undefined;
}

export type JobEvent = 'queued' | 'started' | 'progress' | 'finished';

export class JobQueue extends EventEmitter {
  readonly #options: JobQueueOptions;
  readonly #slots = new Map<string, ProjectSlot>();
  readonly #waiting: string[] = [];
  #active = 0;
  #closed = false;
  readonly #idleWaiters: Array<() => void> = [];

  constructor(options: JobQueueOptions) {
    super();
    this.#options = options;
  }

  get runningCount(): number {
    return this.#active;
  }

  /** Queues training for a project, or joins the pending job. Returns the job the trigger landed in. */
  enqueue(project: string, trigger: TrainTrigger): JobRecord {
    if (this.#closed) throw new Error('job queue is shut down');
    const slot = this.#slot(project);
    const now = this.#now();
    if (slot.pending) {
      const pending = slot.pending;
      pending.trigger = trigger;
      pending.record.event = trigger.event;
      pending.record.triggers += 1;
      pending.notBefore = this.#startTime(slot, now, trigger, Date.parse(pending.record.createdAt));
      this.#options.store.save(pending.record);
      this.#reschedule(project);
      return pending.record;
    }
    const record: JobRecord = {
      id: `${now.toString(36)}-${randomUUID().slice(0, 8)}`,
      project,
      state: 'queued',
      event: trigger.event,
      triggers: 1,
      createdAt: new Date(now).toISOString(),
    };
    const notBefore = this.#startTime(slot, now, trigger, now);
    slot.pending = { record, trigger, notBefore, controller: new AbortController() };
    this.#options.store.save(record);
    this.emit('queued', record);
    this.#schedule(project);
    return record;
  }

  /** Running and pending job of a project, if any. */
  active(project: string): { running?: JobRecord; pending?: JobRecord } {
    const slot = this.#slots.get(project);
    const result: { running?: JobRecord; pending?: JobRecord } = {};
    if (slot?.running) result.running = slot.running.record;
    if (slot?.pending) result.pending = slot.pending.record;
    return result;
  }

  /** A live job by id (running or pending); finished jobs are in the JobStore. */
  find(jobId: string): JobRecord | undefined {
    for (const slot of this.#slots.values()) {
      if (slot.running?.record.id === jobId) return slot.running.record;
      if (slot.pending?.record.id === jobId) return slot.pending.record;
    }
    return undefined;
  }

  /** Cancels a pending or running job. */
  cancel(jobId: string, reason = 'cancelled'): boolean {
    for (const [project, slot] of this.#slots) {
      if (slot.pending?.record.id === jobId) {
        this.#finishUnstarted(project, slot.pending, reason);
        slot.pending = undefined;
        return true;
      }
      if (slot.running?.record.id === jobId) {
        slot.running.controller.abort(new Error(reason));
        return true;
      }
    }
    return false;
  }

  /** Stops taking jobs; cancels pending ones and either cancels or lets running ones finish. */
  async shutdown(mode: 'cancel' | 'finish', timeoutMs: number): Promise<void> {
    this.#closed = true;
    for (const [project, slot] of this.#slots) {
      if (slot.timer) clearTimeout(slot.timer);
      if (slot.pending) this.#finishUnstarted(project, slot.pending, 'server shutting down');
      slot.pending = undefined;
      if (mode === 'cancel') slot.running?.controller.abort(new Error('server shutting down'));
    }
    this.#waiting.length = 0;
    await Promise.race([this.onIdle(), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  /** Resolves when nothing runs or waits. */
  onIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    if (this.#active > 0) return false;
    for (const slot of this.#slots.values()) if (slot.pending || slot.running) return false;
    return true;
  }

  #slot(project: string): ProjectSlot {
    let slot = this.#slots.get(project);
    if (!slot) {
      slot = {};
      this.#slots.set(project, slot);
    }
    return slot;
  }

  #now(): number {
    return this.#options.now?.() ?? Date.now();
  }

  /** Earliest start: after the minimum interval, and for annotation bursts after a quiet moment. */
  #startTime(slot: ProjectSlot, now: number, trigger: TrainTrigger, createdAt: number): number {
    const interval = slot.lastStart === undefined ? 0 : slot.lastStart + this.#options.minIntervalMs;
    const debounce = this.#options.debounceMs ?? 0;
    const quiet = trigger.immediate || debounce === 0 ? now : Math.min(now + debounce, createdAt + debounce * MAX_DEBOUNCE_PERIODS);
    return Math.max(interval, quiet);
  }

  #reschedule(project: string): void {
    const slot = this.#slot(project);
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    this.#schedule(project);
  }

  /** Starts the project's pending job when its project is free, its time has come and a place is free. */
  #schedule(project: string): void {
    const slot = this.#slot(project);
    if (!slot.pending || slot.running || this.#closed) return;
    const wait = slot.pending.notBefore - this.#now();
    if (wait > 0) {
      if (!slot.timer) {
        slot.timer = setTimeout(() => {
          slot.timer = undefined;
          this.#schedule(project);
        }, wait);
      }
      return;
    }
    if (this.#active >= this.#options.concurrency) {
      if (!this.#waiting.includes(project)) this.#waiting.push(project);
      return;
    }
    const job = slot.pending;
    slot.pending = undefined;
    slot.running = job;
    slot.lastStart = this.#now();
    this.#active += 1;
    // The job starts after the current request has answered (webhooks must be acknowledged at once).
    setImmediate(() => void this.#run(project, job));
  }

  async #run(project: string, job: QueuedJob): Promise<void> {
    const record = job.record;
    const started = this.#now();
    record.state = 'running';
    record.startedAt = new Date(started).toISOString();
    this.#options.store.save(record);
    this.emit('started', record);
    try {
      const outcome = await this.#options.run(job, (progress) => {
        recordProgress(record, progress, new Date(this.#now()));
        this.emit('progress', record);
      });
      Object.assign(record, outcome);
      record.state = job.controller.signal.aborted ? 'cancelled' : 'succeeded';
    } catch (error) {
      record.state = job.controller.signal.aborted ? 'cancelled' : 'failed';
      record.error = error instanceof Error ? error.message : String(error);
    }
    record.finishedAt = new Date(this.#now()).toISOString();
    record.durationMs = this.#now() - started;
    this.#options.store.save(record);
    const slot = this.#slot(project);
    slot.running = undefined;
    this.#active -= 1;
    this.emit('finished', record);
    this.#schedule(project);
    this.#drainWaiting();
    if (this.#isIdle()) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #drainWaiting(): void {
    while (this.#waiting.length > 0 && this.#active < this.#options.concurrency) {
      const next = this.#waiting.shift();
      if (next !== undefined) this.#schedule(next);
    }
  }

  #finishUnstarted(project: string, job: QueuedJob, reason: string): void {
    job.record.state = 'cancelled';
    job.record.error = reason;
    job.record.finishedAt = new Date(this.#now()).toISOString();
    this.#options.store.save(job.record);
    const waitingIndex = this.#waiting.indexOf(project);
    if (waitingIndex >= 0) this.#waiting.splice(waitingIndex, 1);
    this.emit('finished', job.record);
    if (this.#isIdle()) queueMicrotask(() => this.#isIdle() && this.#idleWaiters.splice(0).forEach((r) => r()));
  }
}
