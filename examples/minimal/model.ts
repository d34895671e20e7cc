/**
 * The smallest Label Studio ML backend that trains with TensorFlow.js: hashed character bigrams
 * -> one dense softmax layer, trained on the project's annotations and saved as a checkpoint.
 * `label-studio-ml-tfjs init` starts new projects from this file: replace predict/fit with
 * your own model. Run it from a checkout: npm run example:minimal
 */
import path from 'node:path';
import { LabelStudioMLBase, fileSystemIO, getTaskText, tf, type FitRequest, type FitResult, type Task } from '../../src/index.js';

const DIM = 256;

function featurize(text: string): number[] {
  const row = new Array<number>(DIM).fill(0);
  const padded = ` ${text.toLowerCase()} `;
  for (let i = 0; i + 1 < padded.length; i++) {
    const bucket = (padded.charCodeAt(i) * 31 + padded.charCodeAt(i + 1)) % DIM;
    row[bucket] = (row[bucket] ?? 0) + 1;
  }
  const norm = Math.hypot(...row) || 1;
  return row.map((value) => value / norm);
}

export default class Model extends LabelStudioMLBase {
  #model: tf.LayersModel | undefined;
  #labels: string[] = [];

  /** The first <Choices> on a <Text> of the project's label config. */
  get control() {
    return this.getFirstTagOccurrence('Choices', 'Text');
  }

  /** Loads the served version's weights (train_output is what fit returned). */
  override async setup(): Promise<void> {
    const output = this.trainOutput;
    if (output && typeof output.model_dir === 'string' && Array.isArray(output.labels)) {
      this.#model = await tf.loadLayersModel(fileSystemIO(output.model_dir));
      this.#labels = output.labels.map(String);
    }
  }

  override predict(tasks: Task[]) {
    const { fromName, toName, value } = this.control;
    if (!this.#model) return tasks.map(() => ({ result: [], score: 0 }));
    const texts = tasks.map((task) => getTaskText(task, value) ?? '');
    const probs = tf.tidy(() => (this.#model!.predict(tf.tensor2d(texts.map(featurize))) as tf.Tensor).arraySync() as number[][]);
    return probs.map((row) => {
      const best = row.indexOf(Math.max(...row));
      return {
        result: [{ from_name: fromName, to_name: toName, type: 'choices', value: { choices: [this.#labels[best] ?? ''] } }],
        score: row[best] ?? 0,
      };
    });
  }

  override async fit(request: FitRequest): Promise<FitResult> {
    const { fromName, value } = this.control;
    const texts: string[] = [];
    const targets: string[] = [];
    for (const task of request.tasks) {
      for (const annotation of task.annotations) {
        const choices = annotation.result.find((r) => r.from_name === fromName)?.value.choices;
        const text = getTaskText(task, value);
        if (Array.isArray(choices) && typeof choices[0] === 'string' && text !== undefined) {
          texts.push(text);
          targets.push(choices[0]);
        }
      }
    }
    if (texts.length === 0) return null; // nothing to learn: keep serving the current version
    const labels = [...new Set(targets)].sort();
    const epochs = Number(this.extraParams.epochs ?? 30);
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [DIM], units: labels.length, activation: 'softmax' })] });
    model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const x = tf.tensor2d(texts.map(featurize));
    const y = tf.oneHot(tf.tensor1d(targets.map((t) => labels.indexOf(t)), 'int32'), labels.length).toFloat();
    let accuracy = 0;
    try {
      await model.fit(x, y, {
        epochs,
        batchSize: 32,
        callbacks: {
          onEpochEnd: (epoch, logs) => {
            accuracy = Number(logs?.acc ?? 0);
            request.onProgress({ epoch: epoch + 1, epochs, loss: Number(logs?.loss ?? 0), metrics: { accuracy } });
            if (request.signal.aborted) model.stopTraining = true; // shutdown or cancel
          },
        },
      });
      if (request.signal.aborted) throw new Error('training cancelled');
      const modelDir = path.join(request.workdir, 'model');
      await model.save(fileSystemIO(modelDir));
      return { labels, model_dir: modelDir, samples: texts.length, metrics: { accuracy } };
    } finally {
      tf.dispose([x, y]);
      model.dispose();
    }
  }

  override dispose(): void {
    this.#model?.dispose();
  }
}
