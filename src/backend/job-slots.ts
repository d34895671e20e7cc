/**
 * Distributed mode's per-project job slots in Redis: for each job kind and project, the job
 * running and the job pending, when the project last started a job and when the pending one may
 * start. Every change happens under the slot's lock (a short SET NX PX lock, released only by its
 * holder), so triggers arriving on several replicas at once join one pending job and a project
 * never starts two. The lock is held for a few commands; its expiry frees it if the holder dies.
 */
import { randomUUID } from 'node:crypto';
import { MlBackendError } from '../errors.js';
import type { JobKind } from '../types.js';
import { execAll, guarded, type Redis, type RedisKeys } from '../store/redis-connection.js';

export interface SlotState {
  pending?: string;
  running?: string;
  /** When the project last started a job of this kind (epoch ms). */
  lastStart?: number;
  /** Earliest start of the pending job (epoch ms). */
  notBefore?: number;
}

const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
const LOCK_TTL_MS = 5_000;
const LOCK_WAIT_MS = 10_000;

const member = (kind: JobKind, project: string) => `${kind}:${project}`;
const numberOrUndefined = (text: string | undefined) => (text === undefined || text === '' ? undefined : Number(text));

export class JobSlots {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Runs `fn` holding the slot's lock. */
  async lock<T>(kind: JobKind, project: string, fn: () => Promise<T>): Promise<T> {
    const key = this.keys.slotLock(kind, project);
    const token = randomUUID();
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const taken = await guarded('locking a job slot', () => this.redis.set(key, token, 'PX', LOCK_TTL_MS, 'NX'));
      if (taken === 'OK') break;
      if (Date.now() > deadline) throw new MlBackendError('MLB_ERR_REDIS_UNAVAILABLE', 503, `the ${kind} slot of project ${project} stayed locked for ${LOCK_WAIT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    try {
      return await fn();
    } finally {
      await this.redis.eval(RELEASE, 1, key, token).catch(() => undefined); // else it expires
    }
  }

  async read(kind: JobKind, project: string): Promise<SlotState> {
    const fields = await guarded('reading a job slot', () => this.redis.hgetall(this.keys.slot(kind, project)));
    const state: SlotState = {};
    if (fields.pending) state.pending = fields.pending;
    if (fields.running) state.running = fields.running;
    const lastStart = numberOrUndefined(fields.lastStart);
    const notBefore = numberOrUndefined(fields.notBefore);
    if (lastStart !== undefined) state.lastStart = lastStart;
    if (notBefore !== undefined) state.notBefore = notBefore;
    return state;
  }

  async setPending(kind: JobKind, project: string, jobId: string, notBefore: number): Promise<void> {
    await this.#exec('queueing a job', (multi) =>
      multi.hset(this.keys.slot(kind, project), 'pending', jobId, 'notBefore', String(notBefore)).sadd(this.keys.slotsWith('pending'), member(kind, project)));
  }

  async setNotBefore(kind: JobKind, project: string, notBefore: number): Promise<void> {
    await this.#exec('queueing a job', (multi) => multi.hset(this.keys.slot(kind, project), 'notBefore', String(notBefore)));
  }

  /** The pending job becomes the running one. */
  async start(kind: JobKind, project: string, jobId: string, now: number): Promise<void> {
    await this.#exec('starting a job', (multi) =>
      multi
        .hset(this.keys.slot(kind, project), 'running', jobId, 'lastStart', String(now))
        .hdel(this.keys.slot(kind, project), 'pending', 'notBefore')
        .srem(this.keys.slotsWith('pending'), member(kind, project))
        .sadd(this.keys.slotsWith('running'), member(kind, project)));
  }

  /** The running job was taken up again (its trainer died or shut down). */
  async restart(kind: JobKind, project: string, now: number): Promise<void> {
    await this.#exec('starting a job', (multi) => multi.hset(this.keys.slot(kind, project), 'lastStart', String(now)));
  }

  /** Forgets `jobId` wherever the slot holds it (finished, cancelled or lost). */
  async release(kind: JobKind, project: string, jobId: string): Promise<void> {
    const slot = await this.read(kind, project);
    await this.#exec('finishing a job', (multi) => {
      const key = this.keys.slot(kind, project);
      if (slot.running === jobId) multi.hdel(key, 'running').srem(this.keys.slotsWith('running'), member(kind, project));
      if (slot.pending === jobId) multi.hdel(key, 'pending', 'notBefore').srem(this.keys.slotsWith('pending'), member(kind, project));
      return multi;
    });
  }

  /** Running and pending jobs of every project and kind, cluster-wide. */
  async counts(): Promise<{ running: number; pending: number }> {
    const [running, pending] = (await guarded('counting jobs', () =>
      execAll(this.redis.multi().scard(this.keys.slotsWith('running')).scard(this.keys.slotsWith('pending'))))) as number[];
    return { running: running ?? 0, pending: pending ?? 0 };
  }

  async #exec(action: string, build: (multi: ReturnType<Redis['multi']>) => ReturnType<Redis['multi']>): Promise<void> {
    await guarded(action, () => execAll(build(this.redis.multi())));
  }
}
