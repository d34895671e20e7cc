/**
 * The store room: interfaces (./types.ts), the local implementation (SQLite + files) and the
 * shared one of distributed mode (Redis + files on a shared volume).
 */
import { FsCheckpointStore, type CheckpointStoreOptions } from './checkpoint-store.js';
import { MemoryEventCounter } from './event-counter.js';
import { SqliteAnnotationStore } from './annotation-store.js';
import { openDatabase, type Db } from './database.js';
import { SqliteJobStore } from './job-store.js';
import { SqliteKeyValueStore } from './kv-store.js';
import type { RedisTarget } from './redis-connection.js';
import { openRedisStores } from './redis-stores.js';
import type { Stores } from './types.js';

export type * from './types.js';
export { SqliteAnnotationStore, isUnusable } from './annotation-store.js';
export { FsCheckpointStore, rebasePaths, type CheckpointStoreOptions, type ProblemReporter } from './checkpoint-store.js';
export { FileVersionPointer } from './version-pointer.js';
export { DATABASE_FILE, openDatabase, type Db } from './database.js';
export { SqliteJobStore } from './job-store.js';
export { SqliteKeyValueStore } from './kv-store.js';
export { openRedisStores, type RedisStores } from './redis-stores.js';
export { RedisKeys, type RedisTarget } from './redis-connection.js';
export {
  DEFAULT_PROJECT, assertSafeProjectId, assertSafeVersion, isSafeProjectId, isSafeVersion, normalizeProjectId,
} from './safe-names.js';
export { compareVersions, nextVersionName, versionSeq } from './versions.js';

/** The single-process store set: backend.sqlite beside the per-project checkpoint directories. */
export interface LocalStores extends Stores {
  /** The SQLite connection (tests reach it to simulate a full disk). */
  readonly db: Db;
}

/** Opens everything under MODEL_DIR (creating it and the schema when needed). */
export function openLocalStores(modelDir: string, options: CheckpointStoreOptions = {}): LocalStores {
  const db = openDatabase(modelDir);
  const checkpoints = new FsCheckpointStore(modelDir, options);
  return {
    db,
    kv: new SqliteKeyValueStore(db),
    annotations: new SqliteAnnotationStore(db),
    jobs: new SqliteJobStore(db),
    checkpoints,
    annotationEvents: new MemoryEventCounter(),
    close: async () => {
      checkpoints.close();
      db.close();
    },
  };
}

/** The store set of this process: shared in Redis when `redis` is given (REDIS_URL), else local. */
export function openStores(modelDir: string, options: CheckpointStoreOptions & { redis?: RedisTarget | undefined } = {}): Stores {
  const { redis, ...checkpointOptions } = options;
  return redis ? openRedisStores(modelDir, redis, checkpointOptions) : openLocalStores(modelDir, checkpointOptions);
}
