/**
 * A tiny deterministic stand-in for USE-lite (TFJS-NOTES §9): same inputs (`indices` int32
 * [-1,2], `values` int32 [-1]), same output node name, L2-normalised 512-d rows, and a dynamic
 * `Where` so `executeAsync` is required. Plus a small synthetic SentencePiece-style vocab.json.
 * Everything is generated here, so no third-party data is committed; the bytes are identical
 * on every run (LCG seeded with 1234).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UseCatalog } from '../../src/tf/use-files.js';

export const SYNTHETIC_USE_FILES = ['model.json', 'vocab.json', 'group1-shard1of1'] as const;
export const USE_OUTPUT_NODE = 'module_apply_default/Encoder_en/hidden_layers/l2_normalize';

export interface SyntheticUseOptions {
  /** LCG seed. @default 1234 */
  seed?: number;
  /** Output width. @default 512 */
  outputDim?: number;
}

const EMBED_DIM = 16;
const VOCAB_BUCKETS = 1024;
const MAX_LENGTH = 128;
const SHARD = 'group1-shard1of1';
const P = 'synthetic_use';

type DType = 'int32' | 'float32';
interface ConstSpec {
  name: string;
  dtype: DType;
  shape: number[];
  values: ArrayLike<number>;
}
interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

/** 32-bit LCG (1664525, 1013904223): values in [-0.5, 0.5). */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(1664525, state) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
}

const tfType = (dtype: DType | 'bool') => ({ type: dtype === 'int32' ? 'DT_INT32' : dtype === 'float32' ? 'DT_FLOAT' : 'DT_BOOL' });
const T = (dtype: DType | 'bool') => ({ T: tfType(dtype) });
const shapeAttr = (dims: number[]) => ({ dim: dims.map((d) => ({ size: String(d) })) });

