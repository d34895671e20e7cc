/** The text classifier over HTTP with the offline encoder: config checks, training, label safety. */
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../../test/helpers/server.js';
import { memoryStats } from '../../src/index.js';

const MODEL = fileURLToPath(new URL('./model.ts', import.meta.url));
const CONFIG = (choices: string[], extra = '') =>
  `<View><Text name="review" value="$review"/><Choices name="sentiment" toName="review" ${extra}>${choices.map((c) => `<Choice value="${c}"/>`).join('')}</Choices></View>`;
const THREE = CONFIG(['Positive', 'Negative', 'Neutral']);

// Text written for this project.
const POSITIVE = ['I love this phone', 'great battery and a lovely screen', 'excellent service, very happy', 'works great, love it', 'happy with this lovely purchase', 'the best camera, excellent'];
const NEGATIVE = ['I hate this phone', 'terrible battery and an awful screen', 'awful service, very angry', 'broken after a day, hate it', 'angry about this terrible purchase', 'the worst camera, awful'];

let taskId = 1;
let annotationId = 1;
function webhook(project: number, text: string, choices: string[], config = THREE) {
  const id = taskId++;
  return {
    action: 'ANNOTATION_CREATED',
    annotation: { id: annotationId++, task: id, result: [{ from_name: 'sentiment', to_name: 'review', type: 'choices', value: { choices } }], was_cancelled: false },
    task: { id, data: { review: text } },
    project: { id: project, label_config: config },
  };
}

async function trainOn(server: TestServer, project: number, config: string, rows: Array<[string, string[]]>) {
  for (const [text, choices] of rows) await server.http.post('/webhook').send(webhook(project, text, choices, config)).expect(201);
  const { body } = await server.http.post('/webhook').send({ action: 'START_TRAINING', project: { id: project, label_config: config } }).expect(201);
  await server.backend.waitForJobs();
  const status = (await server.http.post('/job_status').send({ job: body.job }).expect(200)).body;
  expect(status.job_status, JSON.stringify(status.job)).to.equal('finished');
  return status.job;
}

const predict = async (server: TestServer, project: number, texts: string[], config?: string) =>
  (await server.http.post('/predict').send({ project: String(project), ...(config ? { label_config: config } : {}), tasks: texts.map((review, i) => ({ id: i + 1, data: { review } })) }).expect(200)).body;

