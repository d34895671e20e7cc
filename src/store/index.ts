/** The store room: what lives on disk under MODEL_DIR (see ./types.ts for the layout). */
import { SqliteAnnotationStore } from './annotation-store.js';
import { FsCheckpointStore, type CheckpointStoreOptions } from './checkpoint-store.js';
import { openDatabase, type Db } from './database.js';
import { SqliteJobStore } from './job-store.js';
import { SqliteKeyValueStore } from './kv-store.js';

export type * from './types.js';
export { SqliteAnnotationStore, isUnusable } from './annotation-store.js';
export { FsCheckpointStore, rebasePaths, type CheckpointStoreOptions, type ProblemReporter } from './checkpoint-store.js';
export { DATABASE_FILE, openDatabase, type Db } from './database.js';
export { SqliteJobStore } from './job-store.js';
export { SqliteKeyValueStore } from './kv-store.js';
export {
  DEFAULT_PROJECT, assertSafeProjectId, assertSafeVersion, isSafeProjectId, isSafeVersion, normalizeProjectId,
} from './safe-names.js';
export { compareVersions, nextVersionName, versionSeq } from './versions.js';

export interface Stores {
  db: Db;
  kv: SqliteKeyValueStore;
  annotations: SqliteAnnotationStore;
  jobs: SqliteJobStore;
  checkpoints: FsCheckpointStore;
  /** Closes the database; checkpoints need no closing. */
  close(): void;
}

/** Opens everything under MODEL_DIR: backend.sqlite beside the per-project checkpoint dirs. */
export function openStores(modelDir: string, options: CheckpointStoreOptions = {}): Stores {
  const db = openDatabase(modelDir);
  return {
    db,
    kv: new SqliteKeyValueStore(db),
    annotations: new SqliteAnnotationStore(db),
    jobs: new SqliteJobStore(db),
    checkpoints: new FsCheckpointStore(modelDir, options),
    close: () => db.close(),
  };
}
