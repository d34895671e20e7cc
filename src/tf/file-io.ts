/**
 * A directory IOHandler in tfjs-node's layout (model.json + weights.bin), for pure-JS tfjs,
 * which has no file:// handler (TFJS-NOTES §6). Pass the handler object itself to
 * `model.save(h)`, `tf.loadLayersModel(h)` or `tf.loadGraphModel(h)`; no router is registered,
 * so it coexists with tfjs-node.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
// tfjs-core only: the embedding workers load graphs without the rest of TF.js.
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../util/fs.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/**
 * @param dirOrModelJson a checkpoint folder, or the path of its model.json (any *.json file name).
 */
export function fileSystemIO(dirOrModelJson: string): tf.io.IOHandler {
  const modelJsonPath = dirOrModelJson.toLowerCase().endsWith('.json') ? resolve(dirOrModelJson) : resolve(dirOrModelJson, MODEL_JSON);
  const dir = dirname(modelJsonPath);

  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('fileSystemIO: binary (protobuf) model topologies are not supported; save a JSON topology');
      }
      await mkdir(dir, { recursive: true });
      const weights = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
      };
      // Optional fields only when present (exactOptionalPropertyTypes, and compact JSON).
      if (artifacts.format !== undefined) modelJson.format = artifacts.format;
      if (artifacts.generatedBy !== undefined) modelJson.generatedBy = artifacts.generatedBy;
      if (artifacts.convertedBy !== undefined) modelJson.convertedBy = artifacts.convertedBy;
      if (artifacts.trainingConfig !== undefined) modelJson.trainingConfig = artifacts.trainingConfig;
      if (artifacts.signature !== undefined) modelJson.signature = artifacts.signature;
      if (artifacts.userDefinedMetadata !== undefined) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
      if (artifacts.modelInitializer !== undefined) modelJson.modelInitializer = artifacts.modelInitializer;
      if (artifacts.initializerSignature !== undefined) modelJson.initializerSignature = artifacts.initializerSignature;

      // Weights first, model.json last: a reader that finds model.json finds complete weights.
      await writeFileAtomic(join(dir, WEIGHTS_BIN), new Uint8Array(weights));
      await writeFileAtomic(modelJsonPath, Buffer.from(JSON.stringify(modelJson), 'utf8'));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      let text: string;
      try {
        text = await readFile(modelJsonPath, 'utf8');
      } catch (err) {
        throw new Error(`fileSystemIO: cannot read ${modelJsonPath}: ${(err as Error).message}`, { cause: err });
      }
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(text) as tf.io.ModelJSON;
      } catch (err) {
        throw new Error(`fileSystemIO: ${modelJsonPath} is not valid JSON: ${(err as Error).message}`, { cause: err });
      }
      if (modelJson.modelTopology == null) throw new Error(`fileSystemIO: ${modelJsonPath} has no modelTopology`);
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) buffers.push(await readShard(dir, p));
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

/** Reads one manifest path relative to model.json's folder; refuses paths that leave it. */
async function readShard(dir: string, manifestPath: string): Promise<ArrayBuffer> {
  const full = resolve(dir, manifestPath);
  const rel = relative(dir, full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new Error(`fileSystemIO: weights path ${JSON.stringify(manifestPath)} points outside ${dir}`);
  }
  let buf: Buffer;
  try {
    buf = await readFile(full);
  } catch (err) {
    throw new Error(`fileSystemIO: cannot read weights file ${full}: ${(err as Error).message}`, { cause: err });
  }
  // A fresh ArrayBuffer: Node's pooled Buffers may share one larger backing store.
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

