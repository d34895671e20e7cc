/**
 * The text classifier (a port of Label Studio's simple text classifier): sentence embeddings
 * (USE-lite, or the offline hashed n-gram encoder) and a small head trained with TF.js on every
 * kept annotation. One `Choices` control on one `Text` object; `choice="multiple"` trains a real
 * multi-label (sigmoid) head. Predictions map the head's columns through its own label table
 * (saved with the checkpoint) and never name a label the current config lacks.
 */
import path from 'node:path';
import {
  LabelConfigError,
  LabelStudioMLBase,
  TEXT_CLASSIFIER_SETTINGS,
  fileSystemIO,
  readSetting,
  tf,
  type CachedEmbedder,
  type Features,
  type FitRequest,
  type FitResult,
  type JsonObject,
  type PredictOptions,
  type PreloadContext,
  type Task,
} from '../../src/index.js';
import { argmaxRows, buildHead, macroF1, predictProbabilities, trainHead, type Labels } from './head.js';
import { loadEmbedder, type LoadedEmbedder } from './embedders.js';
import { collectSamples } from './training-data.js';
import { applyIdf, fitIdf, readIdf, writeIdf } from './idf.js';
import { recipeFor } from './recipe.js';
import { isScoreMethod, multiLabelScore, singleLabelScore, type ScoreMethod } from './uncertainty.js';

let loaded: Promise<LoadedEmbedder> | undefined;
let embedderId = 'loading';

function embedder(): Promise<LoadedEmbedder> {
  loaded ??= loadEmbedder().then((result) => {
    embedderId = result.embedder.id;
    return result;
  });
  return loaded;
}

interface Control {
  fromName: string;
  toName: string;
  valueKey: string;
  labels: string[];
  multiLabel: boolean;
}

interface Head {
  model: tf.LayersModel;
  labels: string[];
  multiLabel: boolean;
  /** Per-bucket idf for sparse features, when the recipe used it. */
  idf: Float32Array | undefined;
}

export default class TextClassifier extends LabelStudioMLBase {
  #control: Control | undefined;
  #head: Head | undefined;
  #embedder: CachedEmbedder | undefined;

  /** Loads the embedder at process start, not on the first request (/setup has 3 s). */
  static override async preload(context: PreloadContext): Promise<void> {
    const { fallbackReason } = await embedder();
    if (fallbackReason) context.logger.warn(`[text-classifier] using the offline hashed n-gram encoder: ${fallbackReason}`);
  }

  static override describe() {
    return { embedder: embedderId };
  }

  /** The one Choices control on one Text object, or a 400 naming what is wrong. */
  get control(): Control {
    if (this.#control) return this.#control;
    const controls = Object.entries(this.parsedLabelConfig);
    const choices = controls.filter(([, tag]) => tag.type === 'Choices');
    if (choices.length !== 1) {
      throw new LabelConfigError(
        `the text classifier needs exactly one <Choices> control, found ${choices.length}` +
          (controls.length ? ` (controls: ${controls.map(([name, tag]) => `${tag.type} "${name}"`).join(', ')})` : ''),
      );
    }
    const [fromName, tag] = choices[0]!;
    const texts = tag.inputs.filter((input) => input.type === 'Text' || input.type === 'HyperText');
    if (tag.to_name.length !== 1 || texts.length !== 1) {
      throw new LabelConfigError(`<Choices name="${fromName}"> must point at one <Text> object (toName="${tag.to_name.join(',')}")`);
    }
    if (tag.labels.length === 0) throw new LabelConfigError(`<Choices name="${fromName}"> has no <Choice> options`);
    this.#control = {
      fromName,
      toName: tag.to_name[0]!,
      valueKey: texts[0]!.value,
      labels: tag.labels,
      multiLabel: this.labelInterface.control(fromName).multiple,
    };
    return this.#control;
  }

  get scoreMethod(): ScoreMethod {
    const fromParams = this.extraParams.score_method;
    return isScoreMethod(fromParams) ? fromParams : readSetting(TEXT_CLASSIFIER_SETTINGS.scoreMethod);
  }

  override async setup(): Promise<void> {
    void this.control;
    this.#embedder = (await embedder()).embedder;
    const output = this.trainOutput;
    if (!output || typeof output.model_dir !== 'string' || !Array.isArray(output.labels)) return;
    if (output.embedder !== this.#embedder.id) {
      this.logger.warn({ trained: output.embedder, active: this.#embedder.id }, 'checkpoint was trained on another embedder: predicting as untrained until the next training');
      return;
    }
    this.#head = {
      model: await tf.loadLayersModel(fileSystemIO(output.model_dir)),
      labels: output.labels.filter((label): label is string => typeof label === 'string'),
      multiLabel: output.multi_label === true,
      idf: typeof output.idf_file === 'string' ? await readIdf(output.idf_file) : undefined,
    };
  }

  override async predict(tasks: Task[], _options: PredictOptions) {
    const control = this.control;
    const texts = await Promise.all(tasks.map((task) => this.readTaskText(task, control.valueKey)));
    const rows = this.#head ? await this.#headProbabilities(texts) : undefined;
    return texts.map((_, i) => {
      const scores = rows ? rows[i]! : uniform(control.labels);
      const chosen = this.#choose(scores, control);
      const probs = Object.values(scores);
      const score = control.multiLabel ? multiLabelScore(probs, this.scoreMethod) : singleLabelScore(probs, this.scoreMethod);
      return {
        result: [{ from_name: control.fromName, to_name: control.toName, type: 'choices', value: { choices: chosen }, score }],
        score,
        scores,
      };
    });
  }

  /** Per-choice probabilities keyed by the config's labels (untrained or unknown labels: 0). */
  async #headProbabilities(texts: string[]): Promise<Array<Record<string, number>>> {
    const head = this.#head!;
    const control = this.control;
    const embedded = await this.#embedder!.embed(texts);
    const features = head.idf && embedded.kind === 'sparse' ? applyIdf(embedded, head.idf) : embedded;
    const probs = predictProbabilities(head.model, features);
    const k = head.labels.length;
    return texts.map((_, row) => {
      const scores: Record<string, number> = {};
      for (const label of control.labels) scores[label] = 0;
      head.labels.forEach((label, col) => {
        if (label in scores) scores[label] = probs[row * k + col]!;
      });
      return scores;
    });
  }

