/** The per-project key-value store in Redis (distributed mode): one hash per project, values as JSON text. */
import type { JsonValue } from '../types.js';
import { guarded, type Redis, type RedisKeys } from './redis-connection.js';
import type { KeyValueStore } from './types.js';

export class RedisKeyValueStore implements KeyValueStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async get(project: string, key: string): Promise<JsonValue | undefined> {
    const text = await guarded('reading the key-value store', () => this.redis.hget(this.keys.kv(project), key));
    return text === null ? undefined : (JSON.parse(text) as JsonValue);
  }

  async set(project: string, key: string, value: JsonValue): Promise<void> {
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) throw new TypeError(`Cannot store ${typeof value} under key ${JSON.stringify(key)}: not JSON`);
    await guarded('writing the key-value store', () => this.redis.hset(this.keys.kv(project), key, text));
  }

  async has(project: string, key: string): Promise<boolean> {
    return (await guarded('reading the key-value store', () => this.redis.hexists(this.keys.kv(project), key))) === 1;
  }

  async delete(project: string, key: string): Promise<void> {
    await guarded('writing the key-value store', () => this.redis.hdel(this.keys.kv(project), key));
  }
}
