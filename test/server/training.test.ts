/** Issue 3: real (small) TF.js training through the HTTP API: jobs, versions, restarts, crashes. */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import supertest from 'supertest';
import { SENTIMENT_CONFIG, annotationCreated, startTestServer, tempDir, waitFor, type TestServer } from '../helpers/server.js';
import { SERVE_TOY, spawnServer } from '../helpers/process.js';

const POSITIVE = ['good great', 'great fun', 'lovely good', 'nice great'];
const NEGATIVE = ['bad awful', 'awful mess', 'terrible bad', 'worst awful'];

async function annotate(server: { http: ReturnType<typeof supertest> }, project: number, firstTask = 1) {
  const texts = [...POSITIVE.map((t) => [t, 'Positive']), ...NEGATIVE.map((t) => [t, 'Negative'])];
  for (const [i, [text, choice]] of texts.entries()) {
    await server.http.post('/webhook').send(annotationCreated(project, firstTask + i, text!, choice!)).expect(201);
  }
  return texts.length;
}

const startTraining = (server: { http: ReturnType<typeof supertest> }, project: number) =>
  server.http.post('/webhook').send({ action: 'START_TRAINING', project: { id: project, label_config: SENTIMENT_CONFIG } }).expect(201);

async function servedVersion(server: { http: ReturnType<typeof supertest> }, project: string): Promise<string> {
  return (await server.http.post('/setup').send({ project, schema: SENTIMENT_CONFIG }).expect(200)).body.model_version;
}