export async function writeSyntheticUseModel(dir: string, opts: SyntheticUseOptions = {}): Promise<void> {
  const D = opts.outputDim ?? 512;
  const rand = lcg(opts.seed ?? 1234);

  const embedding = new Float32Array((VOCAB_BUCKETS + 1) * EMBED_DIM); // row 0 = padding, stays 0
  for (let i = EMBED_DIM; i < embedding.length; i++) embedding[i] = rand();
  const kernel = new Float32Array(EMBED_DIM * D);
  for (let i = 0; i < kernel.length; i++) kernel[i] = rand() * 0.5;

  const consts: ConstSpec[] = [
    { name: `${P}/zero`, dtype: 'int32', shape: [], values: [0] },
    { name: `${P}/one`, dtype: 'int32', shape: [], values: [1] },
    { name: `${P}/minus_one`, dtype: 'int32', shape: [1], values: [-1] },
    { name: `${P}/vocab_buckets`, dtype: 'int32', shape: [], values: [VOCAB_BUCKETS] },
    { name: `${P}/one_f`, dtype: 'float32', shape: [], values: [1] },
    { name: `${P}/epsilon`, dtype: 'float32', shape: [], values: [1e-12] },
    { name: `${P}/max_length`, dtype: 'int32', shape: [], values: [MAX_LENGTH] },
    { name: `${P}/embedding`, dtype: 'float32', shape: [VOCAB_BUCKETS + 1, EMBED_DIM], values: embedding },
    { name: `${P}/dense/kernel`, dtype: 'float32', shape: [EMBED_DIM, D], values: kernel },
    { name: `${P}/dense/bias`, dtype: 'float32', shape: [D], values: new Float32Array(D) },
  ];

  const c = (short: string) => `${P}/${short}`;
  const nodes: GraphNode[] = [
    { name: 'indices', op: 'Placeholder', attr: { dtype: tfType('int32'), shape: { shape: shapeAttr([-1, 2]) } } },
    { name: 'values', op: 'Placeholder', attr: { dtype: tfType('int32'), shape: { shape: shapeAttr([-1]) } } },
    ...consts.map((k) => ({
      name: k.name,
      op: 'Const',
      attr: { value: { tensor: { dtype: tfType(k.dtype).type, tensorShape: shapeAttr(k.shape) } }, dtype: tfType(k.dtype) },
    })),
    // Token ids → buckets 1..V (0 stays padding).
    { name: c('ids/mod'), op: 'FloorMod', input: ['values', c('vocab_buckets')], attr: T('int32') },
    { name: c('ids'), op: 'AddV2', input: [c('ids/mod'), c('one')], attr: T('int32') },
    // Drop tokens at position ≥ 128 through a dynamic Where, like USE's ClipToMaxLength.
    { name: c('position'), op: 'GatherV2', input: ['indices', c('one'), c('one')], attr: { Tparams: tfType('int32'), Tindices: tfType('int32'), Taxis: tfType('int32'), batch_dims: { i: '0' } } },
    { name: c('keep/Less'), op: 'Less', input: [c('position'), c('max_length')], attr: T('int32') },
    { name: c('keep/Where'), op: 'Where', input: [c('keep/Less')], attr: T('bool') },
    { name: c('keep'), op: 'Reshape', input: [c('keep/Where'), c('minus_one')], attr: { ...T('int32'), Tshape: tfType('int32') } },
    { name: c('kept_ids'), op: 'GatherV2', input: [c('ids'), c('keep'), c('zero')], attr: { Tparams: tfType('int32'), Tindices: tfType('int32'), Taxis: tfType('int32'), batch_dims: { i: '0' } } },
    { name: c('kept_indices'), op: 'GatherV2', input: ['indices', c('keep'), c('zero')], attr: { Tparams: tfType('int32'), Tindices: tfType('int32'), Taxis: tfType('int32'), batch_dims: { i: '0' } } },
    // Dense [B, T] id matrix.
    { name: c('dense_shape/max'), op: 'Max', input: [c('kept_indices'), c('zero')], attr: { ...T('int32'), Tidx: tfType('int32'), keep_dims: { b: false } } },
    { name: c('dense_shape'), op: 'AddV2', input: [c('dense_shape/max'), c('one')], attr: T('int32') },
    { name: c('dense_ids'), op: 'SparseToDense', input: [c('kept_indices'), c('dense_shape'), c('kept_ids'), c('zero')], attr: { ...T('int32'), Tindices: tfType('int32'), validate_indices: { b: true } } },
    // Masked mean of token embeddings.
    { name: c('lookup'), op: 'GatherV2', input: [c('embedding'), c('dense_ids'), c('zero')], attr: { Tparams: tfType('float32'), Tindices: tfType('int32'), Taxis: tfType('int32'), batch_dims: { i: '0' } } },
    { name: c('mean/sum'), op: 'Sum', input: [c('lookup'), c('one')], attr: { ...T('float32'), Tidx: tfType('int32'), keep_dims: { b: false } } },
    { name: c('mean/mask'), op: 'Greater', input: [c('dense_ids'), c('zero')], attr: T('int32') },
    { name: c('mean/mask_f'), op: 'Cast', input: [c('mean/mask')], attr: { SrcT: tfType('bool'), DstT: tfType('float32'), Truncate: { b: false } } },
    { name: c('mean/count'), op: 'Sum', input: [c('mean/mask_f'), c('one')], attr: { ...T('float32'), Tidx: tfType('int32'), keep_dims: { b: true } } },
    { name: c('mean/count_clamped'), op: 'Maximum', input: [c('mean/count'), c('one_f')], attr: T('float32') },
    { name: c('mean'), op: 'RealDiv', input: [c('mean/sum'), c('mean/count_clamped')], attr: T('float32') },
    // Projection to D.
    { name: c('dense/MatMul'), op: 'MatMul', input: [c('mean'), c('dense/kernel')], attr: { ...T('float32'), transpose_a: { b: false }, transpose_b: { b: false } } },
    { name: c('dense/BiasAdd'), op: 'BiasAdd', input: [c('dense/MatMul'), c('dense/bias')], attr: { ...T('float32'), data_format: { s: Buffer.from('NHWC').toString('base64') } } },
    { name: c('dense/Tanh'), op: 'Tanh', input: [c('dense/BiasAdd')], attr: T('float32') },
    // L2 normalisation, output named like USE-lite's.
    { name: c('l2/Square'), op: 'Square', input: [c('dense/Tanh')], attr: T('float32') },
    { name: c('l2/Sum'), op: 'Sum', input: [c('l2/Square'), c('one')], attr: { ...T('float32'), Tidx: tfType('int32'), keep_dims: { b: true } } },
    { name: c('l2/Maximum'), op: 'Maximum', input: [c('l2/Sum'), c('epsilon')], attr: T('float32') },
    { name: c('l2/Rsqrt'), op: 'Rsqrt', input: [c('l2/Maximum')], attr: T('float32') },
    { name: USE_OUTPUT_NODE, op: 'Mul', input: [c('dense/Tanh'), c('l2/Rsqrt')], attr: T('float32') },
  ];

  const modelJson = {
    format: 'graph-model',
    generatedBy: 'synthetic-use 1.0 (label-studio-ml-tfjs test helper)',
    convertedBy: 'test/helpers/synthetic-use.ts',
    modelTopology: { node: nodes, library: {}, versions: {} },
    weightsManifest: [{ paths: [SHARD], weights: consts.map(({ name, shape, dtype }) => ({ name, shape, dtype })) }],
  };

  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
  await writeFile(join(dir, SHARD), encodeConsts(consts));
  await writeFile(join(dir, 'vocab.json'), JSON.stringify(syntheticVocab()));
}

