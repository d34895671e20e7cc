/**
 * Job records in Redis (distributed mode), so /job_status and /is_training answer the same on
 * every replica: one JSON value per job, a per-project index by creation time and the set of
 * unfinished jobs. Written only by the job queue.
 */
import type { JobRecord } from '../types.js';
import { DEFAULT_LIST_LIMIT, failedRecord } from './job-store.js';
import { execAll, guarded, type Redis, type RedisKeys } from './redis-connection.js';
import type { JobStore } from './types.js';

const unfinished = (job: JobRecord) => job.state === 'queued' || job.state === 'running';

export class RedisJobStore implements JobStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async save(job: JobRecord): Promise<void> {
    await guarded('saving a job record', () => execAll(this.#write(this.redis.multi(), job)));
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const text = await guarded('reading a job record', () => this.redis.get(this.keys.job(id)));
    return text === null ? undefined : (JSON.parse(text) as JobRecord);
  }

  async listByProject(project: string, limit = DEFAULT_LIST_LIMIT): Promise<JobRecord[]> {
    const n = Number.isSafeInteger(limit) && limit > 0 ? limit : DEFAULT_LIST_LIMIT;
    const ids = await guarded('listing job records', () => this.redis.zrevrange(this.keys.projectJobs(project), 0, n - 1));
    return this.#many(ids);
  }

  async listUnfinished(): Promise<JobRecord[]> {
    const ids = await guarded('listing job records', () => this.redis.smembers(this.keys.unfinishedJobs));
    const jobs = (await this.#many(ids)).filter(unfinished);
    return jobs.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async failInterrupted(reason: string): Promise<JobRecord[]> {
    const finishedAt = new Date();
    const failed = (await this.listUnfinished()).map((job) => failedRecord(job, reason, finishedAt));
    if (failed.length > 0) {
      await guarded('saving job records', () => execAll(failed.reduce((multi, job) => this.#write(multi, job), this.redis.multi())));
    }
    return failed;
  }

  #write<M extends ReturnType<Redis['multi']>>(multi: M, job: JobRecord): M {
    multi.set(this.keys.job(job.id), JSON.stringify(job));
    // NX: a job keeps its place in the project's list however often it is saved.
    multi.zadd(this.keys.projectJobs(job.project), 'NX', Date.parse(job.createdAt) || 0, job.id);
    if (unfinished(job)) multi.sadd(this.keys.unfinishedJobs, job.id);
    else multi.srem(this.keys.unfinishedJobs, job.id);
    return multi;
  }

  async #many(ids: string[]): Promise<JobRecord[]> {
    if (ids.length === 0) return [];
    const texts = await guarded('reading job records', () => this.redis.mget(...ids.map((id) => this.keys.job(id))));
    return texts.flatMap((text) => (text === null ? [] : [JSON.parse(text) as JobRecord]));
  }
}
