/**
 * The `current` file of each project: the version named current, replaced atomically. A change
 * written through this pointer is announced at once; a change written by another process (the
 * CLI's `checkpoints rollback`, another replica on a shared volume) is noticed by polling the
 * file's stats, for the projects this process has read.
 */
import { readFile, stat } from 'node:fs/promises';
import { errnoCode, writeFileAtomic } from '../util/fs.js';
import { errorMessage } from '../util/json.js';
import { Listeners } from '../util/listeners.js';
import { Poller } from '../util/poller.js';
import { isSafeVersion } from './safe-names.js';
import type { CurrentChangeListener, VersionPointer } from './types.js';

export const CURRENT_FILE = 'current';

export interface FileVersionPointerOptions {
  /** The `current` file of a project (the store checks the project id). */
  fileOf: (project: string) => string;
  /** How often files are checked for changes by other processes; 0 = never. @default 1000 */
  pollMs?: number;
}

interface Seen {
  version: string | null;
  /** inode, mtime and size: a rename-replaced file always gets a new inode. */
  stamp: string;
}

async function stampOf(file: string): Promise<string> {
  try {
    const s = await stat(file);
    return `${s.ino}:${s.mtimeMs}:${s.size}`;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'missing';
    throw err;
  }
}

export class FileVersionPointer implements VersionPointer {
  readonly #fileOf: (project: string) => string;
  readonly #seen = new Map<string, Seen>();
  readonly #listeners = new Listeners<string>();
  readonly #poller: Poller;

  constructor(options: FileVersionPointerOptions) {
    this.#fileOf = options.fileOf;
    this.#poller = new Poller(options.pollMs ?? 1000, () => this.#poll(), () => this.#listeners.size > 0);
  }

  async read(project: string): Promise<{ version: string | null; problem?: string }> {
    const file = this.#fileOf(project);
    const stamp = await stampOf(file).catch(() => 'unreadable');
    const result = await readPointer(file);
    this.#seen.set(project, { version: result.version, stamp });
    return result;
  }

  async write(project: string, version: string): Promise<void> {
    const file = this.#fileOf(project);
    await writeFileAtomic(file, `${version}\n`);
    const before = this.#seen.get(project)?.version;
    this.#seen.set(project, { version, stamp: await stampOf(file).catch(() => 'unreadable') });
    if (before !== version) this.#listeners.emit(project);
  }

  watch(listener: CurrentChangeListener): () => void {
    const unsubscribe = this.#listeners.add(listener);
    this.#poller.start();
    return unsubscribe;
  }

  close(): void {
    this.#poller.stop();
  }

  /** One pass over the projects seen so far: a changed file is re-read, a changed version announced. */
  async #poll(): Promise<void> {
    for (const [project, seen] of this.#seen) {
      try {
        const file = this.#fileOf(project);
        const stamp = await stampOf(file);
        if (stamp === seen.stamp) continue;
        const { version } = await readPointer(file);
        this.#seen.set(project, { version, stamp });
        if (version !== seen.version) this.#listeners.emit(project);
      } catch {
        // A file being replaced or a transient error: the next pass looks again.
      }
    }
  }

}

async function readPointer(file: string): Promise<{ version: string | null; problem?: string }> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (isSafeVersion(text)) return { version: text };
    return { version: null, problem: `"current" holds an invalid version name ${JSON.stringify(text.slice(0, 40))}` };
  } catch (err) {
    return { version: null, problem: errnoCode(err) === 'ENOENT' ? '"current" is missing' : `"current" is unreadable: ${errorMessage(err)}` };
  }
}
