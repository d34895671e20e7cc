/**
 * The shared store set of distributed mode: annotations, the key-value store, job records and the
 * current-version pointer in Redis; checkpoints stay files in the shared MODEL_DIR volume, where
 * promotion stays an atomic rename. One command connection per set (plus a subscriber once the
 * current version is watched).
 */
import { FsCheckpointStore, type CheckpointStoreOptions } from './checkpoint-store.js';
import { RedisAnnotationStore } from './redis-annotation-store.js';
import { RedisEventCounter } from './redis-event-counter.js';
import { RedisKeys, connectRedis, type Redis, type RedisTarget } from './redis-connection.js';
import { RedisJobStore } from './redis-job-store.js';
import { RedisKeyValueStore } from './redis-kv-store.js';
import { RedisVersionPointer } from './redis-version-pointer.js';
import type { Stores } from './types.js';

export interface RedisStores extends Stores {
  /** The command connection (its `status` tells whether Redis is reachable). */
  readonly redis: Redis;
  readonly keys: RedisKeys;
}

export function openRedisStores(modelDir: string, target: RedisTarget, options: Omit<CheckpointStoreOptions, 'pointer'> = {}): RedisStores {
  const keys = new RedisKeys(target.prefix);
  const redis = connectRedis(target.url, `${target.prefix}-stores`);
  const checkpoints = new FsCheckpointStore(modelDir, {
    ...options,
    pointer: (files) => new RedisVersionPointer({ redis, url: target.url, keys, mirror: files, ...(options.pollMs !== undefined && { pollMs: options.pollMs }) }),
  });
  return {
    redis,
    keys,
    kv: new RedisKeyValueStore(redis, keys),
    annotations: new RedisAnnotationStore(redis, keys),
    jobs: new RedisJobStore(redis, keys),
    checkpoints,
    annotationEvents: new RedisEventCounter(redis, keys),
    close: async () => {
      checkpoints.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
