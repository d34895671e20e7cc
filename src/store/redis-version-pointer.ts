/**
 * "Which version is current" in distributed mode: a Redis hash (project → version) that every
 * process reads, a channel that announces each change at once, and a periodic check as a safety
 * net (a message missed while a subscriber reconnected is caught within VERSION_POLL_MS). The
 * `current` file of each project is written first and kept as a mirror: when Redis holds no
 * version for a project (a fresh Redis, data lost in a crash) the file answers, so a Redis crash
 * never changes the version served.
 */
import { Listeners } from '../util/listeners.js';
import { Poller } from '../util/poller.js';
import { connectRedis, guarded, execAll, type Redis, type RedisKeys } from './redis-connection.js';
import { isSafeVersion } from './safe-names.js';
import type { CurrentChangeListener, VersionPointer } from './types.js';

export interface RedisVersionPointerOptions {
  redis: Redis;
  /** For the subscriber connection this pointer opens when watched. */
  url: string;
  keys: RedisKeys;
  /** The file pointer written as a mirror and read when Redis has no entry; never watched itself. */
  mirror: VersionPointer;
  /** How often Redis is checked for changes a missed message did not announce; 0 = never. @default 1000 */
  pollMs?: number;
}

type Reading = { version: string | null; problem?: string };

export class RedisVersionPointer implements VersionPointer {
  readonly #options: RedisVersionPointerOptions;
  readonly #seen = new Map<string, string | null>();
  readonly #listeners = new Listeners<string>();
  readonly #poller: Poller;
  #subscriber: Redis | undefined;
  #closed = false;

  constructor(options: RedisVersionPointerOptions) {
    this.#options = options;
    this.#poller = new Poller(options.pollMs ?? 1000, () => this.#check([...this.#seen.keys()]), () => this.#listeners.size > 0);
  }

  async read(project: string): Promise<Reading> {
    const stored = await guarded('reading the current version', () => this.#options.redis.hget(this.#options.keys.current, project));
    const reading = await this.#interpret(project, stored);
    this.#seen.set(project, reading.version);
    return reading;
  }

  async write(project: string, version: string): Promise<void> {
    const { redis, keys, mirror } = this.#options;
    await mirror.write(project, version); // also syncs the project directory after the promote's rename
    await guarded('switching the current version', () => execAll(redis.multi().hset(keys.current, project, version).publish(keys.currentChanged, project)));
    this.#update(project, version);
  }

  watch(listener: CurrentChangeListener): () => void {
    const unsubscribe = this.#listeners.add(listener);
    this.#subscribe();
    this.#poller.start();
    return unsubscribe;
  }

  close(): void {
    this.#closed = true;
    this.#poller.stop();
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
    this.#options.mirror.close();
  }

  async #interpret(project: string, stored: string | null): Promise<Reading> {
    if (stored === null) return this.#options.mirror.read(project);
    if (isSafeVersion(stored)) return { version: stored };
    return { version: null, problem: `Redis holds an invalid current version ${JSON.stringify(stored.slice(0, 40))}` };
  }

  /** Records what is current now and tells the listeners when it changed. */
  #update(project: string, version: string | null): void {
    const known = this.#seen.has(project);
    const before = this.#seen.get(project);
    this.#seen.set(project, version);
    if (!known || before !== version) this.#listeners.emit(project);
  }

  #subscribe(): void {
    if (this.#subscriber || this.#closed) return;
    const { url, keys } = this.#options;
    const subscriber = connectRedis(url, `${keys.prefix}-versions`, { subscriber: true });
    this.#subscriber = subscriber;
    subscriber.on('message', (_channel: string, project: string) => void this.#check([project]));
    // ioredis subscribes again after a reconnection; what changed meanwhile is read at once.
    subscriber.on('ready', () => void this.#check([...this.#seen.keys()]));
    subscriber.subscribe(keys.currentChanged).catch(() => undefined); // retried on reconnection; the poll covers the gap
  }

  /** Reads the projects' versions and announces the ones that changed. */
  async #check(projects: string[]): Promise<void> {
    if (projects.length === 0 || this.#closed) return;
    try {
      const stored = await this.#options.redis.hmget(this.#options.keys.current, ...projects);
      for (const [index, project] of projects.entries()) {
        const reading = await this.#interpret(project, stored[index] ?? null);
        this.#update(project, reading.version);
      }
    } catch {
      // Redis unreachable: the next check (or the reconnection) looks again.
    }
  }
}
