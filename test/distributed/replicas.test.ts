/**
 * Issue 14, over HTTP with separate processes: two api replicas and a trainer on one Redis and
 * one MODEL_DIR. Webhooks on either replica train one model; every replica answers the same
 * about jobs, versions and metrics; a promotion or a rollback (POST /versions, or the CLI) is
 * served by every replica within 2 s, and no request fails meanwhile; the trainer serves only
 * probes and metrics.
 */
import { expect } from 'chai';
import { SENTIMENT_CONFIG, annotationCreated, waitFor } from '../helpers/server.js';
import { firstServed, get, post, predictLoop, servedVersion, startCluster, type Cluster } from '../helpers/cluster.js';
import { runCli } from '../cli/run-cli.js';
import { parsePrometheusText, sampleValue } from '../ops/prometheus-text.js';

const TEXTS: Array<[string, string]> = [
  ['good great', 'Positive'], ['great fun', 'Positive'], ['lovely good', 'Positive'],
  ['awful bad', 'Negative'], ['terrible mess', 'Negative'], ['bad awful', 'Negative'],
];
const PROJECT = 7;

describe('distributed: api replicas and a trainer on Redis (issue 14)', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  const versions: string[] = [];

  before(async () => {
    cluster = await startCluster({ apis: 2, trainers: 1 });
  });
  after(() => cluster?.stop());

  const startTraining = async (replica: number) => {
    const reply = await post(cluster.apis[replica]!, '/webhook', { action: 'START_TRAINING', project: { id: PROJECT, label_config: SENTIMENT_CONFIG } });
    expect(reply.status, JSON.stringify(reply.body)).to.equal(201);
    return reply.body.job as string;
  };
  const finished = (jobId: string) =>
    waitFor(async () => {
      const { body } = await post(cluster.apis[0]!, '/job_status', { job: jobId });
      return ['finished', 'failed', 'canceled'].includes(body.job_status) ? body.job : undefined;
    }, 60_000, `job ${jobId} to finish`);

  it('trains one model on the annotations of every replica; jobs, versions and metrics read the same on each', async () => {
    const [a, b] = cluster.apis as [Cluster['apis'][0], Cluster['apis'][0]];
    await post(a, '/setup', { project: String(PROJECT), schema: SENTIMENT_CONFIG, extra_params: { epochs: 5 } });
    for (const [i, [text, label]] of TEXTS.entries()) {
      const reply = await post(i % 2 === 0 ? a : b, '/webhook', annotationCreated(PROJECT, i + 1, text, label));
      expect(reply.status).to.equal(201);
    }
    const jobId = await startTraining(1);
    const job = await finished(jobId);
    expect(job).to.include({ state: 'succeeded', annotationCount: TEXTS.length, baseVersion: 'v0000-initial' });
    versions.push(job.version);

    const statuses = await Promise.all([a, b].map((replica) => post(replica, '/job_status', { job: jobId })));
    expect(statuses[0]).to.deep.equal(statuses[1]);
    const training = await Promise.all([a, b].map((replica) => get(replica, `/is_training?project=${PROJECT}`)));
    expect(training[0]?.body).to.deep.equal(training[1]?.body);
    expect(training[0]?.body).to.include({ is_training: false, model_version: job.version });
    for (const replica of [a, b]) {
      await waitFor(async () => (await servedVersion(replica, PROJECT)) === job.version, 5_000, 'the replica to serve the new version');
      const predicted = await post(replica, '/predict', { project: String(PROJECT), label_config: SENTIMENT_CONFIG, tasks: [{ id: 1, data: { text: 'awful bad' } }] });
      expect(predicted.body.results[0].result[0].value.choices).to.deep.equal(['Negative']);
      const metrics = parsePrometheusText((await get(replica, '/metrics')).body as string);
      expect(sampleValue(metrics, 'mlbackend_training_jobs_total', { outcome: 'succeeded' })).to.equal(1);
      expect(sampleValue(metrics, 'mlbackend_model_version_info', { project: String(PROJECT), version: job.version })).to.equal(1);
      expect(sampleValue(metrics, 'mlbackend_role_info', { role: 'api' })).to.equal(1);
      expect(sampleValue(metrics, 'mlbackend_redis_up')).to.equal(1);
    }
  });

  it('serves a new version on every replica within 2 s of its promotion, without a failed request', async () => {
    const loop = predictLoop(cluster.apis, PROJECT);
    const job = await finished(await startTraining(0));
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const seen = await loop.stop();
    versions.push(job.version);
    const delays = firstServed(seen, job.version, Date.parse(job.finishedAt));
    for (const delay of delays) expect(delay, `replica delays ${JSON.stringify(delays)} ms`).to.be.a('number').and.at.most(2_000);
    for (const answers of seen) expect(answers.filter((answer) => answer.status !== 200)).to.deep.equal([]);
  });

  it('propagates a rollback made on one replica (POST /versions) and one made by the CLI to every replica within 2 s', async () => {
    const [older, newer] = versions as [string, string];
    const loop = predictLoop(cluster.apis, PROJECT);
    try {
      const rolledBack = Date.now();
      expect((await post(cluster.apis[1]!, '/versions', { project: String(PROJECT), version: older })).status).to.equal(200);
      await waitFor(async () => loop.seen.every((answers) => answers.at(-1)?.version === older), 5_000, 'every replica to serve the rolled-back version');
      for (const delay of firstServed(loop.seen, older, rolledBack)) expect(delay).to.be.at.most(2_000);

      const cli = await runCli(['checkpoints', 'rollback', newer, '--project', String(PROJECT), '--model-dir', cluster.modelDir], { env: cluster.env });
      expect(cli.code, cli.stderr).to.equal(0);
      expect(cli.stdout).to.include('every replica');
      const switched = Date.now();
      await waitFor(async () => loop.seen.every((answers) => answers.at(-1)?.version === newer && answers.at(-1)!.at > switched), 5_000, 'every replica to serve the CLI choice');
      expect(Date.now() - switched).to.be.at.most(2_000);
    } finally {
      await loop.stop();
    }
    for (const answers of loop.seen) expect(answers.filter((answer) => answer.status !== 200)).to.deep.equal([]);
    for (const replica of cluster.apis) expect((await get(replica, `/versions?project=${PROJECT}`)).body.current_version).to.equal(newer);
  });

  it('lets a trainer serve only /health, /ready and /metrics', async () => {
    const [trainer] = cluster.trainers;
    const health = await get(trainer!, '/health');
    expect(health.body).to.include({ status: 'UP', role: 'trainer', redis: 'ready' });
    expect((await get(trainer!, '/ready')).status).to.equal(200);
    const metrics = parsePrometheusText((await get(trainer!, '/metrics')).body as string);
    expect(sampleValue(metrics, 'mlbackend_role_info', { role: 'trainer' })).to.equal(1);
    for (const route of ['/predict', '/webhook', '/setup', '/job_status']) {
      const reply = await post(trainer!, route, {});
      expect(reply.status, route).to.equal(404);
      expect(reply.body).to.have.property('status');
    }
    expect((await get(trainer!, '/ui')).status).to.equal(404);
  });
});
