/**
 * Issue 13 item 4: task URLs are not a way into the network. Only Label Studio's origin and the
 * origins in TASK_URL_ORIGINS are fetched; loopback, link-local and private addresses are refused
 * unless their origin is listed — checked after DNS resolution and on every redirect — and a
 * remote body never reaches an error message. Each refusal is tested, the last one over HTTP.
 */
import { expect } from 'chai';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { LabelStudioClient } from '../../src/io/label-studio-client.js';
import { isPublicAddress } from '../../src/io/fetch-policy.js';
import { TaskDataError } from '../../src/errors.js';
import { LabelStudioMLBase, type Task } from '../../src/index.js';
import { SENTIMENT_CONFIG, startTestServer } from '../helpers/server.js';

const SECRET = 'internal-secret-7f3a';

interface Service {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

/** A local service: answers 500 with a secret, or redirects when asked to. */
async function startService(redirectTo?: () => string): Promise<Service> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    if (redirectTo && req.url?.startsWith('/redirect')) res.writeHead(302, { Location: redirectTo() }).end();
    else res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${SECRET}: database password hunter2`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

async function refusal(promise: Promise<unknown>): Promise<TaskDataError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(TaskDataError);
    return error as TaskDataError;
  }
  throw new Error('expected a refusal');
}

describe('io: task URL fetch policy', () => {
  let service: Service;
  let ls: Service;
  before(async () => {
    service = await startService();
    ls = await startService(() => `${service.url}/from-label-studio`);
  });
  after(async () => {
    await service.close();
    await ls.close();
  });
  beforeEach(() => {
    service.hits.length = 0;
    ls.hits.length = 0;
  });

  it('knows public addresses from loopback, private, link-local and reserved ones (IPv4-mapped too)', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fc00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '224.0.0.1']) {
      expect(isPublicAddress(address), address).to.equal(false);
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) expect(isPublicAddress(address), address).to.equal(true);
  });

  it('refuses an origin that is neither Label Studio\'s nor listed, before any request', async () => {
    const client = new LabelStudioClient({ url: ls.url, apiKey: 'k' });
    const error = await refusal(client.fetchText(`${service.url}/x`));
    expect(error.details).to.deep.equal({ refused: 'origin_not_allowed' });
    expect(error.message).to.match(/TASK_URL_ORIGINS/);
    expect(service.hits).to.deep.equal([]);
  });

  it('with TASK_URL_ORIGINS=*, refuses a loopback literal and a name that resolves to loopback (after DNS)', async () => {
    const client = new LabelStudioClient({ url: 'http://label-studio.invalid', apiKey: 'k', allowedOrigins: ['*'] });
    const literal = await refusal(client.fetchText(`${service.url}/x`));
    expect(literal.details).to.deep.equal({ refused: 'private_address' });
    const port = new URL(service.url).port;
    const named = await refusal(client.fetchText(`http://localhost:${port}/x`));
    expect(named.details).to.deep.equal({ refused: 'private_address' });
    expect(named.message).to.match(/localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    const mapped = await refusal(client.fetchText(`http://[::ffff:127.0.0.1]:${port}/x`));
    expect(mapped.details).to.deep.equal({ refused: 'private_address' });
    expect(service.hits).to.deep.equal([]);
  });

  it('refuses a redirect to a private address, also one Label Studio itself issued', async () => {
    const client = new LabelStudioClient({ url: ls.url, apiKey: 'k' });
    const error = await refusal(client.fetchText(`${ls.url}/redirect`));
    expect(error.details).to.deep.equal({ refused: 'private_address' });
    expect(ls.hits).to.deep.equal(['/redirect']);
    expect(service.hits).to.deep.equal([]);
  });

  it('refuses a redirect from a listed origin to an origin that is not listed', async () => {
    const hop = await startService(() => `${service.url}/after-hop`);
    try {
      const client = new LabelStudioClient({ url: 'http://label-studio.invalid', allowedOrigins: [hop.url] });
      const error = await refusal(client.fetchText(`${hop.url}/redirect`));
      expect(error.details).to.deep.equal({ refused: 'origin_not_allowed' });
      expect(hop.hits).to.deep.equal(['/redirect']);
      expect(service.hits).to.deep.equal([]);
    } finally {
      await hop.close();
    }
  });

  describe('over HTTP: /predict with a task that names a local service', () => {
    /** A model that reads its task text the way the bundled ones do (downloading what it names). */
    class Reader extends LabelStudioMLBase {
      override async predict(tasks: Task[]) {
        const texts = await Promise.all(tasks.map((task) => this.readTaskText(task, 'text')));
        return texts.map((text) => ({ result: [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: [text.length > 3 ? 'Positive' : 'Negative'] } }], score: 0.5 }));
      }
    }

    it('refuses it with a JSON 422 and never contacts it; once listed, it is contacted but its body is not echoed', async () => {
      for (const [origins, contacted] of [['', false], [service.url, true]] as const) {
        service.hits.length = 0;
        const server = await startTestServer({ modelClass: Reader, env: { LABEL_STUDIO_URL: ls.url, ...(origins && { TASK_URL_ORIGINS: origins }) } });
        try {
          const reply = await server.http.post('/predict').send({ tasks: [{ id: 1, data: { text: `${service.url}/x` } }], project: '1', label_config: SENTIMENT_CONFIG }).expect(422);
          expect(reply.type).to.equal('application/json');
          expect(reply.body.error).to.equal('MLB_ERR_TASK_DATA');
          expect(reply.text).to.not.include(SECRET).and.not.include('hunter2');
          expect(reply.body.detail).to.match(contacted ? /HTTP 500/ : /Refused to fetch/);
          expect(service.hits.length > 0).to.equal(contacted);
        } finally {
          await server.stop();
        }
      }
    });
  });
});