/** Little-endian bytes of every constant, in manifest order. */
function encodeConsts(consts: readonly ConstSpec[]): Buffer {
  const total = consts.reduce((n, k) => n + k.values.length * 4, 0);
  const buf = Buffer.alloc(total);
  let off = 0;
  for (const k of consts) {
    for (let i = 0; i < k.values.length; i++, off += 4) {
      const v = k.values[i] ?? 0;
      if (k.dtype === 'int32') buf.writeInt32LE(v, off);
      else buf.writeFloatLE(v, off);
    }
  }
  return buf;
}

const WORDS = (
  'the of and to a in is it you that he was for on are with as I his they be at one have this from or had by ' +
  'word but what some we can out other were all there when up use your how said an each she which do their time if ' +
  'will way about many then them write would like so these her long make thing see him two has look more day could go ' +
  'come did number sound no most people my over know water than call first who may down side been now find any new ' +
  'work part take get place made live where after back little only round man year came show every good me give our ' +
  'under name very through just form sentence great think say help low line differ turn cause much mean before move ' +
  'right boy old too same tell does set three want air well also play small end put home read hand port large spell ' +
  'add even land here must big high such follow act why ask men change went light kind off need house picture try us ' +
  'again animal point mother world near build self earth father label studio model text task train predict hello'
).split(' ');
const SUFFIXES = ['s', 'ed', 'ing', 'er', 'ly', 'tion', 'es', 'est', 'ment', 'ness'];
const PUNCT = ['.', ',', '!', '?', "'", '"', '-', ':', ';', '(', ')', '/', '&'];

/** [piece, score] pairs: ids 0–5 reserved (§7.6), then '▁', characters, '▁'+word, suffixes. */
export function syntheticVocab(): Array<[string, number]> {
  const vocab: Array<[string, number]> = [
    ['\uFFFD', 0], ['<s>', 0], ['</s>', 0], ['extra_token_id_1', 0], ['extra_token_id_2', 0], ['extra_token_id_3', 0],
    ['\u2581', -3],
  ];
  const seen = new Set(vocab.map(([p]) => p));
  const add = (piece: string, score: number) => {
    if (piece !== '' && !seen.has(piece)) {
      seen.add(piece);
      vocab.push([piece, Math.round(score * 1e4) / 1e4]);
    }
  };
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (const ch of letters) add(ch, -6);
  for (const ch of letters.toUpperCase()) add(ch, -7);
  for (const ch of '0123456789') add(ch, -7);
  for (const p of PUNCT) add(p, -5);
  for (const ch of letters) add(`\u2581${ch}`, -6.5);
  // Whole words beat letter-by-letter segmentation; earlier (commoner) words score higher.
  WORDS.forEach((w, i) => add(`\u2581${w}`, -4 - i * 0.01));
  SUFFIXES.forEach((s, i) => add(s, -5 - i * 0.05));
  return vocab;
}

/** A catalogue describing the synthetic files in `dir`, to exercise verification and download. */
export async function syntheticUseCatalog(dir: string, baseUrl: string): Promise<UseCatalog> {
  const files = [];
  for (const name of SYNTHETIC_USE_FILES) {
    const bytes = await readFile(join(dir, name));
    files.push({ name, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return { baseUrl, files };
}