describe('training: START_TRAINING, versions, train_output', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { TRAIN_EVERY_N_ANNOTATIONS: '0' } });
  });
  after(() => server.stop());

  it('stores annotation webhooks without training when the policy says so', async () => {
    const res = await server.http.post('/webhook').send(annotationCreated(5, 100, 'good', 'Positive')).expect(201);
    expect(res.body.result).to.deep.equal({ stored: 1, training: false });
    expect((await server.stores.annotations.counts('5')).usable).to.equal(1);
  });

  it('START_TRAINING trains a TF.js model in the worker and a new version is served', async () => {
    await annotate(server, 5);
    const before = await servedVersion(server, '5.1712586036');
    expect(before).to.equal('v0000-initial');
    const { body } = await startTraining(server, 5);
    const job = await waitFor(async () => {
      const status = (await server.http.post('/job_status').send({ job: body.job }).expect(200)).body;
      return ['finished', 'failed', 'canceled'].includes(status.job_status) ? status : undefined;
    });
    expect(job.job_status, JSON.stringify(job)).to.equal('finished');
    expect(job.job.annotationCount).to.equal(9);
    expect(job.job.progress.epoch).to.equal(30);
    const after = await servedVersion(server, '5.1712586036');
    expect(after).to.equal(job.job.version).and.match(/^v0001-\d{8}T\d{6}Z$/);
    const predicted = await server.http
      .post('/predict')
      .send({ project: '5', tasks: [{ data: { text: 'great good' } }, { data: { text: 'awful bad' } }] })
      .expect(200);
    expect(predicted.body.results.map((r: { result: Array<{ value: { choices: string[] } }> }) => r.result[0]!.value.choices[0])).to.deep.equal(['Positive', 'Negative']);
    expect(predicted.body.results[0].model_version).to.equal(after);
  });

  it('a training with nothing usable finishes without a version and says so in /job_status', async () => {
    const unusable = annotationCreated(15, 1, 'good', 'Positive');
    unusable.annotation.result = [];
    await server.http.post('/webhook').send(unusable).expect(201);
    const { body } = await startTraining(server, 15);
    const job = await waitFor(async () => {
      const status = (await server.http.post('/job_status').send({ job: body.job }).expect(200)).body;
      return status.job_status === 'finished' ? status : undefined;
    });
    expect(job.job.version).to.equal(undefined);
    expect(job.job.progress.phase).to.match(/^fit returned no train output .*: the served version stays$/);
    expect(await servedVersion(server, '15')).to.equal('v0000-initial');
  });

  it('hands train_output (workdir = the version directory) to the next model instance', async () => {
    const version = await servedVersion(server, '5');
    const predicted = await server.http.post('/predict').send({ project: '5', tasks: [{ data: { text: 'good' } }] }).expect(200);
    const seenByInstance = predicted.body.results[0].instance;
    const dir = path.join(server.modelDir, '5', version);
    expect(seenByInstance.workdir).to.equal(dir);
    expect(seenByInstance.model_dir).to.equal(path.join(dir, 'model'));
    expect(fs.existsSync(path.join(dir, 'model', 'model.json'))).to.equal(true);
    expect(fs.existsSync(path.join(dir, 'model', 'weights.bin'))).to.equal(true);
    // job.json records the training that made the version (the job record itself lives in the job store).
    const made = JSON.parse(fs.readFileSync(path.join(dir, 'job.json'), 'utf8'));
    expect(made).to.include({ project: '5', event: 'START_TRAINING', annotationCount: 9 }).and.not.have.property('state');
    expect((await server.backend.job(made.id))?.version).to.equal(version);
  });

  it('a failing fit leaves the previous version serving and reports the error', async () => {
    const version = await servedVersion(server, '5');
    await server.http.post('/setup').send({ project: '5', schema: SENTIMENT_CONFIG, extra_params: { failFit: true } }).expect(200);
    const { body } = await startTraining(server, 5);
    await server.backend.waitForJobs();
    const status = (await server.http.post('/job_status').send({ job: body.job }).expect(200)).body;
    expect(status.job_status).to.equal('failed');
    expect(status.job.error).to.match(/fit failed on purpose/);
    expect(await servedVersion(server, '5')).to.equal(version);
    expect(fs.readdirSync(path.join(server.modelDir, '5')).filter((name) => name.endsWith('.tmp'))).to.deep.equal([]);
    await server.http.post('/setup').send({ project: '5', schema: SENTIMENT_CONFIG, extra_params: { failFit: false } }).expect(200);
  });

  it('rolls back over HTTP (POST /versions) and lists versions with the current one', async () => {
    const first = await servedVersion(server, '5');
    await startTraining(server, 5);
    await server.backend.waitForJobs();
    const second = await servedVersion(server, '5');
    expect(second).to.not.equal(first);
    const listed = (await server.http.get('/versions').query({ project: '5' }).expect(200)).body;
    expect(listed.versions).to.deep.equal([first, second]);
    expect(listed.current_version).to.equal(second);
    const selected = await server.http.post('/versions').send({ project: '5', version: first }).expect(200);
    expect(selected.body.model_version).to.equal(first);
    expect(await servedVersion(server, '5')).to.equal(first);
    expect(fs.readFileSync(path.join(server.modelDir, '5', 'current'), 'utf8').trim()).to.equal(first);
  });

  it('rejects unsafe project ids and versions with 400, unknown versions with 404', async () => {
    for (const project of ['../etc', 'a/b', '..', 'x\u0000y', '/abs', 'a'.repeat(300)]) {
      const res = await server.http.post('/setup').send({ project, schema: SENTIMENT_CONFIG }).expect(400);
      expect(res.body.error).to.equal('MLB_ERR_BAD_PROJECT_ID');
    }
    for (const version of ['../../etc/passwd', 'v1/..', '.', 'x.tmp']) {
      const res = await server.http.post('/versions').send({ project: '5', version }).expect(400);
      expect(res.body.error).to.equal('MLB_ERR_BAD_VERSION');
    }
    const missing = await server.http.post('/versions').send({ project: '5', version: 'v9999-20200101T000000Z' }).expect(404);
    expect(missing.body.error).to.equal('MLB_ERR_VERSION_NOT_FOUND');
  });

  it('ANNOTATIONS_DELETED removes annotations and cancelled ones are never trained on', async () => {
    const cancelled = annotationCreated(6, 1, 'skip me', 'Positive');
    cancelled.annotation.was_cancelled = true;
    await server.http.post('/webhook').send(cancelled).expect(201);
    const kept = annotationCreated(6, 2, 'keep me', 'Negative');
    await server.http.post('/webhook').send(kept).expect(201);
    expect((await server.stores.annotations.trainingSet('6')).map((t) => t.id)).to.deep.equal([2]);
    const res = await server.http
      .post('/webhook')
      .send({ action: 'ANNOTATIONS_DELETED', annotations: [{ id: kept.annotation.id }], project: { id: 6 } })
      .expect(201);
    expect(res.body.result.stored).to.equal(1);
    expect((await server.stores.annotations.trainingSet('6'))).to.deep.equal([]);
  });

  it('legacy /train stores the exported tasks and queues a job; an empty list is a 400', async () => {
    const empty = await server.http.post('/train').send({ annotations: [], project: '7.1', label_config: SENTIMENT_CONFIG }).expect(400);
    expect(empty.body.detail).to.equal('No annotations found.');
    const tasks = [
      { id: 1, data: { text: 'good' }, annotations: [{ id: 91, result: [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['Positive'] } }] }] },
      { id: 2, data: { text: 'bad' }, annotations: [{ id: 92, result: [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['Negative'] } }] }] },
    ];
    const res = await server.http.post('/train').send({ annotations: tasks, project: '7.1', label_config: SENTIMENT_CONFIG }).expect(201);
    expect(res.body.job).to.be.a('string');
    await server.backend.waitForJobs();
    expect(await servedVersion(server, '7')).to.match(/^v0001-/);
  });
});

