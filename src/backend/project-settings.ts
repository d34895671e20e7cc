/**
 * A project's label config and extra params, kept in the key-value store under the Python SDK's
 * key names and cached in memory: /setup and /predict read them on every call. Only the main
 * thread writes these two keys, so the cache cannot go stale.
 */
import type { JsonObject, JsonValue } from '../types.js';
import type { KeyValueStore } from '../store/types.js';

export const LABEL_CONFIG_KEY = 'label_config';
export const EXTRA_PARAMS_KEY = 'extra_params';

interface Cached {
  labelConfig?: string;
  extraParams?: JsonObject;
}

export class ProjectSettings {
  readonly #cache = new Map<string, Cached>();

  constructor(private readonly kv: KeyValueStore) {}

  /** The config a request carries if any (then remembered), else the last one seen. */
  labelConfig(project: string, payload?: JsonValue): string {
    const fromPayload = extractLabelConfig(payload);
    if (fromPayload !== undefined) {
      this.rememberLabelConfig(project, fromPayload);
      return fromPayload;
    }
    const cached = this.#entry(project);
    if (cached.labelConfig === undefined) {
      const stored = this.kv.get(project, LABEL_CONFIG_KEY);
      cached.labelConfig = typeof stored === 'string' ? stored : '';
    }
    return cached.labelConfig;
  }

  rememberLabelConfig(project: string, labelConfig: string): void {
    const cached = this.#entry(project);
    if (cached.labelConfig === labelConfig) return;
    if (this.kv.get(project, LABEL_CONFIG_KEY) !== labelConfig) this.kv.set(project, LABEL_CONFIG_KEY, labelConfig);
    cached.labelConfig = labelConfig;
  }

  extraParams(project: string): JsonObject {
    const cached = this.#entry(project);
    if (cached.extraParams === undefined) {
      const stored = this.kv.get(project, EXTRA_PARAMS_KEY);
      cached.extraParams = typeof stored === 'object' && stored !== null && !Array.isArray(stored) ? stored : {};
    }
    return cached.extraParams;
  }

  setExtraParams(project: string, value: JsonObject): void {
    this.kv.set(project, EXTRA_PARAMS_KEY, value);
    this.#entry(project).extraParams = value;
  }

  #entry(project: string): Cached {
    let entry = this.#cache.get(project);
    if (!entry) {
      entry = {};
      this.#cache.set(project, entry);
    }
    return entry;
  }
}

/** Webhook bodies carry the config as project.label_config; /train and /predict as label_config. */
function extractLabelConfig(payload: JsonValue | undefined): string | undefined {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  if (typeof payload.label_config === 'string') return payload.label_config;
  const project = payload.project;
  if (typeof project === 'object' && project !== null && !Array.isArray(project) && typeof project.label_config === 'string') {
    return project.label_config;
  }
  return undefined;
}
