import { expect } from 'chai';
import { FsCheckpointStore } from '../../src/store/checkpoint-store.js';
import type { JobRecord } from '../../src/types.js';
import { SENTIMENT_CONFIG, startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { parsePrometheusText, sampleValue } from './prometheus-text.js';

/** Checkpoints the toy model can serve (no weights: it predicts from the config's labels). */
async function seedVersions(modelDir: string, project: string, count: number): Promise<string[]> {
  const store = new FsCheckpointStore(modelDir);
  const versions: string[] = [];
  for (let i = 0; i < count; i++) {
    const pending = await store.begin(project);
    const job: JobRecord = { id: `seed-${i}`, project, state: 'succeeded', event: 'START_TRAINING', triggers: 1, createdAt: new Date().toISOString() };
    await store.promote(pending, { seeded: i }, job);
    versions.push(pending.version);
  }
  return versions;
}

describe('ops: /metrics', () => {
  let server: TestServer;
  let versions: string[];

  before(async () => {
    const modelDir = tempDir();
    versions = await seedVersions(modelDir, '4', 2);
    server = await startTestServer({ modelDir });
  });
  after(() => server.stop());

  const scrape = async () => {
    const res = await server.http.get('/metrics').expect(200);
    expect(res.headers['content-type']).to.match(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(res.text);
  };

  it('is valid exposition text with the backend, TF.js and process families', async () => {
    const families = await scrape();
    const expected: Record<string, string> = {
      mlbackend_http_requests_total: 'counter',
      mlbackend_http_request_duration_seconds: 'histogram',
      mlbackend_predictions_total: 'counter',
      mlbackend_training_jobs_total: 'counter',
      mlbackend_training_duration_seconds: 'histogram',
      mlbackend_training_in_progress: 'gauge',
      mlbackend_model_version_info: 'gauge',
      mlbackend_ready: 'gauge',
      mlbackend_build_info: 'gauge',
      mlbackend_tfjs_tensors: 'gauge',
      mlbackend_tfjs_bytes: 'gauge',
      mlbackend_process_resident_memory_bytes: 'gauge',
      mlbackend_nodejs_eventloop_lag_seconds: 'gauge',
    };
    for (const [name, type] of Object.entries(expected)) {
      expect(families.get(name)?.type, name).to.equal(type);
      expect(families.get(name)?.help, name).to.not.equal('');
    }
    expect(sampleValue(families, 'mlbackend_build_info', { model: 'ToyClassifier' })).to.equal(1);
    expect(sampleValue(families, 'mlbackend_tfjs_tensors')).to.be.a('number');
  });

  it('reports the version each project serves from start-up, and follows a rollback', async () => {
    const before = await scrape();
    expect(sampleValue(before, 'mlbackend_model_version_info', { project: '4', version: versions[1] as string })).to.equal(1);
    await server.http.post('/versions').send({ project: 4, version: versions[0] }).expect(200);
    const after = await scrape();
    expect(sampleValue(after, 'mlbackend_model_version_info', { project: '4', version: versions[0] as string })).to.equal(1);
    expect(sampleValue(after, 'mlbackend_model_version_info', { project: '4', version: versions[1] as string })).to.equal(undefined);
  });

  it('counters and histograms move when requests are made', async () => {
    const health = { route: '/health', method: 'GET', status: '200' };
    const before = await scrape();
    await Promise.all([1, 2, 3].map(() => server.http.get('/health').expect(200)));
    await server.http.post('/setup').send({ project: '4', schema: SENTIMENT_CONFIG }).expect(200);
    await server.http.post('/predict').send({ project: '4', label_config: SENTIMENT_CONFIG, tasks: [{ id: 1, data: { text: 'a' } }, { id: 2, data: { text: 'b' } }] }).expect(200);
    await server.http.get('/nope').expect(404);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => (sampleValue(after, name, labels) ?? 0) - (sampleValue(before, name, labels) ?? 0);
    expect(delta('mlbackend_http_requests_total', health)).to.equal(3);
    expect(delta('mlbackend_http_requests_total', { route: '/predict', method: 'POST', status: '200' })).to.equal(1);
    expect(delta('mlbackend_http_requests_total', { route: 'unmatched', status: '404' })).to.equal(1);
    expect(delta('mlbackend_http_request_duration_seconds_count', { route: '/health' })).to.equal(3);
    expect(delta('mlbackend_predictions_total')).to.equal(2);
    expect(sampleValue(after, 'mlbackend_ready')).to.equal(1);
  });
});
