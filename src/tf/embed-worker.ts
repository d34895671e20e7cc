/**
 * One embedding worker thread of the EmbedPool: its own TF.js runtime and USE-lite graph, one
 * batch at a time. Rows go back as transferred Float32Array buffers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { UseEmbedder } from './use-embedder.js';
import { wasmBinaryDir } from './wasm-paths.js';

export interface EmbedWorkerData {
  dir: string;
  /** wasm, or cpu when the process was told TFJS_BACKEND=cpu (native bindings stay in the main thread). */
  tfjsBackend: 'wasm' | 'cpu';
  maxBatchTokens: number;
}

export type EmbedWorkerRequest = { type: 'embed'; id: number; texts: string[] };
export type EmbedWorkerReply =
  | { type: 'ready'; encoderId: string; dim: number }
  | { type: 'rows'; id: number; values: Float32Array }
  | { type: 'error'; id: number | null; message: string };

const port = parentPort;
if (!port) throw new Error('embed-worker must run in a worker thread');
const data = workerData as EmbedWorkerData;

/** tfjs-core, the converter and one backend: a worker needs no layers, data or webgl code. */
async function startBackend(name: 'wasm' | 'cpu'): Promise<void> {
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = wasmBinaryDir();
    if (dir !== null) wasm.setWasmPaths(dir);
  } else await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend(name))) throw new Error(`the ${name} backend failed to start in the embedding worker`);
  await tf.ready();
}

async function main(): Promise<void> {
  await startBackend(data.tfjsBackend);
  // The pool verified the files before starting workers.
  const encoder = await UseEmbedder.load(data.dir, { verify: false, maxBatchTokens: data.maxBatchTokens });
  port!.on('message', (message: EmbedWorkerRequest) => {
    encoder.embed(message.texts).then(
      (rows) => port!.postMessage({ type: 'rows', id: message.id, values: rows.values } satisfies EmbedWorkerReply, [rows.values.buffer as ArrayBuffer]),
      (error: unknown) => port!.postMessage({ type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) } satisfies EmbedWorkerReply),
    );
  });
  port!.postMessage({ type: 'ready', encoderId: encoder.id, dim: encoder.dim } satisfies EmbedWorkerReply);
}

main().catch((error: unknown) => {
  port.postMessage({ type: 'error', id: null, message: error instanceof Error ? error.message : String(error) } satisfies EmbedWorkerReply);
});
