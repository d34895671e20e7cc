/**
 * What distributed mode (REDIS_URL) changes in the wiring, and what a process says about it: the
 * job queue (BullMQ on Redis, else in-process), the job kinds each ROLE runs, and the role and
 * Redis state that /health, /ready and /metrics report. Trainers run trainings; prediction
 * refreshes run on api replicas, which hold the warm model of the current version (a refresh
 * calls Label Studio and predicts, it does not train); ROLE=all runs both.
 */
import type { BackendConfig, Role } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { JobKind, JsonObject } from '../types.js';
import type { RedisTarget } from '../store/redis-connection.js';
import type { JobStore } from '../store/types.js';
import { BullMqJobQueue } from './bullmq-queue.js';
import type { Clock } from './clock.js';
import { InProcessJobQueue } from './in-process-queue.js';
import type { JobQueue, KindPolicy } from './job-queue.js';
import type { ReadinessReport } from './readiness.js';

export const KINDS_RUN: Readonly<Record<Role, readonly JobKind[]>> = {
  all: ['train', 'refresh-predictions'],
  api: ['refresh-predictions'],
  trainer: ['train'],
};

export function redisTargetOf(config: Pick<BackendConfig, 'redisUrl' | 'redisPrefix'>): RedisTarget | undefined {
  return config.redisUrl === undefined ? undefined : { url: config.redisUrl, prefix: config.redisPrefix };
}

/** This process's place in the deployment, as /health, /ready and /metrics show it. */
export interface Deployment {
  readonly role: Role;
  /** The Redis connection's state (`ready` when reachable); undefined in single-process mode. */
  redisStatus(): string | undefined;
  /** `report`, not ready while Redis is unreachable. */
  readiness(report: ReadinessReport): ReadinessReport;
  health(): JsonObject;
}

export interface OpenedQueue {
  queue: JobQueue & { handles(kind: JobKind): boolean };
  deployment: Deployment;
}

export async function openJobQueue(options: {
  config: BackendConfig;
  kinds: Partial<Record<JobKind, KindPolicy>>;
  store: JobStore;
  logger: Logger;
  clock?: Clock | undefined;
}): Promise<OpenedQueue> {
  const { config, kinds, store, logger } = options;
  const target = redisTargetOf(config);
  if (!target) {
    const queue = await InProcessJobQueue.open({
      store,
      kinds,
      ...(options.clock && { clock: options.clock }),
      onStoreError: (error, job) => logger.error({ err: error, job: job.id }, 'could not save a job record'),
    });
    for (const job of queue.interrupted) logger.warn({ job: job.id, project: job.project }, 'training job was interrupted by a restart');
    return { queue, deployment: deployment(config.role, () => undefined) };
  }
  const runs = KINDS_RUN[config.role].filter((kind) => kinds[kind] !== undefined);
  const queue = new BullMqJobQueue({ target, store, kinds, runs, lockMs: config.jobLockMs, logger: logger.child({ component: 'queue' }) });
  await queue.ready().catch((error: unknown) => logger.warn({ err: error }, 'Redis is not reachable yet: retrying in the background'));
  logger.info({ role: config.role, runs, prefix: target.prefix }, 'distributed mode: jobs on BullMQ, state in Redis');
  return { queue, deployment: deployment(config.role, () => queue.redisStatus) };
}

function deployment(role: Role, redisStatus: () => string | undefined): Deployment {
  return {
    role,
    redisStatus,
    readiness(report) {
      const status = redisStatus();
      if (status === undefined || status === 'ready' || !report.ready) return report;
      return { ...report, ready: false, error: `Redis is unreachable (connection ${status})` };
    },
    health() {
      const status = redisStatus();
      return { role, ...(status !== undefined && { redis: status }) };
    },
  };
}
