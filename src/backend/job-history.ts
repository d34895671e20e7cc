/**
 * A job's progress history (contract C2): every report that carries an epoch, and every phase
 * change, in order. At most HISTORY_LIMIT entries: when full, every second entry of the older
 * half is dropped, so a long training keeps its whole curve at a coarser grain.
 */
import type { JobRecord, TrainProgress } from '../types.js';

export const HISTORY_LIMIT = 500;

/** True when `progress` went into the history. */
export function appendHistory(record: JobRecord, progress: TrainProgress, at: Date): boolean {
  const history = (record.history ??= []);
  const last = history.at(-1);
  const phaseChanged = progress.phase !== undefined && progress.phase !== last?.phase;
  if (progress.epoch === undefined && !phaseChanged) return false;
  history.push({ ...progress, at: at.toISOString() });
  if (history.length > HISTORY_LIMIT) thin(history);
  return true;
}

function thin<T>(history: T[]): void {
  const older = Math.floor(history.length / 2);
  const kept = history.slice(0, older).filter((_, i) => i % 2 === 0);
  history.splice(0, older, ...kept);
}
