/**
 * Distributed mode's Redis: one way to connect, the name of every key and channel kept there,
 * and what a failed command becomes. Commands issued during an outage wait for a reconnection a
 * few seconds at most, then fail as a 503 (MLB_ERR_REDIS_UNAVAILABLE) instead of hanging a request.
 */
import { Redis, type ChainableCommander } from 'ioredis';
import { MlBackendError, isMlBackendError } from '../errors.js';
import { errorMessage } from '../util/json.js';

export type { Redis };

/** Where a deployment keeps its state: the server (REDIS_URL) and the prefix of its keys (REDIS_PREFIX). */
export interface RedisTarget {
  url: string;
  prefix: string;
}

/** Reconnection delay: quick at first, then once a second. */
export const redisRetryDelay = (attempt: number): number => Math.min(200 * attempt, 1000);

/** A client for commands (`subscriber` for one that only subscribes: no command timeout). */
export function connectRedis(url: string, name: string, options: { subscriber?: boolean } = {}): Redis {
  const client = new Redis(url, {
    connectionName: name,
    retryStrategy: redisRetryDelay,
    maxRetriesPerRequest: 3,
    ...(options.subscriber ? {} : { commandTimeout: 10_000 }),
  });
  // Connection errors surface through the commands that fail and through `status`; without a
  // listener ioredis would print each reconnection attempt.
  client.on('error', () => undefined);
  // Commands wait for the first connection; once connected, a command sent while the connection
  // is down fails at once (a 503) instead of waiting seconds for reconnection attempts.
  client.once('ready', () => {
    client.options.enableOfflineQueue = false;
  });
  return client;
}

/** Key and channel names: every fact distributed mode keeps in Redis, under one prefix. */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  kv(project: string): string {
    return `${this.prefix}:kv:${project}`;
  }

  tasks(project: string): string {
    return `${this.prefix}:tasks:${project}`;
  }

  annotations(project: string): string {
    return `${this.prefix}:annotations:${project}`;
  }

  job(id: string): string {
    return `${this.prefix}:job:${id}`;
  }

  /** Sorted set: a project's job ids by creation time. */
  projectJobs(project: string): string {
    return `${this.prefix}:jobs:${project}`;
  }

  /** Set: ids of jobs recorded as queued or running. */
  get unfinishedJobs(): string {
    return `${this.prefix}:jobs:unfinished`;
  }

  /** Hash: project → the version it serves. */
  get current(): string {
    return `${this.prefix}:current`;
  }

  /** Channel: a project whose current version changed. */
  get currentChanged(): string {
    return `${this.prefix}:current-changed`;
  }

  /** Hash: project → annotation events since the last training trigger (TRAIN_EVERY_N_ANNOTATIONS). */
  get annotationEvents(): string {
    return `${this.prefix}:annotation-events`;
  }

  /** Hash: one project's running and pending job of one kind. */
  slot(kind: string, project: string): string {
    return `${this.prefix}:slot:${kind}:${project}`;
  }

  slotLock(kind: string, project: string): string {
    return `${this.prefix}:lock:${kind}:${project}`;
  }

  /** Set of slot names (`kind:project`) that have a job in this state. */
  slotsWith(state: 'running' | 'pending'): string {
    return `${this.prefix}:slots:${state}`;
  }

  /** Marks a running job to be cancelled wherever it runs (or is taken up again). */
  cancelRequest(jobId: string): string {
    return `${this.prefix}:cancel:${jobId}`;
  }

  /** Channel: job events and cancellations between processes. */
  get jobEvents(): string {
    return `${this.prefix}:job-events`;
  }

  /** BullMQ's own keys live under this prefix. */
  get bull(): string {
    return `${this.prefix}:bull`;
  }
}

/**
 * A failed Redis command as the catalogue names it: no connection (or a timeout) is a 503 to
 * retry; an error Redis itself answered (out of memory, a bug) is a storage error.
 */
export function redisError(action: string, error: unknown): MlBackendError {
  if (isMlBackendError(error)) return error;
  const message = errorMessage(error);
  if (error instanceof Error && error.name === 'ReplyError') {
    const status = message.startsWith('OOM') ? 507 : 500;
    return new MlBackendError('MLB_ERR_STORAGE', status, `${action}: Redis refused the command (${message})`, undefined, { cause: error });
  }
  return new MlBackendError('MLB_ERR_REDIS_UNAVAILABLE', 503, `${action}: Redis is unavailable (${message})`, undefined, { cause: error });
}

/** Runs `fn`, turning a Redis failure into the catalogued error. */
export async function guarded<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw redisError(action, error);
  }
}

/** Runs a MULTI transaction and returns its replies; throws the first failed command's error (exec lists them per command). */
export async function execAll(multi: ChainableCommander): Promise<unknown[]> {
  const replies = await multi.exec();
  if (replies === null) throw new Error('the Redis transaction was aborted');
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
