/**
 * The active-learning simulator's Label Studio strategy (`--strategies label-studio[:method]`,
 * issue 13): the loop a Label Studio user runs, with this backend doing the work. A stand-in Label
 * Studio (test/helpers/ls-standin) holds the train split as tasks; a second text-classifier server
 * runs with LABEL_STUDIO_URL and a key, connected to the project the way Label Studio connects a
 * backend. Each round the "annotator" labels a batch in Label Studio (ANNOTATION_CREATED webhooks)
 * and presses Start Training; once the prediction refresh has written the new version into every
 * unlabelled task and made it the project's model_version, the Data Manager is sorted by
 * prediction score (lowest first, from the scores the refresh wrote) and the next batch is taken
 * from the top. The simulator never asks /predict for pool scores: /predict only evaluates the
 * test split, which never enters the Label Studio project.
 */
import { LabelStudioStandIn } from '../../test/helpers/ls-standin/index.js';
import { startExampleServer } from './example-server.js';
import type { Split } from './datasets.js';
import { choiceResult, choicesConfig } from './ls-payloads.js';
import { MlClient } from './ml-client.js';
import { accuracy, macroF1 } from './metrics.js';
import type { CurvePoint } from './learning-curve.js';
import type { Plan } from './al-report.js';
import type { ScoreMethod } from './al-strategies.js';
import type { PredictionRefreshStatus } from '../../src/types.js';

export interface LabelStudioLoopOptions {
  split: Split;
  plan: Plan;
  /** Indices into split.train: the first batch (the same seed set as the other strategies). */
  seedSet: readonly number[];
  extraParams: Record<string, unknown>;
  scoreMethod: ScoreMethod;
}

