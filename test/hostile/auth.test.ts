/**
 * Auth: with BASIC_AUTH_USER/BASIC_AUTH_PASS set, every route (health included, as in the Python
 * SDK) answers a JSON 401 with `WWW-Authenticate: Basic realm="Login required"` to missing or
 * wrong credentials and serves the right ones. WEBHOOK_TOKEN lets a request through on POST
 * /webhook only, and only with the exact token.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { SENTIMENT_CONFIG, annotationCreated, startTestServer, type TestServer } from '../helpers/server.js';
import { FUZZ_RUNS, expectJsonError, postJson, rawRequest, type RawRequest, type RawResponse } from '../helpers/fuzz.js';

const USER = 'labelstudio';
const PASS = 'pä55:w0rd with spaces';
const TOKEN = 'wh-5ecret-t0ken';
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`;
const GOOD = basic(USER, PASS);

/** Every route with a body that succeeds once authenticated. */
const ROUTES: Array<{ method: string; path: string; body?: unknown; ok: number[] }> = [
  { method: 'GET', path: '/', ok: [200] },
  { method: 'GET', path: '/health', ok: [200] },
  { method: 'GET', path: '/ready', ok: [200, 503] },
  { method: 'GET', path: '/metrics', ok: [200] },
  { method: 'GET', path: '/versions?project=50', ok: [200] },
  { method: 'GET', path: '/is_training?project=50', ok: [200] },
  { method: 'POST', path: '/setup', body: { project: '50.1712586036', schema: SENTIMENT_CONFIG }, ok: [200] },
  { method: 'POST', path: '/predict', body: { tasks: [{ id: 1, data: { text: 'hi' } }], project: '50', label_config: SENTIMENT_CONFIG }, ok: [200] },
  { method: 'POST', path: '/webhook', body: annotationCreated(50, 1, 'hi', 'Positive'), ok: [201] },
  { method: 'POST', path: '/webhook', body: { action: 'TASKS_CREATED', project: { id: 50 } }, ok: [200] },
  { method: 'POST', path: '/train', body: { annotations: [{ id: 2, data: { text: 'x' }, annotations: [{ id: 77, result: [] }] }], project: '51' }, ok: [201] },
  { method: 'POST', path: '/job_status', body: { job: 'none' }, ok: [404] },
  { method: 'POST', path: '/versions', body: { project: '50' }, ok: [200] },
  { method: 'GET', path: '/no-such-route', ok: [404] },
  { method: 'PUT', path: '/predict', ok: [405] },
];

function send(url: string, route: (typeof ROUTES)[number], headers: Record<string, string>, pathSuffix = ''): Promise<RawResponse> {
  const request: RawRequest = { method: route.method, path: route.path + pathSuffix, headers: { ...headers } };
  if (route.body !== undefined) {
    request.body = JSON.stringify(route.body);
    request.headers = { ...request.headers, 'content-type': 'application/json' };
  }
  return rawRequest(url, request);
}

function expect401(res: RawResponse, context: string): void {
  expect(res.status, `${context}: ${res.status} ${res.text}`).to.equal(401);
  expectJsonError(res, context);
  expect((res.json as { error: string }).error).to.equal('MLB_ERR_UNAUTHORIZED');
  expect(res.headers['www-authenticate'], context).to.equal('Basic realm="Login required"');
  expect(res.text, context).to.not.include(PASS).and.not.include(TOKEN);
}

