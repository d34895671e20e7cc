/**
 * The real USE loading code end to end (load -> embed -> train -> predict) on a small synthetic
 * graph model with USE-lite's signature, generated here; never with network access.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import supertest from 'supertest';
import { spawnServer } from '../../test/helpers/process.js';
import { tempDir } from '../../test/helpers/server.js';
import { syntheticUseCatalog, writeSyntheticUseModel } from '../../test/helpers/synthetic-use.js';

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
const CONFIG = '<View><Text name="text" value="$text"/><Choices name="topic" toName="text"><Choice value="Sports"/><Choice value="Cooking"/></Choices></View>';
const SPORTS = ['the team won the match', 'a great goal in the final', 'the player scored twice', 'the match ended in a draw'];
const COOKING = ['bake the bread for an hour', 'add salt to the soup', 'the recipe needs fresh garlic', 'boil the pasta in water'];

describe('example: text classifier on USE (synthetic USE-lite model)', function () {
  this.timeout(120_000);

  it('loads the verified model, embeds, trains a head and predicts over HTTP', async () => {
    const useDir = tempDir('use-');
    await writeSyntheticUseModel(useDir);
    const catalogFile = path.join(tempDir('catalog-'), 'catalog.json');
    fs.writeFileSync(catalogFile, JSON.stringify(await syntheticUseCatalog(useDir, 'http://127.0.0.1:9/unused')));
    const server = await spawnServer(SERVER, {
      EMBEDDER: 'use',
      USE_MODEL_DIR: useDir,
      USE_CATALOG: catalogFile,
      USE_DOWNLOAD: 'false',
      MODEL_DIR: tempDir(),
      TRAIN_EVERY_N_ANNOTATIONS: '0',
    });
    try {
      const http = supertest(server.url);
      for (let i = 0; i < 200 && (await http.get('/ready')).status !== 200; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      await http.get('/ready').expect(200);
      const health = (await http.get('/health').expect(200)).body;
      expect(health.embedder).to.match(/^use-lite@[0-9a-f]{12}$/);
      await http.post('/setup').send({ project: '1', schema: CONFIG, extra_params: { epochs: 80, validationSplit: 0, learningRate: 0.05 } }).expect(200);
      const rows = [...SPORTS.map((t) => [t, 'Sports']), ...COOKING.map((t) => [t, 'Cooking'])];
      for (const [i, [text, choice]] of rows.entries()) {
        await http
          .post('/webhook')
          .send({
            action: 'ANNOTATION_CREATED',
            annotation: { id: i + 1, task: i + 1, result: [{ from_name: 'topic', to_name: 'text', type: 'choices', value: { choices: [choice] } }] },
            task: { id: i + 1, data: { text } },
            project: { id: 1, label_config: CONFIG },
          })
          .expect(201);
      }
      const { body } = await http.post('/webhook').send({ action: 'START_TRAINING', project: { id: 1, label_config: CONFIG } }).expect(201);
      const job = await waitForJob(http, body.job);
      expect(job.job_status, JSON.stringify(job.job)).to.equal('finished');
      const versions = (await http.get('/versions').query({ project: '1' })).body;
      expect(versions.current_version).to.equal(job.job.version);
      const predicted = await http.post('/predict').send({ project: '1', tasks: rows.map(([text], i) => ({ id: i + 1, data: { text } })) }).expect(200);
      const chosen = predicted.body.results.map((r: { result: Array<{ value: { choices: string[] } }> }) => r.result[0]!.value.choices[0]);
      expect(chosen).to.deep.equal(rows.map(([, choice]) => choice));
      const empty = await http.post('/predict').send({ project: '1', tasks: [{ data: { text: '' } }, { data: { text: '   ' } }] }).expect(200);
      expect(empty.body.results).to.have.length(2);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('EMBEDDER=use without verified weights is a start-up error that says how to get them', async () => {
    const missing = tempDir('no-use-');
    // A catalogue nothing on disk matches (not even the weights package): no candidate verifies.
    const catalogFile = path.join(tempDir('catalog-'), 'catalog.json');
    fs.writeFileSync(catalogFile, JSON.stringify({ baseUrl: 'http://127.0.0.1:9/unused', files: [{ name: 'model.json', bytes: 1, sha256: '0'.repeat(64) }] }));
    await expectStartFailure({ EMBEDDER: 'use', USE_MODEL_DIR: missing, USE_CACHE_DIR: missing, USE_CATALOG: catalogFile, USE_DOWNLOAD: 'false', MODEL_DIR: tempDir() }, /run `npm ci`.*npm run fetch-model/);
  });

  it('a model file that does not match its SHA-256 is never used', async () => {
    const useDir = tempDir('use-');
    await writeSyntheticUseModel(useDir);
    const catalogFile = path.join(tempDir('catalog-'), 'catalog.json');
    fs.writeFileSync(catalogFile, JSON.stringify(await syntheticUseCatalog(useDir, 'http://127.0.0.1:9/unused')));
    const shard = path.join(useDir, 'group1-shard1of1');
    const bytes = fs.readFileSync(shard);
    bytes[100] = (bytes[100]! + 1) % 256;
    fs.writeFileSync(shard, bytes);
    await expectStartFailure({ EMBEDDER: 'use', USE_MODEL_DIR: useDir, USE_CACHE_DIR: useDir, USE_CATALOG: catalogFile, USE_DOWNLOAD: 'false', MODEL_DIR: tempDir() }, /not found or not verified/);
  });
});

async function waitForJob(http: ReturnType<typeof supertest>, job: string) {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const status = (await http.post('/job_status').send({ job })).body;
    if (['finished', 'failed', 'canceled'].includes(status.job_status)) return status;
    if (Date.now() > deadline) throw new Error('training did not finish');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function expectStartFailure(env: Record<string, string>, message: RegExp) {
  let server;
  try {
    server = await spawnServer(SERVER, env);
  } catch (error) {
    expect((error as Error).message).to.match(message);
    return;
  }
  const code = await server.exited;
  expect(code).to.equal(1);
  expect(server.output()).to.match(message);
}
