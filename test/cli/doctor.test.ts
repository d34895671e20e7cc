/**
 * `doctor`: every check passes against a well-wired stand-in Label Studio, and each injected fault
 * is diagnosed by its own check with a fix; the command exits non-zero on a failure and prints
 * `{name, ok, detail, fix}` with --json.
 */
import { expect } from 'chai';
import { runDoctor, type DoctorCheck, type DoctorOptions } from '../../src/cli/doctor-checks.js';
import { LabelStudioStandIn } from '../helpers/ls-standin/index.js';
import { SENTIMENT_CONFIG, startTestServer, type TestServer } from '../helpers/server.js';
import { freePort } from '../helpers/process.js';
import { runCli } from './run-cli.js';

const ALL = ['label_studio_url', 'api_key', 'project', 'task_file', 'webhook', 'ml_backend', 'auth', 'backend'];

function failing(checks: DoctorCheck[]): DoctorCheck[] {
  return checks.filter((check) => !check.ok);
}

/** The only failing check, which must be `name`, with a fix. */
function expectOnlyFailure(checks: DoctorCheck[], name: string, detail: RegExp, fix: RegExp): void {
  const failed = failing(checks);
  expect(failed.map((check) => check.name), JSON.stringify(checks, null, 1)).to.deep.equal([name]);
  expect(failed[0]?.detail).to.match(detail);
  expect(failed[0]?.fix).to.match(fix);
}

