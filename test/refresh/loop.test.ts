/**
 * Issue 13, the loop closed inside Label Studio: annotating through webhooks and pressing Start
 * Training leads, with no other call, to every unlabelled task carrying one prediction of the new
 * version with a score; Label Studio's model_version names it; older versions of this backend go.
 */
import { expect } from 'chai';
import { waitFor } from '../helpers/server.js';
import { parsePrometheusText, sampleValue } from '../ops/prometheus-text.js';
import { annotateFirst, refreshJobs, servedVersion, startLoop, waitForRefreshed, type Loop } from './helpers.js';

describe('prediction refresh: the active-learning loop inside Label Studio', function () {
  this.timeout(90_000);
  let loop: Loop;
  before(async () => {
    loop = await startLoop({ taskCount: 120 });
  });
  after(() => loop.stop());

  it('writes a prediction of the new version, with its score, on every unlabelled task after Start Training', async () => {
    await annotateFirst(loop, 8);
    expect((await loop.ls.startTraining(loop.project)).status).to.equal(201);
    await waitFor(async () => (await servedVersion(loop)) !== 'v0000-initial' || undefined, 30_000, 'a new version');
    const version = await servedVersion(loop);
    await waitForRefreshed(loop, version);
    // Labelled tasks are left alone; Label Studio now shows this version's scores.
    for (const task of loop.tasks.slice(0, 8)) expect(loop.ls.predictionsOf(task.id)).to.deep.equal([]);
    await waitFor(async () => loop.ls.data.projects.get(loop.project)?.model_version === version || undefined, 10_000, 'model_version set');

    await loop.server.backend.waitForJobs();
    const refreshes = await refreshJobs(loop);
    expect(refreshes, JSON.stringify(refreshes)).to.have.length(1);
    const [job] = refreshes;
    expect(job).to.include({ state: 'succeeded', event: 'PROMOTED', version });
    const status = (await loop.server.http.post('/job_status').send({ job: job?.id }).expect(200)).body;
    expect(status.job_status).to.equal('finished');
    expect(status.job.progress).to.include({ done: 112, total: 112, errors: 0 });
    const versions = (await loop.server.http.get(`/versions?project=${loop.project}`).expect(200)).body;
    expect(versions.projects[String(loop.project)].prediction_refresh).to.include({ version, status: 'done', done: 112, total: 112, written: 112, skipped: 0, errors: 0, activated: true });

    const metrics = parsePrometheusText((await loop.server.http.get('/metrics').expect(200)).text);
    expect(sampleValue(metrics, 'mlbackend_prediction_refresh_tasks', { project: String(loop.project), count: 'done' })).to.equal(112);
    expect(sampleValue(metrics, 'mlbackend_prediction_refresh_jobs_total', { outcome: 'succeeded' })).to.equal(1);
    expect(sampleValue(metrics, 'mlbackend_prediction_refresh_written_total')).to.equal(112);

    // Bounded: pages of PREDICTION_REFRESH_BATCH tasks, one write per page.
    const imports = loop.ls.requestsTo(`/api/projects/${loop.project}/import/predictions`, 'POST');
    expect(imports).to.have.length(Math.ceil(112 / 25));
    for (const request of imports) expect((request.body as unknown[]).length).to.be.at.most(25);
    // The personal access token was exchanged, and only access tokens travelled.
    expect(loop.ls.auth.exchanges).to.be.at.least(1);
    for (const request of loop.ls.requests.filter((r) => r.path.startsWith('/api/') && !r.path.startsWith('/api/token'))) {
      expect(request.authorization).to.match(/^Bearer /).and.not.include(loop.ls.auth.personalAccessToken);
    }
  });

  it('a newer version replaces the older one: its predictions everywhere, the old ones deleted, no duplicate', async () => {
    const before = await servedVersion(loop);
    await annotateFirst(loop, 12);
    await loop.ls.startTraining(loop.project);
    await waitFor(async () => (await servedVersion(loop)) !== before || undefined, 30_000, 'a second version');
    const version = await servedVersion(loop);
    await waitForRefreshed(loop, version);
    await loop.server.backend.waitForJobs();
    await waitFor(async () => !loop.ls.data.projectTasks(loop.project).some((t) => loop.ls.predictionsOf(t.id, before).length > 0) || undefined, 10_000, 'old version deleted');
    expect(loop.ls.data.projects.get(loop.project)?.model_version).to.equal(version);
    expect(loop.ls.requestsTo(`/api/projects/${loop.project}/model-versions`, 'DELETE').map((r) => r.body)).to.deep.equal([{ model_version: before }]);
  });

  it('gives tasks Label Studio imports later a prediction too (TASKS_CREATED)', async () => {
    const version = await servedVersion(loop);
    const added = await loop.ls.importTasks(loop.project, ['brand new and lovely', 'brand new and awful']);
    await waitFor(async () => added.every((task) => loop.ls.predictionsOf(task.id, version).length === 1) || undefined, 20_000, 'predictions for imported tasks');
    await waitForRefreshed(loop, version);
    const [latest] = await refreshJobs(loop);
    expect(latest?.event).to.equal('TASKS_CREATED');
  });
});
