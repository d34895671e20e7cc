/**
 * Checkpoints on the local file system (layout in ./types.ts). A version directory only ever
 * appears through an atomic rename of a fully written and fsynced workdir, and it is served only
 * while its files match manifest.json.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointError, MlBackendError } from '../errors.js';
import type { JobRecord, JsonObject, JsonValue } from '../types.js';
import { assertSafeProjectId, assertSafeVersion, isSafeProjectId, isSafeVersion } from './safe-names.js';
import type { CheckpointInfo, CheckpointStore, LoadedCheckpoint, PendingCheckpoint } from './types.js';
import { compareVersions, nextVersionName } from './versions.js';

const MANIFEST = 'manifest.json';
const TRAIN_OUTPUT = 'train_output.json';
const JOB = 'job.json';
const CURRENT = 'current';
const TMP = '.tmp';

export type ProblemReporter = (message: string, details?: Record<string, unknown>) => void;

export interface CheckpointStoreOptions {
  /** Told when a corrupt or missing checkpoint is skipped. Default: a process warning. */
  onProblem?: ProblemReporter;
}

interface ManifestEntry { size: number; sha256: string }
interface Manifest { version: string; createdAt: string; files: Record<string, ManifestEntry> }

/** The outcome of checking one version directory against its manifest. */
type Verdict = { createdAt: string; sizeBytes: number } & (
  | { ok: true; trainOutput: JsonObject; job: JobRecord | null }
  | { ok: false; reason: string });

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const errCode = (err: unknown): unknown => (isObject(err) ? err['code'] : undefined);
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

function storageError(action: string, err: unknown): MlBackendError {
  if (err instanceof MlBackendError) return err;
  return new MlBackendError('MLB_ERR_STORAGE', 500, `${action}: ${message(err)}`, undefined, { cause: err });
}

/** Deep copy of `value` in which every string under directory `from` is moved under `to`. */
export function rebasePaths(value: JsonValue, from: string, to: string): JsonValue {
  if (typeof value === 'string') {
    const under = value === from || value.startsWith(`${from}${path.sep}`) || value.startsWith(`${from}/`);
    return under ? to + value.slice(from.length) : value;
  }
  if (Array.isArray(value)) return value.map((item) => rebasePaths(item, from, to));
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, rebasePaths(item as JsonValue, from, to)]));
  }
  return value;
}

/**
 * train_output as served: a private copy whose `workdir` (and paths under the stored one, in
 * case MODEL_DIR was moved) point at `dir`.
 */
function withWorkdir(output: JsonObject, dir: string): JsonObject {
  const stored = typeof output['workdir'] === 'string' && path.isAbsolute(output['workdir']) ? output['workdir'] : dir;
  return { ...(rebasePaths(output, stored, dir) as JsonObject), workdir: dir };
}

async function writeSynced(file: string, text: string): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a directory so a rename or a new entry in it survives a power cut. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    if (errCode(err) !== 'EINVAL' && errCode(err) !== 'EPERM') throw err; // file systems without directory fsync
  } finally {
    await handle.close();
  }
}

