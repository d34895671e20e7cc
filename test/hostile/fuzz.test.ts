/**
 * Hostile input, property-based: every route gets mutated Label Studio bodies, random JSON,
 * broken JSON, odd content types, oversized and slow bodies. Each answer must be JSON (a 4xx for
 * bad input), never a 5xx or HTML, and the server must still answer /health afterwards.
 * FUZZ_RUNS (default 30) sets the runs per property.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { MAX_JSON_DEPTH } from '../../src/server/app.js';
import { SENTIMENT_CONFIG, annotationCreated, startTestServer, type TestServer } from '../helpers/server.js';
import {
  FUZZ_RUNS, counters, deepJson, expectHandled, expectJsonError, hostileValue, mutate, mutationArb, postJson, rawRequest, rawSocket, sleep,
} from '../helpers/fuzz.js';

type Json = Parameters<typeof mutate>[0];

const TASK = {
  id: 102644832, annotations: [], drafts: [], predictions: [], agreement: null, data: { text: 'We got hold of one of the first Apple Watches' },
  meta: {}, created_at: '2024-04-08T14:21:29.542516Z', inner_id: 40, total_annotations: 0, project: 62053, updated_by: null, comment_authors: [],
};

/** One valid body per POST route, as Label Studio sends them (PROTOCOL §1.4, §2.4). */
const VALID: Record<string, Json> = {
  '/setup': { project: '31.1712586036', schema: SENTIMENT_CONFIG, hostname: 'http://ls:8080', access_token: 'abc', extra_params: { threshold: 0.5 } },
  '/predict': { tasks: [TASK], project: '31.1712586036', label_config: SENTIMENT_CONFIG, params: { login: null, password: null, context: { result: [] } } },
  '/webhook': annotationCreated(31, 7, 'good text', 'Positive'),
  '/webhook#train': { action: 'START_TRAINING', project: { id: 31, title: 'P', label_config: SENTIMENT_CONFIG, model_version: '', task_number: 3 } },
  '/webhook#deleted': { action: 'ANNOTATIONS_DELETED', annotations: [{ id: 17 }], project: { id: 31, label_config: SENTIMENT_CONFIG } },
  '/webhook#tasks': { action: 'ANNOTATIONS_CREATED', annotation: [{ id: 18, task: 8, result: [] }], tasks: [{ id: 8, data: { text: 'x' } }], project: { id: 31 } },
  '/train': {
    annotations: [{ id: 1, data: { text: 'good' }, annotations: [{ id: 91, result: [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['Positive'] } }] }] }],
    project: '32.1', label_config: SENTIMENT_CONFIG,
  },
  '/job_status': { job: 'lz0-abcdef12' },
  '/versions': { project: '31', version: 'v0001-20260101T000000Z' },
};
const route = (key: string) => key.split('#')[0] as string;

const GET_ROUTES = ['/', '/health', '/ready', '/metrics', '/versions', '/is_training'];

