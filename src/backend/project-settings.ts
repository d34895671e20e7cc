/** A project's settings kept in the key-value store under the Python SDK's key names. */
import type { JsonObject, JsonValue } from '../types.js';
import type { KeyValueStore } from '../store/types.js';

export const LABEL_CONFIG_KEY = 'label_config';
export const EXTRA_PARAMS_KEY = 'extra_params';

/** The config a request carries if any (then remembered), else the last one seen. */
export function readLabelConfig(kv: KeyValueStore, project: string, payload?: JsonValue): string {
  const fromPayload = extractLabelConfig(payload);
  if (fromPayload !== undefined) {
    rememberLabelConfig(kv, project, fromPayload);
    return fromPayload;
  }
  const stored = kv.get(project, LABEL_CONFIG_KEY);
  return typeof stored === 'string' ? stored : '';
}

export function rememberLabelConfig(kv: KeyValueStore, project: string, labelConfig: string): void {
  if (kv.get(project, LABEL_CONFIG_KEY) !== labelConfig) kv.set(project, LABEL_CONFIG_KEY, labelConfig);
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

export function readExtraParams(kv: KeyValueStore, project: string): JsonObject {
  const stored = kv.get(project, EXTRA_PARAMS_KEY);
  return typeof stored === 'object' && stored !== null && !Array.isArray(stored) ? stored : {};
}
