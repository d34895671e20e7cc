/** What the prediction refresh tests share: a stand-in project of sentiment texts and the checks on its predictions. */
import { expect } from 'chai';
import { LabelStudioStandIn, type SiTask } from '../helpers/ls-standin/index.js';
import { SENTIMENT_CONFIG, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

const POSITIVE = ['I love this', 'what a great day', 'wonderful and happy', 'excellent work', 'so good, thank you', 'lovely people'];
const NEGATIVE = ['I hate that', 'terrible and sad', 'awful service', 'horrible experience', 'so bad, no thanks', 'a miserable day'];

/** `n` texts alternating positive and negative, each a little different. */
export function sentimentTexts(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${(i % 2 === 0 ? POSITIVE : NEGATIVE)[Math.floor(i / 2) % 6]} #${i}`);
}

export function choice(label: string): unknown[] {
  return [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: [label] } }];
}

export interface Loop {
  ls: LabelStudioStandIn;
  server: TestServer;
  project: number;
  tasks: SiTask[];
  stop(): Promise<void>;
}

/** A stand-in Label Studio with a project of `taskCount` tasks, and the backend connected to it as Label Studio would be. */
export async function startLoop(options: { taskCount: number; env?: Record<string, string>; apiKey?: 'pat' | 'legacy'; modelDir?: string; ls?: LabelStudioStandIn }): Promise<Loop> {
  const ls = options.ls ?? (await LabelStudioStandIn.start());
  const existing = [...ls.data.projects.values()][0];
  const { project, tasks } = existing
    ? { project: existing, tasks: ls.data.projectTasks(existing.id) }
    : ls.addProject({ id: 7, label_config: SENTIMENT_CONFIG }, sentimentTexts(options.taskCount));
  const server = await startTestServer({
    ...(options.modelDir && { modelDir: options.modelDir }),
    env: {
      LABEL_STUDIO_URL: ls.url,
      LABEL_STUDIO_API_KEY: options.apiKey === 'legacy' ? ls.auth.legacyToken : ls.auth.personalAccessToken,
      TRAIN_EVERY_N_ANNOTATIONS: '0',
      PREDICTION_REFRESH_RPS: '500',
      PREDICTION_REFRESH_BATCH: '25',
      ...options.env,
    },
  });
  if (!existing) ls.connectBackend(project.id, server.url);
  else for (const backend of ls.data.mlBackends) backend.url = server.url;
  for (const hook of ls.data.webhooks) hook.url = `${server.url}/webhook`;
  return {
    ls,
    server,
    project: project.id,
    tasks,
    stop: async () => {
      await server.stop();
      if (!options.ls) await ls.stop();
    },
  };
}

/** Annotates the first `n` tasks through Label Studio's webhooks (labels from the texts). */
export async function annotateFirst(loop: Loop, n: number): Promise<void> {
  for (const task of loop.tasks.slice(0, n)) {
    const positive = POSITIVE.some((text) => String(task.data['text']).startsWith(text));
    await loop.ls.annotate(task.id, choice(positive ? 'Positive' : 'Negative'));
  }
}

export async function servedVersion(loop: Loop): Promise<string> {
  const body = (await loop.server.http.get(`/versions?project=${loop.project}`).expect(200)).body as { current_version: string };
  return body.current_version;
}

/** Waits until every unlabelled task carries exactly one prediction of `version`, with a numeric score. */
export async function waitForRefreshed(loop: Loop, version: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => loop.ls.unlabelledTasks(loop.project).every((task) => loop.ls.predictionsOf(task.id, version).length >= 1), timeoutMs, `predictions of ${version} on every unlabelled task`);
  expectOnePredictionEach(loop, version);
}

export function expectOnePredictionEach(loop: Loop, version: string): void {
  for (const task of loop.ls.unlabelledTasks(loop.project)) {
    const mine = loop.ls.predictionsOf(task.id, version);
    expect(mine, `task ${task.id}`).to.have.length(1);
    expect(mine[0]?.score, `score of task ${task.id}`).to.be.a('number').within(0, 1);
  }
}

/** The latest refresh job's record, once finished. */
export async function refreshJobs(loop: Loop): Promise<Array<{ id: string; kind?: string; state: string; event: string; error?: string; version?: string }>> {
  const jobs = await loop.server.backend.jobs(String(loop.project), 50);
  return jobs.filter((job) => job.kind === 'refresh-predictions');
}
