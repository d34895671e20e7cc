/**
 * USE-lite embedding off the event loop: a pool of worker threads, each with its own TF.js
 * runtime and graph (wasm runs one thread per runtime in Node, so threads are how USE scales
 * with cores). Requests are cut into chunks of similar text lengths; an idle worker takes the
 * next `interactive` chunk (/predict) before any `bulk` one (a training), so a prediction waits
 * for at most one chunk of a training's embedding.
 */
import { Worker } from 'node:worker_threads';
import { MlBackendError } from '../errors.js';
import type { EmbedWorkerData, EmbedWorkerReply, EmbedWorkerRequest } from './embed-worker.js';
import type { DenseFeatures, EmbedOptions, EmbedPriority, Embedder } from './embedder.js';
import type { TfBackendChoice } from './runtime.js';
import { siblingModule, workerBootstrap } from '../util/worker-bootstrap.js';

export interface EmbedPoolOptions {
  /** A verified USE-lite directory. */
  dir: string;
  /** Worker threads. */
  workers: number;
  /** The process's TFJS_BACKEND: workers run wasm, or cpu when that is forced. @default 'auto' */
  tfjsBackend?: TfBackendChoice;
  /** Tokens per graph execution in a worker. @default 512 */
  maxBatchTokens?: number;
  /** Texts per chunk handed to a worker. @default 64 */
  chunkSize?: number;
  /**
   * A worker that did bulk work (a training's embedding) is replaced by a fresh one after the
   * pool has been idle this long: wasm memory only grows, and a fresh worker starts in about a
   * second. 0 = never. @default 30000
   */
  recycleIdleMs?: number;
}

interface Chunk {
  texts: string[];
  priority: EmbedPriority;
  resolve(values: Float32Array): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  busy: { id: number; chunk: Chunk } | undefined;
  /** Did bulk work since it started (its wasm heap grew). */
  grown: boolean;
}

/** Replacement workers started after crashes before the pool gives up. */
const MAX_RESPAWNS = 5;

export class EmbedPool implements Embedder {
  readonly kind = 'dense' as const;
  readonly id: string;
  readonly dim: number;
  readonly size: number;
  readonly #options: Required<EmbedPoolOptions>;
  readonly #slots = new Set<Slot>();
  readonly #queues: Record<EmbedPriority, Chunk[]> = { interactive: [], bulk: [] };
  #nextId = 1;
  #respawns = 0;
  #closed = false;
  #recycleTimer: NodeJS.Timeout | undefined;
  #recycled = 0;

  private constructor(options: Required<EmbedPoolOptions>, id: string, dim: number) {
    this.#options = options;
    this.size = options.workers;
    this.id = id;
    this.dim = dim;
  }

  /** Starts the workers; resolves once the first one has loaded the graph. */
  static async start(options: EmbedPoolOptions): Promise<EmbedPool> {
    const o: Required<EmbedPoolOptions> = { tfjsBackend: 'auto', maxBatchTokens: 512, chunkSize: 64, recycleIdleMs: 30_000, ...options };
    if (!Number.isInteger(o.workers) || o.workers < 1) throw new RangeError(`EmbedPool: workers must be an integer ≥ 1, got ${o.workers}`);
    const first = spawn(o);
    const ready = await firstReady(first);
    const pool = new EmbedPool(o, ready.encoderId, ready.dim);
    pool.#adopt(first, true);
    for (let i = 1; i < o.workers; i++) pool.#adopt(spawn(o), false);
    return pool;
  }

