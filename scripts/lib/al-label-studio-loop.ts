/**
 * The active-learning simulator's Label Studio mode (`--strategies label-studio`): a stand-in Label
 * Studio (test/helpers/ls-standin) holds the train split as tasks; the text classifier runs with
 * LABEL_STUDIO_URL and a key, connected to the project the way Label Studio connects a backend.
 * Each round the "annotator" labels a batch in Label Studio (ANNOTATION_CREATED webhooks), presses
 * Start Training, and — once the prediction refresh has written the new version into every
 * unlabelled task — sorts the Data Manager by prediction score (the scores the refresh wrote for
 * `project.model_version`, lowest first, as Label Studio computes the column) and takes the next
 * batch from the top. The simulator never asks /predict for scores itself; /predict is used only
 * to evaluate on the test split. The report says how many labels reached 99% of full-data accuracy.
 */
import { LabelStudioStandIn } from '../../test/helpers/ls-standin/index.js';
import { startExampleServer } from './example-server.js';
import { prng, shuffled, stratifiedSample, type Split } from './datasets.js';
import { choiceResult, choicesConfig, legacyTrainBody } from './ls-payloads.js';
import { MlClient } from './ml-client.js';
import { accuracy, macroF1 } from './metrics.js';
import type { CurvePoint } from './learning-curve.js';
import { printReport, summarize, writeReport, type Plan, type Reference, type Report } from './al-report.js';

export interface LabelStudioLoopOptions {
  split: Split;
  tag: string;
  plan: Plan;
  seed: number;
  extraParams: Record<string, unknown>;
  outDir: string;
  png?: string | undefined;
  referenceAcc?: string | undefined;
  stratified: boolean;
}

const PROJECT = 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function simulateThroughLabelStudio(options: LabelStudioLoopOptions): Promise<void> {
  const { split, plan, seed } = options;
  const config = choicesConfig(split.labels);
  const ls = await LabelStudioStandIn.start();
  const { tasks } = ls.addProject({ id: PROJECT, label_config: config }, split.train.map((row) => row.text));
  const taskIndex = new Map(tasks.map((task, i) => [task.id, i]));
  const backend = await startExampleServer({ LABEL_STUDIO_URL: ls.url, LABEL_STUDIO_API_KEY: ls.auth.personalAccessToken, PREDICTION_REFRESH_RPS: '200', PREDICTION_REFRESH_BATCH: '200' });
  const client = new MlClient(backend.server.url);
  const started = performance.now();
  try {
    ls.connectBackend(PROJECT, backend.server.url);
    await client.setup(PROJECT, config, options.extraParams);
    const testTasks = split.test.map((row, i) => ({ id: 10_000_000 + i, text: row.text }));
    const evaluate = async (version: string) => {
      const { predictions, versions } = await client.predict(PROJECT, config, testTasks);
      if (!versions.has(version)) throw new Error(`test predictions came from ${[...versions].join(', ')}, expected ${version}`);
      const predicted = predictions.map((p) => p.choice);
      return { accuracy: accuracy(split.test.map((r) => r.label), predicted), macroF1: macroF1(split.test.map((r) => r.label), predicted) };
    };
    const full = await reference(options, client, config, ls);

    const seedSet = options.stratified
      ? stratifiedSample(split.train.map((row) => row.label), plan.initial, prng(seed))
      : shuffled(split.train.map((_, i) => i), prng(seed)).slice(0, plan.initial);
    let batch = seedSet.map((i) => tasks[i]!.id);
    let version = 'v0000-initial';
    const points: CurvePoint[] = [];
    for (let round = 0; round <= plan.rounds && batch.length > 0; round++) {
      for (const id of batch) await ls.annotate(id, [choiceResult(split.train[taskIndex.get(id)!]!.label)]);
      const f0 = performance.now();
      await ls.startTraining(PROJECT);
      version = await client.waitForNewVersion(PROJECT, version, { timeoutMs: 900_000 });
      const fitS = (performance.now() - f0) / 1000;
      // The loop: wait until Label Studio shows this version's scores on every unlabelled task.
      while (ls.data.projects.get(PROJECT)?.model_version !== version || !ls.unlabelledTasks(PROJECT).every((t) => ls.predictionsOf(t.id, version).length > 0)) await sleep(50);
      const refreshS = (performance.now() - f0) / 1000 - fitS;
      // /predict on the test split (a plain call: the test tasks never enter Label Studio's project).
      const metrics = await evaluate(version);
      const labelled = ls.data.projectTasks(PROJECT).length - ls.unlabelledTasks(PROJECT).length;
      points.push({ round, labels: labelled, ...metrics, fitS, scored: ls.unlabelledTasks(PROJECT).length, modelVersion: version });
      console.error(`[simulate] label-studio round ${round}: ${labelled} labels, acc ${metrics.accuracy.toFixed(4)}, fit ${fitS.toFixed(1)} s, refresh ${refreshS.toFixed(1)} s`);
      if (round === plan.rounds) break;
      batch = sortedByPredictionScore(ls).slice(0, plan.batchSize);
    }
    const curves = [{ strategy: 'uncertainty via Label Studio (refresh scores)', points, seconds: (performance.now() - started) / 1000 }];
    const report: Report = {
      date: new Date().toISOString(), dataset: options.tag, nTrain: split.train.length, nTest: split.test.length, labels: split.labels.length,
      plan, seed, extraParams: options.extraParams, embedder: backend.health.embedder, full, summary: summarize(curves, full, split.train.length), curves,
    };
    await writeReport(report, options.outDir, options.png);
    printReport(report);
    const to99 = report.summary[0]?.labelsTo99;
    console.log(`\nlabels to 99% of full-data accuracy through Label Studio's sorted scores: ${to99 ?? 'not reached'}${to99 ? ` (${((100 * to99) / split.train.length).toFixed(1)}% of ${split.train.length})` : ''}`);
  } finally {
    await backend.close();
    await ls.stop();
  }
}

