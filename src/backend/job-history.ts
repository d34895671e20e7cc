/**
 * A job's progress history (contract C2): the reports a loss curve is drawn from, kept on the job
 * record. Every report with an `epoch` is kept, and so is every change of phase; a long job's
 * older half is thinned so the record stays small however many epochs it runs.
 */
import type { JobRecord, TrainProgress } from '../types.js';

/** Most entries a job record keeps. */
export const MAX_HISTORY = 500;

/** Sets the job's current progress and appends the report to its history when it is worth keeping. */
export function recordProgress(record: JobRecord, progress: TrainProgress, now: Date): void {
  const phaseChanged = progress.phase !== undefined && progress.phase !== record.progress?.phase;
  record.progress = progress;
  if (progress.epoch === undefined && !phaseChanged) return;
  const history = (record.history ??= []);
  history.push({ ...progress, at: now.toISOString() });
  if (history.length > MAX_HISTORY) thinOlderHalf(history);
}

/** Drops every second entry of the older half: the curve keeps its shape, recent epochs stay exact. */
function thinOlderHalf<T>(history: T[]): void {
  const half = Math.floor(history.length / 2);
  const older = history.slice(0, half).filter((_, i) => i % 2 === 0);
  history.splice(0, half, ...older);
}
