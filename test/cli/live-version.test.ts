/**
 * Issue 11: the checkpoint store alone owns "which version is current", so a version selected
 * or promoted by another process (the CLI here; another replica later) is served by a running
 * server within a few seconds, without a restart, and no request fails during the swap.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { SENTIMENT_CONFIG, annotationCreated, startTestServer, tempDir, waitFor, type TestServer } from '../helpers/server.js';
import { TOY_ENTRY, runCli } from './run-cli.js';

const TEXTS: Array<[string, string]> = [['good great', 'Positive'], ['great fun', 'Positive'], ['awful bad', 'Negative'], ['terrible mess', 'Negative']];

/** /predict in a loop until stopped: every answer's status and version. */
function predictLoop(server: TestServer, project: string) {
  const seen: Array<{ status: number; version: string | undefined; workdir: string | undefined }> = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const res = await server.http.post('/predict').send({ project, tasks: [{ data: { text: 'good great' } }, { data: { text: 'awful bad' } }] });
      seen.push({ status: res.status, version: res.body.model_version, workdir: res.body.results?.[0]?.instance?.workdir });
    }
  })();
  return { seen, stop: async () => ((running = false), await done) };
}

const servedVersion = async (server: TestServer, project: string) =>
  (await server.http.post('/setup').send({ project, schema: SENTIMENT_CONFIG }).expect(200)).body.model_version as string;

describe('live version changes from another process (issue 11)', function () {
  this.timeout(90_000);
  let server: TestServer;
  const versions: string[] = [];

  before(async () => {
    server = await startTestServer({ modelDir: tempDir(), env: { TRAIN_EVERY_N_ANNOTATIONS: '0' } });
    for (const [i, [text, label]] of TEXTS.entries()) await server.http.post('/webhook').send(annotationCreated(2, i + 1, text, label)).expect(201);
    await server.http.post('/setup').send({ project: '2', schema: SENTIMENT_CONFIG, extra_params: { epochs: 5 } }).expect(200);
    for (let i = 0; i < 2; i++) {
      await server.http.post('/webhook').send({ action: 'START_TRAINING', project: { id: 2, label_config: SENTIMENT_CONFIG } }).expect(201);
      await server.backend.waitForJobs();
      versions.push(await servedVersion(server, '2'));
    }
    expect(new Set(versions).size).to.equal(2);
  });
  after(() => server.stop());

  it('`checkpoints rollback` in another process switches the running server within seconds; no request fails', async () => {
    const [older, newer] = versions as [string, string];
    const loop = predictLoop(server, '2');
    try {
      await waitFor(async () => loop.seen.length >= 3, 10_000, 'predictions before the rollback');
      const result = await runCli(['checkpoints', 'rollback', older, '--project', '2', '--model-dir', server.modelDir]);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.include(`${newer} -> ${older}`).and.include('no restart needed');
      await waitFor(async () => (await servedVersion(server, '2')) === older || undefined, 5_000, 'the server to serve the rolled-back version');
      await waitFor(async () => loop.seen.at(-1)?.version === older || undefined, 5_000, '/predict to answer with it');
    } finally {
      await loop.stop();
    }
    expect(loop.seen.filter((answer) => answer.status !== 200), 'failed requests during the swap').to.deep.equal([]);
    expect(new Set(loop.seen.map((answer) => answer.version))).to.deep.equal(new Set([newer, older]));
    // The answers name the version whose model gave them.
    for (const answer of loop.seen) expect(answer.workdir).to.equal(path.join(server.modelDir, '2', answer.version as string));
    const listed = (await server.http.get('/versions').query({ project: '2' }).expect(200)).body;
    expect(listed.current_version).to.equal(older);
  });

  it('a version trained by `train` in another process is served by the running server without restart', async () => {
    const csv = path.join(server.modelDir, 'rows.csv');
    fs.writeFileSync(csv, ['text,label', ...TEXTS.map(([text, label]) => `${text},${label}`)].join('\n'));
    const before = await servedVersion(server, '2');
    const result = await runCli(['train', '--data', csv, '--project', '2', '--entry', TOY_ENTRY, '--model-dir', server.modelDir, '--label-config', await labelConfigFile(server.modelDir), '--json'], { timeoutMs: 60_000 });
    expect(result.code, result.stderr).to.equal(0);
    const trained = JSON.parse(result.stdout).version as string;
    expect(trained).to.not.equal(before);
    await waitFor(async () => (await servedVersion(server, '2')) === trained || undefined, 5_000, 'the server to serve the version trained by the CLI');
  });
});

async function labelConfigFile(dir: string): Promise<string> {
  const file = path.join(dir, 'config.xml');
  fs.writeFileSync(file, SENTIMENT_CONFIG);
  return file;
}
