/** PROTOCOL.md §4 replayed over HTTP against the real server (T1–T5, T9/T10 shapes, errors). */
import { expect } from 'chai';
import { LabelStudioMLBase } from '../../src/index.js';
import { SENTIMENT_CONFIG, startTestServer, type TestServer } from '../helpers/server.js';

describe('protocol: base LabelStudioMLBase (PROTOCOL §4 T1–T5)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ modelClass: LabelStudioMLBase });
  });
  after(() => server.stop());

  it('T1 GET /health and GET / answer UP with the model class and backend info', async () => {
    for (const path of ['/health', '/']) {
      const res = await server.http.get(path).expect(200).expect('content-type', /json/);
      expect(res.body).to.include({ model_class: 'LabelStudioMLBase', status: 'UP' });
      expect(res.body.tfjs_backend).to.be.oneOf(['wasm', 'cpu', 'tensorflow']);
    }
  });

  it('T2 GET /metrics answers 200 in Prometheus text format', async () => {
    const res = await server.http.get('/metrics').expect(200);
    expect(res.headers['content-type']).to.match(/text\/plain/);
    expect(res.text).to.match(/^# HELP mlbackend_http_requests_total/m);
  });

  it('T3 POST /predict with tasks as an object and a model that predicts nothing -> {"results": []}', async () => {
    const res = await server.http
      .post('/predict')
      .send({ tasks: { id: 1 }, label_config: '<View></View>', project: '1.1000000000', params: { context: {} } })
      .expect(200);
    expect(res.body.results).to.deep.equal([]);
    expect(res.body.model_version).to.equal('v0000-initial');
  });

  it('T4 POST /setup with empty extra_params -> model_version of a fresh project', async () => {
    const res = await server.http.post('/setup').send({ project: '1.1000000000', schema: '<View></View>', extra_params: {} }).expect(200);
    expect(res.body).to.deep.equal({ model_version: 'v0000-initial' });
  });

  it('T5 POST /webhook ANNOTATION_CREATED without annotation is a clear 400 (the reference answered HTML 500 on bad events)', async () => {
    const res = await server.http
      .post('/webhook')
      .send({ action: 'ANNOTATION_CREATED', project: { id: 1, label_config: '<View></View>' } })
      .expect(400);
    expect(res.body).to.include({ status: 400, error: 'MLB_ERR_BAD_REQUEST' });
    expect(res.body.detail).to.match(/annotation is required/);
  });

  it('T5 START_TRAINING (no annotation key) is acknowledged with 201, status ok and a job id', async () => {
    const res = await server.http.post('/webhook').send({ action: 'START_TRAINING', project: { id: 1, label_config: '<View></View>' } }).expect(201);
    expect(res.body.status).to.equal('ok');
    expect(res.body.job).to.be.a('string').and.equal(res.body.job_id);
  });

  it('unknown events -> 200 {"status": "Unknown event"}', async () => {
    for (const action of ['TASKS_CREATED', 'PROJECT_UPDATED', 'SOMETHING_NEW']) {
      const res = await server.http.post('/webhook').send({ action, project: { id: 1 } }).expect(200);
      expect(res.body).to.deep.equal({ status: 'Unknown event' });
    }
  });

  it('/setup accepts extra_params as an object or as JSON text, and rejects text that is not JSON', async () => {
    await server.http.post('/setup').send({ project: '3.1712586036', schema: '<View></View>', extra_params: { a: 1 } }).expect(200);
    await server.http.post('/setup').send({ project: '3', schema: '<View></View>', extra_params: '{"a": 2}' }).expect(200);
    expect((await server.stores.kv.get('3', 'extra_params'))).to.deep.equal({ a: 2 });
    const res = await server.http.post('/setup').send({ project: '3', schema: '<View></View>', extra_params: 'not json' }).expect(400);
    expect(res.body.field).to.equal('extra_params');
  });
});

