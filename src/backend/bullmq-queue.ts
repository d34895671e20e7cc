/**
 * The job queue of a distributed deployment, on BullMQ. The per-project rule holds cluster-wide:
 * the project's slot in Redis (./job-slots.ts) names its running and pending job, and a trigger
 * from any replica joins the pending job under the slot's lock. Jobs run in the processes whose
 * ROLE runs their kind (./bullmq-worker.ts); records are in the shared job store, so every
 * process answers the same; queued, started and finished events and cancellations reach every
 * process through ./job-bus.ts.
 */
import { shuttingDown } from '../errors.js';
import type { JobKind, JobRecord } from '../types.js';
import { QueueCore, iso, isFinal, type BullMqJobQueueOptions } from './bullmq-core.js';
import { JobWorkers } from './bullmq-worker.js';
import type { BusMessage } from './job-bus.js';
import type { JobListener, JobQueue, JobTrigger } from './job-queue.js';
import { earliestStart, newJobRecord } from './job-records.js';

export type { BullMqJobQueueOptions } from './bullmq-core.js';

export class BullMqJobQueue implements JobQueue {
  readonly #core: QueueCore;
  readonly #workers: JobWorkers;
  readonly #timers: NodeJS.Timeout[] = [];
  #counts = { running: 0, pending: 0 };
  #closed = false;
  #shutdown: Promise<void> | undefined;

  constructor(options: BullMqJobQueueOptions) {
    this.#core = new QueueCore(options, (message, own) => this.#onBusMessage(message, own));
    this.#workers = new JobWorkers(this.#core);
    this.#every(1000, () => this.#refreshCounts());
    if (options.runs.length > 0) this.#every(Math.max(1000, options.lockMs * 2), () => this.#workers.sweep());
  }

  /** Resolves once the queue listens for events of other processes. */
  async ready(): Promise<void> {
    await this.#core.bus.ready();
    await this.#refreshCounts();
  }

  /** The state of the Redis connection (`ready` when reachable). */
  get redisStatus(): string {
    return this.#core.redis.status;
  }

  handles(kind: JobKind): boolean {
    return this.#core.handles(kind);
  }

  async enqueue(kind: JobKind, project: string, trigger: JobTrigger): Promise<JobRecord> {
    if (this.#closed) throw shuttingDown(`no new ${kind} job is queued`);
    const core = this.#core;
    const policy = core.policy(kind);
    const queue = core.queue(kind);
    return core.slots.lock(kind, project, async () => {
      const slot = await core.slots.read(kind, project);
      const now = Date.now();
      if (slot.pending !== undefined) {
        const pending = await core.store.get(slot.pending);
        const job = pending && !isFinal(pending) ? await queue.getJob(slot.pending) : undefined;
        if (pending && job) {
          pending.event = trigger.event;
          pending.triggers += 1;
          const notBefore = earliestStart(policy, trigger, { now, createdAt: Date.parse(pending.createdAt), lastStart: slot.lastStart });
          await job.updateData({ project, trigger });
          await core.slots.setNotBefore(kind, project, notBefore);
          // A later start is enforced when the job is picked up; an earlier one (Start Training) is made now.
          if (notBefore < (slot.notBefore ?? 0) && (await job.isDelayed())) await job.changeDelay(Math.max(1, notBefore - now));
          await core.records.save(pending);
          return pending;
        }
        await core.abandon(kind, project, slot.pending, 'the pending job was lost from the queue');
      }
      const record = newJobRecord(kind, project, trigger.event, now);
      const notBefore = earliestStart(policy, trigger, { now, createdAt: now, lastStart: slot.lastStart });
      await core.records.save(record);
      await queue.add(kind, { project, trigger }, { jobId: record.id, delay: Math.max(0, notBefore - now), removeOnComplete: true, removeOnFail: { age: 86_400 } });
      await core.slots.setPending(kind, project, record.id, notBefore);
      core.emit('queued', record);
      return record;
    });
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    return this.#workers.live(jobId) ?? this.#core.store.get(jobId);
  }

  async active(kind: JobKind, project: string): Promise<{ running?: JobRecord; pending?: JobRecord }> {
    const slot = await this.#core.slots.read(kind, project);
    const read = (id: string | undefined) => (id === undefined ? Promise.resolve(undefined) : this.get(id));
    const [running, pending] = await Promise.all([read(slot.running), read(slot.pending)]);
    return { ...(running && !isFinal(running) && { running }), ...(pending && !isFinal(pending) && { pending }) };
  }

  async recent(project: string, limit: number): Promise<JobRecord[]> {
    const stored = await this.#core.store.listByProject(project, limit);
    return stored.map((record) => this.#workers.live(record.id) ?? record);
  }

  async cancel(jobId: string, reason = 'cancelled'): Promise<boolean> {
    const core = this.#core;
    const found = await core.store.get(jobId);
    if (!found || isFinal(found)) return false;
    const kind = found.kind ?? 'train';
    return core.slots.lock(kind, found.project, async () => {
      const record = await core.store.get(jobId);
      if (!record || isFinal(record)) return false;
      const slot = await core.slots.read(kind, record.project);
      if (slot.running === jobId || record.state === 'running') {
        // Wherever it runs, or is taken up again after its worker died.
        await core.redis.set(core.keys.cancelRequest(jobId), reason, 'EX', 86_400);
        this.#workers.cancel(jobId, reason);
        await core.bus.publish({ type: 'cancel', jobId, reason });
        return true;
      }
      await core.slots.release(kind, record.project, jobId);
      Object.assign(record, { state: 'cancelled', error: reason, finishedAt: iso(Date.now()) });
      await core.records.save(record);
      // A job being picked up right now is locked: its worker finds the record final and drops it.
      await core.queue(kind).remove(jobId).catch(() => undefined);
      core.emit('finished', record);
      return true;
    });
  }

  subscribe(listener: JobListener): () => void {
    return this.#core.listeners.add(listener);
  }

  /** Running and pending jobs of the whole deployment (read every second). */
  stats(): { running: number; pending: number } {
    return { ...this.#counts };
  }

  /** Resolves when no job of the deployment runs or waits. */
  async onIdle(): Promise<void> {
    for (;;) {
      await this.#refreshCounts();
      if (this.#workers.running === 0 && this.#counts.running === 0 && this.#counts.pending === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops taking jobs; 'cancel' hands running jobs back to the queue, 'finish' lets them end (bounded). Pending jobs stay queued. */
  shutdown(mode: 'cancel' | 'finish', timeoutMs: number): Promise<void> {
    this.#closed = true;
    this.#shutdown ??= (async () => {
      for (const timer of this.#timers) clearInterval(timer);
      await this.#workers.close(mode, timeoutMs);
      await this.#core.close();
    })();
    return this.#shutdown;
  }

  #onBusMessage(message: BusMessage, own: boolean): void {
    if (message.type === 'cancel') this.#workers.cancel(message.jobId, message.reason);
    else if (!own) this.#core.listeners.emit({ type: message.type, job: message.job, remote: true });
  }

  async #refreshCounts(): Promise<void> {
    this.#counts = await this.#core.slots.counts().catch(() => this.#counts);
  }

  #every(ms: number, fn: () => Promise<void>): void {
    const timer = setInterval(() => void fn(), ms);
    timer.unref();
    this.#timers.push(timer);
  }
}
