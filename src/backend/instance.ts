/** Builds a ready model instance (constructed, `setup()` awaited) for a project — never before preload finished. */
import type { AnyModel, ModelClass, ModelInit, ModelLogger, ProjectKeyValue, TaskFiles } from '../model/base.js';
import { LabelInterface } from '../model/label-config.js';
import type { KeyValueStore } from '../store/types.js';

/** What an instance is built from; plain data so it can cross to the training worker. */
export type InstanceInit = Omit<ModelInit, 'kv' | 'logger' | 'labelInterface' | 'taskFiles'>;

/** What the process gives every instance it builds. */
export interface InstanceContext {
  kv: KeyValueStore;
  logger: ModelLogger;
  taskFiles: TaskFiles;
  /** Resolves once the model class's preload finished (rejects if it failed). */
  whenPreloaded(): Promise<void>;
}

export async function buildInstance(modelClass: ModelClass, init: InstanceInit, context: InstanceContext): Promise<AnyModel> {
  await context.whenPreloaded();
  const instance = new modelClass({
    ...init,
    labelInterface: LabelInterface.forConfig(init.labelConfig),
    kv: projectKeyValue(context.kv, init.projectId),
    logger: context.logger,
    taskFiles: context.taskFiles,
  });
  await instance.setup();
  return instance;
}

function projectKeyValue(kv: KeyValueStore, project: string): ProjectKeyValue {
  return {
    get: (key) => kv.get(project, key),
    set: (key, value) => kv.set(project, key, value),
    has: (key) => kv.has(project, key),
  };
}
