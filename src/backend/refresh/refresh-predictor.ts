/**
 * The model side of the prediction refresh: predictions of one version for Label Studio tasks,
 * in small chunks that give way to live traffic (a chunk waits while /predict calls are in flight,
 * and the event loop turns between chunks, so /health never waits on the refresh). The served
 * version is predicted with the warm instance /predict uses; another version (`predict
 * --version`) with an instance built for the refresh and disposed after it. A chunk that fails is
 * predicted task by task, so one bad task (a file that cannot be fetched) fails alone.
 */
import { setImmediate as turn } from 'node:timers/promises';
import type { JsonObject, Task } from '../../types.js';
import type { AnyModel, ModelClass } from '../../model/base.js';
import { LabelInterface } from '../../model/label-config.js';
import { normalizePredictResult, type PredictionJson, type TaskPredictionsJson } from '../../model/response.js';
import type { CheckpointStore } from '../../store/types.js';
import { errorMessage } from '../../util/json.js';
import { buildInstance, type InstanceContext } from '../instance.js';
import type { ModelRegistry } from '../model-registry.js';
import type { PredictGate } from '../predict-gate.js';

/** Tasks per model call. */
const CHUNK = 32;
/** Longest a chunk waits for live /predict calls to finish (the refresh must progress under load too). */
const MAX_YIELD_MS = 2000;

export type TaskOutcome = { prediction: { result: unknown[]; score?: number } } | { none: true } | { error: string };

export interface PredictorDeps {
  modelClass: ModelClass;
  registry: ModelRegistry;
  checkpoints: CheckpointStore;
  context: InstanceContext;
  gate: PredictGate;
}

export interface VersionPredictor {
  predict(tasks: Task[], signal: AbortSignal): Promise<Map<number, TaskOutcome>>;
  close(): void;
}

/** Thrown when the served version changed under a refresh that follows it. */
export class VersionChanged extends Error {
  constructor(readonly version: string) {
    super(`superseded by version ${version}`);
    this.name = 'VersionChanged';
  }
}

export async function openPredictor(
  deps: PredictorDeps,
  target: { project: string; version: string; served: boolean; labelConfig: string; extraParams: JsonObject },
): Promise<VersionPredictor> {
  const labelInterface = LabelInterface.forConfig(target.labelConfig);
  let own: AnyModel | undefined;
  if (!target.served) {
    const checkpoint = await deps.checkpoints.load(target.project, target.version);
    own = await buildInstance(deps.modelClass, {
      projectId: target.project,
      labelConfig: target.labelConfig,
      modelVersion: target.version,
      trainOutput: checkpoint.trainOutput,
      extraParams: target.extraParams,
    }, deps.context);
  }
  const callModel = async (tasks: Task[]): Promise<TaskPredictionsJson[]> => {
    if (own) return normalizePredictResult(await own.predict(tasks, { context: null, params: {} }), tasks.length, target.version);
    return deps.registry.use(target.project, labelInterface, target.extraParams, async (served) => {
      if (served.version !== target.version) throw new VersionChanged(served.version);
      return normalizePredictResult(await served.instance.predict(tasks, { context: null, params: {} }), tasks.length, served.version);
    });
  };

  return {
    async predict(tasks, signal) {
      const outcomes = new Map<number, TaskOutcome>();
      for (let i = 0; i < tasks.length; i += CHUNK) {
        const chunk = tasks.slice(i, i + CHUNK);
        await yieldToLive(deps.gate, signal);
        try {
          store(outcomes, chunk, await callModel(chunk));
        } catch (error) {
          if (error instanceof VersionChanged || signal.aborted) throw error;
          for (const task of chunk) {
            await turn();
            try {
              store(outcomes, [task], await callModel([task]));
            } catch (single) {
              if (single instanceof VersionChanged || signal.aborted) throw single;
              outcomes.set(task.id as number, { error: errorMessage(single) });
            }
          }
        }
      }
      return outcomes;
    },
    close() {
      own?.dispose();
    },
  };
}

/** One prediction per task (a version has at most one per task): the first the model gave. */
function store(outcomes: Map<number, TaskOutcome>, tasks: Task[], results: TaskPredictionsJson[]): void {
  tasks.forEach((task, i) => {
    const entry = results[i];
    const first: PredictionJson | undefined = Array.isArray(entry) ? entry[0] : entry;
    if (!first || !Array.isArray(first.result) || first.result.length === 0) {
      outcomes.set(task.id as number, { none: true });
      return;
    }
    const score = typeof first.score === 'number' && Number.isFinite(first.score) ? first.score : undefined;
    outcomes.set(task.id as number, { prediction: { result: first.result, ...(score !== undefined && { score }) } });
  });
}

/** Lets live /predict calls go first (bounded), and the event loop turn. */
async function yieldToLive(gate: PredictGate, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + MAX_YIELD_MS;
  while (Date.now() < deadline && !signal.aborted) {
    const { inFlightCalls, waitingCalls } = gate.stats();
    if (inFlightCalls + waitingCalls === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await turn();
}