const WRONG_AUTH: Array<[string, Record<string, string>]> = [
  ['no credentials', {}],
  ['wrong user', { authorization: basic('admin', PASS) }],
  ['wrong password', { authorization: basic(USER, 'nope') }],
  ['password prefix', { authorization: basic(USER, PASS.slice(0, -1)) }],
  ['password plus a char', { authorization: basic(USER, `${PASS}x`) }],
  ['user and password swapped', { authorization: basic(PASS, USER) }],
  ['empty user and password', { authorization: basic('', '') }],
  ['no colon', { authorization: `Basic ${Buffer.from(USER + PASS).toString('base64')}` }],
  ['latin1-encoded password', { authorization: `Basic ${Buffer.from(`${USER}:${PASS}`, 'latin1').toString('base64')}` }],
  ['scheme only', { authorization: 'Basic' }],
  ['bad base64', { authorization: 'Basic !!!notbase64' }],
  ['raw user:pass', { authorization: `Basic ${USER}:${PASS}` }],
  ['two headers in one', { authorization: `${basic('x', 'y')}, ${GOOD}` }],
  ['Digest scheme', { authorization: `Digest ${GOOD.slice(6)}` }],
  ['webhook token as Bearer', { authorization: `Bearer ${TOKEN}` }],
  ['webhook token header', { 'x-webhook-token': TOKEN }],
  ['webhook token as the password', { authorization: basic(USER, TOKEN) }],
];

