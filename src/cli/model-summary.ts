/**
 * A model summary read from a saved model.json alone (topology + weightsManifest shapes), so
 * `checkpoints show` works without loading TF.js or the weights.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface LayerSummary {
  name: string;
  className: string;
  params: number;
}

export interface ModelSummary {
  /** Path relative to the checkpoint directory. */
  file: string;
  format: string;
  className: string;
  layers: LayerSummary[];
  totalParams: number;
  weightTensors: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every model.json-like file (has a weightsManifest) under `dir`, summarised. */
export async function summarizeModels(dir: string): Promise<ModelSummary[]> {
  const summaries: ModelSummary[] = [];
  for (const file of await jsonFiles(dir, 3)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      continue;
    }
    if (isObj(parsed) && Array.isArray(parsed.weightsManifest)) summaries.push(summarize(path.relative(dir, file), parsed));
  }
  return summaries;
}

export function summarize(file: string, modelJson: Obj): ModelSummary {
  const weights = (modelJson.weightsManifest as unknown[]).flatMap((group): unknown[] => (isObj(group) && Array.isArray(group.weights) ? (group.weights as unknown[]) : []));
  const paramsByLayer = new Map<string, number>();
  let totalParams = 0;
  for (const weight of weights) {
    if (!isObj(weight) || typeof weight.name !== 'string') continue;
    const shape = Array.isArray(weight.shape) ? (weight.shape as unknown[]).map(Number) : [];
    const count = shape.reduce((a, b) => a * b, 1);
    totalParams += count;
    const layer = weight.name.split('/')[0] ?? weight.name;
    paramsByLayer.set(layer, (paramsByLayer.get(layer) ?? 0) + count);
  }
  const topology = isObj(modelJson.modelTopology) ? modelJson.modelTopology : {};
  // Keras-converted files nest the model under model_config.
  const model = isObj(topology.model_config) ? topology.model_config : topology;
  const config = model.config;
  const layerList = Array.isArray(config) ? config : isObj(config) && Array.isArray(config.layers) ? config.layers : [];
  const layers: LayerSummary[] = layerList.filter(isObj).map((layer) => {
    const name = isObj(layer.config) && typeof layer.config.name === 'string' ? layer.config.name : typeof layer.name === 'string' ? layer.name : '?';
    return { name, className: typeof layer.class_name === 'string' ? layer.class_name : '?', params: paramsByLayer.get(name) ?? 0 };
  });
  const format = typeof modelJson.format === 'string' ? modelJson.format : Array.isArray(topology.node) ? 'graph-model' : 'layers-model';
  return { file, format, className: typeof model.class_name === 'string' ? model.class_name : format, layers, totalParams, weightTensors: weights.length };
}

async function jsonFiles(dir: string, depth: number): Promise<string[]> {
  const found: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && depth > 0) found.push(...(await jsonFiles(full, depth - 1)));
    else if (entry.isFile() && entry.name.endsWith('.json')) found.push(full);
  }
  return found;
}

export function formatSummary(summary: ModelSummary): string {
  const rows = summary.layers.map((l) => `    ${l.name.padEnd(28)} ${l.className.padEnd(20)} ${l.params.toLocaleString('en-US').padStart(12)}`);
  return [
    `  ${summary.file}: ${summary.className} (${summary.format}), ${summary.totalParams.toLocaleString('en-US')} parameters in ${summary.weightTensors} weight tensors`,
    ...(rows.length > 0 ? [`    ${'layer'.padEnd(28)} ${'type'.padEnd(20)} ${'params'.padStart(12)}`, ...rows] : []),
  ].join('\n');
}
