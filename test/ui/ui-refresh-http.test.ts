/** Issue 15 × 13 over HTTP: GET /ui/api/projects carries the prediction refresh (its ledger and its jobs) where one exists. */
import { expect } from 'chai';
import { waitFor } from '../helpers/server.js';
import type { ProjectOverview } from '../../src/types.js';
import { annotateFirst, startLoop, type Loop } from '../refresh/helpers.js';

type Refresh = NonNullable<ProjectOverview['predictionRefresh']>;

describe('/ui over HTTP: the prediction refresh into Label Studio', function () {
  this.timeout(60_000);
  let loop: Loop;
  before(async () => {
    loop = await startLoop({ taskCount: 60, env: { PREDICTION_REFRESH_BATCH: '10' } });
  });
  after(() => loop.stop());

  const overview = async (): Promise<ProjectOverview | undefined> =>
    ((await loop.server.http.get('/ui/api/projects').expect(200)).body.projects as ProjectOverview[]).find((p) => p.project === String(loop.project));

  it('shows the running refresh with its job and progress, then the finished one exactly as /versions does', async () => {
    await annotateFirst(loop, 8);
    loop.ls.latencyMs = 50; // a slower Label Studio, so the refresh is seen under way
    await loop.ls.startTraining(loop.project);
    const running = await waitFor(async () => {
      const refresh = (await overview())?.predictionRefresh;
      return refresh?.running && refresh.latest?.status === 'running' && refresh.latest.done > 0 ? refresh : undefined;
    }, 30_000, 'a refresh under way');
    expect(running.running).to.include({ kind: 'refresh-predictions', state: 'running', event: 'PROMOTED', project: String(loop.project) });
    expect(running.running?.history).to.equal(undefined);
    expect(running.running?.progress).to.include({ total: 52 });
    expect(running.latest).to.include({ total: 52, errors: 0, only_unlabelled: true, job_id: running.running?.id });
    expect(running.latest?.done).to.be.within(1, 52);

    await loop.server.backend.waitForJobs();
    const done = await overview();
    const versions = (await loop.server.http.get(`/versions?project=${loop.project}`).expect(200)).body;
    const latest = versions.projects[String(loop.project)].prediction_refresh;
    expect(done?.predictionRefresh).to.deep.equal({ latest } satisfies Refresh);
    expect(latest).to.include({ version: done?.currentVersion, status: 'done', done: 52, total: 52, written: 52, errors: 0, activated: true, job_id: running.running?.id });
    expect(Date.parse(latest.finished_at as string)).to.be.at.least(Date.parse(latest.started_at as string));
    // The training jobs stay the training jobs: the refresh job is not listed among them.
    expect(done?.jobs.recent.map((job) => job.kind ?? 'train')).to.deep.equal(['train']);
  });

  it('lists a queued refresh as pending', async () => {
    loop.ls.latencyMs = 100;
    const first = await loop.server.http.post('/refresh_predictions').send({ project: loop.project }).expect(201);
    const second = await loop.server.http.post('/refresh_predictions').send({ project: loop.project, only_unlabelled: true }).expect(201);
    const refresh = await waitFor(async () => (await overview())?.predictionRefresh?.pending, 10_000, 'a pending refresh');
    expect(refresh).to.include({ id: second.body.job_id, state: 'queued', event: 'MANUAL' });
    expect((await overview())?.predictionRefresh?.running?.id).to.equal(first.body.job_id);
    loop.ls.latencyMs = 0;
    await loop.server.backend.waitForJobs();
    expect((await overview())?.predictionRefresh?.latest).to.include({ job_id: second.body.job_id, status: 'done' });
  });
});
