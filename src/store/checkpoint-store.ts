/**
 * Checkpoints on the local file system (layout in ./types.ts). A version directory only ever
 * appears through an atomic rename of a fully written and fsynced workdir, and it is served only
 * while its files match manifest.json. Which version is current is this store's fact alone: it
 * is kept by a VersionPointer, and listeners hear of every change.
 */
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointError, MlBackendError } from '../errors.js';
import type { JsonObject, JsonValue } from '../types.js';
import { errnoCode, writeSynced } from '../util/fs.js';
import { errorMessage, isObject } from '../util/json.js';
import { CheckpointVerifier, JOB, TRAIN_OUTPUT, jsonText, sealWorkdir } from './checkpoint-manifest.js';
import { assertSafeProjectId, assertSafeVersion, isSafeProjectId, isSafeVersion } from './safe-names.js';
import type { CheckpointInfo, CheckpointJob, CheckpointStore, CurrentChangeListener, LoadedCheckpoint, PendingCheckpoint, VersionPointer } from './types.js';
import { CURRENT_FILE, FileVersionPointer } from './version-pointer.js';
import { compareVersions, nextVersionName } from './versions.js';

const TMP = '.tmp';

export type ProblemReporter = (message: string, details?: Record<string, unknown>) => void;

export interface CheckpointStoreOptions {
  /** Told when a corrupt or missing checkpoint is skipped. Default: a process warning. */
  onProblem?: ProblemReporter;
  /** How often the `current` files are checked for changes made by other processes. @default 1000 */
  pollMs?: number;
  /**
   * Where "current" is kept. Default: the `current` file of each project directory; a function
   * given those files can keep it elsewhere (Redis) and use them as its mirror.
   */
  pointer?: (files: VersionPointer) => VersionPointer;
}

function storageError(action: string, err: unknown): MlBackendError {
  if (err instanceof MlBackendError) return err;
  return new MlBackendError('MLB_ERR_STORAGE', 500, `${action}: ${errorMessage(err)}`, undefined, { cause: err });
}

/** Deep copy of `value` in which every string under directory `from` is moved under `to`. */
export function rebasePaths(value: JsonValue, from: string, to: string): JsonValue {
  if (typeof value === 'string') {
    const under = value === from || value.startsWith(`${from}${path.sep}`) || value.startsWith(`${from}/`);
    return under ? to + value.slice(from.length) : value;
  }
  if (Array.isArray(value)) return value.map((item) => rebasePaths(item, from, to));
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, rebasePaths(item, from, to)]));
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

export class FsCheckpointStore implements CheckpointStore {
  readonly root: string;
  readonly #onProblem: ProblemReporter;
  readonly #verifier = new CheckpointVerifier();
  readonly #pointer: VersionPointer;