describe('protocol: text classification shapes (T9, T10, T12) with a small trained-able model', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it('T9 /predict without project returns one prediction per task with model_version on each and at top level', async () => {
    const res = await server.http
      .post('/predict')
      .send({ tasks: [{ data: { text: 'That is positive!' } }, { data: { text: 'meh' } }], label_config: SENTIMENT_CONFIG })
      .expect(200);
    expect(res.body.results).to.have.length(2);
    expect(res.body.model_version).to.be.a('string');
    for (const prediction of res.body.results) {
      expect(prediction.model_version).to.equal(res.body.model_version);
      expect(prediction.result[0]).to.deep.include({ from_name: 'sentiment', to_name: 'text', type: 'choices' });
      expect(prediction.result[0].value.choices[0]).to.be.oneOf(['Positive', 'Negative', 'Neutral']);
      expect(prediction.score).to.be.closeTo(1 / 3, 1e-9);
    }
  });

  it('T10 an interactive request (params.context, a real LS task body) is answered; context reaches predict', async () => {
    const res = await server.http
      .post('/predict')
      .send({
        tasks: [{ id: 102644832, annotations: [], drafts: [], predictions: [], agreement: null, data: { text: 'We got hold of one of the first Apple Watches' }, meta: {}, project: 62053 }],
        project: '62053.1712586036',
        label_config: SENTIMENT_CONFIG,
        params: { login: null, password: null, context: { annotation_id: null, draft_id: 0, user_id: 2640, result: [] } },
      })
      .expect(200);
    expect(res.body.results).to.have.length(1);
    expect(res.body.results[0].context_seen).to.equal(true);
  });

  it('T12 /setup with a dotless project id, then /predict on it', async () => {
    await server.http.post('/setup').send({ schema: SENTIMENT_CONFIG, project: '1' }).expect(200);
    const res = await server.http.post('/predict').send({ tasks: [{ id: 1, data: { text: 'x' } }], label_config: SENTIMENT_CONFIG, project: '1' }).expect(200);
    expect(res.body.results).to.have.length(1);
  });

  it('a /predict without label_config uses the config /setup stored for the project', async () => {
    await server.http.post('/setup').send({ schema: SENTIMENT_CONFIG, project: '77.1712586036' }).expect(200);
    const res = await server.http.post('/predict').send({ tasks: [{ id: 1, data: { text: 'x' } }], project: 77 }).expect(200);
    expect(res.body.results[0].result[0].from_name).to.equal('sentiment');
  });

  it('keeps one warm instance per project across requests', async () => {
    const instanceOf = async (labelConfig: string, project: string) =>
      (await server.http.post('/predict').send({ tasks: [{ data: { text: 'a' } }], label_config: labelConfig, project }).expect(200)).body.results[0].instance.id as number;
    const first = await instanceOf(SENTIMENT_CONFIG, '55.1');
    await server.http.post('/setup').send({ schema: SENTIMENT_CONFIG, project: '55.2' }).expect(200);
    expect(await instanceOf(SENTIMENT_CONFIG, '55.3')).to.equal(first);
    const otherConfig = SENTIMENT_CONFIG.replace('<Choice value="Neutral"/>', '');
    expect(await instanceOf(otherConfig, '55.4')).to.not.equal(first);
  });

  it('a model returning the wrong number of predictions is a clear 500, not passed on to Label Studio', async () => {
    await server.http.post('/setup').send({ schema: SENTIMENT_CONFIG, project: '88', extra_params: { wrongCount: 'more' } }).expect(200);
    const res = await server.http.post('/predict').send({ tasks: [{ data: { text: 'a' } }, { data: { text: 'b' } }], project: '88' }).expect(500);
    expect(res.body.error).to.equal('MLB_ERR_PREDICTION_COUNT');
    expect(res.body.detail).to.match(/4 predictions for 2 tasks/);
    expect(res.body).to.not.have.property('result');
  });
});