describe('hostile: auth (BASIC_AUTH_USER/BASIC_AUTH_PASS + WEBHOOK_TOKEN)', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { BASIC_AUTH_USER: USER, BASIC_AUTH_PASS: PASS, WEBHOOK_TOKEN: TOKEN, TRAIN_EVERY_N_ANNOTATIONS: '0', TRAINING_THREAD: 'main' } });
  });
  after(async () => {
    await server.backend.waitForJobs();
    await server.stop();
  });

  it(`every route answers a JSON 401 with the Basic challenge to ${WRONG_AUTH.length} kinds of missing or wrong credentials`, async () => {
    for (const route of ROUTES) {
      for (const [what, headers] of WRONG_AUTH) {
        // The webhook token passes on POST /webhook by design; checked below.
        if (route.method === 'POST' && route.path === '/webhook' && (what.startsWith('webhook token as Bearer') || what === 'webhook token header')) continue;
        expect401(await send(server.url, route, headers), `${route.method} ${route.path} (${what})`);
      }
    }
  });

  it('unauthenticated requests change nothing (annotations, trainings)', async () => {
    const before = (await server.stores.annotations.counts('52'));
    await postJson(server.url, '/webhook', annotationCreated(52, 1, 'x', 'Positive'));
    await postJson(server.url, '/webhook', { action: 'START_TRAINING', project: { id: 52 } }, { authorization: basic(USER, 'nope') });
    await postJson(server.url, '/train', { annotations: [{ id: 1, data: { text: 'x' }, annotations: [{ id: 5, result: [] }] }], project: '52' });
    expect((await server.stores.annotations.counts('52'))).to.deep.equal(before);
    expect((await server.backend.jobs('52'))).to.deep.equal([]);
  });

  it('every route serves the right credentials (case-insensitive scheme, extra spaces)', async () => {
    for (const route of ROUTES) {
      for (const authorization of [GOOD, GOOD.replace('Basic', 'basic'), GOOD.replace('Basic ', 'BASIC   ')]) {
        const res = await send(server.url, route, { authorization });
        expect(res.status, `${route.method} ${route.path}: ${res.text.slice(0, 200)}`).to.be.oneOf(route.ok);
        expect(res.headers['www-authenticate']).to.equal(undefined);
      }
    }
  });

  it('the webhook token works on POST /webhook through the header, a Bearer token or ?token=', async () => {
    const body = annotationCreated(53, 1, 'x', 'Positive');
    for (const [what, headers, query] of [
      ['X-Webhook-Token', { 'x-webhook-token': TOKEN }, ''],
      ['Bearer', { authorization: `Bearer ${TOKEN}` }, ''],
      ['?token=', {}, `?token=${encodeURIComponent(TOKEN)}`],
      ['?token= beside wrong Basic credentials', { authorization: basic('x', 'y') }, `?token=${encodeURIComponent(TOKEN)}`],
    ] as const) {
      const res = await rawRequest(server.url, {
        method: 'POST', path: `/webhook${query}`, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
      });
      expect(res.status, `${what}: ${res.text}`).to.equal(201);
    }
    expect((await server.stores.annotations.counts('53')).usable).to.equal(1);
  });

  it('the webhook token opens nothing else: other routes, other methods, look-alike paths, wrong or partial tokens', async () => {
    const ways = (token: string): Array<[string, Record<string, string>, string]> => [
      ['header', { 'x-webhook-token': token }, ''],
      ['bearer', { authorization: `Bearer ${token}` }, ''],
      ['query', {}, `?token=${encodeURIComponent(token)}`],
    ];
    for (const route of ROUTES.filter((r) => !(r.method === 'POST' && r.path === '/webhook'))) {
      for (const [what, headers, query] of ways(TOKEN)) {
        const sep = route.path.includes('?') && query ? `&${query.slice(1)}` : query;
        expect401(await send(server.url, route, headers, sep), `${route.method} ${route.path} with the token (${what})`);
      }
    }
    const webhook = { method: 'POST', path: '/webhook', body: annotationCreated(54, 1, 'x', 'Positive'), ok: [201] };
    for (const path of ['/webhook/', '/WEBHOOK', '//webhook', '/webhook/../webhook', '/predict/../webhook', '/%77ebhook']) {
      for (const [what, headers, query] of ways(TOKEN)) {
        const res = await send(server.url, { ...webhook, path }, headers, query);
        expect401(res, `POST ${path} with the token (${what})`);
      }
    }
    for (const [what, headers, query] of ways(TOKEN)) {
      expect401(await send(server.url, { ...webhook, method: 'GET', body: undefined }, headers, query), `GET /webhook (${what})`);
      expect401(await send(server.url, { ...webhook, method: 'PUT' }, headers, query), `PUT /webhook (${what})`);
    }
    for (const wrong of ['', ' ', TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase(), ` ${TOKEN}`, `${TOKEN}\u0000`, PASS, USER]) {
      for (const [what, headers, query] of ways(wrong)) {
        if (what !== 'query' && wrong.includes('\u0000')) continue; // not a legal header value
        if (what !== 'query' && wrong.trim() === TOKEN) continue; // HTTP strips whitespace around header values
        expect401(await send(server.url, webhook, headers, query), `POST /webhook with token ${JSON.stringify(wrong)} (${what})`);
      }
    }
    // Repeated ?token= (an array) is not a token.
    expect401(await send(server.url, webhook, {}, `?token=x&token=${TOKEN}`), 'two ?token= values');
    expect((await server.stores.annotations.counts('54')).usable).to.equal(0);
  });

  it('random Authorization headers and tokens never get in (property)', async () => {
    const header = fc.oneof(
      fc.string({ unit: 'grapheme-ascii', maxLength: 60 }),
      fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([u, p]) => basic(u, p)),
      fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((t) => `Bearer ${t}`),
    ).filter((value) => value !== GOOD && !/[\r\n]/.test(value) && !value.includes('\u0000') && value.trim() === value);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), header, async (route, authorization) => {
        const res = await send(server.url, route, { authorization });
        expect401(res, `${route.method} ${route.path} Authorization: ${JSON.stringify(authorization)}`);
      }),
      { numRuns: FUZZ_RUNS * 3 },
    );
  });
});

describe('hostile: auth off', () => {
  it('without BASIC_AUTH_* every route is open and sends no challenge', async () => {
    const server = await startTestServer({ env: { TRAIN_EVERY_N_ANNOTATIONS: '0', TRAINING_THREAD: 'main' } });
    try {
      for (const route of ROUTES) {
        const res = await send(server.url, route, {});
        expect(res.status, `${route.method} ${route.path}`).to.be.oneOf(route.ok);
        expect(res.headers['www-authenticate']).to.equal(undefined);
      }
    } finally {
      await server.backend.waitForJobs();
      await server.stop();
    }
  });
});
