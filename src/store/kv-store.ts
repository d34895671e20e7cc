/** Per-project key-value store (LabelStudioMLBase get/set/has); values kept as JSON text. */
import type { JsonValue } from '../types.js';
import type { Db } from './database.js';
import type { KeyValueStore } from './types.js';

export class SqliteKeyValueStore implements KeyValueStore {
  readonly #get;
  readonly #set;
  readonly #delete;

  constructor(db: Db) {
    this.#get = db.prepare<[string, string], { value: string }>('SELECT value FROM kv WHERE project = ? AND key = ?');
    this.#set = db.prepare<[string, string, string]>(
      'INSERT INTO kv (project, key, value) VALUES (?, ?, ?) ON CONFLICT (project, key) DO UPDATE SET value = excluded.value');
    this.#delete = db.prepare<[string, string]>('DELETE FROM kv WHERE project = ? AND key = ?');
  }

  async get(project: string, key: string): Promise<JsonValue | undefined> {
    const row = this.#get.get(project, key);
    return row === undefined ? undefined : (JSON.parse(row.value) as JsonValue);
  }

  async set(project: string, key: string, value: JsonValue): Promise<void> {
    // undefined (or a function) has no JSON text; storing it would silently lose the key.
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) throw new TypeError(`Cannot store ${typeof value} under key ${JSON.stringify(key)}: not JSON`);
    this.#set.run(project, key, text);
  }

  async has(project: string, key: string): Promise<boolean> {
    return this.#get.get(project, key) !== undefined;
  }

  async delete(project: string, key: string): Promise<void> {
    this.#delete.run(project, key);
  }
}
