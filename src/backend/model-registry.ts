/**
 * One warm model instance per project, created once and reused across requests (the Python
 * SDK's instance-per-request is a top complaint). An instance is rebuilt when the project's label
 * config, extra params or current version changes. The current version is the checkpoint store's
 * fact: the registry asks it, and listens for changes (a training, a rollback here or in another
 * process) to build the new instance at once; requests in flight finish on the old instance,
 * which is disposed when the last one is done.
 */
import type { JsonObject } from '../types.js';
import type { AnyModel, ModelClass, ModelLogger } from '../model/base.js';
import type { LabelInterface } from '../model/label-config.js';
import type { CheckpointStore, LoadedCheckpoint } from '../store/types.js';
import { buildInstance, type InstanceContext } from './instance.js';
import { INITIAL_VERSION } from './trainer.js';

export interface ServedModel {
  instance: AnyModel;
  version: string;
}

interface Entry {
  key: string;
  labelInterface: LabelInterface;
  extraParams: JsonObject;
  model: Promise<ServedModel>;
  /** Requests using the instance now: a replaced instance is disposed when this drops to 0. */
  inFlight: number;
  retired: boolean;
  disposed?: boolean;
}

export class ModelRegistry {
  readonly #modelClass: ModelClass;
  readonly #checkpoints: CheckpointStore;
  readonly #context: InstanceContext;
  readonly #logger: ModelLogger;
  readonly #entries = new Map<string, Entry>();
  /** The store's answer per project, kept until the store announces a change. */
  readonly #current = new Map<string, Promise<LoadedCheckpoint | null>>();
  readonly #unsubscribe: () => void;

  constructor(modelClass: ModelClass, checkpoints: CheckpointStore, context: InstanceContext) {
    this.#modelClass = modelClass;
    this.#checkpoints = checkpoints;
    this.#context = context;
    this.#logger = context.logger;
    this.#unsubscribe = checkpoints.onCurrentChange((project) => this.#onCurrentChange(project));
  }

  /** The checkpoint the project serves (null: untrained), as the checkpoint store says. */
  current(project: string): Promise<LoadedCheckpoint | null> {
    let current = this.#current.get(project);
    if (!current) {
      current = this.#checkpoints.loadCurrent(project);
      this.#current.set(project, current);
      current.catch(() => this.#current.get(project) === current && this.#current.delete(project));
    }
    return current;
  }

  async currentVersion(project: string): Promise<string> {
    return (await this.current(project))?.version ?? INITIAL_VERSION;
  }

  /** Runs `fn` with the project's warm instance; a replacement never disposes an instance still in use. */
  async use<T>(project: string, labelInterface: LabelInterface, extraParams: JsonObject, fn: (model: ServedModel) => Promise<T>): Promise<T> {
    const entry = await this.#entry(project, labelInterface, extraParams);
    entry.inFlight += 1;
    try {
      return await fn(await entry.model);
    } finally {
      entry.inFlight -= 1;
      if (entry.retired && entry.inFlight === 0) void this.#dispose(entry);
    }
  }

  /** Disposes every instance and stops listening (shutdown). */
  async close(): Promise<void> {
    this.#unsubscribe();
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map((entry) => this.#dispose(entry)));
  }

  /** A new current version: forget the old answer and, where the project is served, build the new instance now. */
  #onCurrentChange(project: string): void {
    this.#current.delete(project);
    const existing = this.#entries.get(project);
    if (!existing) return;
    this.#entry(project, existing.labelInterface, existing.extraParams)
      .then((entry) => entry.model)
      .catch((error: unknown) => this.#logger.warn({ err: error, project }, 'could not prepare the new current version'));
  }

  async #entry(project: string, labelInterface: LabelInterface, extraParams: JsonObject): Promise<Entry> {
    const checkpoint = await this.current(project);
    const version = checkpoint?.version ?? INITIAL_VERSION;
    const key = JSON.stringify([version, labelInterface.raw, extraParams]);
    const existing = this.#entries.get(project);
    if (existing?.key === key) return existing;

    const model = buildInstance(
      this.#modelClass,
      { projectId: project, labelConfig: labelInterface.raw, modelVersion: version, trainOutput: checkpoint?.trainOutput ?? null, extraParams },
      this.#context,
    ).then((instance) => ({ instance, version }));
    const entry: Entry = { key, labelInterface, extraParams, model, inFlight: 0, retired: false };
    this.#entries.set(project, entry);
    model.then(
      () => existing && this.#retire(existing),
      () => {
        if (this.#entries.get(project) === entry) this.#entries.delete(project);
      },
    );
    return entry;
  }

  #retire(entry: Entry): void {
    entry.retired = true;
    if (entry.inFlight === 0) void this.#dispose(entry);
  }

  async #dispose(entry: Entry): Promise<void> {
    if (entry.disposed) return;
    entry.disposed = true;
    try {
      (await entry.model).instance.dispose();
    } catch {
      // A build that failed has nothing to dispose.
    }
  }
}