const PROJECT = 20;
const TEST_TASK_BASE = 10_000_000;
/** Pacing toward the stand-in: the simulation measures labels, not Label Studio's rate limits (env overrides). */
const REFRESH_ENV = { PREDICTION_REFRESH_RPS: process.env.PREDICTION_REFRESH_RPS ?? '200', PREDICTION_REFRESH_BATCH: process.env.PREDICTION_REFRESH_BATCH ?? '200' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runThroughLabelStudio(options: LabelStudioLoopOptions): Promise<{ points: CurvePoint[]; seconds: number }> {
  const { split, plan } = options;
  const config = choicesConfig(split.labels);
  const ls = await LabelStudioStandIn.start();
  const { tasks } = ls.addProject({ id: PROJECT, label_config: config }, split.train.map((row) => row.text));
  const rowOf = new Map(tasks.map((task, i) => [task.id, i]));
  const backend = await startExampleServer({ LABEL_STUDIO_URL: ls.url, LABEL_STUDIO_API_KEY: ls.auth.personalAccessToken, ...REFRESH_ENV });
  const client = new MlClient(backend.server.url);
  const testTasks = split.test.map((row, i) => ({ id: TEST_TASK_BASE + i, text: row.text }));
  const truth = split.test.map((row) => row.label);
  const started = performance.now();
  try {
    ls.connectBackend(PROJECT, backend.server.url);
    let version = await client.setup(PROJECT, config, { ...options.extraParams, score_method: options.scoreMethod });
    let batch = options.seedSet.map((i) => tasks[i]!.id);
    const points: CurvePoint[] = [];
    for (let round = 0; round <= plan.rounds && batch.length > 0; round++) {
      for (const id of batch) await ls.annotate(id, choiceResult(split.train[rowOf.get(id)!]!.label));
      const f0 = performance.now();
      const reply = await ls.startTraining(PROJECT);
      const job = (reply.body as { job?: string } | null)?.job;
      if (reply.status !== 201 || !job) throw new Error(`Start Training: ${reply.status} ${JSON.stringify(reply.body)}`);
      version = await client.waitForNewVersion(PROJECT, version, { job, timeoutMs: 900_000 });
      const fitS = (performance.now() - f0) / 1000;
      const refresh = await waitForRefresh(client, ls, version);
      const refreshS = (performance.now() - f0) / 1000 - fitS;

      const { predictions, versions } = await client.predict(PROJECT, config, testTasks);
      if (versions.size !== 1 || !versions.has(version)) throw new Error(`test predictions came from ${[...versions].join(', ')}, expected ${version}`);
      const predicted = predictions.map((p) => p.choice);
      const labelled = tasks.length - ls.unlabelledTasks(PROJECT).length;
      points.push({ round, labels: labelled, accuracy: accuracy(truth, predicted), macroF1: macroF1(truth, predicted), fitS, refreshS, scored: refresh.done, modelVersion: version });
      console.error(
        `[simulate] Label Studio round ${round}: ${labelled} labels, acc ${points.at(-1)!.accuracy.toFixed(4)}, fit ${fitS.toFixed(1)} s, ` +
          `refresh ${refreshS.toFixed(1)} s (${refresh.written} written), ${((performance.now() - started) / 1000).toFixed(0)} s so far`,
      );
      if (round === plan.rounds) break;
      batch = sortedByPredictionScore(ls).slice(0, plan.batchSize);
    }
    return { points, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    console.error(backend.server.output().slice(-4000));
    throw error;
  } finally {
    await backend.close();
    await ls.stop();
  }
}

/**
 * Waits until the backend reports the refresh of `version` finished (GET /versions), then checks
 * what Label Studio holds: the project's model_version is the version, and every unlabelled task
 * carries exactly one prediction of it with a score. Anything else stops the simulation.
 */
async function waitForRefresh(client: MlClient, ls: LabelStudioStandIn, version: string, timeoutMs = 900_000): Promise<PredictionRefreshStatus> {
  const deadline = Date.now() + timeoutMs;
  let status: PredictionRefreshStatus | undefined;
  for (;;) {
    const body = await client.get<{ projects: Record<string, { prediction_refresh?: PredictionRefreshStatus }> }>(`/versions?project=${PROJECT}`);
    status = body.projects[String(PROJECT)]?.prediction_refresh;
    if (status?.version === version && status.status !== 'running') break;
    if (Date.now() > deadline) throw new Error(`the prediction refresh of ${version} did not finish within ${timeoutMs} ms: ${JSON.stringify(status)}`);
    await sleep(50);
  }
  if (status.status !== 'done' || status.errors > 0 || status.activated !== true) throw new Error(`the prediction refresh of ${version} ended ${JSON.stringify(status)}`);
  const projectVersion = ls.data.projects.get(PROJECT)?.model_version;
  if (projectVersion !== version) throw new Error(`Label Studio's model_version is ${projectVersion}, expected ${version}`);
  const wrong = ls.unlabelledTasks(PROJECT).filter((task) => {
    const mine = ls.predictionsOf(task.id, version);
    return mine.length !== 1 || typeof mine[0]!.score !== 'number';
  });
  if (wrong.length > 0) throw new Error(`${wrong.length} unlabelled tasks lack exactly one scored prediction of ${version} (first: task ${wrong[0]!.id}, ${JSON.stringify(ls.predictionsOf(wrong[0]!.id))})`);
  return status;
}

/** The Data Manager sorted by "Prediction score" ascending: the average score of predictions of project.model_version, tasks without one last, then by id. */
function sortedByPredictionScore(ls: LabelStudioStandIn): number[] {
  const version = ls.data.projects.get(PROJECT)?.model_version ?? null;
  const scored = ls.unlabelledTasks(PROJECT).map((task) => {
    const scores = task.predictions.filter((p) => version === null || p.model_version === version).map((p) => p.score).filter((s): s is number => typeof s === 'number');
    return { id: task.id, score: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : Infinity };
  });
  return scored.sort((a, b) => a.score - b.score || a.id - b.id).map((entry) => entry.id);
}
