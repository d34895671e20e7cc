/**
 * The training worker thread: loads the model module and the TF.js runtime once, runs the
 * model's preload (purpose 'train'), then runs one `fit` at a time on request. Progress and
 * results go back to the main thread as messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TrainProgress } from '../types.js';
import type { ModelClass } from '../model/base.js';
import { initTfRuntime } from '../tf/runtime.js';
import { openStores, type Stores } from '../store/index.js';
import { labelStudioTaskFiles } from '../io/task-files.js';
import { createLogger } from '../logger.js';
import { loadModelClass, type ModelModuleRef } from './model-module.js';
import { buildInstance, type InstanceContext } from './instance.js';
import type { FitJob, WorkerFitRunnerOptions } from './fit-runner.js';
import { Readiness } from './readiness.js';

type WorkerData = WorkerFitRunnerOptions & { model: ModelModuleRef };

const data = workerData as WorkerData;
const port = parentPort;
if (!port) throw new Error('fit-worker must run in a worker thread');

const logger = createLogger({ level: data.logLevel, pretty: false }).child({ component: 'fit-worker' });
let ready: Promise<{ modelClass: ModelClass; stores: Stores; context: InstanceContext }> | undefined;
const controllers = new Map<string, AbortController>();

function prepare() {
  ready ??= (async () => {
    await initTfRuntime({ backend: data.tfjsBackend, logger });
    const modelClass = await loadModelClass(data.model);
    const readiness = new Readiness(() => modelClass.preload({ modelDir: data.modelDir, logger: logger.child({ component: 'model' }), purpose: 'train' }));
    // The worker never watches `current`: it only reads annotations and the key-value store.
    const stores = openStores(data.modelDir, { pollMs: 0, redis: data.redis });
    const taskFiles = labelStudioTaskFiles({ labelStudioUrl: data.labelStudioUrl, labelStudioApiKey: data.labelStudioApiKey, taskUrlOrigins: data.taskUrlOrigins });
    return { modelClass, stores, context: { kv: stores.kv, logger, taskFiles, whenPreloaded: () => readiness.whenPreloaded() } };
  })();
  return ready;
}

async function runFit(job: FitJob): Promise<void> {
  const jobId = job.request.jobId;
  const controller = new AbortController();
  controllers.set(jobId, controller);
  try {
    const { modelClass, stores, context } = await prepare();
    const instance = await buildInstance(modelClass, job.init, context);
    try {
      const onProgress = (progress: TrainProgress) => port!.postMessage({ type: 'progress', jobId, progress });
      const tasks = await stores.annotations.trainingSet(job.init.projectId);
      const result = await instance.fit({ ...job.request, tasks, signal: controller.signal, onProgress });
      port!.postMessage({ type: 'done', jobId, result: result ?? null });
    } finally {
      instance.dispose();
    }
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    const name = controller.signal.aborted ? 'AbortError' : err.name;
    port!.postMessage({ type: 'error', jobId, name, message: err.message, stack: err.stack });
  } finally {
    controllers.delete(jobId);
  }
}

port.on('message', (message: { type: 'fit'; job: FitJob } | { type: 'abort'; jobId: string }) => {
  if (message.type === 'fit') void runFit(message.job);
  else controllers.get(message.jobId)?.abort(new Error('training cancelled'));
});
