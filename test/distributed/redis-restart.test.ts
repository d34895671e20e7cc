/**
 * Issue 14, over HTTP with separate processes: Redis crashes (SIGKILL) and comes back on the same
 * AOF file (appendonly yes, appendfsync everysec, as the README documents). Meanwhile the
 * replicas stay alive, say they are not ready, keep predicting with the version they serve, and
 * turn webhooks away with a JSON 503; afterwards they are ready again by themselves, what was
 * stored more than a second before the crash is all there, and training works again.
 */
import { expect } from 'chai';
import { SENTIMENT_CONFIG, annotationCreated, waitFor } from '../helpers/server.js';
import { get, post, servedVersion, startCluster, type Cluster } from '../helpers/cluster.js';

const PROJECT = 5;
const TEXTS: Array<[string, string]> = [['good great', 'Positive'], ['great fun', 'Positive'], ['awful bad', 'Negative'], ['terrible mess', 'Negative']];

describe('distributed: a Redis crash and restart (issue 14)', function () {
  this.timeout(180_000);
  let cluster: Cluster;

  before(async () => {
    cluster = await startCluster({ apis: 1, trainers: 1 });
  });
  after(() => cluster?.stop());

  const startTraining = async () => {
    const reply = await post(cluster.apis[0]!, '/webhook', { action: 'START_TRAINING', project: { id: PROJECT, label_config: SENTIMENT_CONFIG } });
    expect(reply.status, JSON.stringify(reply.body)).to.equal(201);
    return reply.body.job as string;
  };
  const finished = (jobId: string) =>
    waitFor(async () => {
      const reply = await post(cluster.apis[0]!, '/job_status', { job: jobId });
      return ['succeeded', 'failed', 'cancelled'].includes(reply.body.job?.state) ? reply.body.job : undefined;
    }, 60_000, `job ${jobId} to finish`);

  it('keeps predicting through the outage, recovers by itself and has lost nothing stored a second before the crash', async () => {
    const [api] = cluster.apis;
    const [trainer] = cluster.trainers;
    await post(api!, '/setup', { project: String(PROJECT), schema: SENTIMENT_CONFIG, extra_params: { epochs: 3 } });
    for (const [i, [text, label]] of TEXTS.entries()) expect((await post(api!, '/webhook', annotationCreated(PROJECT, i + 1, text, label))).status).to.equal(201);
    const firstJob = await finished(await startTraining());
    expect(firstJob.state).to.equal('succeeded');
    await waitFor(async () => (await servedVersion(api!, PROJECT)) === firstJob.version, 5_000, 'the version to be served');
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // appendfsync everysec: now on disk

    await cluster.redis.stop('SIGKILL');
    await waitFor(async () => (await get(api!, '/ready')).status === 503, 10_000, 'the replica to report not ready');
    const health = await get(api!, '/health');
    expect(health.status).to.equal(200);
    expect(health.body.redis).to.not.equal('ready');
    expect((await get(trainer!, '/ready')).status).to.equal(503);
    const predicted = await post(api!, '/predict', { project: String(PROJECT), label_config: SENTIMENT_CONFIG, tasks: [{ id: 1, data: { text: 'awful bad' } }] });
    expect(predicted.status, JSON.stringify(predicted.body)).to.equal(200);
    expect(predicted.body.model_version).to.equal(firstJob.version);
    const refused = await post(api!, '/webhook', annotationCreated(PROJECT, 9, 'lost in the outage', 'Positive'));
    expect(refused.status).to.equal(503);
    expect(refused.body).to.include({ status: 503, error: 'MLB_ERR_REDIS_UNAVAILABLE' });

    await cluster.redis.restart();
    for (const process of [api!, trainer!]) await waitFor(async () => (await get(process, '/ready')).status === 200, 15_000, 'readiness after the restart');
    expect((await post(api!, '/job_status', { job: firstJob.id })).body.job).to.include({ state: 'succeeded', version: firstJob.version });
    expect((await get(api!, `/versions?project=${PROJECT}`)).body.current_version).to.equal(firstJob.version);

    expect((await post(api!, '/webhook', annotationCreated(PROJECT, 5, 'lovely good', 'Positive'))).status).to.equal(201);
    const secondJob = await finished(await startTraining());
    expect(secondJob).to.include({ state: 'succeeded', annotationCount: TEXTS.length + 1, baseVersion: firstJob.version });
    await waitFor(async () => (await servedVersion(api!, PROJECT)) === secondJob.version, 5_000, 'the new version to be served');
  });
});
