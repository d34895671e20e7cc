/**
 * The text classifier: Label Studio's simple text classifier on sentence embeddings.
 *
 * Features: the combined encoder by default — Universal Sentence Encoder (lite) rows beside
 * hashed word and character n-grams (EMBEDDER=auto|combined|use|hashed). Head: a linear layer
 * trained with TF.js on every kept annotation, saved with the label table it was trained on.
 * One <Choices> on one <Text>; choice="multiple" trains a multi-label (sigmoid) head.
 * Predictions never name a label that the current config lacks.
 */
import path from 'node:path';
import {
  LabelConfigError,
  LabelStudioMLBase,
  LinearHead,
  argmaxRows,
  encoderSettingsFromEnv,
  getTaskText,
  isScoreMethod,
  loadTextEncoder,
  macroF1,
  multiLabelScore,
  recipeFor,
  shapeFor,
  singleLabelScore,
  trainLinearHead,
  type AnnotatedTask,
  type Embedder,
  type EncoderSettings,
  type FitRequest,
  type FitResult,
  type JsonObject,
  type Labels,
  type PreloadContext,
  type Task,
  type TextEncoder,
  type TrainOptions,
} from '../../src/index.js';

/** The process's encoder, loaded once at start (USE embedding threads, cache under MODEL_DIR). */
let encoder: Promise<TextEncoder> | undefined;
let loaded: TextEncoder | undefined;
let settings: EncoderSettings | undefined;

interface Control {
  fromName: string;
  toName: string;
  valueKey: string;
  labels: string[];
  multiLabel: boolean;
}

/** Head options a project may set in extra_params (e.g. {"epochs": 30}). */
const TUNABLE = ['epochs', 'learningRate', 'batchSize', 'l2', 'validationSplit'] as const;

export default class TextClassifier extends LabelStudioMLBase {
  #control: Control | undefined;
  #embedder: Embedder | undefined;
  #head: { model: LinearHead; labels: string[] } | undefined;

  /** Loads the encoder when the process starts, not on the first request (/setup has 3 s). */
  static override async preload(context: PreloadContext): Promise<void> {
    settings = encoderSettingsFromEnv();
    encoder = loadTextEncoder(settings, context);
    loaded = await encoder;
  }

  /** /health names the encoder, and how many texts this process found in the embedding cache. */
  static override describe() {
    const stats = loaded?.cached?.stats;
    return { embedder: loaded?.embedder.id ?? 'loading', ...(stats && { embedding_cache: { hits: stats.hits, embedded: stats.misses } }) };
  }

