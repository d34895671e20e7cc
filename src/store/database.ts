/**
 * `<MODEL_DIR>/backend.sqlite`: key-value store, annotations and job records. WAL mode and a
 * busy timeout because the training worker thread opens the same file while the server writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MlBackendError } from '../errors.js';

export type Db = Database.Database;

export const DATABASE_FILE = 'backend.sqlite';

/** Schema steps; `PRAGMA user_version` counts how many have run. Append, never edit. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE kv (
     project TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
     PRIMARY KEY (project, key)) WITHOUT ROWID;
   CREATE TABLE tasks (
     project TEXT NOT NULL, task_id INTEGER NOT NULL, data_json TEXT NOT NULL, updated_at TEXT NOT NULL,
     PRIMARY KEY (project, task_id));
   CREATE TABLE annotations (
     project TEXT NOT NULL, annotation_id INTEGER NOT NULL, task_id INTEGER NOT NULL,
     json TEXT NOT NULL, cancelled INTEGER NOT NULL, updated_at TEXT NOT NULL,
     PRIMARY KEY (project, annotation_id));
   CREATE INDEX annotations_by_task ON annotations (project, task_id, annotation_id);
   CREATE TABLE jobs (
     id TEXT PRIMARY KEY, project TEXT NOT NULL, state TEXT NOT NULL, created_at TEXT NOT NULL,
     json TEXT NOT NULL);
   CREATE INDEX jobs_by_project ON jobs (project, created_at);
   CREATE INDEX jobs_by_state ON jobs (state);`,
];

function storageError(message: string, cause: unknown): MlBackendError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new MlBackendError('MLB_ERR_STORAGE', 500, `${message}: ${reason}`, undefined, { cause });
}

/**
 * `mkdir -p` without Node's recursive mode, which spins forever (100% CPU, never returns) where
 * mkdir fails with ENOENT under an existing parent, e.g. a MODEL_DIR in /proc.
 */
function makeDirs(dir: string): void {
  const parent = path.dirname(dir);
  if (parent !== dir && !fs.existsSync(parent)) makeDirs(parent);
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(dir).isDirectory()) throw err;
  }
}

/** Opens (creating MODEL_DIR and the schema if needed) the backend database. */
export function openDatabase(modelDir: string): Db {
  const file = path.join(path.resolve(modelDir), DATABASE_FILE);
  try {
    makeDirs(path.dirname(file));
  } catch (err) {
    throw storageError(`Cannot create MODEL_DIR ${JSON.stringify(path.dirname(file))}`, err);
  }
  let db: Db | undefined;
  try {
    db = new Database(file);
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives a process crash (kill -9); only an OS crash or power loss
    // can drop the last transactions. FULL would fsync every webhook on the event loop.
    db.pragma('synchronous = NORMAL');
    migrate(db);
    return db;
  } catch (err) {
    db?.close();
    throw storageError(`Cannot open database ${JSON.stringify(file)}`, err);
  }
}

function migrate(db: Db): void {
  // IMMEDIATE takes the write lock first, so two threads opening a fresh file do not both migrate.
  db.transaction(() => {
    const from = db.pragma('user_version', { simple: true }) as number;
    if (from > MIGRATIONS.length) throw new Error(`schema version ${from} is newer than this backend knows (${MIGRATIONS.length})`);
    for (let step = from; step < MIGRATIONS.length; step++) db.exec(MIGRATIONS[step] ?? '');
    if (from < MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