  /** Workers (busy now), chunks waiting per priority, workers replaced after bulk work. */
  get stats(): { workers: number; busy: number; queued: Record<EmbedPriority, number>; recycled: number } {
    let busy = 0;
    for (const slot of this.#slots) if (slot.busy) busy++;
    return { workers: this.#slots.size, busy, queued: { interactive: this.#queues.interactive.length, bulk: this.#queues.bulk.length }, recycled: this.#recycled };
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<DenseFeatures> {
    if (this.#closed) throw new MlBackendError('MLB_ERR_MODEL', 500, 'the embedding pool is closed');
    const priority = options.priority ?? 'interactive';
    const values = new Float32Array(texts.length * this.dim);
    // Similar lengths in one chunk: the worker pads each batch to its longest text.
    const order = Array.from(texts.keys()).sort((a, b) => texts[a]!.length - texts[b]!.length);
    const parts: Array<Promise<void>> = [];
    for (let start = 0; start < order.length; start += this.#options.chunkSize) {
      const rows = order.slice(start, start + this.#options.chunkSize);
      const chunk = new Promise<Float32Array>((resolve, reject) => this.#queues[priority].push({ texts: rows.map((i) => texts[i]!), priority, resolve, reject }));
      parts.push(chunk.then((got) => rows.forEach((row, i) => values.set(got.subarray(i * this.dim, (i + 1) * this.dim), row * this.dim))));
    }
    this.#dispatch();
    await Promise.all(parts);
    return { kind: 'dense', rows: texts.length, dim: this.dim, values };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#recycleTimer);
    const error = new MlBackendError('MLB_ERR_MODEL', 503, 'the embedding pool was closed');
    for (const queue of Object.values(this.#queues)) queue.splice(0).forEach((chunk) => chunk.reject(error));
    const slots = [...this.#slots];
    this.#slots.clear();
    for (const slot of slots) slot.busy?.chunk.reject(error);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  dispose(): void {
    void this.close();
  }

  #adopt(worker: Worker, ready: boolean): void {
    const slot: Slot = { worker, ready, busy: undefined, grown: false };
    this.#slots.add(slot);
    worker.on('message', (message: EmbedWorkerReply) => this.#onMessage(slot, message));
    worker.on('error', (error) => this.#lose(slot, error));
    worker.on('exit', (code) => this.#lose(slot, new Error(`embedding worker exited with code ${code}`)));
  }

  #onMessage(slot: Slot, message: EmbedWorkerReply): void {
    if (message.type === 'ready') slot.ready = true;
    else if (message.type === 'error' && message.id === null) {
      this.#lose(slot, new Error(message.message));
      return;
    } else {
      const busy = slot.busy;
      slot.busy = undefined;
      if (busy && busy.id === message.id) {
        if (message.type === 'rows') busy.chunk.resolve(message.values);
        else busy.chunk.reject(new MlBackendError('MLB_ERR_MODEL', 500, `embedding failed: ${message.message}`));
      }
    }
    this.#dispatch();
  }

  /** A worker died: its chunk fails, a replacement starts (a few times), the rest carries on. */
  #lose(slot: Slot, error: Error): void {
    if (!this.#slots.delete(slot)) return;
    void slot.worker.terminate();
    slot.busy?.chunk.reject(new MlBackendError('MLB_ERR_MODEL', 500, `embedding worker failed: ${error.message}`));
    if (this.#closed) return;
    if (this.#respawns < MAX_RESPAWNS) {
      this.#respawns++;
      this.#adopt(spawn(this.#options), false);
    } else if (this.#slots.size === 0) {
      const fatal = new MlBackendError('MLB_ERR_MODEL', 500, `no embedding worker left (${error.message})`);
      for (const queue of Object.values(this.#queues)) queue.splice(0).forEach((chunk) => chunk.reject(fatal));
    }
  }

  #dispatch(): void {
    clearTimeout(this.#recycleTimer);
    for (const slot of this.#slots) {
      if (!slot.ready || slot.busy) continue;
      const chunk = this.#queues.interactive.shift() ?? this.#queues.bulk.shift();
      if (!chunk) break;
      const id = this.#nextId++;
      slot.busy = { id, chunk };
      if (chunk.priority === 'bulk') slot.grown = true;
      slot.worker.postMessage({ type: 'embed', id, texts: chunk.texts } satisfies EmbedWorkerRequest);
    }
    const idle = [...this.#slots].every((slot) => !slot.busy) && this.#queues.interactive.length + this.#queues.bulk.length === 0;
    if (idle && this.#options.recycleIdleMs > 0 && [...this.#slots].some((slot) => slot.grown)) {
      this.#recycleTimer = setTimeout(() => this.#recycle(), this.#options.recycleIdleMs);
      this.#recycleTimer.unref();
    }
  }

  /** Replaces idle workers that did bulk work with fresh ones (their memory goes back to the system). */
  #recycle(): void {
    for (const slot of [...this.#slots]) {
      if (!slot.grown || slot.busy || !slot.ready || this.#closed) continue;
      this.#slots.delete(slot);
      void slot.worker.terminate();
      this.#recycled++;
      this.#adopt(spawn(this.#options), false);
    }
  }
}

function spawn(o: Required<EmbedPoolOptions>): Worker {
  const workerData: EmbedWorkerData = { dir: o.dir, tfjsBackend: o.tfjsBackend === 'cpu' ? 'cpu' : 'wasm', maxBatchTokens: o.maxBatchTokens };
  const worker = new Worker(workerBootstrap(siblingModule('embed-worker', import.meta.url)), { eval: true, workerData });
  // Idle workers never keep the process alive.
  worker.unref();
  return worker;
}

function firstReady(worker: Worker): Promise<{ encoderId: string; dim: number }> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: EmbedWorkerReply) => {
      if (message.type === 'ready') {
        cleanup();
        resolve(message);
      } else if (message.type === 'error' && message.id === null) fail(new Error(message.message));
    };
    const fail = (error: Error) => {
      cleanup();
      void worker.terminate();
      reject(new MlBackendError('MLB_ERR_MODEL', 500, `the embedding worker could not start: ${error.message}`));
    };
    const onExit = (code: number) => fail(new Error(`exited with code ${code}`));
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', fail);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', fail);
    worker.on('exit', onExit);
  });
}