describe('cli: doctor', function () {
  this.timeout(60_000);
  let ls: LabelStudioStandIn;
  let server: TestServer;
  let base: DoctorOptions;

  before(async () => {
    ls = await LabelStudioStandIn.start();
    server = await startTestServer({ env: { LABEL_STUDIO_URL: ls.url, LABEL_STUDIO_API_KEY: ls.auth.personalAccessToken, PREDICTION_REFRESH: 'off' } });
    ls.addProject({ id: 7, title: 'Reviews', label_config: SENTIMENT_CONFIG }, ['good', 'bad']);
    ls.connectBackend(7, server.url);
    ls.addProject({ id: 8, label_config: SENTIMENT_CONFIG }, ['http://127.0.0.1:1/secret']);
    ls.connectBackend(8, server.url);
    ls.data.addTasks(ls.addProject({ id: 9, label_config: SENTIMENT_CONFIG }).project.id, [{ text: 'upload/9/missing.txt' }, { text: 'upload/9/here.txt' }]);
    ls.files.set('/data/upload/9/here.txt', 'a fine review');
    ls.connectBackend(9, server.url);
    base = { labelStudioUrl: ls.url, apiKey: ls.auth.personalAccessToken, project: '7', timeoutMs: 5000 };
  });
  after(async () => {
    await server.stop();
    await ls.stop();
  });
  afterEach(() => ls.clearFaults());

  it('passes every check when Label Studio and the backend are wired together', async () => {
    const checks = await runDoctor(base);
    expect(checks.map((c) => c.name)).to.deep.equal(ALL);
    expect(failing(checks), JSON.stringify(checks, null, 1)).to.deep.equal([]);
    expect(checks.find((c) => c.name === 'api_key')?.detail).to.match(/personal access token; Authorization: Bearer <access token/);
    expect(checks.find((c) => c.name === 'project')?.detail).to.match(/"Reviews": 2 tasks/);
    // A legacy token works too and says which header.
    const legacy = await runDoctor({ ...base, apiKey: ls.auth.legacyToken });
    expect(legacy.find((c) => c.name === 'api_key')?.detail).to.match(/^legacy token; Authorization: Token <key> works/);
  });

  it('Label Studio unreachable', async () => {
    const checks = await runDoctor({ ...base, labelStudioUrl: `http://127.0.0.1:${await freePort()}` });
    expectOnlyFailure(checks, 'label_studio_url', /ECONNREFUSED/, /LABEL_STUDIO_URL/);
  });

  it('a wrong key, and a legacy key while legacy tokens are disabled', async () => {
    expectOnlyFailure(await runDoctor({ ...base, apiKey: 'f'.repeat(40) }), 'api_key', /legacy token; .*refused: .*HTTP 401 Invalid token/, /valid key/);
    ls.auth.legacyEnabled = false;
    try {
      expectOnlyFailure(await runDoctor({ ...base, apiKey: ls.auth.legacyToken }), 'api_key', /legacy token authentication has been disabled/, /personal access token/);
    } finally {
      ls.auth.legacyEnabled = true;
    }
  });

  it('a project that does not exist, and one the key may not read', async () => {
    expectOnlyFailure(await runDoctor({ ...base, project: '404' }), 'project', /HTTP 404/, /--project/);
    ls.fault({ path: '/api/projects/7', status: 403 });
    expectOnlyFailure(await runDoctor(base), 'project', /HTTP 403/, /member/);
  });

  it('a task file /predict may not fetch, and one that is missing', async () => {
    expectOnlyFailure(await runDoctor({ ...base, project: '8' }), 'task_file', /Refused to fetch/, /TASK_URL_ORIGINS/);
    expectOnlyFailure(await runDoctor({ ...base, project: '9' }), 'task_file', /HTTP 404/, /file exists/);
  });

  it('no webhook to this backend, and one without the annotation events', async () => {
    const hook = ls.data.webhooks.find((w) => w.project === 7)!;
    const url = hook.url;
    hook.url = 'http://elsewhere:9090/webhook';
    try {
      expectOnlyFailure(await runDoctor(base), 'webhook', /no webhook of project 7 points at/, /Settings → Webhooks/);
    } finally {
      hook.url = url;
    }
    Object.assign(hook, { send_for_all_actions: false, actions: ['PROJECT_UPDATED'] });
    try {
      expectOnlyFailure(await runDoctor(base), 'webhook', /without ANNOTATION_CREATED, ANNOTATION_UPDATED/, /annotation created\/updated/);
    } finally {
      Object.assign(hook, { send_for_all_actions: true, actions: [] });
    }
  });

  it('no ML backend with this URL in the project, and a backend that is down', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    expectOnlyFailure(await runDoctor({ ...base, backendUrl: nowhere }).then((checks) => checks.filter((c) => c.name !== 'webhook' && c.name !== 'backend')), 'ml_backend', /no ML backend of the project has URL/, /Connect Model/);
    const down = await runDoctor({ ...base, backendUrl: nowhere });
    expect(down.find((c) => c.name === 'backend')).to.include({ ok: false }).and.have.property('detail').that.match(/ECONNREFUSED/);
  });

  describe('with Basic auth on the backend', () => {
    let guarded: TestServer;
    const auth = { basicAuthUser: 'ml', basicAuthPass: 's3cret', webhookToken: 'hook-token' };
    before(async () => {
      guarded = await startTestServer({ env: { BASIC_AUTH_USER: auth.basicAuthUser, BASIC_AUTH_PASS: auth.basicAuthPass, WEBHOOK_TOKEN: auth.webhookToken, PREDICTION_REFRESH: 'off' } });
      ls.addProject({ id: 11, label_config: SENTIMENT_CONFIG }, ['fine']);
      ls.connectBackend(11, guarded.url, { basicAuth: [auth.basicAuthUser, auth.basicAuthPass], webhookHeaders: { 'X-Webhook-Token': auth.webhookToken } });
      ls.addProject({ id: 12, label_config: SENTIMENT_CONFIG }, ['fine']);
      ls.connectBackend(12, guarded.url); // no Basic auth, no webhook token
    });
    after(() => guarded.stop());

    it('passes when Label Studio sends the credentials and the webhook carries the token', async () => {
      expect(failing(await runDoctor({ ...base, ...auth, project: '11' }))).to.deep.equal([]);
    });

    it('finds the webhook without the token and the ML backend without Basic auth', async () => {
      const failed = failing(await runDoctor({ ...base, ...auth, project: '12' }));
      expect(failed.map((c) => c.name)).to.deep.equal(['webhook', 'ml_backend']);
      expect(failed[0]?.fix).to.match(/X-Webhook-Token/);
      expect(failed[1]?.detail).to.match(/sends no Basic auth/);
    });

    it('finds Basic auth without WEBHOOK_TOKEN', async () => {
      const checks = await runDoctor({ ...base, basicAuthUser: auth.basicAuthUser, basicAuthPass: auth.basicAuthPass, project: '11' });
      expectOnlyFailure(checks, 'auth', /WEBHOOK_TOKEN is not set/, /X-Webhook-Token/);
    });
  });

  it('the command: --json lists the checks; a failure exits 1 with one line on stderr', async () => {
    const env = { LABEL_STUDIO_URL: ls.url, LABEL_STUDIO_API_KEY: ls.auth.personalAccessToken };
    const good = await runCli(['doctor', '--project', '7', '--json'], { env });
    expect(good.code, good.stderr).to.equal(0);
    const checks = JSON.parse(good.stdout) as DoctorCheck[];
    expect(checks.map((c) => Object.keys(c).sort())).to.deep.equal(ALL.map(() => ['detail', 'fix', 'name', 'ok']));
    const bad = await runCli(['doctor', '--project', '404'], { env });
    expect(bad.code).to.equal(1);
    expect(bad.stdout).to.match(/^FAIL project: project 404: .*HTTP 404/m).and.match(/^ {5}fix: check --project/m).and.match(/^ok {3}api_key/m);
    expect(bad.stderr.trim()).to.equal('label-studio-ml-tfjs: error: 1 of 3 checks failed: project');
  });
});