describe('training: annotation-triggered jobs and coalescing', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { TRAIN_EVERY_N_ANNOTATIONS: '1' } });
  });
  after(() => server.stop());

  it('annotation webhooks alone start training and change the version', async () => {
    await annotate(server, 8);
    await server.backend.waitForJobs();
    expect(await servedVersion(server, '8')).to.not.equal('v0000-initial');
    const last = (await server.backend.jobs('8'))[0];
    expect(last?.state).to.equal('succeeded');
    expect(last?.annotationCount).to.equal(8);
  });

  it('a burst of 50 webhooks runs at most two trainings and the last one includes all annotations', async () => {
    const bodies = Array.from({ length: 50 }, (_, i) => annotationCreated(9, i + 1, `${i % 2 ? 'good' : 'bad'} text ${i}`, i % 2 ? 'Positive' : 'Negative'));
    const replies = await Promise.all(bodies.map((body) => server.http.post('/webhook').send(body)));
    expect(replies.every((reply) => reply.status === 201)).to.equal(true);
    const jobIds = new Set(replies.map((reply) => reply.body.job));
    expect(jobIds.size).to.be.at.most(2);
    await server.backend.waitForJobs();
    const jobs = (await server.backend.jobs('9'));
    expect(jobs.length).to.be.at.most(2);
    expect(jobs.every((job) => job.state === 'succeeded')).to.equal(true);
    expect(jobs[0]?.annotationCount).to.equal(50);
  });
});

describe('training: retention', () => {
  it('KEEP_VERSIONS prunes old versions after each training, never the current one', async () => {
    const server = await startTestServer({ env: { TRAIN_EVERY_N_ANNOTATIONS: '0', KEEP_VERSIONS: '2' } });
    try {
      await annotate(server, 11);
      const versions: string[] = [];
      for (let i = 0; i < 3; i++) {
        await startTraining(server, 11);
        await server.backend.waitForJobs();
        versions.push(await servedVersion(server, '11'));
      }
      const listed = (await server.http.get('/versions').query({ project: '11' }).expect(200)).body;
      expect(listed.versions).to.deep.equal(versions.slice(1));
      expect(listed.current_version).to.equal(versions[2]);
      expect(fs.existsSync(path.join(server.modelDir, '11', versions[0]!))).to.equal(false);
    } finally {
      await server.stop();
    }
  });
});

