/**
 * Type tests of the public entry (expect-type): checked by `tsc --noEmit` in `npm test`, never run.
 * A wrong type here, or an `@ts-expect-error` that no longer errs, fails the type check.
 */
import { expectTypeOf } from 'expect-type';
import {
  LabelStudioMLBase, MLBackend, ModelResponse, PredictionValue, TEXT_CLASSIFIER_SETTINGS, integer, choice, loadConfig, readSettings, startServer,
  type ErrorCode, type FitRequest, type FitResult, type JobRecord, type JsonObject, type ModelClass, type PredictResult, type PreloadContext,
  type ProjectKeyValue, type Task, type TrainProgress, type ControlTag, type JobEvent,
} from '../../src/index.js';

interface Params {
  epochs?: number;
  hidden?: number;
}

interface Output {
  labels: string[];
  model_dir: string;
}

class Typed extends LabelStudioMLBase<Params, Output> {
  static override async preload(context: PreloadContext): Promise<void> {
    expectTypeOf(context.purpose).toEqualTypeOf<'serve' | 'train'>();
    expectTypeOf(context.modelDir).toBeString();
  }

  override predict(tasks: Task[]) {
    expectTypeOf(this.extraParams.epochs).toEqualTypeOf<number | undefined>();
    expectTypeOf(this.trainOutput).toEqualTypeOf<Output | null>();
    return tasks.map(() => ({ result: [{ from_name: 'c', to_name: 't', type: 'choices', value: { choices: ['A'] } }], score: 0.5, extra: true }));
  }

  override async fit(request: FitRequest): Promise<FitResult<Output>> {
    expectTypeOf(request.signal).toEqualTypeOf<AbortSignal>();
    expectTypeOf<FitRequest['onProgress']>().parameter(0).toEqualTypeOf<TrainProgress>();
    return { labels: ['A'], model_dir: request.workdir };
  }
}

class Untyped extends LabelStudioMLBase {
  override predict() {
    expectTypeOf(this.extraParams).toEqualTypeOf<JsonObject>();
    return new ModelResponse({ predictions: [new PredictionValue({ score: 1 })] });
  }
}

class WrongPredict extends LabelStudioMLBase {
  // @ts-expect-error predict must return predictions (an array, {predictions}, a ModelResponse) or null
  override predict() {
    return 'not predictions';
  }
}

class WrongFit extends LabelStudioMLBase<Params, Output> {
  // @ts-expect-error fit must return the declared train output
  override async fit() {
    return { labels: 'A' };
  }
}

// Model classes of any type parameters serve.
expectTypeOf(Typed).toMatchTypeOf<ModelClass>();
expectTypeOf(Untyped).toMatchTypeOf<ModelClass>();
void startServer({ modelClass: Typed, handleSignals: false });
void [WrongPredict, WrongFit];

// Predict results.
expectTypeOf<null>().toMatchTypeOf<PredictResult>();
expectTypeOf<ModelResponse>().toMatchTypeOf<PredictResult>();
expectTypeOf<{ predictions: Array<{ result: [] }> }>().toMatchTypeOf<PredictResult>();
expectTypeOf<string>().not.toMatchTypeOf<PredictResult>();

// The model's key-value store is asynchronous (a Redis-backed store is).
expectTypeOf<ProjectKeyValue['get']>().returns.toEqualTypeOf<Promise<import('../../src/index.js').JsonValue | undefined>>();

// The parsed label config keeps attributes.
expectTypeOf<ControlTag['attributes']>().toEqualTypeOf<Readonly<Record<string, string>>>();
expectTypeOf<ControlTag['multiple']>().toBeBoolean();

// Settings are typed from their declarations.
const bundled = readSettings(TEXT_CLASSIFIER_SETTINGS);
expectTypeOf(bundled.embedder).toEqualTypeOf<'auto' | 'combined' | 'use' | 'hashed'>();
expectTypeOf(bundled.embedWorkers).toBeNumber();
expectTypeOf(bundled.useDownload).toBeBoolean();
expectTypeOf(bundled.useModelDir).toEqualTypeOf<string | undefined>();
expectTypeOf(bundled.useCacheDir).toBeString();
const own = readSettings({ workers: integer({ env: 'WORKERS', default: 2, min: 1, max: 64, doc: 'embedding workers' }), mode: choice({ env: 'MODE', choices: ['a', 'b'] as const, default: 'a', doc: 'mode' }) });
expectTypeOf(own).toEqualTypeOf<{ workers: number; mode: 'a' | 'b' }>();
expectTypeOf(loadConfig().tfjsBackend).toEqualTypeOf<'auto' | 'tensorflow' | 'wasm' | 'cpu'>();

// The error catalogue is the union.
expectTypeOf<'MLB_ERR_INTERNAL'>().toMatchTypeOf<ErrorCode>();
expectTypeOf<'MLB_ERR_INVALID_TASKS'>().not.toMatchTypeOf<ErrorCode>();

// Job records carry their progress history (contract C2); events carry records.
expectTypeOf<JobRecord['history']>().toEqualTypeOf<Array<TrainProgress & { at: string }> | undefined>();
expectTypeOf<JobEvent['job']>().toEqualTypeOf<JobRecord>();

// MLBackend keeps its subsystems private.
declare const backend: MLBackend;
// @ts-expect-error the stores are private
void backend.stores;
// @ts-expect-error the job queue is private
void backend.queue;
// @ts-expect-error the registry is private
void backend.registry;
expectTypeOf<MLBackend['onJobEvent']>().parameter(0).toEqualTypeOf<(event: JobEvent) => void>();
