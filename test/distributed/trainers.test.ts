/**
 * Issue 14, over HTTP with separate processes: two api replicas and two trainers. A trainer killed
 * with SIGKILL in the middle of a training loses nothing: a live trainer takes the job up again
 * (stalled-job recovery), the dead run's workdir is never promoted, and the previous version
 * serves throughout. Two trainers competing for one project never run it twice at once, and a
 * burst of Start Training clicks during a run joins one pending job.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { SENTIMENT_CONFIG, annotationCreated, waitFor } from '../helpers/server.js';
import { get, post, predictLoop, startCluster, type Cluster } from '../helpers/cluster.js';

const TEXTS: Array<[string, string]> = [['good great', 'Positive'], ['great fun', 'Positive'], ['awful bad', 'Negative'], ['terrible mess', 'Negative']];
const PROJECT = 3;

describe('distributed: trainers fail over and take turns (issue 14)', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  let served: string;

  before(async () => {
    cluster = await startCluster({ apis: 2, trainers: 2 });
    const [api] = cluster.apis;
    for (const [i, [text, label]] of TEXTS.entries()) await post(api!, '/webhook', annotationCreated(PROJECT, i + 1, text, label));
    await post(api!, '/setup', { project: String(PROJECT), schema: SENTIMENT_CONFIG, extra_params: { epochs: 3 } });
    const job = await finished(await startTraining());
    expect(job.state).to.equal('succeeded');
    served = job.version;
    // From now on a training takes a few seconds: long enough to kill it half way.
    await post(api!, '/setup', { project: String(PROJECT), schema: SENTIMENT_CONFIG, extra_params: { epochs: 30, epochDelayMs: 100 } });
  });
  after(() => cluster?.stop());

  async function startTraining(): Promise<string> {
    const reply = await post(cluster.apis[0]!, '/webhook', { action: 'START_TRAINING', project: { id: PROJECT, label_config: SENTIMENT_CONFIG } });
    expect(reply.status, JSON.stringify(reply.body)).to.equal(201);
    return reply.body.job as string;
  }
  async function jobOf(jobId: string) {
    return (await post(cluster.apis[0]!, '/job_status', { job: jobId })).body.job;
  }
  function finished(jobId: string) {
    return waitFor(async () => {
      const job = await jobOf(jobId);
      return ['succeeded', 'failed', 'cancelled'].includes(job.state) ? job : undefined;
    }, 90_000, `job ${jobId} to finish`);
  }
  const projectEntries = () => fs.readdirSync(path.join(cluster.modelDir, String(PROJECT))).sort();

  it('takes up the job of a trainer killed mid-training on a live trainer; nothing partial is promoted and the old version serves meanwhile', async () => {
    const loop = predictLoop(cluster.apis, PROJECT);
    const jobId = await startTraining();
    const running = await waitFor(async () => {
      const job = await jobOf(jobId);
      return job.state === 'running' && (job.progress?.epoch ?? 0) >= 3 ? job : undefined;
    }, 30_000, 'the training to be under way');
    // Progress is the same on every replica (the running trainer saves it about every second).
    await waitFor(async () => {
      const [a, b] = await Promise.all(cluster.apis.map((api) => post(api, '/job_status', { job: jobId })));
      return a!.body.job.progress?.epoch > running.progress.epoch && JSON.stringify(a!.body) === JSON.stringify(b!.body);
    }, 10_000, 'both replicas to show the same progress');
    const victim = cluster.trainers.find((trainer) => running.worker?.endsWith(`:${trainer.child.pid}`));
    expect(victim, `a trainer runs it (${running.worker})`).to.not.equal(undefined);
    expect(projectEntries().some((entry) => entry.endsWith('.tmp')), 'the run writes into a .tmp workdir').to.equal(true);
    victim!.child.kill('SIGKILL');
    await victim!.exited;

    const job = await finished(jobId);
    const seen = await loop.stop();
    expect(job).to.include({ state: 'succeeded', restarts: 1 });
    expect(job.worker).to.not.equal(running.worker);
    expect(job.version).to.not.equal(served);
    // Exactly the old and the new version: the killed run left no version, and its workdir is gone.
    expect(projectEntries().filter((entry) => entry !== 'current')).to.deep.equal([served, job.version].sort());
    const versions = (await get(cluster.apis[0]!, `/versions?project=${PROJECT}`)).body;
    expect(versions.current_version).to.equal(job.version);
    // The replicas kept serving: the old version until the new one, never an error.
    for (const answers of seen) {
      expect(answers.filter((answer) => answer.status !== 200)).to.deep.equal([]);
      const beforeNew = answers.filter((answer) => answer.at < Date.parse(job.finishedAt) - 1_000);
      expect(beforeNew.length).to.be.greaterThan(0);
      expect(new Set(beforeNew.map((answer) => answer.version))).to.deep.equal(new Set([served]));
    }
    served = job.version;
  });

  it('runs one job of a project at a time on two trainers; a burst during a run joins one pending job', async () => {
    cluster.trainers.push(await cluster.spawn('trainer')); // two live trainers again
    const first = await startTraining();
    await waitFor(async () => (await jobOf(first)).state === 'running', 30_000, 'the first job to run');
    const burst = await Promise.all(Array.from({ length: 8 }, () => startTraining()));
    expect(new Set(burst).size, 'one pending job').to.equal(1);
    expect(burst[0]).to.not.equal(first);
    const [done, next] = [await finished(first), await finished(burst[0]!)];
    expect(done.state).to.equal('succeeded');
    expect(next).to.include({ state: 'succeeded', triggers: 8 });
    expect(Date.parse(next.startedAt)).to.be.at.least(Date.parse(done.finishedAt));
    const training = (await get(cluster.apis[0]!, `/is_training?project=${PROJECT}`)).body;
    expect(training).to.include({ is_training: false, model_version: next.version });
  });
});
