import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, TaskDataError } from '../../src/errors.js';
import { LabelStudioClient, isWellFormedJwt } from '../../src/io/label-studio-client.js';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

/** A 127.0.0.1 server that records every request and answers through `handler`. */
async function startServer(handler: Handler): Promise<{ url: string; seen: Seen[]; server: http.Server }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      handler(req, res, body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, server };
}

async function stopServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function b64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function jwt(payload: Record<string, unknown>): string {
  return `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(payload)}.c2lnbmF0dXJl`;
}

/** Python's base64.urlsafe_b64decode: urlsafe alphabet and correct padding required. */
function pythonUrlsafeB64Decode(value: string): string {
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9_-]*={0,2}$/.test(value)) throw new Error('Incorrect padding');
  return Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const TOKEN = 'legacy-token-0123456789';
const TASKS = [
  { id: 1, data: { text: 'I love this' }, annotations: [{ id: 9, result: [] }], project: 3 },
  { id: 2, data: { text: 'I hate that' } },
];

describe('io/label-studio-client', () => {
  let ls: Awaited<ReturnType<typeof startServer>>;
  let other: Awaited<ReturnType<typeof startServer>>;
  /** Paths the LS stand-in leaves unanswered (to exercise timeouts). */
  const hanging = new Set<string>();

  before(async () => {
    other = await startServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`other:${req.url ?? ''}`);
    });
    ls = await startServer((req, res, body) => {
      const url = new URL(req.url ?? '/', 'http://ls');
      if (hanging.has(url.pathname)) return;
      if (url.pathname === '/api/projects/7/export') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(TASKS));
      } else if (url.pathname === '/api/projects/8/export') {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"detail": "Invalid token."}');
      } else if (url.pathname === '/api/projects/9/export') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"not": "a list"}');
      } else if (url.pathname === '/api/token/refresh/') {
        const refresh = (JSON.parse(body) as { refresh?: string }).refresh ?? '';
        if (!refresh.includes('.')) {
          res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"detail":"Token is invalid"}');
          return;
        }
        const access = jwt({ token_type: 'access', exp: Math.floor(Date.now() / 1000) + 3600 });
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ access }));
      } else if (url.pathname.startsWith('/tasks/') && url.pathname.endsWith('/presign/')) {
        const fileuri = pythonUrlsafeB64Decode(url.searchParams.get('fileuri') ?? '');
        res.writeHead(303, { Location: `${other.url}/bucket-object?uri=${encodeURIComponent(fileuri)}&sig=s3cr3t` }).end();
      } else if (url.pathname === '/data/upload/3/big.txt') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('x'.repeat(100));
      } else if (url.pathname === '/data/upload/3/binary.bin') {
        res.writeHead(200).end(Buffer.from([0xff, 0xfe, 0xfd]));
      } else if (url.pathname === '/data/upload/3/missing.txt') {
        res.writeHead(404, { 'Content-Type': 'text/html' }).end(`<h1>Not Found</h1><p>token ${TOKEN} not echoed</p>`);
      } else if (url.pathname.startsWith('/data/') || url.pathname.startsWith('/files/')) {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`ls:${req.url ?? ''} ✓`);
      } else {
        res.writeHead(404).end('not found');
      }
    });
  });

  after(async () => {
    await Promise.all([stopServer(ls.server), stopServer(other.server)]);
  });

  beforeEach(() => {
    ls.seen.length = 0;
    other.seen.length = 0;
  });

  describe('construction and headers', () => {
    it('rejects a URL that is not http(s) with a ConfigError', () => {
      expect(() => new LabelStudioClient({ url: 'ftp://ls:21', apiKey: TOKEN })).to.throw(ConfigError, /http\(s\) URL/);
      expect(() => new LabelStudioClient({ url: 'localhost:8080', apiKey: TOKEN })).to.throw(ConfigError);
      expect(() => new LabelStudioClient({ url: ls.url, timeoutMs: 0 })).to.throw(ConfigError, /timeoutMs/);
    });

    it('uses Token for legacy keys and Bearer for well-formed JWTs', () => {
      expect(new LabelStudioClient({ url: ls.url, apiKey: TOKEN }).authHeader()).to.equal(`Token ${TOKEN}`);
      const key = jwt({ token_type: 'refresh', exp: 9999999999 });
      expect(isWellFormedJwt(key)).to.equal(true);
      expect(new LabelStudioClient({ url: ls.url, apiKey: key }).authHeader()).to.equal(`Bearer ${key}`);
      expect(isWellFormedJwt('a.b.c')).to.equal(false);
      expect(isWellFormedJwt(TOKEN)).to.equal(false);
    });

    it('asks for LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY when they are missing', async () => {
      const noUrl = new LabelStudioClient({ apiKey: TOKEN });
      expect(() => noUrl.resolveUrl('/data/upload/3/a.txt')).to.throw(TaskDataError, /LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY/);
      const noKey = new LabelStudioClient({ url: ls.url });
      expect(() => noKey.authHeader()).to.throw(TaskDataError, /LABEL_STUDIO_API_KEY/);
      const error = await rejection(noKey.fetchText('upload/3/a.txt', 1));
      expect(error).to.be.instanceOf(TaskDataError);
      expect(error.message).to.match(/LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY/);
      expect(await rejection(noKey.exportAnnotations(7))).to.be.instanceOf(TaskDataError);
      expect(ls.seen).to.have.length(0);
    });
  });

  describe('resolveUrl', () => {
    const client = () => new LabelStudioClient({ url: 'http://ls:8080/sub/', apiKey: TOKEN });

    it('rewrites uploads and local files under the Label Studio URL (sub-path kept)', () => {
      expect(client().resolveUrl('upload/3/a.txt')).to.equal('http://ls:8080/sub/data/upload/3/a.txt');
      expect(client().resolveUrl('/upload/3/a.txt')).to.equal('http://ls:8080/sub/data/upload/3/a.txt');
      expect(client().resolveUrl('/data/upload/3/a.txt')).to.equal('http://ls:8080/sub/data/upload/3/a.txt');
      expect(client().resolveUrl('/data/local-files/?d=docs/a.txt')).to.equal('http://ls:8080/sub/data/local-files/?d=docs/a.txt');
    });

    it('presigns cloud URIs per task with a urlsafe base64 fileuri', () => {
      for (const uri of ['s3://bucket/test/1.jpg', 'gs://bucket/dir/a b.txt', 'azure-blob://container/x?.txt']) {
        const resolved = new URL(client().resolveUrl(uri, 12));
        expect(resolved.pathname).to.equal('/sub/tasks/12/presign/');
        expect(pythonUrlsafeB64Decode(resolved.searchParams.get('fileuri') ?? '')).to.equal(uri);
      }
      expect(() => client().resolveUrl('s3://bucket/a.txt')).to.throw(TaskDataError, /task id/);
    });

    it('keeps http(s) URLs and refuses anything else', () => {
      expect(client().resolveUrl('https://cdn.example.com/a.txt?x=1')).to.equal('https://cdn.example.com/a.txt?x=1');
      expect(() => client().resolveUrl('just some text')).to.throw(TaskDataError, /not a Label Studio upload/);
      expect(() => client().resolveUrl('file:///etc/passwd')).to.throw(TaskDataError);
    });
  });

  describe('exportAnnotations', () => {
    it('downloads the JSON export with the token', async () => {
      const tasks = await new LabelStudioClient({ url: ls.url, apiKey: TOKEN }).exportAnnotations(7);
      expect(tasks).to.have.length(2);
      expect(tasks[0]).to.deep.include({ id: 1, data: { text: 'I love this' } });
      expect(tasks[0]?.annotations).to.deep.equal([{ id: 9, result: [] }]);
      expect(tasks[1]?.annotations).to.deep.equal([]);
      expect(ls.seen).to.deep.equal([
        {
          method: 'GET',
          url: '/api/projects/7/export?exportType=JSON&download_all_tasks=false',
          authorization: `Token ${TOKEN}`,
          body: '',
        },
      ]);
    });

    it('reports a 401 with its status and body, without the token', async () => {
      const error = await rejection(new LabelStudioClient({ url: ls.url, apiKey: TOKEN }).exportAnnotations(8));
      expect(error).to.be.instanceOf(TaskDataError);
      expect(error.message).to.match(/HTTP 401/).and.match(/Invalid token/).and.match(/LABEL_STUDIO_API_KEY/);
      expect(error.message).to.not.include(TOKEN);
      expect((error as TaskDataError).details).to.deep.equal({ upstream_status: 401 });
    });

    it('rejects an export that is not a list of tasks', async () => {
      const error = await rejection(new LabelStudioClient({ url: ls.url, apiKey: TOKEN }).exportAnnotations(9));
      expect(error).to.be.instanceOf(TaskDataError);
      expect(error.message).to.match(/not a JSON array/);
    });
  });

  describe('fetchText', () => {
    it('downloads an upload as UTF-8 text with the token', async () => {
      const text = await new LabelStudioClient({ url: ls.url, apiKey: TOKEN }).fetchText('upload/3/a.txt', 1);
      expect(text).to.equal('ls:/data/upload/3/a.txt ✓');
      expect(ls.seen[0]?.authorization).to.equal(`Token ${TOKEN}`);
    });

    it('sends the token to the Label Studio origin only, never to another (allowed) host', async () => {
      const client = new LabelStudioClient({ url: ls.url, apiKey: TOKEN, allowedOrigins: [other.url] });
      expect(await client.fetchText(`${ls.url}/files/a.txt`)).to.equal('ls:/files/a.txt ✓');
      expect(await client.fetchText(`${other.url}/a.txt`)).to.equal('other:/a.txt');
      expect(ls.seen.map((s) => s.authorization)).to.deep.equal([`Token ${TOKEN}`]);
      expect(other.seen).to.have.length(1);
      expect(other.seen[0]?.authorization).to.equal(undefined);
    });

    it('follows the presign redirect to the bucket without the token', async () => {
      // The bucket stand-in listens on loopback, which only a listed origin may use.
      const client = new LabelStudioClient({ url: ls.url, apiKey: TOKEN, allowedOrigins: [other.url] });
      const text = await client.fetchText('s3://bucket/dir/a.txt', 42);
      expect(text).to.equal(`other:/bucket-object?uri=${encodeURIComponent('s3://bucket/dir/a.txt')}&sig=s3cr3t`);
      expect(ls.seen[0]?.url).to.match(/^\/tasks\/42\/presign\/\?fileuri=/);
      expect(ls.seen[0]?.authorization).to.equal(`Token ${TOKEN}`);
      expect(other.seen[0]?.authorization).to.equal(undefined);
    });

    it('uses Bearer for a JWT that is not a refresh token', async () => {
      const key = jwt({ token_type: 'access', exp: 9999999999 });
      await new LabelStudioClient({ url: ls.url, apiKey: key }).fetchText('/data/upload/3/a.txt');
      expect(ls.seen.map((s) => s.authorization)).to.deep.equal([`Bearer ${key}`]);
    });

    it('exchanges a personal access token (JWT refresh token) once and sends the access token', async () => {
      const key = jwt({ token_type: 'refresh', exp: 9999999999 });
      const client = new LabelStudioClient({ url: ls.url, apiKey: key });
      await Promise.all([client.fetchText('upload/3/a.txt'), client.fetchText('upload/3/b.txt')]);
      await client.fetchText('upload/3/c.txt');
      const refreshes = ls.seen.filter((s) => s.url === '/api/token/refresh/');
      expect(refreshes).to.have.length(1);
      expect(JSON.parse(refreshes[0]?.body ?? '{}')).to.deep.equal({ refresh: key });
      const downloads = ls.seen.filter((s) => s.url.startsWith('/data/'));
      expect(downloads).to.have.length(3);
      for (const download of downloads) {
        expect(download.authorization).to.match(/^Bearer /).and.not.equal(`Bearer ${key}`);
      }
    });

    it('turns a 404 into a TaskDataError naming the URL and status, without the token or the body', async () => {
      const error = await rejection(new LabelStudioClient({ url: ls.url, apiKey: TOKEN }).fetchText('/data/upload/3/missing.txt'));
      expect(error).to.be.instanceOf(TaskDataError);
      expect(error.message).to.include('HTTP 404').and.include(`${ls.url}/data/upload/3/missing.txt`);
      expect(error.message).to.not.include(TOKEN).and.not.include('not echoed');
    });

    it('times out with a TaskDataError that does not carry the token', async () => {
      hanging.add('/data/upload/3/slow.txt');
      const client = new LabelStudioClient({ url: ls.url, apiKey: TOKEN, timeoutMs: 150 });
      const error = await rejection(client.fetchText('upload/3/slow.txt'));
      expect(error).to.be.instanceOf(TaskDataError);
      expect(error.message).to.match(/timed out after 150 ms/).and.include('/data/upload/3/slow.txt');
      expect(error.message).to.not.include(TOKEN);
    });

    it('reports a refused connection', async () => {
      const closed = await startServer(() => undefined);
      await stopServer(closed.server);
      const error = await rejection(new LabelStudioClient({ url: closed.url, apiKey: TOKEN }).fetchText('upload/3/a.txt'));
      expect(error).to.be.instanceOf(TaskDataError);
      expect(error.message).to.match(/ECONNREFUSED/).and.not.include(TOKEN);
    });

    it('refuses files over the size limit and bytes that are not UTF-8', async () => {
      const client = new LabelStudioClient({ url: ls.url, apiKey: TOKEN, maxBytes: 10 });
      expect((await rejection(client.fetchText('upload/3/big.txt'))).message).to.match(/larger than 10 bytes/);
      const binary = await rejection(new LabelStudioClient({ url: ls.url, apiKey: TOKEN }).fetchText('upload/3/binary.bin'));
      expect(binary).to.be.instanceOf(TaskDataError);
      expect(binary.message).to.match(/not UTF-8 text/);
    });

    it('stops when the caller cancels', async () => {
      hanging.add('/data/upload/3/cancel.txt');
      const controller = new AbortController();
      const pending = new LabelStudioClient({ url: ls.url, apiKey: TOKEN }).fetchText('upload/3/cancel.txt', 1, {
        signal: controller.signal,
      });
      controller.abort();
      const error = await rejection(pending);
      expect(error).to.be.instanceOf(TaskDataError);
      expect(error.message).to.match(/cancelled/);
    });
  });
});
