/**
 * Path safety: project ids, versions and job ids that try to leave MODEL_DIR ('..', absolute
 * paths, separators, NUL, very long names, unicode, URL-encoded forms) through every route that
 * takes one. MODEL_DIR sits three levels below a temporary parent whose tree is snapshotted: no
 * file may appear outside MODEL_DIR, and inside it only safe names.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { isSafeProjectId, isSafeVersion } from '../../src/store/safe-names.js';
import { SENTIMENT_CONFIG, annotationCreated, startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { FUZZ_RUNS, HOSTILE_NAMES, counters, expectHandled, expectJsonError, postJson, rawRequest, snapshotTree } from '../helpers/fuzz.js';

const MARKER = `mlb-escape-${randomUUID().slice(0, 8)}`;

/** Names aimed at the parent, the temp dir and absolute places, each carrying a marker to look for. */
const ESCAPES = [
  ...HOSTILE_NAMES,
  `../${MARKER}`, `../../${MARKER}`, `../../../${MARKER}`, `../../../../${MARKER}`, `${os.tmpdir()}/${MARKER}`, `/${MARKER}`,
  `1/../../${MARKER}`, `..\\..\\${MARKER}`, `${MARKER}/..`, `%2e%2e%2f${MARKER}`, `..%2F..%2F${MARKER}`, `\u0000../${MARKER}`,
  `${MARKER}\u0000.json`, `${'../'.repeat(40)}${MARKER}`, `./${MARKER}`, `~/${MARKER}`, `${MARKER}/`, `x/${MARKER}`,
];

/** Every request shape in which a name reaches the store. */
function attempts(name: string): Array<{ what: string; send: (url: string) => ReturnType<typeof rawRequest> }> {
  const q = encodeURIComponent(name);
  return [
    { what: 'setup project', send: (url) => postJson(url, '/setup', { project: name, schema: SENTIMENT_CONFIG }) },
    { what: 'setup project.ts', send: (url) => postJson(url, '/setup', { project: `${name}.1712586036`, schema: SENTIMENT_CONFIG }) },
    { what: 'setup model_version', send: (url) => postJson(url, '/setup', { project: '40', schema: SENTIMENT_CONFIG, model_version: name }) },
    { what: 'predict project', send: (url) => postJson(url, '/predict', { project: name, tasks: [{ data: { text: 'x' } }], label_config: SENTIMENT_CONFIG }) },
    { what: 'webhook project.id', send: (url) => postJson(url, '/webhook', { ...annotationCreated(40, 1, 'x', 'Positive'), project: { id: name, label_config: SENTIMENT_CONFIG } }) },
    { what: 'START_TRAINING project.id', send: (url) => postJson(url, '/webhook', { action: 'START_TRAINING', project: { id: name, label_config: SENTIMENT_CONFIG } }) },
    { what: 'ANNOTATIONS_DELETED project.id', send: (url) => postJson(url, '/webhook', { action: 'ANNOTATIONS_DELETED', annotations: [{ id: 1 }], project: { id: name } }) },
    {
      what: 'train project',
      send: (url) => postJson(url, '/train', { project: name, label_config: SENTIMENT_CONFIG, annotations: [{ id: 1, data: { text: 'x' }, annotations: [{ id: 1, result: [] }] }] }),
    },
    { what: 'versions select version', send: (url) => postJson(url, '/versions', { project: '40', version: name }) },
    { what: 'versions select project', send: (url) => postJson(url, '/versions', { project: name, version: 'v0001-20260101T000000Z' }) },
    { what: 'versions list (POST)', send: (url) => postJson(url, '/versions', { project: name }) },
    { what: 'versions ?project', send: (url) => rawRequest(url, { path: `/versions?project=${q}` }) },
    { what: 'is_training ?project', send: (url) => rawRequest(url, { path: `/is_training?project=${q}` }) },
    { what: 'job_status job', send: (url) => postJson(url, '/job_status', { job: name }) },
    { what: 'raw path', send: (url) => rawRequest(url, { path: `/versions/${q}` }) },
  ];
}

function findMarker(root: string, depth = 3): string[] {
  const found: string[] = [];
  const walk = (dir: string, left: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.name.includes(MARKER)) found.push(path.join(dir, entry.name));
      if (entry.isDirectory() && left > 0) walk(path.join(dir, entry.name), left - 1);
    }
  };
  walk(root, depth);
  return found;
}

