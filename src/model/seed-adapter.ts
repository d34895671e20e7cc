/**
 * Serves the "seed" style of ML code — a `train(inputIterator, workingDir) -> resources` function
 * plus an inference model with `load(resources)` — on the LabelStudioMLBase contract: `fit` calls
 * `train` on the project's annotated tasks in the job's workdir and the returned resources become
 * `train_output`; each warm instance loads the served version's resources into a new inference model.
 */
import type { AnnotatedTask, JsonObject, Task, TrainProgress } from '../types.js';
import { LabelStudioMLBase, type FitRequest, type FitResult, type ModelClass, type PredictOptions } from './base.js';
import type { PredictResult } from './response.js';

export interface SeedTrainContext {
  event: string;
  labelConfig: string;
  signal: AbortSignal;
  onProgress(progress: TrainProgress): void;
}

export interface SeedInferenceModel {
  /** Receives what `train` returned (with `workdir` = the version's directory). */
  load(resources: JsonObject): void | Promise<void>;
  predict(tasks: Task[], options: PredictOptions & { labelConfig: string }): PredictResult | Promise<PredictResult>;
  dispose?(): void;
}

export interface SeedModelSpec {
  /** Shown as model_class in /health. */
  name: string;
  train(input: AsyncIterable<AnnotatedTask>, workingDir: string, context: SeedTrainContext): Promise<JsonObject | null> | JsonObject | null;
  createInferenceModel(): SeedInferenceModel;
}

async function* iterate(tasks: readonly AnnotatedTask[]): AsyncIterable<AnnotatedTask> {
  yield* tasks;
}

/** A model class (for startServer or a module's default export) built from seed-style functions. */
export function seedModel(spec: SeedModelSpec): ModelClass {
  return class SeedModel extends LabelStudioMLBase {
    #inference: SeedInferenceModel | undefined;

    static override get modelName(): string {
      return spec.name;
    }

    override async setup(): Promise<void> {
      if (!this.trainOutput) return;
      const inference = spec.createInferenceModel();
      await inference.load(this.trainOutput);
      this.#inference = inference;
    }

    override predict(tasks: Task[], options: PredictOptions): PredictResult | Promise<PredictResult> {
      return this.#inference ? this.#inference.predict(tasks, { ...options, labelConfig: this.labelConfig }) : null;
    }

    override async fit(request: FitRequest): Promise<FitResult> {
      const resources = await spec.train(iterate(request.tasks), request.workdir, {
        event: request.event,
        labelConfig: this.labelConfig,
        signal: request.signal,
        onProgress: (progress) => request.onProgress(progress),
      });
      return resources === null ? null : { ...resources, workdir: request.workdir };
    }

    override dispose(): void {
      this.#inference?.dispose?.();
    }
  };
}
