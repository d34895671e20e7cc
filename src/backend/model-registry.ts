/**
 * One warm model instance per project, created once and reused across requests (the Python
 * SDK's instance-per-request is a top complaint). An instance is rebuilt only when the project's
 * label config, extra params or served version changes.
 */
import type { JsonObject } from '../types.js';
import type { LabelStudioMLBase, ModelClass, ModelLogger } from '../model/base.js';
import { parseLabelConfig, type ParsedLabelConfig } from '../model/label-config.js';
import type { CheckpointStore, KeyValueStore, LoadedCheckpoint } from '../store/types.js';
import { buildInstance } from './instance.js';

/** Version served by a project that has never been trained. */
export const INITIAL_VERSION = 'v0000-initial';

export interface ServedModel {
  instance: LabelStudioMLBase;
  version: string;
  labelConfig: string;
  parsed: ParsedLabelConfig;
}

interface Entry {
  key: string;
  model: Promise<ServedModel>;
  /** Requests using the instance now: a replaced instance is disposed when this drops to 0. */
  inFlight: number;
  retired: boolean;
  disposed?: boolean;
}

const PARSE_CACHE_SIZE = 64;

export class ModelRegistry {
  readonly #entries = new Map<string, Entry>();
  /** Served checkpoint per project; `null` = untrained. Loaded from disk once, then kept current. */
  readonly #served = new Map<string, Promise<LoadedCheckpoint | null>>();
  readonly #parsed = new Map<string, ParsedLabelConfig>();

  constructor(
    private readonly modelClass: ModelClass,
    private readonly checkpoints: CheckpointStore,
    private readonly kv: KeyValueStore,
    private readonly logger: ModelLogger,
  ) {}

  /** Parses a label config, cached by its text: /setup runs before every predict batch. */
  parse(labelConfig: string): ParsedLabelConfig {
    let parsed = this.#parsed.get(labelConfig);
    if (!parsed) {
      parsed = labelConfig.trim() === '' ? {} : parseLabelConfig(labelConfig);
      if (this.#parsed.size >= PARSE_CACHE_SIZE) this.#parsed.delete(this.#parsed.keys().next().value as string);
      this.#parsed.set(labelConfig, parsed);
    }
    return parsed;
  }

  served(project: string): Promise<LoadedCheckpoint | null> {
    let served = this.#served.get(project);
    if (!served) {
      served = this.checkpoints.loadCurrent(project);
      this.#served.set(project, served);
      served.catch(() => this.#served.delete(project));
    }
    return served;
  }

  async servedVersion(project: string): Promise<string> {
    return (await this.served(project))?.version ?? INITIAL_VERSION;
  }

  /** After a training or a rollback: the next request builds an instance on this checkpoint. */
  setServed(project: string, checkpoint: LoadedCheckpoint | null): void {
    this.#served.set(project, Promise.resolve(checkpoint));
  }

  /** The warm instance for a project and config, built if missing or stale. */
  async get(project: string, labelConfig: string, extraParams: JsonObject): Promise<ServedModel> {
    return (await this.#entry(project, labelConfig, extraParams)).model;
  }

  /** Runs `fn` with the warm instance; a replacement never disposes an instance still in use. */
  async use<T>(project: string, labelConfig: string, extraParams: JsonObject, fn: (model: ServedModel) => Promise<T>): Promise<T> {
    const entry = await this.#entry(project, labelConfig, extraParams);
    entry.inFlight += 1;
    try {
      return await fn(await entry.model);
    } finally {
      entry.inFlight -= 1;
      if (entry.retired && entry.inFlight === 0) void this.#dispose(entry);
    }
  }

  async #entry(project: string, labelConfig: string, extraParams: JsonObject): Promise<Entry> {
    const checkpoint = await this.served(project);
    const version = checkpoint?.version ?? INITIAL_VERSION;
    const key = JSON.stringify([version, labelConfig, extraParams]);
    const existing = this.#entries.get(project);
    if (existing?.key === key) return existing;

    const parsed = this.parse(labelConfig);
    const model = buildInstance(
      this.modelClass,
      { projectId: project, labelConfig, parsedLabelConfig: parsed, modelVersion: version, trainOutput: checkpoint?.trainOutput ?? null, extraParams },
      this.kv,
      this.logger,
    ).then((instance) => ({ instance, version, labelConfig, parsed }));
    const entry: Entry = { key, model, inFlight: 0, retired: false };
    this.#entries.set(project, entry);
    model.then(
      () => existing && this.#retire(existing),
      () => {
        if (this.#entries.get(project) === entry) this.#entries.delete(project);
      },
    );
    return entry;
  }

  /** Disposes every instance (shutdown). */
  async close(): Promise<void> {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map((entry) => this.#dispose(entry)));
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
