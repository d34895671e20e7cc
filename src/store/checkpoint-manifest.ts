/**
 * A checkpoint's manifest.json (size and sha256 of every other file) and the verification of a
 * version directory against it. Verdicts are cached by the files' stats, so a file is re-hashed
 * only when it changed; promotion seeds the cache with what it just hashed, so a new version is
 * hashed once.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import type { JsonObject } from '../types.js';
import { errnoCode, hashFile, syncDir, writeSynced, type FileDigest } from '../util/fs.js';
import { errorMessage, isObject } from '../util/json.js';
import type { CheckpointJob } from './types.js';

export const MANIFEST = 'manifest.json';
export const TRAIN_OUTPUT = 'train_output.json';
export const JOB = 'job.json';

interface Manifest {
  version: string;
  createdAt: string;
  files: Record<string, FileDigest>;
}

/** The outcome of checking one version directory against its manifest. */
export type Verdict = { createdAt: string; sizeBytes: number } & (
  | { ok: true; trainOutput: JsonObject; job: CheckpointJob | null }
  | { ok: false; reason: string });

export const jsonText = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** Files (posix relative paths) and directories under `dir`, parents before children. */
async function walk(dir: string, rel = '', out = { files: [] as string[], dirs: [dir] }): Promise<typeof out> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      out.dirs.push(path.join(dir, entry.name));
      await walk(path.join(dir, entry.name), relPath, out);
    } else if (entry.isFile()) {
      out.files.push(relPath);
    } else {
      throw new Error(`${relPath} is neither a file nor a directory; checkpoints hold plain files only`);
    }
  }
  return out;
}

const SAFE_REL_PATH = (rel: string) =>
  rel.split('/').every((part) => part !== '' && part !== '.' && part !== '..' && !/[\\\0]/.test(part));

function parseManifest(text: string): Manifest {
  const manifest: unknown = JSON.parse(text);
  if (!isObject(manifest) || !isObject(manifest['files']) || typeof manifest['createdAt'] !== 'string') {
    throw new Error('not a manifest object');
  }
  for (const [rel, entry] of Object.entries(manifest['files'])) {
    const valid = isObject(entry) && Number.isSafeInteger(entry['size']) && typeof entry['sha256'] === 'string';
    if (!valid || !SAFE_REL_PATH(rel)) throw new Error(`bad entry ${JSON.stringify(rel)}`);
  }
  return manifest as unknown as Manifest;
}

/**
 * Hashes and fsyncs every file of a finished workdir, writes manifest.json last and fsyncs the
 * directories (children first), so the workdir is durable before it is renamed into place.
 */
export async function sealWorkdir(workdir: string, version: string): Promise<{ createdAt: string; sizeBytes: number }> {
  const { files, dirs } = await walk(workdir);
  const entries: Record<string, FileDigest> = {};
  let sizeBytes = 0;
  for (const rel of files.filter((f) => f !== MANIFEST).sort()) {
    const entry = await hashFile(path.join(workdir, ...rel.split('/')), { sync: true });
    entries[rel] = entry;
    sizeBytes += entry.size;
  }
  const createdAt = new Date().toISOString();
  await writeSynced(path.join(workdir, MANIFEST), jsonText({ version, createdAt, files: entries }));
  for (const d of dirs.reverse()) await syncDir(d);
  return { createdAt, sizeBytes };
}

export class CheckpointVerifier {
  /** Verdicts keyed by version dir, valid while the fingerprint (stats of every file) is unchanged. */
  readonly #verdicts = new LRUCache<string, { fingerprint: string; verdict: Verdict }>({ max: 4096 });
  /** Files hashed to verify versions (not counting promotion's own hashing). */
  filesHashed = 0;

  /** Checks `dir` against its manifest: stats always, hashes only for files whose stats changed. */
  async verify(dir: string): Promise<Verdict> {
    let manifest: Manifest;
    try {
      manifest = parseManifest(await readFile(path.join(dir, MANIFEST), 'utf8'));
    } catch (err) {
      const reason = errnoCode(err) === 'ENOENT' ? 'manifest.json is missing' : `manifest.json is unreadable: ${errorMessage(err)}`;
      const createdAt = await stat(dir).then((s) => s.mtime.toISOString(), () => new Date(0).toISOString());
      return { ok: false, reason, createdAt, sizeBytes: 0 };
    }
    const entries = Object.entries(manifest.files);
    const base = { createdAt: manifest.createdAt, sizeBytes: entries.reduce((sum, [, e]) => sum + e.size, 0) };
    const fingerprint = await this.#fingerprint(dir, entries);
    if (typeof fingerprint !== 'string') return { ok: false, reason: fingerprint.problem, ...base };
    const cached = this.#verdicts.get(dir);
    if (cached?.fingerprint === fingerprint) return cached.verdict;
    this.filesHashed += entries.length;
    const verdict = await check(dir, entries, base);
    this.#verdicts.set(dir, { fingerprint, verdict });
    return verdict;
  }

  /** Records a version just promoted as intact (its files were hashed while sealing it). */
  async remember(dir: string, verdict: Verdict & { ok: true }): Promise<void> {
    const manifest = parseManifest(await readFile(path.join(dir, MANIFEST), 'utf8'));
    const fingerprint = await this.#fingerprint(dir, Object.entries(manifest.files));
    if (typeof fingerprint === 'string') this.#verdicts.set(dir, { fingerprint, verdict });
  }

  forget(dir: string): void {
    this.#verdicts.delete(dir);
  }

  /** Stats are cheap and hashes are not: the stats of every file, or the first problem they show. */
  async #fingerprint(dir: string, entries: Array<[string, FileDigest]>): Promise<string | { problem: string }> {
    let fingerprint = '';
    for (const [rel, entry] of [[MANIFEST, undefined] as const, ...entries]) {
      const stats = await stat(path.join(dir, ...rel.split('/'))).catch((err: unknown) => {
        if (errnoCode(err) === 'ENOENT') return undefined;
        throw err;
      });
      if (stats === undefined) return { problem: `${rel} is missing` };
      if (entry !== undefined && stats.size !== entry.size) return { problem: `${rel} has ${stats.size} bytes, the manifest says ${entry.size}` };
      fingerprint += `${rel}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}:${stats.ino}|`;
    }
    return fingerprint;
  }
}

async function check(dir: string, entries: Array<[string, FileDigest]>, base: { createdAt: string; sizeBytes: number }): Promise<Verdict> {
  try {
    for (const [rel, expected] of entries) {
      const actual = await hashFile(path.join(dir, ...rel.split('/')));
      if (actual.sha256 !== expected.sha256 || actual.size !== expected.size) {
        return { ok: false, reason: `${rel} does not match its sha256 in the manifest`, ...base };
      }
    }
    const trainOutput: unknown = JSON.parse(await readFile(path.join(dir, TRAIN_OUTPUT), 'utf8'));
    if (!isObject(trainOutput)) return { ok: false, reason: `${TRAIN_OUTPUT} is not a JSON object`, ...base };
    const job: unknown = await readFile(path.join(dir, JOB), 'utf8').then((t) => JSON.parse(t) as unknown, () => null);
    return { ok: true, trainOutput: trainOutput as JsonObject, job: isObject(job) ? (job as unknown as CheckpointJob) : null, ...base };
  } catch (err) {
    return { ok: false, reason: errorMessage(err), ...base };
  }
}