describe('hostile: fuzzing every route', function () {
  this.timeout(120_000);
  let server: TestServer;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    server = await startTestServer({
      // Small limits so oversized and slow bodies are quick to test; START_TRAINING still trains.
      env: { MAX_BODY_MB: '0.25', TRAIN_EVERY_N_ANNOTATIONS: '0', REQUEST_TIMEOUT_S: '1.5', HEADERS_TIMEOUT_S: '1' },
    });
  });
  afterEach(async () => {
    const res = await rawRequest(server.url, { path: '/health' });
    expect(res.status, 'the server still answers /health').to.equal(200);
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server?.backend.waitForJobs();
    await server?.stop();
    expect(unhandled, 'unhandled rejections in the server').to.deep.equal([]);
    console.log(`      (hostile requests so far: ${counters.requests})`);
  });

  it('the valid bodies the properties start from are accepted', async () => {
    for (const [key, body] of Object.entries(VALID)) {
      const res = await postJson(server.url, route(key), body);
      if (key === '/job_status' || key === '/versions') expectJsonError(res, key); // unknown job / version: 404
      else expect(res.status, `${key}: ${res.text}`).to.be.oneOf([200, 201]);
    }
  });

  for (const key of Object.keys(VALID)) {
    it(`${key}: mutated Label Studio bodies get JSON answers, never a 5xx`, async () => {
      const base = VALID[key] as Json;
      await fc.assert(
        fc.asyncProperty(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), async (at, mutations) => {
          let body: unknown = base;
          for (const [i, m] of mutations.entries()) body = mutate(body as Json, at + i * 7, m);
          const res = await postJson(server.url, route(key), body);
          expectHandled(res, `${key} ${JSON.stringify(body).slice(0, 200)}`);
        }),
        { numRuns: FUZZ_RUNS },
      );
    });
  }

  it('any JSON value as the body of any POST route', async () => {
    const routes = [...new Set(Object.keys(VALID).map(route))];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), hostileValue, async (path, body) => {
        expectHandled(await postJson(server.url, path, body), `${path} ${JSON.stringify(body)?.slice(0, 200)}`);
      }),
      { numRuns: FUZZ_RUNS * 2 },
    );
  });

  it('broken JSON text: truncated, spliced, random bytes, BOM, duplicate keys', async () => {
    const routes = [...new Set(Object.keys(VALID).map(route))];
    const texts = fc.oneof(
      fc.tuple(fc.constantFrom(...Object.values(VALID)), fc.nat(), fc.string({ unit: 'binary', maxLength: 8 })).map(([body, at, junk]) => {
        const text = JSON.stringify(body);
        const cut = at % (text.length + 1);
        return text.slice(0, cut) + junk + text.slice(cut + junk.length);
      }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
      fc.constantFrom('', ' ', '\ufeff{}', '{}\ufeff', '{"tasks": [], "tasks": {}}', '{"action": "START_TRAINING", "action": 3}', 'NaN', '[1,]', '{"a":1}{"b":2}', '\u0000'),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), texts, async (path, text) => {
        expectHandled(await postJson(server.url, path, text), `${path} ${JSON.stringify(text).slice(0, 200)}`);
      }),
      { numRuns: FUZZ_RUNS * 2 },
    );
  });

  it('any method, path, query and content type', async () => {
    const paths = fc.oneof(
      fc.constantFrom(...GET_ROUTES, ...Object.keys(VALID).map(route), '/nope', '//health', '/health/', '/HEALTH', '/webhook/..', '/%2e%2e/etc/passwd', '/%zz', '/versions/../health'),
      fc.webPath(),
    );
    const query = fc.oneof(
      fc.constant(''),
      fc.constantFrom('?project=../../etc', '?project=%00', '?project=1&project=2', '?project[a]=1', '?project=' + 'x'.repeat(5000), '?project=%E2%80%A5', '?token=', '?%zz=%zz'),
      fc.webQueryParameters().map((q) => `?${q}`),
    );
    const contentType = fc.constantFrom(
      undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml',
      'application/json; charset=latin1', 'application/json; charset=nope', 'application/vnd.api+json', 'json', '*/*', 'application/octet-stream',
    );
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'FOO');
    const body = fc.option(fc.oneof(hostileValue.map((v) => JSON.stringify(v) ?? ''), fc.string({ maxLength: 100 })), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(method, paths, query, contentType, body, async (m, p, q, type, text) => {
        const res = await rawRequest(server.url, {
          method: m,
          path: (p.startsWith('/') ? p : `/${p}`) + q,
          headers: type === undefined ? {} : { 'content-type': type },
          ...(text !== undefined && m !== 'GET' && m !== 'HEAD' ? { body: text } : {}),
        });
        const context = `${m} ${p}${q.slice(0, 80)} ${type ?? ''}`;
        if (m === 'HEAD') expect(res.status, context).to.be.below(500);
        else expectHandled(res, context);
      }),
      { numRuns: FUZZ_RUNS * 2 },
    );
  });

  it(`nesting deeper than ${MAX_JSON_DEPTH} levels is a 400; up to the limit the routes answer without a 5xx`, async () => {
    const inner = (depth: number) => deepJson(depth - 4);
    for (const path of ['/predict', '/webhook', '/setup', '/train', '/job_status', '/versions']) {
      for (const kind of ['array', 'object'] as const) {
        const tooDeep = await postJson(server.url, path, `{"tasks":[{"data":{"text":"a","x":${deepJson(20_000, kind)}}}],"x":1}`);
        expect(tooDeep.status).to.equal(400);
        expectJsonError(tooDeep, path);
        expect((tooDeep.json as { detail: string }).detail).to.match(/nested deeper/);
      }
    }
    const body = JSON.stringify(annotationCreated(33, 1, 'deep', 'Positive')).replace('"lead_time":1.5', `"lead_time":${inner(MAX_JSON_DEPTH - 1)}`);
    expectHandled(await postJson(server.url, '/webhook', body), 'webhook at the depth limit');
    const predict = `{"tasks":[{"data":{"text":"a","x":${inner(MAX_JSON_DEPTH - 1)}}}],"label_config":${JSON.stringify(SENTIMENT_CONFIG)}}`;
    expect((await postJson(server.url, '/predict', predict)).status).to.equal(200);
  });

  it('oversized bodies are a JSON 413 (with and without Content-Length), huge fields a 4xx', async () => {
    const big = JSON.stringify({ tasks: [{ data: { text: 'x'.repeat(400_000) } }] });
    for (const noLength of [false, true]) {
      const res = await rawRequest(server.url, { method: 'POST', path: '/predict', headers: { 'content-type': 'application/json' }, body: big, noLength });
      expect(res.status).to.equal(413);
      expectJsonError(res, 'oversized');
    }
    // A Content-Length that lies about a huge body is refused before reading it.
    const lying = await rawRequest(server.url, { method: 'POST', path: '/webhook', headers: { 'content-type': 'application/json', 'content-length': String(5e9) }, body: '{}' }).catch(
      (error: Error) => error,
    );
    if (!(lying instanceof Error)) expectJsonError(lying, 'lying content-length');
    // gzip bombs count against the limit after inflation.
    const bomb = gzipSync(Buffer.from(JSON.stringify({ tasks: [{ data: { text: ' '.repeat(5_000_000) } }] })));
    const inflated = await rawRequest(server.url, { method: 'POST', path: '/predict', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
    expect(inflated.status).to.equal(413);
    expectJsonError(inflated, 'gzip bomb');
    const ok = gzipSync(Buffer.from(JSON.stringify({ tasks: [{ data: { text: 'hi' } }], label_config: SENTIMENT_CONFIG })));
    expect((await rawRequest(server.url, { method: 'POST', path: '/predict', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: ok })).status).to.equal(200);
    for (const [path, body] of [
      ['/setup', { project: '3', schema: `<View>${'<Text name="t" value="$t"/>'.repeat(9000)}</View>` }],
      ['/webhook', { action: 'x'.repeat(200_000) }],
      ['/job_status', { job: 'j'.repeat(200_000) }],
      ['/predict', { tasks: [{ data: { text: 'a' } }], project: '9'.repeat(100_000) }],
    ] as const) {
      expectHandled(await postJson(server.url, path, body), path);
    }
  });

  it('unicode everywhere: lone surrogates, RTL, emoji, NUL in strings and keys', async () => {
    const weird = ['\ud800', '\udfff', '\u202e', '🙂'.repeat(1000), '\u0000', 'e\u0301', '\uffff', '\u2028\u2029'];
    for (const text of weird) {
      const res = await postJson(server.url, '/predict', { tasks: [{ id: 1, data: { text, [text]: text } }], project: '34', label_config: SENTIMENT_CONFIG });
      expect(res.status, res.text).to.equal(200);
      expectHandled(await postJson(server.url, '/webhook', annotationCreated(34, 2, text, 'Positive')), 'webhook');
      expectHandled(await postJson(server.url, '/setup', { project: text, schema: SENTIMENT_CONFIG }), 'setup project');
    }
    // Invalid UTF-8 bytes.
    const bytes = Buffer.concat([Buffer.from('{"tasks":[{"data":{"text":"'), Buffer.from([0xff, 0xfe, 0xc0, 0x80]), Buffer.from('"}}]}')]);
    expectHandled(await rawRequest(server.url, { method: 'POST', path: '/predict', headers: { 'content-type': 'application/json' }, body: bytes }), 'invalid utf-8');
  });

  describe('slow and broken connections', () => {
    it('headers trickled byte by byte: closed with a JSON 408 while other clients are served', async () => {
      const { socket, closed } = rawSocket(server.url);
      socket.write('POST /predict HTTP/1.1\r\nHost: x\r\n');
      const trickle = setInterval(() => socket.writable && socket.write('X-a: b\r\n'), 150);
      try {
        for (let i = 0; i < 3; i++) expect((await rawRequest(server.url, { path: '/health' })).status).to.equal(200);
        const { data } = await Promise.race([closed, sleep(15_000).then(() => ({ data: 'still open after 15 s' }))]);
        expect(data).to.match(/^HTTP\/1\.1 408 /);
        expect(data).to.match(/application\/json/);
        expect(JSON.parse(data.slice(data.indexOf('\r\n\r\n') + 4))).to.include({ status: 408, error: 'MLB_ERR_BAD_REQUEST' });
      } finally {
        clearInterval(trickle);
        socket.destroy();
      }
    });

    it('a body trickled byte by byte: closed after REQUEST_TIMEOUT_S with a JSON 408', async () => {
      const { socket, closed } = rawSocket(server.url);
      socket.write('POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"action":');
      const trickle = setInterval(() => socket.writable && socket.write(' '), 100);
      try {
        expect((await rawRequest(server.url, { path: '/health' })).status).to.equal(200);
        const { data } = await Promise.race([closed, sleep(15_000).then(() => ({ data: 'still open after 15 s' }))]);
        expect(data).to.match(/^HTTP\/1\.1 408 /);
        expect(data).to.match(/"status":408/);
      } finally {
        clearInterval(trickle);
        socket.destroy();
      }
    });

    it('garbage instead of HTTP, oversized headers and bodies cut short get a JSON 4xx or a closed socket, never a crash', async () => {
      const cases: Array<[string, RegExp]> = [
        ['HELLO WORLD\r\n\r\n', /^HTTP\/1\.1 400 .*"status":400/s],
        ['GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'a'.repeat(40_000) + '\r\n\r\n', /^HTTP\/1\.1 431 .*"status":431/s],
        ['GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', /^HTTP\/1\.1 400 /],
        ['GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n', /^HTTP\/1\.1 400 /],
        ['POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nZZZ\r\n', /^HTTP\/1\.1 400 /],
        ['GET /h\u0000ealth HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 400 /],
      ];
      for (const [text, expected] of cases) {
        const { socket, closed } = rawSocket(server.url);
        socket.end(Buffer.from(text, 'latin1'));
        const { data } = await Promise.race([closed, sleep(10_000).then(() => ({ data: 'still open after 10 s' }))]);
        expect(data, JSON.stringify(text.slice(0, 60))).to.match(expected);
      }
      // A body shorter than its Content-Length, then the client hangs up.
      const { socket, closed } = rawSocket(server.url);
      socket.write('POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"action":"START_');
      await sleep(50);
      socket.destroy();
      await closed;
      expect(counters.requests).to.be.greaterThan(0);
    });
  });
});
