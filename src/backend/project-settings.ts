/**
 * A project's label config and extra params: kept in the key-value store (the owner) under the
 * Python SDK's key names, read through a small in-memory cache (/setup and /predict read them on
 * every call; no cache when replicas share the store). Reads never write; `remember*` writes
 * through when a request brings a new value.
 */
import type { JsonObject, JsonValue } from '../types.js';
import type { KeyValueStore } from '../store/types.js';
import { badRequest, isMlBackendError } from '../errors.js';
import { isObject } from '../util/json.js';

export const LABEL_CONFIG_KEY = 'label_config';
export const EXTRA_PARAMS_KEY = 'extra_params';

interface Cached {
  labelConfig?: string;
  extraParams?: JsonObject;
}

export class ProjectSettings {
  readonly #cache = new Map<string, Cached>();
  /** The last value read per project and key: answers while a shared store is unreachable. */
  readonly #lastRead = new Map<string, JsonValue | undefined>();

  constructor(
    private readonly kv: KeyValueStore,
    /** Off in distributed mode: another replica may change a setting, so every read asks the store. */
    private readonly options: { cache: boolean } = { cache: true },
  ) {}

  /** The last config seen for the project ('' when none yet). */
  async labelConfig(project: string): Promise<string> {
    const cached = this.#entry(project);
    if (cached.labelConfig === undefined) {
      const stored = await this.#read(project, LABEL_CONFIG_KEY);
      cached.labelConfig = typeof stored === 'string' ? stored : '';
    }
    return cached.labelConfig;
  }

  /** Stores a config a request brought, when it differs from the one kept. */
  async rememberLabelConfig(project: string, labelConfig: string): Promise<void> {
    if ((await this.labelConfig(project)) === labelConfig) return;
    await this.kv.set(project, LABEL_CONFIG_KEY, labelConfig);
    this.#entry(project).labelConfig = labelConfig;
  }

  async extraParams(project: string): Promise<JsonObject> {
    const cached = this.#entry(project);
    if (cached.extraParams === undefined) {
      const stored = await this.#read(project, EXTRA_PARAMS_KEY);
      cached.extraParams = isObject(stored) ? stored : {};
    }
    return cached.extraParams;
  }

  async setExtraParams(project: string, value: JsonObject): Promise<void> {
    await this.kv.set(project, EXTRA_PARAMS_KEY, value);
    this.#entry(project).extraParams = value;
  }

  /** Predictions go on through a Redis restart with the settings last read. */
  async #read(project: string, key: string): Promise<JsonValue | undefined> {
    const id = `${project}\u0000${key}`;
    try {
      const value = await this.kv.get(project, key);
      this.#lastRead.set(id, value);
      return value;
    } catch (error) {
      if (isMlBackendError(error) && error.code === 'MLB_ERR_REDIS_UNAVAILABLE' && this.#lastRead.has(id)) return this.#lastRead.get(id);
      throw error;
    }
  }

  #entry(project: string): Cached {
    if (!this.options.cache) return {};
    let entry = this.#cache.get(project);
    if (!entry) this.#cache.set(project, (entry = {}));
    return entry;
  }
}

/** The config a payload carries: webhooks as project.label_config, /train and /predict as label_config. */
export function labelConfigIn(payload: JsonValue | Record<string, unknown> | undefined): string | undefined {
  if (!isObject(payload)) return undefined;
  if (typeof payload.label_config === 'string') return payload.label_config;
  const project = payload.project;
  return isObject(project) && typeof project.label_config === 'string' ? project.label_config : undefined;
}

/** /setup's extra_params: an object (Label Studio) or JSON text (older callers); undefined when absent or empty. */
export function extraParamsIn(raw: unknown): JsonObject | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw badRequest('extra_params must be a JSON object or a string holding one', { field: 'extra_params' });
    }
  }
  if (!isObject(value)) throw badRequest('extra_params must be a JSON object or a string holding one', { field: 'extra_params' });
  return Object.keys(value).length === 0 ? undefined : (value as JsonObject);
}
