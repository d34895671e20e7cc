/**
 * The persistent embedding cache: one dense row per (encoder id, text), in its own SQLite file
 * under MODEL_DIR (`embeddings.sqlite`), so every text is embedded once — by /predict or by a
 * training, in this process or after a restart. Bounded in bytes: the least recently used rows
 * go first. It is only a cache: a damaged file is set aside and started afresh.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export const EMBEDDING_CACHE_FILE = 'embeddings.sqlite';

export interface EmbeddingCacheOptions {
  /** Upper bound of the stored vectors, in bytes. @default 512 MiB */
  maxBytes?: number;
  /** Told when a damaged cache file is replaced. */
  onProblem?: (message: string) => void;
}

export interface EmbeddingCacheStats {
  rows: number;
  bytes: number;
  hits: number;
  misses: number;
  evicted: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS embeddings (
    encoder TEXT NOT NULL, key BLOB NOT NULL, vec BLOB NOT NULL, used INTEGER NOT NULL,
    PRIMARY KEY (encoder, key));
  CREATE INDEX IF NOT EXISTS embeddings_by_use ON embeddings (used);`;

/** Last-use times are rewritten at most this often per row (seconds): reads stay reads. */
const TOUCH_AFTER_S = 60;
/** Eviction trims to this share of the bound, so it runs rarely. */
const TRIM_TO = 0.9;

const now = (): number => Math.floor(Date.now() / 1000);

/** 128 bits of SHA-256: the text itself is never stored. */
export function textKey(text: string): Buffer {
  return createHash('sha256').update(text).digest().subarray(0, 16);
}

/** Satisfies tf's `RowCache` (the embedders' view of it). */
export class EmbeddingCache {
  readonly file: string;
  readonly maxBytes: number;
  readonly #db: Database.Database;
  readonly #get: Database.Statement<[string, Buffer], { vec: Buffer; used: number }>;
  readonly #put: Database.Statement<[string, Buffer, Buffer, number]>;
  readonly #touch: Database.Statement<[number, string, Buffer]>;
  #bytes: number;
  #sinceCheck = 0;
  #hits = 0;
  #misses = 0;
  #evicted = 0;

  private constructor(file: string, db: Database.Database, maxBytes: number) {
    this.file = file;
    this.#db = db;
    this.maxBytes = maxBytes;
    this.#get = db.prepare('SELECT vec, used FROM embeddings WHERE encoder = ? AND key = ?');
    this.#put = db.prepare('INSERT OR REPLACE INTO embeddings (encoder, key, vec, used) VALUES (?, ?, ?, ?)');
    this.#touch = db.prepare('UPDATE embeddings SET used = ? WHERE encoder = ? AND key = ?');
    this.#bytes = this.#measure().bytes;
  }

  /** Opens (or creates) `<modelDir>/embeddings.sqlite`. */
  static open(modelDir: string, options: EmbeddingCacheOptions = {}): EmbeddingCache {
    const maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
    if (!(maxBytes >= 0)) throw new RangeError(`embedding cache bound must be ≥ 0 bytes, got ${maxBytes}`);
    fs.mkdirSync(modelDir, { recursive: true });
    const file = path.join(path.resolve(modelDir), EMBEDDING_CACHE_FILE);
    try {
      return new EmbeddingCache(file, openDb(file), maxBytes);
    } catch (err) {
      // Only a cache: set the damaged file aside and start empty rather than refuse to serve.
      const aside = `${file}.damaged-${Date.now()}`;
      options.onProblem?.(`embedding cache ${file} could not be opened (${(err as Error).message}); moved to ${aside}, starting empty`);
      for (const suffix of ['', '-wal', '-shm']) if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, aside + suffix);
      return new EmbeddingCache(file, openDb(file), maxBytes);
    }
  }

  getMany(encoderId: string, texts: readonly string[]): Array<Float32Array | undefined> {
    const stale: Buffer[] = [];
    const t = now();
    const rows = texts.map((text) => {
      const key = textKey(text);
      const hit = this.#get.get(encoderId, key);
      if (!hit) {
        this.#misses++;
        return undefined;
      }
      this.#hits++;
      if (t - hit.used > TOUCH_AFTER_S) stale.push(key);
      // Copy into an aligned buffer of its own (SQLite's blob may sit at any offset).
      return new Float32Array(new Uint8Array(hit.vec).buffer);
    });
    if (stale.length > 0) this.#db.transaction(() => stale.forEach((key) => this.#touch.run(t, encoderId, key)))();
    return rows;
  }

  putMany(encoderId: string, texts: readonly string[], rows: readonly Float32Array[]): void {
    if (texts.length !== rows.length) throw new RangeError(`${texts.length} texts but ${rows.length} rows`);
    if (this.maxBytes === 0 || texts.length === 0) return;
    const t = now();
    this.#db.transaction(() => {
      texts.forEach((text, i) => {
        const row = rows[i]!;
        this.#put.run(encoderId, textKey(text), Buffer.from(row.buffer, row.byteOffset, row.byteLength), t);
        this.#bytes += row.byteLength;
      });
    })();
    this.#sinceCheck += texts.length;
    // Other threads and processes write the same file: re-measure now and then, evict if over.
    if (this.#bytes > this.maxBytes || this.#sinceCheck >= 1000) this.#evictIfOver();
  }

  get stats(): EmbeddingCacheStats {
    const { rows, bytes } = this.#measure();
    return { rows, bytes, hits: this.#hits, misses: this.#misses, evicted: this.#evicted };
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  #measure(): { rows: number; bytes: number } {
    const r = this.#db.prepare('SELECT count(*) AS rows, coalesce(sum(length(vec)), 0) AS bytes FROM embeddings').get() as { rows: number; bytes: number };
    return r;
  }

  #evictIfOver(): void {
    this.#sinceCheck = 0;
    const { rows, bytes } = this.#measure();
    this.#bytes = bytes;
    if (bytes <= this.maxBytes || rows === 0) return;
    const excess = Math.ceil(rows * (1 - (this.maxBytes * TRIM_TO) / bytes));
    const removed = this.#db
      .prepare('DELETE FROM embeddings WHERE rowid IN (SELECT rowid FROM embeddings ORDER BY used, rowid LIMIT ?)')
      .run(excess).changes;
    this.#evicted += removed;
    this.#bytes = this.#measure().bytes;
  }
}

function openDb(file: string): Database.Database {
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    // A lost tail after a power cut costs only re-embedding.
    db.pragma('synchronous = OFF');
    db.exec(SCHEMA);
    db.prepare('SELECT count(*) FROM embeddings').get();
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