  /** The one Choices control on one Text object, or a 400 naming what is wrong. */
  get control(): Control {
    if (this.#control) return this.#control;
    const controls = Object.entries(this.parsedLabelConfig);
    const choices = controls.filter(([, tag]) => tag.type === 'Choices');
    if (choices.length !== 1) {
      const found = controls.map(([name, tag]) => `${tag.type} "${name}"`).join(', ');
      throw new LabelConfigError(`the text classifier needs exactly one <Choices> control, found ${choices.length}${found ? ` (controls: ${found})` : ''}`);
    }
    const [fromName, tag] = choices[0]!;
    const texts = tag.inputs.filter((input) => input.type === 'Text' || input.type === 'HyperText');
    if (tag.to_name.length !== 1 || texts.length !== 1) throw new LabelConfigError(`<Choices name="${fromName}"> must point at one <Text> object (toName="${tag.to_name.join(',')}")`);
    if (tag.labels.length === 0) throw new LabelConfigError(`<Choices name="${fromName}"> has no <Choice> options`);
    const multiLabel = this.labelInterface.control(fromName).multiple;
    return (this.#control = { fromName, toName: tag.to_name[0]!, valueKey: texts[0]!.value, labels: tag.labels, multiLabel });
  }

  override async setup(): Promise<void> {
    void this.control;
    if (!encoder) throw new Error('TextClassifier.preload() has not run (the server runs it at start)');
    this.#embedder = (await encoder).embedder;
    const output = this.trainOutput;
    if (!output || typeof output.model_dir !== 'string' || !Array.isArray(output.labels)) return;
    if (output.embedder !== this.#embedder.id) {
      this.logger.warn({ trained: output.embedder, active: this.#embedder.id }, 'checkpoint was trained on another encoder: predicting as untrained until the next training');
      return;
    }
    this.#head = { model: await LinearHead.load(output.model_dir), labels: output.labels.map(String) };
  }

  override async predict(tasks: Task[]) {
    const control = this.control;
    const texts = await Promise.all(tasks.map((task) => this.readTaskText(task, control.valueKey)));
    const head = this.#head;
    const probs = head ? head.model.probabilities(await this.#embedder!.embed(texts)) : undefined;
    const asked = this.extraParams.score_method;
    const scoreMethod = isScoreMethod(asked) ? asked : (settings?.scoreMethod ?? 'margin');
    return texts.map((_, row) => {
      // Per-choice probabilities keyed by the config's labels; labels the head never learnt get 0.
      const scores = Object.fromEntries(control.labels.map((label) => [label, head ? 0 : 1 / control.labels.length]));
      head?.labels.forEach((label, col) => {
        if (label in scores) scores[label] = probs![row * head.labels.length + col]!;
      });
      const ranked = Object.entries(scores).sort((a, b) => b[1] - a[1]);
      const above = control.multiLabel ? ranked.filter(([, p]) => p >= 0.5).map(([label]) => label) : [];
      const chosen = above.length > 0 ? above : [ranked[0]![0]];
      const values = Object.values(scores);
      const score = control.multiLabel ? multiLabelScore(values, scoreMethod) : singleLabelScore(values, scoreMethod);
      return { result: [{ from_name: control.fromName, to_name: control.toName, type: 'choices', value: { choices: chosen }, score }], score, scores };
    });
  }

  override async fit(request: FitRequest): Promise<FitResult> {
    const control = this.control;
    const { samples, skipped } = collectSamples(request.tasks, control);
    if (samples.length === 0) {
      this.logger.info({ skipped }, 'no usable annotations: nothing to train');
      return null;
    }
    // The head's own label table: the labels seen in training, in config order.
    const labels = control.labels.filter((label) => samples.some((sample) => sample.choices.includes(label)));
    const index = new Map(labels.map((label, i) => [label, i]));
    const texts = await Promise.all(samples.map((sample) => this.resolveText(sample.text)));
    const x = await this.#embedder!.embed(texts, {
      priority: 'bulk',
      onProgress: (done, total) => request.onProgress({ phase: 'embedding', metrics: { embedded: done, texts: total } }),
    });
    const y: Labels = control.multiLabel
      ? samples.map((sample) => Uint8Array.from(labels, (label) => (sample.choices.includes(label) ? 1 : 0)))
      : Int32Array.from(samples, (sample) => index.get(sample.choices[0]!)!);
    const head = new LinearHead(shapeFor(x, labels.length, control.multiLabel));
    const result = await trainLinearHead(head, x, y, {
      ...recipeFor(samples.length, x.kind),
      ...tunedBy(this.extraParams),
      signal: request.signal,
      onEpoch: (p) => request.onProgress({ phase: 'training', epoch: p.epoch, epochs: p.epochs, loss: p.loss, ...(p.valAccuracy !== undefined && { metrics: { val_accuracy: p.valAccuracy } }) }),
    });
    request.onProgress({ phase: 'saving' });
    const modelDir = path.join(request.workdir, 'model');
    await head.save(modelDir);
    const m = result.metrics;
    const fitted = y instanceof Int32Array ? trainingFit(head, x, y, labels.length) : {};
    return {
      labels,
      model_dir: modelDir,
      embedder: this.#embedder!.id,
      multi_label: control.multiLabel,
      samples: samples.length,
      skipped_annotations: skipped,
      label_counts: Object.fromEntries(labels.map((label) => [label, samples.filter((s) => s.choices.includes(label)).length])),
      epochs: result.epochs,
      metrics: finite({ loss: m.loss, val_loss: m.valLoss, val_accuracy: m.valAccuracy, val_size: m.valSize, ...fitted }),
      trained_at: new Date().toISOString(),
    } satisfies JsonObject;
  }
}

/** Every annotation with a known choice is a sample (several annotators = several votes). */
function collectSamples(tasks: readonly AnnotatedTask[], control: Control): { samples: Array<{ text: string; choices: string[] }>; skipped: number } {
  const allowed = new Set(control.labels);
  const samples: Array<{ text: string; choices: string[] }> = [];
  let skipped = 0;
  for (const task of tasks) {
    const text = getTaskText(task, control.valueKey);
    for (const annotation of task.annotations) {
      const region = annotation.result.find((item) => item.from_name === control.fromName && item.type?.toLowerCase() === 'choices');
      const raw: unknown = region?.value.choices;
      const choices = Array.isArray(raw) ? raw.filter((c): c is string => typeof c === 'string' && allowed.has(c)) : [];
      if (text === undefined || choices.length === 0) skipped++;
      else samples.push({ text, choices });
    }
  }
  return { samples, skipped };
}

/** How well the head fits the rows it was trained on (the honest figure without a validation split). */
function trainingFit(head: LinearHead, x: Parameters<LinearHead['probabilities']>[0], y: Int32Array, classes: number) {
  const predicted = argmaxRows(head.probabilities(x), classes);
  const hits = predicted.reduce((sum, label, i) => sum + (label === y[i] ? 1 : 0), 0);
  return { train_accuracy: hits / y.length, train_macro_f1: macroF1(y, predicted, classes) };
}

function tunedBy(params: JsonObject): Partial<TrainOptions> {
  return Object.fromEntries(TUNABLE.filter((name) => typeof params[name] === 'number').map((name) => [name, params[name]]));
}

function finite(values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => Number.isFinite(v)));
}