describe('training: restarts and crashes', () => {
  it('a restart keeps the annotations and the current version', async () => {
    const modelDir = tempDir();
    const first = await startTestServer({ modelDir, env: { TRAIN_EVERY_N_ANNOTATIONS: '0' } });
    await annotate(first, 3);
    await startTraining(first, 3);
    await first.backend.waitForJobs();
    const version = await servedVersion(first, '3');
    const predicted = (await first.http.post('/predict').send({ project: '3', tasks: [{ data: { text: 'awful' } }] })).body;
    await first.stop();

    const second = await startTestServer({ modelDir, env: { TRAIN_EVERY_N_ANNOTATIONS: '0' } });
    try {
      expect(await servedVersion(second, '3')).to.equal(version);
      expect((await second.stores.annotations.counts('3')).usable).to.equal(8);
      const again = (await second.http.post('/predict').send({ project: '3', tasks: [{ data: { text: 'awful' } }] })).body;
      expect(again.results[0].result).to.deep.equal(predicted.results[0].result);
      expect(again.results[0].score).to.be.closeTo(predicted.results[0].score, 1e-6);
    } finally {
      await second.stop();
    }
  });

  it('shutdown during training cancels the job without promoting a partial checkpoint', async () => {
    const server = await startTestServer({ env: { TRAIN_EVERY_N_ANNOTATIONS: '0' } });
    await server.http.post('/setup').send({ project: '4', schema: SENTIMENT_CONFIG, extra_params: { epochs: 200, epochDelayMs: 50 } }).expect(200);
    await annotate(server, 4);
    const { body } = await startTraining(server, 4);
    await waitFor(async () => (await server.http.get('/is_training').query({ project: '4' })).body.is_training === true, 20_000, 'training to start');
    await server.stop();
    const dirs = fs.readdirSync(path.join(server.modelDir, '4'));
    expect(dirs.filter((name) => name.startsWith('v'))).to.deep.equal([]);
    const again = await startTestServer({ modelDir: server.modelDir });
    try {
      const status = (await again.http.post('/job_status').send({ job: body.job }).expect(200)).body;
      expect(status.job_status).to.equal('canceled');
      expect(await servedVersion(again, '4')).to.equal('v0000-initial');
    } finally {
      await again.stop();
    }
  });

  it('SIGKILL during training: after restart the last good version serves, annotations are kept, nothing half-written is served', async function () {
    this.timeout(120_000);
    const modelDir = tempDir();
    const env = { MODEL_DIR: modelDir, TRAIN_EVERY_N_ANNOTATIONS: '0' };
    const first = await spawnServer(SERVE_TOY, env);
    const http = supertest(first.url);
    await annotate({ http }, 2);
    await startTraining({ http }, 2);
    const good = await waitFor(async () => {
      const version = await servedVersion({ http }, '2');
      return version !== 'v0000-initial' ? version : undefined;
    }, 60_000, 'first training');
    await http.post('/setup').send({ project: '2', schema: SENTIMENT_CONFIG, extra_params: { epochs: 500, epochDelayMs: 20 } }).expect(200);
    const { body } = await startTraining({ http }, 2);
    await waitFor(async () => {
      const status = (await http.post('/job_status').send({ job: body.job })).body;
      return (status.job?.progress?.epoch ?? 0) >= 3;
    }, 60_000, 'second training to make progress');
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await spawnServer(SERVE_TOY, env);
    try {
      const http2 = supertest(second.url);
      expect(await servedVersion({ http: http2 }, '2')).to.equal(good);
      const status = (await http2.post('/job_status').send({ job: body.job }).expect(200)).body;
      expect(status.job_status).to.equal('failed');
      expect(status.job.error).to.match(/interrupted/);
      expect(fs.readdirSync(path.join(modelDir, '2')).filter((name) => name.includes('.tmp'))).to.deep.equal([]);
      const versions = (await http2.get('/versions').query({ project: '2' })).body;
      expect(versions.versions).to.deep.equal([good]);
      const predicted = await http2.post('/predict').send({ project: '2', tasks: [{ data: { text: 'good great' } }] }).expect(200);
      expect(predicted.body.results[0].result[0].value.choices[0]).to.equal('Positive');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
