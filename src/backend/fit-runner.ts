/**
 * Runs a model's `fit` for one job: inline (main thread) or in a long-lived worker thread, so
 * /health and /predict keep answering while TF.js trains. The worker stays up between jobs, so
 * what a model caches at module level (embeddings by text) survives from one training to the next.
 */
import { Worker } from 'node:worker_threads';
import type { JsonObject, TrainProgress } from '../types.js';
import type { FitResult, ModelClass } from '../model/base.js';
import type { AnnotationStore } from '../store/types.js';
import type { RedisTarget } from '../store/redis-connection.js';
import type { TfBackendChoice } from '../config/index.js';
import type { ModelModuleRef } from './model-module.js';
import { buildInstance, type InstanceContext, type InstanceInit } from './instance.js';
import { siblingModule, workerBootstrap } from '../util/worker-bootstrap.js';

/**
 * One training run. The runner reads the project's training set itself (in the worker, from its
 * own database connection), so a large set never blocks the main thread or crosses threads.
 */
export interface FitJob {
  init: InstanceInit;
  request: {
    event: string;
    data: JsonObject;
    workdir: string;
    jobId: string;
  };
}

export interface FitRunner {
  run(job: FitJob, signal: AbortSignal, onProgress: (p: TrainProgress) => void): Promise<FitResult<object>>;
  close(): Promise<void>;
}

export class AbortedError extends Error {
  constructor(message = 'training cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}

/** Trains on the calling thread: for model classes given directly rather than as a module. */
export class InlineFitRunner implements FitRunner {
  constructor(
    private readonly modelClass: ModelClass,
    private readonly context: InstanceContext,
    private readonly annotations: AnnotationStore,
  ) {}

  async run(job: FitJob, signal: AbortSignal, onProgress: (p: TrainProgress) => void): Promise<FitResult<object>> {
    const instance = await buildInstance(this.modelClass, job.init, this.context);
    try {
      const tasks = await this.annotations.trainingSet(job.init.projectId);
      return await instance.fit({ ...job.request, tasks, signal, onProgress });
    } finally {
      instance.dispose();
    }
  }

  async close(): Promise<void> {}
}

/** Runs several fits at once (TRAINER_CONCURRENCY): each takes a free runner. */
export class FitRunnerPool implements FitRunner {
  readonly #free: FitRunner[];

  constructor(private readonly runners: FitRunner[]) {
    this.#free = [...runners];
  }

  async run(job: FitJob, signal: AbortSignal, onProgress: (p: TrainProgress) => void): Promise<FitResult<object>> {
    const runner = this.#free.pop();
    if (!runner) throw new Error('every training worker is busy');
    try {
      return await runner.run(job, signal, onProgress);
    } finally {
      this.#free.push(runner);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.close()));
  }
}

/** What the worker needs to rebuild the process context: plain data (it crosses threads). */
export interface WorkerFitRunnerOptions {
  modelDir: string;
  /** The shared stores of distributed mode; the worker reads annotations and the key-value store there. */
  redis?: RedisTarget | undefined;
  tfjsBackend: TfBackendChoice;
  logLevel: string;
  labelStudioUrl: string | undefined;
  labelStudioApiKey: string | undefined;
  taskUrlOrigins?: readonly string[] | undefined;
  /** How long a cancelled fit may take to stop before the worker is terminated. */
  abortGraceMs?: number;
  /**
   * An idle worker exits after this long (its TF.js runtime is ~190 MB); the next job starts a
   * new one. Embeddings persist in the embedding cache, not in the worker. @default 30000
   */
  idleExitMs?: number;
}

type WorkerMessage =
  | { type: 'progress'; jobId: string; progress: TrainProgress }
  | { type: 'done'; jobId: string; result: FitResult<object> }
  | { type: 'error'; jobId: string; name: string; message: string; stack?: string };

interface Current {
  jobId: string;
  resolve: (value: FitResult<object>) => void;
  reject: (error: Error) => void;
  onProgress: (p: TrainProgress) => void;
}

const workerFile = siblingModule('fit-worker', import.meta.url);

export class WorkerFitRunner implements FitRunner {
  #worker: Worker | undefined;
  #current: Current | undefined;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly model: ModelModuleRef,
    private readonly options: WorkerFitRunnerOptions,
  ) {}

  run(job: FitJob, signal: AbortSignal, onProgress: (p: TrainProgress) => void): Promise<FitResult<object>> {
    if (this.#current) return Promise.reject(new Error('the training worker is busy'));
    if (signal.aborted) return Promise.reject(new AbortedError());
    clearTimeout(this.#idleTimer);
    const worker = this.#ensureWorker();
    return new Promise<FitResult<object>>((resolve, reject) => {
      let graceTimer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        worker.postMessage({ type: 'abort', jobId: job.request.jobId });
        // A fit that ignores its signal is stopped the hard way.
        graceTimer = setTimeout(() => this.#kill(new AbortedError('training cancelled (worker terminated)')), this.options.abortGraceMs ?? 5000);
        graceTimer.unref();
      };
      const settle = () => {
        signal.removeEventListener('abort', onAbort);
        if (graceTimer) clearTimeout(graceTimer);
        this.#current = undefined;
        this.#idleTimer = setTimeout(() => {
          const idle = this.#worker;
          this.#worker = undefined;
          void idle?.terminate();
        }, this.options.idleExitMs ?? 30_000);
        this.#idleTimer.unref();
      };
      this.#current = {
        jobId: job.request.jobId,
        resolve: (value) => (settle(), resolve(value)),
        reject: (error) => (settle(), reject(error)),
        onProgress,
      };
      signal.addEventListener('abort', onAbort, { once: true });
      worker.postMessage({ type: 'fit', job });
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) await worker.terminate();
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(workerBootstrap(workerFile), {
      eval: true,
      workerData: { model: this.model, ...this.options },
    });
    worker.unref();
    worker.on('message', (message: WorkerMessage) => this.#onMessage(message));
    worker.on('error', (error) => this.#kill(error));
    worker.on('exit', (code) => {
      // A worker retired on purpose (idle, killed, closed) is no longer this.#worker.
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#current?.reject(new Error(`training worker exited with code ${code}`));
    });
    this.#worker = worker;
    return worker;
  }

  #onMessage(message: WorkerMessage): void {
    const current = this.#current;
    if (!current || current.jobId !== message.jobId) return;
    if (message.type === 'progress') current.onProgress(message.progress);
    else if (message.type === 'done') current.resolve(message.result);
    else {
      const error = message.name === 'AbortError' ? new AbortedError(message.message) : new Error(message.message);
      if (message.stack) error.stack = message.stack;
      current.reject(error);
    }
  }

  #kill(error: Error): void {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#current?.reject(error);
    void worker?.terminate();
  }
}
