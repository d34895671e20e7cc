/**
 * The seam issue 13 plugs the prediction refresh into: a 'refresh-predictions' job that runs
 * after every promotion, through the same job queue (its own slot per project), visible in
 * /job_status like any job.
 */
import { expect } from 'chai';
import type { RunningJob } from '../../src/index.js';
import { SENTIMENT_CONFIG, annotationCreated, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

describe('backend seam: prediction refresh after a promotion (issue 13 plugs in here)', () => {
  let server: TestServer;
  const refreshed: RunningJob[] = [];
  before(async () => {
    server = await startTestServer({
      env: { TRAIN_EVERY_N_ANNOTATIONS: '0' },
      backend: {
        refreshPredictions: async (job) => {
          refreshed.push(job);
          return {};
        },
      },
    });
  });
  after(() => server.stop());

  it('queues one refresh job with the promoted version after a training, none after a failed one', async () => {
    for (const [i, [text, label]] of [['good', 'Positive'], ['bad', 'Negative']].entries()) {
      await server.http.post('/webhook').send(annotationCreated(3, i + 1, text!, label!)).expect(201);
    }
    await server.http.post('/webhook').send({ action: 'START_TRAINING', project: { id: 3, label_config: SENTIMENT_CONFIG } }).expect(201);
    await server.backend.waitForJobs();
    await waitFor(async () => refreshed.length === 1 || undefined, 5000, 'the refresh job');
    await server.backend.waitForJobs();
    const version = (await server.http.post('/setup').send({ project: '3', schema: SENTIMENT_CONFIG }).expect(200)).body.model_version;
    expect(refreshed[0]?.record).to.include({ kind: 'refresh-predictions', project: '3', event: 'PROMOTED' });
    expect(refreshed[0]?.trigger.data).to.deep.equal({ version });
    const status = (await server.http.post('/job_status').send({ job: refreshed[0]?.record.id }).expect(200)).body;
    expect(status.job_status).to.equal('finished');

    await server.http.post('/setup').send({ project: '3', schema: SENTIMENT_CONFIG, extra_params: { failFit: true } }).expect(200);
    await server.http.post('/webhook').send({ action: 'START_TRAINING', project: { id: 3, label_config: SENTIMENT_CONFIG } }).expect(201);
    await server.backend.waitForJobs();
    expect(refreshed).to.have.length(1);
  });
});