  #choose(scores: Record<string, number>, control: Control): string[] {
    const entries = Object.entries(scores);
    const best = entries.reduce((a, b) => (b[1] > a[1] ? b : a), entries[0]!);
    if (!control.multiLabel) return [best[0]];
    const above = entries.filter(([, p]) => p >= 0.5).map(([label]) => label);
    return above.length > 0 ? above : [best[0]];
  }

  override async fit(request: FitRequest): Promise<FitResult> {
    const control = this.control;
    const allowed = new Set(control.labels);
    const { samples, skipped } = collectSamples(request.tasks, control.fromName, control.valueKey, allowed);
    if (samples.length === 0) {
      this.logger.info({ skipped }, 'no usable annotations: nothing to train');
      return null;
    }
    // The model's own label table: labels seen in training, in config order.
    const labels = control.labels.filter((label) => samples.some((sample) => sample.choices.includes(label)));
    const index = new Map(labels.map((label, i) => [label, i]));
    request.onProgress({ phase: 'embedding' });
    const texts = await Promise.all(samples.map((sample) => this.resolveText(sample.text)));
    const recipe = recipeFor(samples.length, labels.length);
    const embedded = await this.#embedder!.embed(texts);
    const idf = recipe.idf && embedded.kind === 'sparse' ? fitIdf(embedded) : undefined;
    const features = idf && embedded.kind === 'sparse' ? applyIdf(embedded, idf) : embedded;
    const y: Labels = control.multiLabel
      ? samples.map((sample) => Uint8Array.from(labels, (label) => (sample.choices.includes(label) ? 1 : 0)))
      : Int32Array.from(samples, (sample) => index.get(sample.choices[0]!)!);

    const params = this.extraParams;
    const head = buildHead({
      featureKind: features.kind,
      dim: features.dim,
      numClasses: labels.length,
      multiLabel: control.multiLabel,
      hidden: typeof params.hidden === 'number' ? params.hidden : recipe.hidden,
    });
    try {
      const result = await trainHead(head, features, y, {
        ...recipe.train,
        ...numericParams(params, ['epochs', 'batchSize', 'learningRate', 'validationSplit', 'patience', 'l2']),
        ...(typeof params.classWeights === 'boolean' ? { classWeights: params.classWeights ? ('auto' as const) : false } : {}),
        signal: request.signal,
        onEpoch: (p) => request.onProgress({ phase: 'training', epoch: p.epoch, epochs: p.epochs, loss: p.loss, metrics: definedNumbers({ val_loss: p.valLoss, val_accuracy: p.valAccuracy, val_macro_f1: p.valMacroF1 }) }),
      });
      request.onProgress({ phase: 'saving' });
      const modelDir = path.join(request.workdir, 'model');
      await head.save(fileSystemIO(modelDir));
      const idfFile = idf ? await writeIdf(path.join(request.workdir, 'idf.bin'), idf) : undefined;
      const m = result.metrics;
      return {
        labels,
        model_dir: modelDir,
        workdir: request.workdir,
        embedder: this.#embedder!.id,
        ...(idfFile ? { idf_file: idfFile } : {}),
        multi_label: control.multiLabel,
        samples: samples.length,
        skipped_annotations: skipped,
        label_counts: Object.fromEntries(labels.map((label) => [label, samples.filter((s) => s.choices.includes(label)).length])),
        epochs: result.epochs,
        best_epoch: result.bestEpoch,
        metrics: definedNumbers({
          loss: m.loss,
          val_loss: m.valLoss,
          val_accuracy: m.valAccuracy,
          val_macro_f1: m.valMacroF1,
          train_size: m.trainSize,
          val_size: m.valSize,
          // Too few labels for a validation split: report how well the head fits its training rows.
          ...(m.valSize === 0 && y instanceof Int32Array ? trainingFit(head, features, y, labels.length) : {}),
        }),
        trained_at: new Date().toISOString(),
      } satisfies JsonObject;
    } finally {
      head.dispose();
    }
  }

  override dispose(): void {
    this.#head?.model.dispose();
    this.#head = undefined;
  }
}

function trainingFit(head: tf.LayersModel, features: Features, y: Int32Array, classes: number): { train_accuracy: number; train_macro_f1: number } {
  const predicted = argmaxRows(predictProbabilities(head, features), classes);
  const hits = predicted.reduce((sum, label, i) => sum + (label === y[i] ? 1 : 0), 0);
  return { train_accuracy: hits / y.length, train_macro_f1: macroF1(y, predicted, classes) };
}

function uniform(labels: string[]): Record<string, number> {
  return Object.fromEntries(labels.map((label) => [label, 1 / labels.length]));
}

function numericParams(params: JsonObject, names: string[]): Record<string, number> {
  return Object.fromEntries(names.filter((name) => typeof params[name] === 'number').map((name) => [name, params[name] as number]));
}

function definedNumbers(values: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1])));
}