/** Streams a file through sha256 (weights can be large; the event loop must stay free). */
async function hashFile(file: string, sync = false): Promise<ManifestEntry> {
  const handle = await open(file, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(1 << 20);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
    if (sync) await handle.sync();
    return { size, sha256: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

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

export class FsCheckpointStore implements CheckpointStore {
  readonly root: string;
  readonly #onProblem: ProblemReporter;
  /** Verdicts keyed by version dir, valid while the fingerprint (stats of every file) is unchanged. */
  readonly #verdicts = new Map<string, { fingerprint: string; verdict: Verdict }>();

  constructor(root: string, options: CheckpointStoreOptions = {}) {
    this.root = path.resolve(root);
    this.#onProblem = options.onProblem ?? ((text) => process.emitWarning(text, 'CheckpointWarning'));
  }

  async begin(project: string): Promise<PendingCheckpoint> {
    const projectDir = this.#projectDir(project);
    try {
      await mkdir(projectDir, { recursive: true });
      for (let attempt = 1; ; attempt++) {
        const version = nextVersionName(await readdir(projectDir), new Date());
        const dir = this.#inside(path.join(projectDir, version));
        try {
          await mkdir(dir + TMP); // exclusive: a concurrent begin that picked the same name retries
          return { project, version, workdir: dir + TMP, dir };
        } catch (err) {
          if (errCode(err) !== 'EEXIST' || attempt >= 5) throw err;
        }
      }
    } catch (err) {
      throw storageError(`Cannot create a workdir for project ${project}`, err);
    }
  }

  async promote(pending: PendingCheckpoint, trainOutput: JsonObject, job: JobRecord): Promise<CheckpointInfo> {
    const { project, version, projectDir, dir, workdir } = this.#paths(pending.project, pending.version);
    if (path.resolve(pending.workdir) !== workdir || path.resolve(pending.dir) !== dir) {
      throw new MlBackendError('MLB_ERR_STORAGE', 500, `Pending checkpoint ${project}/${version} has unexpected paths`);
    }
    try {
      if (!(await isDirectory(workdir))) {
        throw new CheckpointError('MLB_ERR_VERSION_NOT_FOUND', `Workdir of ${project}/${version} no longer exists`);
      }
      if (await isDirectory(dir)) throw new Error('the version directory already exists');
      const output = { ...(rebasePaths(trainOutput, workdir, dir) as JsonObject), workdir: dir };
      await writeSynced(path.join(workdir, TRAIN_OUTPUT), json(output));
      await writeSynced(path.join(workdir, JOB), json(job));
      const { files, dirs } = await walk(workdir);
      const entries: Record<string, ManifestEntry> = {};
      let sizeBytes = 0;
      for (const rel of files.filter((f) => f !== MANIFEST).sort()) {
        const entry = await hashFile(path.join(workdir, ...rel.split('/')), true);
        entries[rel] = entry;
        sizeBytes += entry.size;
      }
      const createdAt = new Date().toISOString();
      await writeSynced(path.join(workdir, MANIFEST), json({ version, createdAt, files: entries }));
      for (const d of dirs.reverse()) await syncDir(d); // children first, the workdir last
      await rename(workdir, dir);
      await syncDir(projectDir);
      await this.#writeCurrent(projectDir, version);
      return { project, version, dir, createdAt, current: true, sizeBytes, trainOutput: output, job };
    } catch (err) {
      throw storageError(`Cannot promote checkpoint ${project}/${version}`, err);
    }
  }

  async discard(pending: PendingCheckpoint): Promise<void> {
    await rm(this.#paths(pending.project, pending.version).workdir, { recursive: true, force: true });
  }

  async loadCurrent(project: string): Promise<LoadedCheckpoint | null> {
    const { loaded, problem } = await this.#resolve(project);
    if (problem !== undefined) this.#onProblem(problem, { project, served: loaded?.version ?? null });
    return loaded;
  }

  async load(project: string, version: string): Promise<LoadedCheckpoint> {
    const { dir } = this.#paths(project, version);
    if (!(await isDirectory(dir))) {
      throw new CheckpointError('MLB_ERR_VERSION_NOT_FOUND', `Model version ${version} of project ${project} does not exist`);
    }
    const verdict = await this.#verify(dir);
    if (!verdict.ok) {
      throw new CheckpointError('MLB_ERR_CHECKPOINT_CORRUPT', `Model version ${version} of project ${project} is corrupt: ${verdict.reason}`);
    }
    return { project, version, dir, trainOutput: withWorkdir(verdict.trainOutput, dir) };
  }

  async list(project: string): Promise<CheckpointInfo[]> {
    const projectDir = this.#projectDir(project);
    const current = (await this.#readCurrent(projectDir)).version;
    const infos: CheckpointInfo[] = [];
    for (const version of await this.#versions(projectDir)) {
      const dir = this.#paths(project, version).dir;
      const verdict = await this.#verify(dir);
      const base = { project, version, dir, createdAt: verdict.createdAt, current: version === current, sizeBytes: verdict.sizeBytes };
      infos.push(verdict.ok
        ? { ...base, trainOutput: withWorkdir(verdict.trainOutput, dir), job: verdict.job }
        : { ...base, corrupt: verdict.reason, trainOutput: null, job: null });
    }
    return infos;
  }

  async listProjects(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(ifMissing([]));
    return entries.filter((e) => e.isDirectory() && isSafeProjectId(e.name)).map((e) => e.name).sort();
  }

  async setCurrent(project: string, version: string): Promise<void> {
    await this.load(project, version); // exists and intact, or throws CheckpointError
    const { projectDir } = this.#paths(project, version);
    try {
      await this.#writeCurrent(projectDir, version);
    } catch (err) {
      throw storageError(`Cannot switch project ${project} to version ${version}`, err);
    }
  }

  async prune(project: string, keep: number): Promise<string[]> {
    if (!Number.isSafeInteger(keep) || keep < 1) {
      throw new MlBackendError('MLB_ERR_VALIDATION', 400, `keep must be an integer of at least 1, got ${String(keep)}`);
    }
    const projectDir = this.#projectDir(project);
    const versions = await this.#versions(projectDir);
    // Neither the version named by `current` nor the one actually served (a fallback) goes.
    const spared = new Set([(await this.#readCurrent(projectDir)).version, (await this.#resolve(project)).loaded?.version]);
    const removed: string[] = [];
    for (const version of versions.slice(0, Math.max(0, versions.length - keep))) {
      if (spared.has(version)) continue;
      const { dir } = this.#paths(project, version);
      // Renamed first, so a crash mid-delete leaves a `.tmp` for cleanup, not a half version.
      const doomed = `${dir}.prune${TMP}`;
      await rename(dir, doomed);
      await rm(doomed, { recursive: true, force: true });
      this.#verdicts.delete(dir);
      removed.push(version);
    }
    return removed;
  }

  async cleanupIncomplete(): Promise<number> {
    let removed = 0;
    for (const project of await this.listProjects()) {
      const projectDir = this.#projectDir(project);
      for (const name of await readdir(projectDir)) {
        if (!name.endsWith(TMP)) continue;
        await rm(this.#inside(path.join(projectDir, name)), { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  /** The checkpoint to serve and, when it is not simply `current`, why. */
  async #resolve(project: string): Promise<{ loaded: LoadedCheckpoint | null; problem?: string }> {
    const projectDir = this.#projectDir(project);
    const versions = await this.#versions(projectDir);
    if (versions.length === 0) return { loaded: null };
    const current = await this.#readCurrent(projectDir);
    let problem = current.problem ?? '';
    if (current.version !== null) {
      if (!versions.includes(current.version)) problem = `current version ${current.version} does not exist`;
      else {
        const verdict = await this.#verify(this.#paths(project, current.version).dir);
        if (verdict.ok) return { loaded: await this.load(project, current.version) };
        problem = `current version ${current.version} is corrupt (${verdict.reason})`;
      }
    }
    for (const version of [...versions].reverse()) {
      if (version === current.version) continue;
      const verdict = await this.#verify(this.#paths(project, version).dir);
      if (verdict.ok) {
        return { loaded: await this.load(project, version), problem: `Project ${project}: ${problem}; serving the newest intact version ${version}` };
      }
    }
    return { loaded: null, problem: `Project ${project}: ${problem}; no intact version to serve` };
  }

  async #verify(dir: string): Promise<Verdict> {
    let manifest: Manifest;
    try {
      manifest = parseManifest(await readFile(path.join(dir, MANIFEST), 'utf8'));
    } catch (err) {
      const reason = errCode(err) === 'ENOENT' ? 'manifest.json is missing' : `manifest.json is unreadable: ${message(err)}`;
      const createdAt = await stat(dir).then((s) => s.mtime.toISOString(), () => new Date(0).toISOString());
      return { ok: false, reason, createdAt, sizeBytes: 0 };
    }
    const entries = Object.entries(manifest.files);
    const base = { createdAt: manifest.createdAt, sizeBytes: entries.reduce((sum, [, e]) => sum + e.size, 0) };
    // Stats are cheap and hashes are not: re-hash only when a file's stats changed.
    let fingerprint = '';
    for (const [rel, entry] of [[MANIFEST, undefined] as const, ...entries]) {
      const stats = await stat(path.join(dir, ...rel.split('/'))).catch(ifMissing(undefined));
      if (stats === undefined) return { ok: false, reason: `${rel} is missing`, ...base };
      if (entry !== undefined && stats.size !== entry.size) {
        return { ok: false, reason: `${rel} has ${stats.size} bytes, the manifest says ${entry.size}`, ...base };
      }
      fingerprint += `${rel}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}:${stats.ino}|`;
    }
    const cached = this.#verdicts.get(dir);
    if (cached?.fingerprint === fingerprint) return cached.verdict;
    const verdict = await this.#check(dir, entries, base);
    this.#verdicts.set(dir, { fingerprint, verdict });
    return verdict;
  }

  async #check(dir: string, entries: [string, ManifestEntry][], base: { createdAt: string; sizeBytes: number }): Promise<Verdict> {
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
      return { ok: true, trainOutput: trainOutput as JsonObject, job: isObject(job) ? (job as unknown as JobRecord) : null, ...base };
    } catch (err) {
      return { ok: false, reason: message(err), ...base };
    }
  }

  async #readCurrent(projectDir: string): Promise<{ version: string | null; problem?: string }> {
    try {
      const text = (await readFile(path.join(projectDir, CURRENT), 'utf8')).trim();
      if (isSafeVersion(text)) return { version: text };
      return { version: null, problem: `"current" holds an invalid version name ${JSON.stringify(text.slice(0, 40))}` };
    } catch (err) {
      return { version: null, problem: errCode(err) === 'ENOENT' ? '"current" is missing' : `"current" is unreadable: ${message(err)}` };
    }
  }

  /** Writes `current` through a synced temp file and a rename: readers see the old or the new. */
  async #writeCurrent(projectDir: string, version: string): Promise<void> {
    const temp = path.join(projectDir, `${CURRENT}.${randomUUID().slice(0, 8)}${TMP}`);
    try {
      await writeSynced(temp, `${version}\n`);
      await rename(temp, path.join(projectDir, CURRENT));
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    await syncDir(projectDir);
  }

  /** Version directories (not workdirs), oldest first. */
  async #versions(projectDir: string): Promise<string[]> {
    const entries = await readdir(projectDir, { withFileTypes: true }).catch(ifMissing([]));
    return entries.filter((e) => e.isDirectory() && isSafeVersion(e.name)).map((e) => e.name).sort(compareVersions);
  }

  #projectDir(project: string): string {
    return this.#inside(path.join(this.root, assertSafeProjectId(project)));
  }

  #paths(project: string, version: string) {
    const projectDir = this.#projectDir(project);
    const dir = this.#inside(path.join(projectDir, assertSafeVersion(version)));
    return { project, version, projectDir, dir, workdir: dir + TMP };
  }

  /** Defence in depth behind the name checks: nothing resolves outside the root. */
  #inside(target: string): string {
    const rel = path.relative(this.root, target);
    if (rel === '' || path.isAbsolute(rel) || rel.split(path.sep)[0] === '..') {
      throw new MlBackendError('MLB_ERR_STORAGE', 500, `Refusing a path outside MODEL_DIR: ${JSON.stringify(target.slice(0, 80))}`);
    }
    return target;
  }
}

async function isDirectory(target: string): Promise<boolean> {
  return stat(target).then((s) => s.isDirectory(), ifMissing(false));
}

/** A catch handler that turns ENOENT into `fallback` and rethrows anything else. */
function ifMissing<T>(fallback: T): (err: unknown) => T {
  return (err) => {
    if (errCode(err) === 'ENOENT') return fallback;
    throw err;
  };
}
