/** Job records in SQLite, so /job_status answers after a restart too. */
import type { JobRecord } from '../types.js';
import type { Db } from './database.js';
import type { JobStore } from './types.js';

export const DEFAULT_LIST_LIMIT = 50;

/** A job that will never finish by itself, as a failed record (its duration when it had started). */
export function failedRecord(job: JobRecord, reason: string, finishedAt: Date): JobRecord {
  const failed: JobRecord = { ...job, state: 'failed', error: reason, finishedAt: finishedAt.toISOString() };
  const startedMs = job.startedAt === undefined ? NaN : Date.parse(job.startedAt);
  if (Number.isFinite(startedMs)) failed.durationMs = Math.max(0, finishedAt.getTime() - startedMs);
  return failed;
}

export class SqliteJobStore implements JobStore {
  readonly #db: Db;
  readonly #save;
  readonly #get;
  readonly #list;
  readonly #unfinished;

  constructor(db: Db) {
    this.#db = db;
    this.#save = db.prepare<[string, string, string, string, string]>(
      `INSERT INTO jobs (id, project, state, created_at, json) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET project = excluded.project, state = excluded.state,
         created_at = excluded.created_at, json = excluded.json`);
    this.#get = db.prepare<[string], { json: string }>('SELECT json FROM jobs WHERE id = ?');
    // rowid breaks ties between jobs created in the same millisecond (insertion order).
    this.#list = db.prepare<[string, number], { json: string }>(
      'SELECT json FROM jobs WHERE project = ? ORDER BY created_at DESC, rowid DESC LIMIT ?');
    this.#unfinished = db.prepare<[], { json: string }>(
      "SELECT json FROM jobs WHERE state IN ('queued', 'running') ORDER BY created_at, rowid");
  }

  async save(job: JobRecord): Promise<void> {
    this.#saveNow(job);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const row = this.#get.get(id);
    return row === undefined ? undefined : (JSON.parse(row.json) as JobRecord);
  }

  async listByProject(project: string, limit = DEFAULT_LIST_LIMIT): Promise<JobRecord[]> {
    const n = Number.isSafeInteger(limit) && limit > 0 ? limit : DEFAULT_LIST_LIMIT;
    return this.#list.all(project, n).map((row) => JSON.parse(row.json) as JobRecord);
  }

  async listUnfinished(): Promise<JobRecord[]> {
    return this.#unfinished.all().map((row) => JSON.parse(row.json) as JobRecord);
  }

  async failInterrupted(reason: string): Promise<JobRecord[]> {
    const finishedAt = new Date();
    return this.#db.transaction(() => this.#unfinished.all().map((row) => {
      const failed = failedRecord(JSON.parse(row.json) as JobRecord, reason, finishedAt);
      this.#saveNow(failed);
      return failed;
    }))();
  }

  #saveNow(job: JobRecord): void {
    this.#save.run(job.id, job.project, job.state, job.createdAt, JSON.stringify(job));
  }
}