/** The Data Manager sorted by "Prediction score" ascending: the average score of predictions of project.model_version, nulls last. */
function sortedByPredictionScore(ls: LabelStudioStandIn): number[] {
  const version = ls.data.projects.get(PROJECT)?.model_version ?? null;
  const scored = ls.unlabelledTasks(PROJECT).map((task) => {
    const scores = task.predictions.filter((p) => version === null || p.model_version === version).map((p) => p.score).filter((s): s is number => typeof s === 'number');
    return { id: task.id, score: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : Infinity };
  });
  return scored.sort((a, b) => a.score - b.score || a.id - b.id).map((entry) => entry.id);
}

/** Full-data accuracy: the whole train split labelled in a second Label Studio project, trained once (legacy /train, which reads the export). */
async function reference(options: LabelStudioLoopOptions, client: MlClient, config: string, ls: LabelStudioStandIn): Promise<Reference> {
  if (options.referenceAcc) return { accuracy: Number(options.referenceAcc), macroF1: NaN, fitS: NaN, labels: options.split.train.length, source: 'given' };
  const project = PROJECT + 2;
  const { tasks } = ls.addProject({ id: project, label_config: config }, options.split.train.map((row) => row.text));
  tasks.forEach((task, i) => ls.data.addAnnotation(task.id, [choiceResult(options.split.train[i]!.label)]));
  const v0 = await client.setup(project, config, options.extraParams);
  const t0 = performance.now();
  const items = options.split.train.map((row, i) => ({ taskId: tasks[i]!.id, annotationId: i + 1, text: row.text, label: row.label }));
  const reply = await client.post<{ job?: string }>('/train', legacyTrainBody(project, config, items));
  const version = await client.waitForNewVersion(project, v0, { timeoutMs: 1_800_000, ...(reply.job ? { job: reply.job } : {}) });
  const fitS = (performance.now() - t0) / 1000;
  const testTasks = options.split.test.map((row, i) => ({ id: 10_000_000 + i, text: row.text }));
  const { predictions } = await client.predict(project, config, testTasks);
  const truth = options.split.test.map((r) => r.label);
  const predicted = predictions.map((p) => p.choice);
  if (!version) throw new Error('no full-data version');
  console.error(`[simulate] full data: acc ${accuracy(truth, predicted).toFixed(4)}, fit ${fitS.toFixed(1)} s`);
  return { accuracy: accuracy(truth, predicted), macroF1: macroF1(truth, predicted), fitS, labels: options.split.train.length, source: 'full-data' };
}