  constructor(root: string, options: CheckpointStoreOptions = {}) {
    this.root = path.resolve(root);
    this.#onProblem = options.onProblem ?? ((text) => process.emitWarning(text, 'CheckpointWarning'));
    const files = new FileVersionPointer({
      fileOf: (project) => path.join(this.#projectDir(project), CURRENT_FILE),
      // A pointer that keeps "current" elsewhere does its own watching: the files are only its mirror.
      ...(options.pointer ? { pollMs: 0 } : options.pollMs !== undefined && { pollMs: options.pollMs }),
    });
    this.#pointer = options.pointer ? options.pointer(files) : files;
  }

  /** Files hashed to verify checkpoints since this store opened; a promoted version is not hashed again. */
  get filesHashed(): number {
    return this.#verifier.filesHashed;
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
          if (errnoCode(err) !== 'EEXIST' || attempt >= 5) throw err;
        }
      }
    } catch (err) {
      throw storageError(`Cannot create a workdir for project ${project}`, err);
    }
  }

  async promote(pending: PendingCheckpoint, trainOutput: JsonObject, job: CheckpointJob): Promise<CheckpointInfo> {
    const { project, version, dir, workdir } = this.#paths(pending.project, pending.version);
    if (path.resolve(pending.workdir) !== workdir || path.resolve(pending.dir) !== dir) {
      throw new MlBackendError('MLB_ERR_STORAGE', 500, `Pending checkpoint ${project}/${version} has unexpected paths`);
    }
    try {
      if (!(await isDirectory(workdir))) {
        throw new CheckpointError('MLB_ERR_VERSION_NOT_FOUND', `Workdir of ${project}/${version} no longer exists`);
      }
      if (await isDirectory(dir)) throw new Error('the version directory already exists');
      const output = { ...(rebasePaths(trainOutput, workdir, dir) as JsonObject), workdir: dir };
      await writeSynced(path.join(workdir, TRAIN_OUTPUT), jsonText(output));
      await writeSynced(path.join(workdir, JOB), jsonText(job));
      const { createdAt, sizeBytes } = await sealWorkdir(workdir, version);
      await rename(workdir, dir);
      await this.#verifier.remember(dir, { ok: true, trainOutput: output, job, createdAt, sizeBytes });
      await this.#pointer.write(project, version); // syncs the project directory (the rename) too
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
    const verdict = await this.#verifier.verify(dir);
    if (!verdict.ok) {
      throw new CheckpointError('MLB_ERR_CHECKPOINT_CORRUPT', `Model version ${version} of project ${project} is corrupt: ${verdict.reason}`);
    }
    return { project, version, dir, trainOutput: withWorkdir(verdict.trainOutput, dir) };
  }

  async list(project: string): Promise<CheckpointInfo[]> {
    const projectDir = this.#projectDir(project);
    const current = (await this.#pointer.read(project)).version;
    const infos: CheckpointInfo[] = [];
    for (const version of await this.#versions(projectDir)) {
      const dir = this.#paths(project, version).dir;
      const verdict = await this.#verifier.verify(dir);
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
    try {
      await this.#pointer.write(project, version);
    } catch (err) {
      throw storageError(`Cannot switch project ${project} to version ${version}`, err);
    }
  }

  onCurrentChange(listener: CurrentChangeListener): () => void {
    return this.#pointer.watch(listener);
  }

  async prune(project: string, keep: number): Promise<string[]> {
    if (!Number.isSafeInteger(keep) || keep < 1) {
      throw new MlBackendError('MLB_ERR_VALIDATION', 400, `keep must be an integer of at least 1, got ${String(keep)}`);
    }
    const projectDir = this.#projectDir(project);
    const versions = await this.#versions(projectDir);
    // Neither the version named by `current` nor the one actually served (a fallback) goes.
    const spared = new Set([(await this.#pointer.read(project)).version, (await this.#resolve(project)).loaded?.version]);
    const removed: string[] = [];
    for (const version of versions.slice(0, Math.max(0, versions.length - keep))) {
      if (spared.has(version)) continue;
      const { dir } = this.#paths(project, version);
      // Renamed first, so a crash mid-delete leaves a `.tmp` for cleanup, not a half version.
      const doomed = `${dir}.prune${TMP}`;
      await rename(dir, doomed);
      await rm(doomed, { recursive: true, force: true });
      this.#verifier.forget(dir);
      removed.push(version);
    }
    return removed;
  }

  async cleanupIncomplete(project?: string): Promise<number> {
    let removed = 0;
    for (const each of project === undefined ? await this.listProjects() : [project]) {
      const projectDir = this.#projectDir(each);
      for (const name of await readdir(projectDir).catch(ifMissing([]))) {
        if (!name.endsWith(TMP)) continue;
        await rm(this.#inside(path.join(projectDir, name)), { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  close(): void {
    this.#pointer.close();
  }

  /** The checkpoint to serve and, when it is not simply `current`, why. */
  async #resolve(project: string): Promise<{ loaded: LoadedCheckpoint | null; problem?: string }> {
    const projectDir = this.#projectDir(project);
    const current = await this.#pointer.read(project);
    const versions = await this.#versions(projectDir);
    if (versions.length === 0) return { loaded: null };
    let problem = current.problem ?? '';
    if (current.version !== null) {
      if (!versions.includes(current.version)) problem = `current version ${current.version} does not exist`;
      else {
        const verdict = await this.#verifier.verify(this.#paths(project, current.version).dir);
        if (verdict.ok) return { loaded: await this.load(project, current.version) };
        problem = `current version ${current.version} is corrupt (${verdict.reason})`;
      }
    }
    for (const version of [...versions].reverse()) {
      if (version === current.version) continue;
      const verdict = await this.#verifier.verify(this.#paths(project, version).dir);
      if (verdict.ok) {
        return { loaded: await this.load(project, version), problem: `Project ${project}: ${problem}; serving the newest intact version ${version}` };
      }
    }
    return { loaded: null, problem: `Project ${project}: ${problem}; no intact version to serve` };
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
    if (errnoCode(err) === 'ENOENT') return fallback;
    throw err;
  };
}
