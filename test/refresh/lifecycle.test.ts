/**
 * The prediction refresh across its lifetime: a newer version arriving mid-refresh supersedes it
 * cleanly, /predict and /health answer while it runs, and a server killed mid-refresh (kill -9)
 * resumes it at the next start where it stopped, without writing any task's prediction twice.
 */
import { expect } from 'chai';
import { SERVE_TOY, spawnServer, type ChildServer } from '../helpers/process.js';
import { LabelStudioStandIn } from '../helpers/ls-standin/index.js';
import { SENTIMENT_CONFIG, tempDir, waitFor } from '../helpers/server.js';
import { annotateFirst, expectOnePredictionEach, refreshJobs, servedVersion, startLoop, waitForRefreshed, type Loop } from './helpers.js';

const IMPORT = /^\/api\/projects\/\d+\/import\/predictions$/;

describe('prediction refresh: supersede, liveness, restart', function () {
  this.timeout(120_000);

  describe('in one process', () => {
    let loop: Loop;
    before(async () => {
      loop = await startLoop({ taskCount: 240, env: { PREDICTION_REFRESH_BATCH: '20' } });
    });
    after(() => loop.stop());

    it('answers /health and /predict while a refresh runs', async () => {
      loop.ls.latencyMs = 40;
      await annotateFirst(loop, 6);
      await loop.ls.startTraining(loop.project);
      const running = await waitFor(async () => (await refreshJobs(loop)).find((j) => j.state === 'running'), 30_000, 'a running refresh');
      for (let i = 0; i < 5; i++) {
        await loop.server.http.get('/health').expect(200);
        const reply = await loop.server.http.post('/predict').send({ tasks: [{ id: 1, data: { text: 'I love it' } }], project: String(loop.project), label_config: SENTIMENT_CONFIG }).expect(200);
        expect(reply.body.results).to.have.length(1);
      }
      expect((await loop.server.backend.job(running.id))?.state).to.equal('running');
    });

    it('a newer version mid-refresh supersedes it: the old job stops, the new version ends up everywhere, once', async () => {
      const [first] = await refreshJobs(loop);
      const firstVersion = await servedVersion(loop);
      await waitFor(async () => loop.ls.requestsTo(IMPORT, 'POST').length >= 2 || undefined, 30_000, 'the refresh to be under way');
      await annotateFirst(loop, 14);
      await loop.ls.startTraining(loop.project);
      await waitFor(async () => (await servedVersion(loop)) !== firstVersion || undefined, 30_000, 'a newer version');
      const version = await servedVersion(loop);
      loop.ls.latencyMs = 0;
      await waitForRefreshed(loop, version, 60_000);
      await loop.server.backend.waitForJobs();
      const superseded = await loop.server.backend.job(first!.id);
      expect(superseded).to.include({ state: 'cancelled', error: `superseded by version ${version}` });
      const [latest] = await refreshJobs(loop);
      expect(latest).to.include({ state: 'succeeded', version });
      // The half-written older version is removed with the rest of this backend's old versions.
      expect(loop.ls.data.projectTasks(loop.project).some((t) => loop.ls.predictionsOf(t.id, firstVersion).length > 0)).to.equal(false);
      expect(loop.ls.data.projects.get(loop.project)?.model_version).to.equal(version);
    });
  });

  describe('across a crash', () => {
    let ls: LabelStudioStandIn;
    let server: ChildServer | undefined;
    afterEach(() => server?.child.kill('SIGKILL'));
    after(() => ls.stop());

    it('kill -9 mid-refresh: the next start resumes after the last written batch, no task written twice', async () => {
      const modelDir = tempDir();
      // A version trained without any refresh.
      const trained = await startLoop({ taskCount: 150, modelDir, env: { PREDICTION_REFRESH: 'off' } });
      ls = trained.ls;
      await annotateFirst(trained, 6);
      await ls.startTraining(trained.project);
      await waitFor(async () => (await servedVersion(trained)) !== 'v0000-initial' || undefined, 30_000, 'a version');
      const version = await servedVersion(trained);
      await trained.server.stop();

      const env = { MODEL_DIR: modelDir, LABEL_STUDIO_URL: ls.url, LABEL_STUDIO_API_KEY: ls.auth.personalAccessToken, PREDICTION_REFRESH_BATCH: '10', PREDICTION_REFRESH_RPS: '500', LOG_LEVEL: 'info' };
      server = await spawnServer(SERVE_TOY, env);
      ls.latencyMs = 30;
      const started = await fetch(`${server.url}/refresh_predictions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ project: trained.project, only_unlabelled: true }) });
      expect(started.status).to.equal(201);
      await waitFor(async () => ls.requestsTo(IMPORT, 'POST').length >= 3 || undefined, 30_000, 'three batches written');
      server.child.kill('SIGKILL');
      await server.exited;
      const writtenBefore = ls.unlabelledTasks(trained.project).filter((t) => ls.predictionsOf(t.id, version).length > 0).length;
      expect(writtenBefore).to.be.within(20, 143);

      ls.latencyMs = 0;
      const mark = ls.requests.length;
      server = await spawnServer(SERVE_TOY, env);
      const s = server;
      await waitForRefreshed({ ...trained, server: trained.server }, version, 60_000);
      await waitFor(async () => s.output().includes('"msg":"prediction refresh job finished"') || undefined, 20_000, 'the resumed job to finish');
      expect(s.output()).to.include('resuming an unfinished prediction refresh');
      expectOnePredictionEach(trained, version);
      // The resumed listing starts after the cursor the ledger kept, not from the first task.
      const firstListing = ls.requests.slice(mark).find((r) => r.path === '/api/tasks');
      const query = JSON.parse(firstListing?.query.get('query') ?? '{}') as { filters: { items: Array<{ filter: string; value: unknown }> } };
      const cursor = query.filters.items.find((item) => item.filter === 'filter:tasks:id')?.value;
      expect(cursor).to.be.a('number').above(0);
      const job = /"event":"RESUME"/.test(s.output());
      expect(job).to.equal(true);
    });
  });
});
