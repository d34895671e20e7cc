import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { FsCheckpointStore } from '../../src/store/checkpoint-store.js';
import { SERVE_TOY, spawnServer, type ChildServer } from '../helpers/process.js';
import { SENTIMENT_CONFIG, annotationCreated, tempDir, waitFor } from '../helpers/server.js';

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const startTraining = (server: ChildServer, project: number) =>
  post(`${server.url}/webhook`, { action: 'START_TRAINING', project: { id: project, label_config: SENTIMENT_CONFIG } });
const servedVersion = async (server: ChildServer, project: number) =>
  ((await (await fetch(`${server.url}/versions?project=${project}`)).json()) as { current_version: string }).current_version;

describe('ops: graceful shutdown', () => {
  let server: ChildServer | undefined;
  afterEach(() => server?.child.kill('SIGKILL'));

  it('SIGTERM during a training job exits 0 within the bound; the previous version stays current and intact', async () => {
    const modelDir = tempDir();
    server = await spawnServer(SERVE_TOY, { MODEL_DIR: modelDir, TRAIN_EVERY_N_ANNOTATIONS: '0', SHUTDOWN_TIMEOUT_S: '10' });
    const s = server;
    const texts: Array<[string, string]> = [['great stuff', 'Positive'], ['love it', 'Positive'], ['awful thing', 'Negative'], ['hate it', 'Negative']];
    for (const [i, [text, label]] of texts.entries()) expect((await post(`${s.url}/webhook`, annotationCreated(2, 100 + i, text, label))).status).to.equal(201);

    // A quick first version.
    await post(`${s.url}/setup`, { project: '2', schema: SENTIMENT_CONFIG, extra_params: { epochs: 2 } });
    await startTraining(s, 2);
    const good = await waitFor(async () => {
      const version = await servedVersion(s, 2);
      return version !== 'v0000-initial' && version;
    }, 30_000, 'the first version');

    // A slow second training, stopped mid-fit.
    await post(`${s.url}/setup`, { project: '2', schema: SENTIMENT_CONFIG, extra_params: { epochs: 100000, epochDelayMs: 20 } });
    await startTraining(s, 2);
    await waitFor(async () => {
      const body = (await (await fetch(`${s.url}/is_training?project=2`)).json()) as { is_training: boolean; job?: { progress?: { epoch?: number } } };
      return body.is_training && (body.job?.progress?.epoch ?? 0) >= 2;
    }, 30_000, 'the second training to be in fit');

    const signalled = Date.now();
    s.child.kill('SIGTERM');
    expect(await s.exited).to.equal(0);
    expect(Date.now() - signalled).to.be.below(15_000); // SHUTDOWN_TIMEOUT_S + the forced-exit margin
    expect(s.output(), s.output()).to.include('"msg":"stopped"').and.match(/"state":"cancelled".*"msg":"training job finished"/);

    const projectDir = path.join(modelDir, '2');
    expect(fs.readdirSync(projectDir).sort()).to.deep.equal(['current', good]);
    expect(fs.readFileSync(path.join(projectDir, 'current'), 'utf8').trim()).to.equal(good);
    const loaded = await new FsCheckpointStore(modelDir).load('2', good); // manifest verified
    expect(loaded.trainOutput.labels).to.deep.equal(['Negative', 'Positive']);
  });
});
