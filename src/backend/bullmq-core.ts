/**
 * What both sides of the BullMQ job queue share: the connections and keys, the per-project slots,
 * the record writer, the BullMQ queue of each job kind, the event listeners and the bus, and the
 * slot repairs both sides make under a slot's lock (a job that will never finish by itself is
 * failed; a pending job delayed while its project was busy is woken when it is due).
 */
import { Queue } from 'bullmq';
import type { Logger } from '../logger.js';
import type { JobKind, JobRecord } from '../types.js';
import { failedRecord } from '../store/job-store.js';
import { RedisKeys, connectRedis, redisRetryDelay, type Redis, type RedisTarget } from '../store/redis-connection.js';
import type { JobStore } from '../store/types.js';
import { Listeners } from '../util/listeners.js';
import { JobBus, type BusMessage } from './job-bus.js';
import type { JobEvent, JobTrigger, KindPolicy } from './job-queue.js';
import { JobRecordWriter } from './job-records.js';
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

/** A BullMQ job's data: the trigger it carries is the latest one that joined it. */
export interface JobData {
  project: string;
  trigger: JobTrigger;
}

const ALIVE = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);
export const isFinal = (job: JobRecord) => job.state !== 'queued' && job.state !== 'running';
export const iso = (ms: number) => new Date(ms).toISOString();

export class QueueCore {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly slots: JobSlots;
  readonly records: JobRecordWriter;
  readonly bus: JobBus;
  readonly listeners = new Listeners<JobEvent>();
  /** BullMQ's connection options (it opens its own connections from them). */
  readonly connection: { url: string; retryStrategy: (attempt: number) => number };
  readonly #queues = new Map<JobKind, Queue<JobData>>();

  constructor(
    readonly options: BullMqJobQueueOptions,
    onBusMessage: (message: BusMessage, own: boolean) => void,
  ) {
    const { target, logger } = options;
    this.keys = new RedisKeys(target.prefix);
    this.redis = connectRedis(target.url, `${target.prefix}-queue`);
    this.slots = new JobSlots(this.redis, this.keys);
    this.records = new JobRecordWriter(options.store, (error, job) => logger.error({ err: error, job: job.id }, 'could not save a job record'));
    this.bus = new JobBus(this.redis, target.url, this.keys, onBusMessage);
    this.connection = { url: target.url, retryStrategy: redisRetryDelay };
    for (const kind of Object.keys(options.kinds) as JobKind[]) {
      const queue = new Queue<JobData>(kind, { connection: this.connection, prefix: this.keys.bull });
      queue.on('error', () => undefined); // reconnection attempts; commands report their own failures
      this.#queues.set(kind, queue);
    }
  }

  get store(): JobStore {
    return this.options.store;
  }

  get logger(): Logger {
    return this.options.logger;
  }

  handles(kind: JobKind): boolean {
    return this.#queues.has(kind);
  }

  policy(kind: JobKind): KindPolicy {
    const policy = this.options.kinds[kind];
    if (!policy) throw new Error(`this job queue runs no ${kind} jobs`);
    return policy;
  }

  queue(kind: JobKind): Queue<JobData> {
    const queue = this.#queues.get(kind);
    if (!queue) throw new Error(`this job queue has no ${kind} queue`);
    return queue;
  }

  /** Tells this process's listeners and every other process. */
  emit(type: 'queued' | 'started' | 'finished', record: JobRecord): void {
    this.listeners.emit({ type, job: structuredClone(record) });
    void this.bus.publish({ type, job: record });
  }

  /** Whether BullMQ still holds the job as one to run (waiting, delayed, active). */
  async alive(kind: JobKind, jobId: string): Promise<boolean> {
    return ALIVE.has(await this.queue(kind).getJobState(jobId));
  }

  /** Under the slot's lock: a job that will never finish by itself is recorded failed and leaves the slot. */
  async abandon(kind: JobKind, project: string, jobId: string, reason: string): Promise<void> {
    const record = await this.store.get(jobId);
    await this.slots.release(kind, project, jobId);
    if (!record || isFinal(record)) return;
    const failed = failedRecord(record, reason, new Date());
    await this.records.save(failed);
    this.logger.warn({ job: jobId, project, reason }, 'job abandoned');
    this.emit('finished', failed);
  }

  /** Under the slot's lock: a pending job delayed while the project was busy starts when it is due. */
  async wakePending(kind: JobKind, project: string): Promise<void> {
    const slot = await this.slots.read(kind, project);
    if (slot.pending === undefined) return;
    const job = await this.queue(kind).getJob(slot.pending);
    if (!job || !(await job.isDelayed())) return;
    const due = Math.max(slot.notBefore ?? 0, (slot.lastStart ?? 0) + (this.policy(kind).minIntervalMs ?? 0));
    await job.changeDelay(Math.max(1, due - Date.now()));
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    this.bus.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
