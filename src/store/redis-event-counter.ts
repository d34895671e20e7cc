/** Annotation events per project in Redis (TRAIN_EVERY_N_ANNOTATIONS counts across replicas). */
import { guarded, type Redis, type RedisKeys } from './redis-connection.js';
import type { EventCounter } from './types.js';

export class RedisEventCounter implements EventCounter {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  add(project: string, n: number): Promise<number> {
    return guarded('counting annotation events', () => this.redis.hincrby(this.keys.annotationEvents, project, n));
  }

  async reset(project: string): Promise<void> {
    await guarded('counting annotation events', () => this.redis.hdel(this.keys.annotationEvents, project));
  }
}
