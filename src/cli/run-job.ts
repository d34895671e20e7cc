/** One-shot commands (train, predict): a backend of their own on MODEL_DIR, and one job run in it with its progress on stderr. */
import type { JobRecord } from '../types.js';
import type { BackendConfig } from '../config/index.js';
import type { MLBackend } from '../backend/ml-backend.js';
import type { ProgressView } from './progress.js';
import { existingEntry, isInteractive, resolveModelDir } from './support.js';

export interface OneShotFlags {
  entry?: string;
  export?: string;
  modelDir?: string;
  logLevel: BackendConfig['logLevel'];
  tfjsBackend?: BackendConfig['tfjsBackend'];
}

/**
 * Opens a backend for one job, logging to stderr. It never refreshes Label Studio's predictions by
 * itself (a server on the same MODEL_DIR sees a new version and does), nor resumes other projects'.
 */
export async function openOneShotBackend(flags: OneShotFlags): Promise<{ backend: MLBackend; config: BackendConfig }> {
  const module = existingEntry(flags.entry);
  const [{ loadConfig }, { MLBackend }, { createLogger }] = await Promise.all([
    import('../config/index.js'),
    import('../backend/ml-backend.js'),
    import('../logger.js'),
  ]);
  const config = loadConfig(process.env, {
    modelDir: resolveModelDir(flags.modelDir),
    logLevel: flags.logLevel,
    predictionRefresh: 'off',
    ...(flags.tfjsBackend !== undefined && { tfjsBackend: flags.tfjsBackend }),
  });
  const logger = createLogger({ level: config.logLevel, destination: process.stderr, pretty: false });
  const backend = await MLBackend.create({ config, logger, model: { module: { module, ...(flags.export !== undefined && { exportName: flags.export }) } } });
  return { backend, config };
}

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