describe('example: text classifier (offline hashed encoder)', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    process.env.EMBEDDER = 'hashed';
    server = await startTestServer({ module: MODEL, env: { TRAIN_EVERY_N_ANNOTATIONS: '0' } });
  });
  after(() => server.stop());

  it('shows the embedder in /health', async () => {
    const res = await server.http.get('/health').expect(200);
    expect(res.body.model_class).to.equal('TextClassifier');
    expect(res.body.embedder).to.match(/^hashed-ngrams@v1:/);
  });

  it('rejects configs that are not one Choices on one Text with a 400 naming the problem', async () => {
    const twoChoices = '<View><Text name="t" value="$t"/><Choices name="a" toName="t"><Choice value="x"/></Choices><Choices name="b" toName="t"><Choice value="y"/></Choices></View>';
    let res = await server.http.post('/setup').send({ project: '90', schema: twoChoices }).expect(400);
    expect(res.body.detail).to.match(/exactly one <Choices> control, found 2/);
    res = await server.http.post('/setup').send({ project: '91', schema: '<View><Image name="i" value="$i"/><Choices name="c" toName="i"><Choice value="x"/></Choices></View>' }).expect(400);
    expect(res.body.detail).to.match(/must point at one <Text> object/);
    res = await server.http.post('/predict').send({ project: '92', label_config: '<View><Text name="t" value="$t"/></View>', tasks: [{ data: { t: 'x' } }] }).expect(400);
    expect(res.body.error).to.equal('MLB_ERR_LABEL_CONFIG');
    res = await server.http.post('/setup').send({ project: '93', schema: '<View><Text name="t" value="$t"/' }).expect(400);
    expect(res.body.error).to.equal('MLB_ERR_LABEL_CONFIG');
  });

  it('predicts uniform scores before any training, also for empty and whitespace text', async () => {
    const body = await predict(server, 1, ['anything', '', '   '], THREE);
    expect(body.results).to.have.length(3);
    for (const prediction of body.results) {
      expect(prediction.result[0].value.choices).to.deep.equal(['Positive']);
      // Untrained = as uncertain as it gets: a margin of 0 (these tasks sort first).
      expect(prediction.score).to.equal(0);
      expect(prediction.scores).to.deep.equal({ Positive: 1 / 3, Negative: 1 / 3, Neutral: 1 / 3 });
    }
  });

  it('trains a head on the annotations and predicts the choice, the score and per-choice scores', async () => {
    const job = await trainOn(server, 1, THREE, [...POSITIVE.map((t) => [t, ['Positive']] as [string, string[]]), ...NEGATIVE.map((t) => [t, ['Negative']] as [string, string[]])]);
    // Twelve labels are too few for a validation split: the fit on the training rows is reported.
    expect(job.metrics).to.include.keys('loss', 'train_accuracy', 'train_macro_f1');
    expect(job.metrics.train_accuracy).to.equal(1);
    const body = await predict(server, 1, ['I love it, excellent', 'awful, I hate it', '', '  ']);
    const chosen = body.results.map((r: { result: Array<{ value: { choices: string[] } }> }) => r.result[0]!.value.choices[0]);
    expect(chosen.slice(0, 2)).to.deep.equal(['Positive', 'Negative']);
    for (const prediction of body.results) {
      expect(prediction.model_version).to.equal(job.version);
      const scores = prediction.scores as Record<string, number>;
      // Never trained on Neutral: it can never be predicted in another label's place.
      expect(scores.Neutral).to.equal(0);
      expect(scores.Positive! + scores.Negative!).to.be.closeTo(1, 1e-5);
      // The default score is the margin: best minus second best.
      const [best, second] = Object.values(scores).sort((a, b) => b - a);
      expect(prediction.score).to.be.closeTo(best! - second!, 1e-9);
    }
  });

  it('never names a label missing from the current config; a label added later is learnt by the next training', async () => {
    const withoutNegative = CONFIG(['Positive', 'Neutral']);
    const restricted = await predict(server, 1, ['awful, I hate it'], withoutNegative);
    expect(restricted.results[0].result[0].value.choices[0]).to.be.oneOf(['Positive', 'Neutral']);
    expect(restricted.results[0].scores).to.not.have.property('Negative');

    const withMixed = CONFIG(['Positive', 'Negative', 'Neutral', 'Mixed']);
    const mixed = ['good screen but awful battery', 'lovely camera yet terrible service', 'great price, broken case', 'excellent sound but angry about the battery'];
    await trainOn(server, 1, withMixed, mixed.map((t) => [t, ['Mixed']]));
    const body = await predict(server, 1, ['lovely price but terrible battery, great but awful'], withMixed);
    expect(Object.keys(body.results[0].scores)).to.deep.equal(['Positive', 'Negative', 'Neutral', 'Mixed']);
    expect(body.results[0].scores.Mixed).to.be.greaterThan(0);
  });

  it('offers least confidence, margin and entropy scores (low = uncertain)', async () => {
    const scores: Record<string, number> = {};
    for (const method of ['least_confidence', 'margin', 'entropy']) {
      await server.http.post('/setup').send({ project: '1', schema: THREE, extra_params: { score_method: method } }).expect(200);
      scores[method] = (await predict(server, 1, ['I love it, excellent'])).results[0].score;
    }
    await server.http.post('/setup').send({ project: '1', schema: THREE, extra_params: { score_method: 'margin' } }).expect(200);
    expect(scores.margin).to.be.lessThan(scores.least_confidence!);
    expect(new Set(Object.values(scores)).size).to.equal(3);
    for (const value of Object.values(scores)) expect(value).to.be.within(0, 1);
  });

  it('choice="multiple" trains a real multi-label head that can predict several choices', async () => {
    const config = CONFIG(['Battery', 'Screen', 'Camera'], 'choice="multiple"');
    const rows: Array<[string, string[]]> = [
      ['battery dies fast', ['Battery']],
      ['battery lasts long', ['Battery']],
      ['screen is bright', ['Screen']],
      ['screen cracked', ['Screen']],
      ['camera is sharp', ['Camera']],
      ['camera blurry', ['Camera']],
      ['battery and screen both great', ['Battery', 'Screen']],
      ['screen and camera superb', ['Screen', 'Camera']],
      ['battery weak, camera fine', ['Battery', 'Camera']],
      ['battery, screen and camera all good', ['Battery', 'Screen', 'Camera']],
    ];
    await server.http.post('/setup').send({ project: '2', schema: config, extra_params: { epochs: 200, validationSplit: 0, learningRate: 0.05 } }).expect(200);
    await trainOn(server, 2, config, [...rows, ...rows]);
    const body = await predict(server, 2, ['battery and screen', 'camera'], config);
    expect(body.results[0].result[0].value.choices).to.include.members(['Battery', 'Screen']);
    expect(body.results[1].result[0].value.choices).to.deep.equal(['Camera']);
  });

  it('keeps the TF.js tensor count flat over many predictions', async () => {
    await predict(server, 1, ['warm up']);
    const before = memoryStats().numTensors;
    for (let i = 0; i < 30; i++) await predict(server, 1, [`text number ${i}`, 'I love it']);
    expect(memoryStats().numTensors).to.equal(before);
  });

  it('fetches Label Studio uploads with the token (only to Label Studio); a failed fetch is a clear per-request error', async () => {
    const seen: Array<{ url: string; auth: string | undefined }> = [];
    const ls = http.createServer((req, res) => {
      seen.push({ url: req.url ?? '', auth: req.headers.authorization });
      if (req.url?.startsWith('/data/upload/1/good.txt')) res.end('I love this, excellent and great');
      else {
        res.statusCode = 404;
        res.end('nope');
      }
    });
    await new Promise<void>((resolve) => ls.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(ls.address() as AddressInfo).port}`;
    // Label Studio's address and key are server configuration, read once at start.
    const withLs = await startTestServer({ module: MODEL, modelDir: server.modelDir, env: { TRAIN_EVERY_N_ANNOTATIONS: '0', LABEL_STUDIO_URL: url, LABEL_STUDIO_API_KEY: 'secret-token-123' } });
    try {
      const ok = await withLs.http.post('/predict').send({ project: '1', tasks: [{ id: 5, data: { review: '/data/upload/1/good.txt' } }] }).expect(200);
      expect(ok.body.results[0].result[0].value.choices[0]).to.equal('Positive');
      expect(seen[0]).to.deep.equal({ url: '/data/upload/1/good.txt', auth: 'Token secret-token-123' });
      const bad = await withLs.http.post('/predict').send({ project: '1', tasks: [{ id: 6, data: { review: '/data/upload/1/missing.txt' } }] }).expect(422);
      expect(bad.body.error).to.equal('MLB_ERR_TASK_DATA');
      expect(bad.body.status, 'the envelope status is the HTTP status').to.equal(422);
      expect(bad.body.detail).to.match(/404/);
      expect(JSON.stringify(bad.body)).to.not.include('secret-token-123');
    } finally {
      await withLs.stop();
      ls.close();
    }
  });
});
