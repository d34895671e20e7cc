/** Builds a ready model instance (constructed, `setup()` awaited) for a project. */
import type { LabelStudioMLBase, ModelClass, ModelInit, ModelLogger } from '../model/base.js';
import type { KeyValueStore } from '../store/types.js';

/** What an instance is built from; plain data so it can cross to the training worker. */
export type InstanceInit = Omit<ModelInit, 'kv' | 'logger'>;

export async function buildInstance(
  modelClass: ModelClass,
  init: InstanceInit,
  kv: KeyValueStore,
  logger: ModelLogger,
): Promise<LabelStudioMLBase> {
  const project = init.projectId;
  const instance = new modelClass({
    ...init,
    kv: {
      get: (key) => kv.get(project, key),
      set: (key, value) => kv.set(project, key, value),
      has: (key) => kv.has(project, key),
    },
    logger,
  });
  await instance.setup();
  return instance;
}
