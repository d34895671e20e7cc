/** Issue 15 over HTTP (no browser): GET /ui/api/projects (contract C3), job history (C2), auth, CSP, 404s. */
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { UI_CSP } from '../../src/server/ui-routes.js';
import type { ProjectOverview } from '../../src/types.js';
import { PLAIN_CONFIG, annotate, servedVersion, train } from './projects.js';

describe('/ui over HTTP', () => {
  let server: TestServer;
  let jobs: string[];

  before(async () => {
    server = await startTestServer({ env: { TRAIN_EVERY_N_ANNOTATIONS: '0' } });
    await annotate(server, 31, PLAIN_CONFIG, 6);
    await server.http.post('/setup').send({ project: '31', extra_params: { epochs: 12 } }).expect(200);
    jobs = [await train(server, 31)];
    await annotate(server, 31, PLAIN_CONFIG, 2);
    jobs.push(await train(server, 31));
  });
  after(() => server.stop());

  it('GET /ui/api/projects describes each project: config, annotations, versions with metrics, jobs', async () => {
    const res = await server.http.get('/ui/api/projects').expect(200).expect('content-type', /json/);
    const projects = res.body.projects as ProjectOverview[];
    expect(projects.map((p) => p.project)).to.deep.equal(['31']);
    const [overview] = projects as [ProjectOverview];
    expect(overview.labelConfig.raw).to.equal(PLAIN_CONFIG);
    expect(overview.labelConfig.controls).to.deep.equal([
      { name: 'sentiment', type: 'Choices', toName: ['text'], labels: ['Positive', 'Negative'], attributes: { name: 'sentiment', toName: 'text', choice: 'single', showInLine: 'true' } },
    ]);
    expect(overview.annotations).to.deep.equal({ usable: 8, cancelled: 0, tasks: 8 });
    expect(overview.currentVersion).to.equal(await servedVersion(server, 31));
    expect(overview.versions.map((v) => [v.current, v.annotationCount])).to.deep.equal([[false, 6], [true, 8]]);
    const latest = overview.versions[1]!;
    expect(latest.version).to.equal(overview.currentVersion);
    expect(latest.metrics?.accuracy).to.be.a('number').within(0, 1);
    expect(latest.durationMs).to.be.a('number').above(0);
    expect(latest.summary).to.include({ samples: 8 });
    expect(latest.summary).to.not.have.property('labels'); // arrays are not scalars
    expect(overview.jobs.running).to.equal(undefined);
    expect(overview.jobs.pending).to.equal(undefined);
    expect(overview.jobs.recent.map((job) => job.id)).to.deep.equal([...jobs].reverse());
    expect(overview.jobs.recent.every((job) => job.state === 'succeeded' && job.history === undefined)).to.equal(true);
    expect(overview).to.not.have.property('predictionRefresh'); // no Label Studio connected
  });

  it('a job keeps its epoch reports in order as history (C2), served by /job_status', async () => {
    const { body } = await server.http.post('/job_status').send({ job: jobs[1] }).expect(200);
    const history = body.job.history as Array<{ epoch: number; epochs: number; loss: number; at: string }>;
    expect(history.map((entry) => entry.epoch)).to.deep.equal(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(history.every((entry) => entry.epochs === 12 && Number.isFinite(entry.loss) && !Number.isNaN(Date.parse(entry.at)))).to.equal(true);
    expect(history.at(-1)!.loss).to.be.below(history[0]!.loss);
  });

  it('serves the page with a strict CSP, and its assets, with no inline script or style', async () => {
    const redirect = await server.http.get('/ui').expect(302);
    expect(redirect.headers.location).to.equal('ui/');
    const page = await server.http.get('/ui/').expect(200).expect('content-type', /text\/html/);
    expect(page.headers['content-security-policy']).to.equal(UI_CSP);
    expect(UI_CSP).to.include("script-src 'self'").and.include("style-src 'self'").and.not.include('unsafe');
    const html = page.text;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).to.be.above(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).to.match(/\bsrc="assets\/[\w.-]+\.js"/);
      expect(body!.trim()).to.equal('');
    }
    expect(html).to.not.match(/<style\b|\sstyle=|\son[a-z]+=/i);
    for (const [, src] of html.matchAll(/(?:src|href)="(assets\/[\w.-]+)"/g)) {
      const asset = await server.http.get(`/ui/${src}`).expect(200);
      expect(asset.headers['content-security-policy']).to.equal(UI_CSP);
      expect(asset.headers['content-type']).to.match(/^text\/(javascript|css)/);
    }
    const app = await server.http.get('/ui/assets/app.js').expect(200);
    await server.http.get('/ui/assets/app.js').set('If-None-Match', app.headers.etag!).expect(304);
    await server.http.get('/ui/assets/uPlot.esm.js').expect(200).expect('content-type', /javascript/);
  });

  it('answers unknown /ui paths with JSON 404s and wrong methods with JSON 405s; GET / stays JSON', async () => {
    for (const path of ['/ui/nope', '/ui/assets/nope.js', '/ui/assets/index.html', '/ui/assets/..%2Fpackage.json', '/ui/api/nope', '/ui/assets/']) {
      const res = await server.http.get(path).expect(404).expect('content-type', /json/);
      expect(res.body.error, path).to.equal('MLB_ERR_NOT_FOUND');
    }
    const wrong = await server.http.post('/ui/api/projects').send({}).expect(405).expect('content-type', /json/);
    expect(wrong.body.error).to.equal('MLB_ERR_METHOD_NOT_ALLOWED');
    const root = await server.http.get('/').expect(200).expect('content-type', /json/);
    expect(root.body.status).to.equal('UP');
  });
});

describe('/ui with Basic auth', () => {
  let server: TestServer;
  const auth = `Basic ${Buffer.from('admin:s3cret').toString('base64')}`;

  before(async () => {
    server = await startTestServer({ env: { BASIC_AUTH_USER: 'admin', BASIC_AUTH_PASS: 's3cret', WEBHOOK_TOKEN: 'hook' } });
  });
  after(() => server.stop());

  it('asks for credentials on the page, its assets and its API, as on every route', async () => {
    for (const path of ['/ui', '/ui/', '/ui/assets/app.js', '/ui/api/projects']) {
      const res = await server.http.get(path).expect(401).expect('content-type', /json/);
      expect(res.headers['www-authenticate'], path).to.match(/^Basic /);
    }
    await server.http.get('/ui/').set('Authorization', `Basic ${Buffer.from('admin:wrong').toString('base64')}`).expect(401);
    // The webhook token opens /webhook only, never the page.
    await server.http.get('/ui/api/projects').set('X-Webhook-Token', 'hook').expect(401);
    await server.http.get('/ui/').set('Authorization', auth).expect(200).expect('content-type', /html/);
    const api = await server.http.get('/ui/api/projects').set('Authorization', auth).expect(200);
    expect(api.body).to.deep.equal({ projects: [] });
  });
});