describe('hostile: path safety', function () {
  this.timeout(120_000);
  let parent: string;
  let modelDir: string;
  let server: TestServer;
  let outsideBefore: string[];
  const modelRel = 'a/b/models';
  const outsideModelDir = (rel: string) => rel === modelRel || rel.startsWith(`${modelRel}/`);

  before(async () => {
    parent = tempDir('mlb-path-');
    modelDir = path.join(parent, modelRel);
    fs.mkdirSync(modelDir, { recursive: true });
    fs.writeFileSync(path.join(parent, 'a', 'sentinel.txt'), 'untouched');
    outsideBefore = snapshotTree(parent, outsideModelDir);
    server = await startTestServer({ modelDir, env: { TRAIN_EVERY_N_ANNOTATIONS: '0', TRAINING_THREAD: 'main' } });
    // One real project with a trained version, so version routes have something to resolve against.
    for (const [i, [text, choice]] of [['good', 'Positive'], ['bad', 'Negative']].entries()) {
      await postJson(server.url, '/webhook', annotationCreated(40, i + 1, text!, choice!));
    }
    await postJson(server.url, '/webhook', { action: 'START_TRAINING', project: { id: 40, label_config: SENTIMENT_CONFIG } });
    await server.backend.waitForJobs();
  });

  afterEach(async () => {
    await server.backend.waitForJobs();
    expect(snapshotTree(parent, outsideModelDir), 'files outside MODEL_DIR').to.deep.equal(outsideBefore);
    expect(fs.readFileSync(path.join(parent, 'a', 'sentinel.txt'), 'utf8')).to.equal('untouched');
    expect(findMarker(os.tmpdir()).concat(findMarker('/', 1)), 'marker files anywhere').to.deep.equal([]);
  });

  after(async () => {
    await server.stop();
    expect(snapshotTree(parent, outsideModelDir), 'files outside MODEL_DIR').to.deep.equal(outsideBefore);
    // Inside MODEL_DIR: the database and safe project dirs holding safe version names only.
    for (const entry of fs.readdirSync(modelDir, { withFileTypes: true })) {
      if (entry.isFile()) expect(entry.name).to.match(/^backend\.sqlite(-wal|-shm|-journal)?$/);
      else {
        expect(isSafeProjectId(entry.name), entry.name).to.equal(true);
        for (const child of fs.readdirSync(path.join(modelDir, entry.name))) {
          expect(child === 'current' || isSafeVersion(child), `${entry.name}/${child}`).to.equal(true);
        }
      }
    }
    fs.rmSync(parent, { recursive: true, force: true });
    console.log(`      (hostile requests so far: ${counters.requests})`);
  });

  it(`${ESCAPES.length} hostile names x 15 routes: rejected with a JSON 4xx or mapped to a safe id, nothing written outside`, async () => {
    let rejected = 0;
    for (const name of ESCAPES) {
      for (const { what, send } of attempts(name)) {
        const res = await send(server.url);
        expectHandled(res, `${what} ${JSON.stringify(name.slice(0, 60))}`);
        if (res.status >= 400) rejected++;
      }
    }
    expect(rejected).to.be.greaterThan(ESCAPES.length * 5);
    // The project that was trained is still intact and served.
    const versions = (await rawRequest(server.url, { path: '/versions?project=40' })).json as { versions: string[] };
    expect(versions.versions).to.have.length(1);
  });

  it('unsafe ids are refused with MLB_ERR_BAD_PROJECT_ID / MLB_ERR_BAD_VERSION, not a storage error', async () => {
    for (const name of ['../etc', '/abs', 'a/b', 'x\u0000y', '..', 'é', 'a'.repeat(65), `../../${MARKER}`]) {
      const res = await postJson(server.url, '/setup', { project: name, schema: SENTIMENT_CONFIG });
      expect(res.status).to.equal(400);
      expectJsonError(res);
      expect((res.json as { error: string }).error).to.equal('MLB_ERR_BAD_PROJECT_ID');
    }
    for (const version of ['../../etc/passwd', 'v1/..', '.', '..', 'x.tmp', '/abs', 'v\u0000', `../${MARKER}`, 'v'.repeat(200)]) {
      const res = await postJson(server.url, '/versions', { project: '40', version });
      expect(res.status).to.equal(400);
      expect((res.json as { error: string }).error).to.equal('MLB_ERR_BAD_VERSION');
    }
  });

  it('random strings as project ids and versions (property)', async () => {
    const name = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.array(fc.constantFrom('..', '.', '/', '\\', '\u0000', 'a', '1', MARKER, '%2f', '~', ' '), { maxLength: 12 }).map((parts) => parts.join('')),
    );
    await fc.assert(
      fc.asyncProperty(name, fc.nat(14), async (value, pick) => {
        const attempt = attempts(value)[pick] as ReturnType<typeof attempts>[number];
        expectHandled(await attempt.send(server.url), `${attempt.what} ${JSON.stringify(value)}`);
      }),
      { numRuns: FUZZ_RUNS * 3 },
    );
  });
});
