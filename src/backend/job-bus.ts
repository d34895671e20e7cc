/**
 * Job events between the processes of a deployment (distributed mode): each process publishes
 * its jobs' queued, started and finished events and cancellation requests on one Redis channel,
 * and hears everyone's. Progress is not sent: it is in the job record, saved about every second.
 */
import { randomUUID } from 'node:crypto';
import type { JobRecord } from '../types.js';
import { connectRedis, type Redis, type RedisKeys } from '../store/redis-connection.js';

export type BusMessage =
  | { type: 'queued' | 'started' | 'finished'; job: JobRecord }
  | { type: 'cancel'; jobId: string; reason: string };

export class JobBus {
  readonly #from = randomUUID();
  readonly #subscriber: Redis;

  constructor(
    private readonly redis: Redis,
    url: string,
    private readonly keys: RedisKeys,
    /** `own`: the message came from this process. */
    onMessage: (message: BusMessage, own: boolean) => void,
  ) {
    this.#subscriber = connectRedis(url, `${keys.prefix}-jobs`, { subscriber: true });
    this.#subscriber.on('message', (_channel: string, text: string) => {
      try {
        const { from, ...message } = JSON.parse(text) as BusMessage & { from: string };
        onMessage(message, from === this.#from);
      } catch {
        // Not ours to read.
      }
    });
    this.#subscriber.subscribe(keys.jobEvents).catch(() => undefined); // subscribed again on reconnection
  }

  /** Resolves once subscribed (tests and start-up). */
  async ready(): Promise<void> {
    await this.#subscriber.subscribe(this.keys.jobEvents);
  }

  /** Best effort: a lost event only delays what a listener elsewhere learns from the records. */
  async publish(message: BusMessage): Promise<void> {
    await this.redis.publish(this.keys.jobEvents, JSON.stringify({ ...message, from: this.#from })).catch(() => undefined);
  }

  close(): void {
    this.#subscriber.disconnect();
  }
}
