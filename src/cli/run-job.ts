/** Runs one job of a backend opened by a one-shot command (train, predict): its progress on stderr, Ctrl-C cancels it. */
import type { JobRecord } from '../types.js';
import type { MLBackend } from '../backend/ml-backend.js';
import type { ProgressView } from './progress.js';
import { isInteractive } from './support.js';

/** Queues one job, shows its progress, and resolves with its final record; Ctrl-C cancels it. */
export async function runOneJob(backend: MLBackend, view: ProgressView, enqueue: () => Promise<JobRecord>): Promise<JobRecord> {
  let jobId: string | undefined;
  const unsubscribe = backend.onJobEvent(({ type, job }) => {
    if (type === 'progress' && job.id === jobId && job.progress) view.update(job.progress);
  });
  // Nothing partial is promoted when the job is cancelled.
  const onSigint = () => {
    if (jobId !== undefined) void backend.cancelJob(jobId, 'cancelled by SIGINT');
  };
  process.once('SIGINT', onSigint);
  try {
    jobId = (await enqueue()).id;
    if (!isInteractive()) console.error(`job ${jobId} started`);
    return await backend.waitForJob(jobId);
  } finally {
    view.stop();
    process.off('SIGINT', onSigint);
    unsubscribe();
  }
}

