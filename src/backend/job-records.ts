/**
 * Job records and their timing, for any queue implementation: the one writer (saves in call
 * order, each a snapshot of the record as it was), new records, and when a pending job may start.
 */
import { randomUUID } from 'node:crypto';
import type { JobKind, JobRecord } from '../types.js';
import type { JobStore } from '../store/types.js';
import type { JobTrigger, KindPolicy } from './job-queue.js';

export class JobRecordWriter {
  #saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: JobStore,
    /** Told about a record that could not be saved by `saveQuietly` (the job itself goes on). */
    private readonly onError: (error: unknown, job: JobRecord) => void = () => undefined,
  ) {}

  /** Saves; rejects when the store fails (the caller decides). */
  save(record: JobRecord): Promise<void> {
    const snapshot = structuredClone(record);
    const saved = this.#saving.then(() => this.store.save(snapshot));
    this.#saving = saved.catch(() => undefined);
    return saved;
  }

  /** Saves; a failure is reported, not thrown (a running job must not die of a full disk). */
  async saveQuietly(record: JobRecord): Promise<void> {
    try {
      await this.save(record);
    } catch (error) {
      this.onError(error, record);
    }
  }
}

/** A stream of triggers postpones its job by at most this many debounce periods. */
const MAX_DEBOUNCE_PERIODS = 5;

/**
 * When a pending job may start: after the minimum interval since the project's last start, and
 * for non-immediate triggers after a quiet moment (debounce, bounded since the job was created).
 */
export function earliestStart(
  policy: Pick<KindPolicy, 'minIntervalMs' | 'debounceMs'>,
  trigger: Pick<JobTrigger, 'immediate'>,
  at: { now: number; createdAt: number; lastStart: number | undefined },
): number {
  const debounce = policy.debounceMs ?? 0;
  const interval = at.lastStart === undefined ? 0 : at.lastStart + (policy.minIntervalMs ?? 0);
  const quiet = trigger.immediate || debounce === 0 ? at.now : Math.min(at.now + debounce, at.createdAt + debounce * MAX_DEBOUNCE_PERIODS);
  return Math.max(interval, quiet);
}

/** A new job's record: the id sorts by creation time and is unique. */
export function newJobRecord(kind: JobKind, project: string, event: string, now: number): JobRecord {
  return { id: `${now.toString(36)}-${randomUUID().slice(0, 8)}`, kind, project, state: 'queued', event, triggers: 1, createdAt: new Date(now).toISOString() };
}
