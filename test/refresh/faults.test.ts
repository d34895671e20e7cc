/**
 * The prediction refresh when Label Studio misbehaves: a key refused (401) or a permission
 * missing (403) stops it with a reason and no retry storm; an access token refused before its
 * expiry is exchanged again; 5xx answers and timeouts mid-way (also after the write took effect)
 * are retried without ever writing a task's prediction twice; a task deleted mid-way fails alone;
 * and an unreachable Label Studio never fails the training that triggered the refresh.
 */
import { expect } from 'chai';
import { waitFor } from '../helpers/server.js';
import { annotateFirst, expectOnePredictionEach, refreshJobs, servedVersion, startLoop, waitForRefreshed, type Loop } from './helpers.js';

const IMPORT = /^\/api\/projects\/\d+\/import\/predictions$/;

async function trainAndWaitForRefresh(loop: Loop): Promise<{ version: string; job: Awaited<ReturnType<typeof refreshJobs>>[number] }> {
  const before = await servedVersion(loop);
  await annotateFirst(loop, 6);
  expect((await loop.ls.startTraining(loop.project)).status).to.equal(201);
  await waitFor(async () => (await servedVersion(loop)) !== before || undefined, 30_000, 'a new version');
  const version = await servedVersion(loop);
  const job = await waitFor(async () => {
    await loop.server.backend.waitForJobs();
    const [latest] = await refreshJobs(loop);
    return latest && latest.state !== 'queued' && latest.state !== 'running' ? latest : undefined;
  }, 60_000, 'the refresh job to finish');
  return { version, job };
}

describe('prediction refresh: Label Studio faults', function () {
  this.timeout(120_000);
  let loop: Loop | undefined;
  afterEach(async () => {
    await loop?.stop();
    loop = undefined;
  });

  it('401: a refused key stops the refresh with the reason, once; the training succeeded', async () => {
    loop = await startLoop({ taskCount: 40, apiKey: 'legacy', env: { PREDICTION_REFRESH_RETRIES: '3' } });
    const l = loop;
    l.ls.fault({ path: /^\/api\/tasks$/, status: 401, method: 'GET' });
    const { version, job } = await trainAndWaitForRefresh(l);
    expect(version).to.not.equal('v0000-initial');
    const trainings = (await l.server.backend.jobs(String(l.project), 10)).filter((j) => (j.kind ?? 'train') === 'train');
    expect(trainings[0]?.state).to.equal('succeeded');
    expect(job.state).to.equal('failed');
    expect(job.error).to.match(/HTTP 401/).and.match(/LABEL_STUDIO_API_KEY/).and.not.include(l.ls.auth.legacyToken);
    expect(l.ls.requestsTo('/api/tasks', 'GET')).to.have.length(1); // not retried
    const status = (await l.server.http.get(`/versions?project=${l.project}`).expect(200)).body.projects[String(l.project)].prediction_refresh;
    expect(status).to.include({ status: 'failed', version });
  });

  it('403: a missing permission on the write stops the refresh with the reason, without retries', async () => {
    loop = await startLoop({ taskCount: 40 });
    loop.ls.fault({ path: IMPORT, status: 403 });
    const { job } = await trainAndWaitForRefresh(loop);
    expect(job.state).to.equal('failed');
    expect(job.error).to.match(/HTTP 403/).and.match(/permission/);
    expect(loop.ls.requestsTo(IMPORT, 'POST')).to.have.length(1);
  });

  it('an access token refused before its expiry is exchanged again and the refresh goes on', async () => {
    loop = await startLoop({ taskCount: 80 });
    const l = loop;
    let imports = 0;
    l.ls.onRequest = (request) => {
      if (IMPORT.test(request.path) && ++imports === 2) l.ls.auth.revokeAccessTokens();
    };
    const { version, job } = await trainAndWaitForRefresh(l);
    expect(job.state).to.equal('succeeded');
    expectOnePredictionEach(l, version);
    expect(l.ls.requests.some((r) => r.status === 401)).to.equal(true);
    expect(l.ls.auth.exchanges).to.be.at.least(2);
  });

  it('5xx mid-way, before and after the write took effect: retried, every task written exactly once', async () => {
    loop = await startLoop({ taskCount: 100 });
    loop.ls.fault({ path: IMPORT, status: 503, skip: 1, times: 2 });
    loop.ls.fault({ path: IMPORT, status: 500, afterApplied: true, skip: 2, times: 1 });
    loop.ls.fault({ path: /^\/api\/tasks$/, status: 502, skip: 3, times: 1 });
    const { version, job } = await trainAndWaitForRefresh(loop);
    expect(job.state).to.equal('succeeded');
    await waitForRefreshed(loop, version);
    expect(loop.ls.requests.filter((r) => r.status >= 500).length).to.equal(4);
  });

  it('a timeout mid-way after the write took effect: the check before the next try finds it, no duplicate', async () => {
    loop = await startLoop({ taskCount: 60, env: { LABEL_STUDIO_TIMEOUT_S: '0.5' } });
    loop.ls.fault({ path: IMPORT, action: 'hang', afterApplied: true, skip: 1, times: 1 });
    loop.ls.fault({ path: /^\/api\/tasks$/, action: 'reset', skip: 2, times: 1 });
    const { version, job } = await trainAndWaitForRefresh(loop);
    expect(job.state).to.equal('succeeded');
    await waitForRefreshed(loop, version);
    const status = (await loop.server.http.get(`/versions?project=${loop.project}`).expect(200)).body.projects[String(loop.project)].prediction_refresh;
    expect(status.skipped).to.equal(25); // the batch whose answer was lost was found written
    expect(status.written + status.skipped).to.equal(54);
  });

  it('a task deleted mid-way fails alone (Label Studio rejects the batch); the others are written', async () => {
    loop = await startLoop({ taskCount: 60 });
    const l = loop;
    let deleted: number | undefined;
    l.ls.onRequest = (request) => {
      if (deleted === undefined && IMPORT.test(request.path)) {
        deleted = (request.body as Array<{ task: number }>)[3]?.task;
        if (deleted !== undefined) l.ls.data.tasks.delete(deleted);
      }
    };
    const { version, job } = await trainAndWaitForRefresh(l);
    expect(job.state).to.equal('succeeded');
    expectOnePredictionEach(l, version);
    const status = (await l.server.http.get(`/versions?project=${l.project}`).expect(200)).body.projects[String(l.project)].prediction_refresh;
    expect(status).to.include({ written: 53, errors: 0 });
  });

  it('an unreachable Label Studio never fails the training; /health stays up; the refresh fails with the reason', async () => {
    loop = await startLoop({ taskCount: 20, env: { PREDICTION_REFRESH_RETRIES: '1' } });
    const l = loop;
    await annotateFirst(l, 6);
    await l.ls.startTraining(l.project);
    // Label Studio goes away as soon as the refresh starts asking it.
    l.ls.fault({ path: /^\/api\/(projects\/\d+|tasks)$/, action: 'reset' });
    await waitFor(async () => (await servedVersion(l)) !== 'v0000-initial' || undefined, 30_000, 'a new version');
    await l.server.backend.waitForJobs();
    const jobs = await l.server.backend.jobs(String(l.project), 10);
    expect(jobs.find((j) => (j.kind ?? 'train') === 'train')?.state).to.equal('succeeded');
    const refresh = jobs.find((j) => j.kind === 'refresh-predictions');
    expect(refresh?.state).to.equal('failed');
    expect(refresh?.error).to.match(/reachable|socket|ECONNRESET|closed/i);
    await l.server.http.get('/health').expect(200);
  });
});
