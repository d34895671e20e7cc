/**
 * The prediction refresh's ledger, one per project, kept in the key-value store (so a Redis-backed
 * store shares it between processes): which version is being written, how far (a task-id cursor:
 * tasks are listed in id order), the counts, the tasks that failed and when to try them again,
 * who runs it (to resume after a crash), and every version this backend wrote (what the clean-up
 * of older versions may delete).
 */
import os from 'node:os';
import type { JsonValue, PredictionRefreshStatus } from '../../types.js';
import type { KeyValueStore } from '../../store/types.js';
import { isObject } from '../../util/json.js';

export const REFRESH_STATE_KEY = 'mlbackend.prediction_refresh';

export type RefreshStatus = PredictionRefreshStatus['status'];

export interface TaskFailure {
  attempts: number;
  error: string;
  /** ISO time of the next try. */
  next_at: string;
}

export interface RefreshState {
  job_id: string;
  version: string;
  /** The version was asked for (`predict --version`); otherwise the refresh follows the served version. */
  pinned: boolean;
  only_unlabelled: boolean;
  batch: number;
  status: RefreshStatus;
  /** Every task with an id up to this one was handled. */
  cursor: number;
  total: number;
  done: number;
  written: number;
  /** Tasks that already had a prediction of this version (none is written twice). */
  skipped: number;
  errors: number;
  failures: Record<string, TaskFailure>;
  owner: { host: string; pid: number };
  started_at: string;
  updated_at: string;
  finished_at?: string;
  /** Label Studio's project.model_version now names this version. */
  activated?: boolean;
  deleted_versions?: string[];
  error?: string;
  /** Every version this backend wrote predictions of in the project, oldest first. */
  versions_written: string[];
}

/** Failures kept in the ledger (the count goes on beyond). */
export const MAX_RECORDED_FAILURES = 200;
const MAX_VERSIONS_KEPT = 100;

export class RefreshLedger {
  constructor(private readonly kv: KeyValueStore) {}

  async load(project: string): Promise<RefreshState | undefined> {
    const value = await this.kv.get(project, REFRESH_STATE_KEY);
    return isObject(value) && typeof value['version'] === 'string' ? (value as unknown as RefreshState) : undefined;
  }

  async save(project: string, state: RefreshState): Promise<void> {
    state.updated_at = new Date().toISOString();
    state.versions_written = state.versions_written.slice(-MAX_VERSIONS_KEPT);
    await this.kv.set(project, REFRESH_STATE_KEY, state as unknown as JsonValue);
  }
}

export function newState(fields: Pick<RefreshState, 'job_id' | 'version' | 'pinned' | 'only_unlabelled' | 'batch'>, prior: RefreshState | undefined): RefreshState {
  const now = new Date().toISOString();
  const written = prior?.versions_written ?? [];
  return {
    ...fields,
    status: 'running',
    cursor: 0,
    total: 0,
    done: 0,
    written: 0,
    skipped: 0,
    errors: 0,
    failures: {},
    owner: thisProcess(),
    started_at: now,
    updated_at: now,
    versions_written: written.includes(fields.version) ? written : [...written, fields.version],
  };
}

export function thisProcess(): { host: string; pid: number } {
  return { host: os.hostname(), pid: process.pid };
}

/** A refresh whose process is gone: this host's pid is not alive (or is this process), or another host stopped writing. */
export function isOrphaned(state: RefreshState, staleMs = 120_000): boolean {
  if (state.status === 'interrupted') return true;
  if (state.status !== 'running') return false;
  if (state.owner.host !== os.hostname()) return Date.now() - Date.parse(state.updated_at) > staleMs;
  if (state.owner.pid === process.pid) return true;
  try {
    process.kill(state.owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** What /versions (and the /ui page) shows of a project's refresh. */
export function statusJson(state: RefreshState): PredictionRefreshStatus {
  const failures = Object.entries(state.failures).slice(0, 10).map(([task, f]) => ({ task: Number(task), attempts: f.attempts, error: f.error }));
  return {
    version: state.version,
    status: state.status,
    job_id: state.job_id,
    only_unlabelled: state.only_unlabelled,
    done: state.done,
    total: state.total,
    written: state.written,
    skipped: state.skipped,
    errors: state.errors,
    ...(failures.length > 0 && { failures }),
    ...(state.activated !== undefined && { activated: state.activated }),
    ...(state.error !== undefined && { error: state.error }),
    started_at: state.started_at,
    updated_at: state.updated_at,
    ...(state.finished_at !== undefined && { finished_at: state.finished_at }),
  };
}
