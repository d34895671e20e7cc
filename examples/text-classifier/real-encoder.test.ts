/**
 * The text classifier on the real USE-lite with default settings (the combined encoder), as a
 * user runs it: a server process, annotations by webhook, training, predictions over HTTP on
 * sentences it never saw, and the embedding cache surviving a restart. The sentences below were
 * written for this project.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import supertest from 'supertest';
import { spawnServer, type ChildServer } from '../../test/helpers/process.js';
import { tempDir } from '../../test/helpers/server.js';

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
const CONFIG = '<View><Text name="text" value="$text"/><Choices name="intent" toName="text"><Choice value="card"/><Choice value="transfer"/><Choice value="app"/></Choices></View>';

const TRAIN: Array<[string, string]> = [
  ['My card has not arrived yet', 'card'],
  ['I lost my debit card yesterday', 'card'],
  ['The card was swallowed by the cash machine', 'card'],
  ['How do I activate my new card?', 'card'],
  ['My card is damaged and does not work', 'card'],
  ['Please block my credit card, it was stolen', 'card'],
  ['I sent money to my sister but she has not received it', 'transfer'],
  ['How long does a bank transfer take?', 'transfer'],
  ['The payment to my landlord is still pending', 'transfer'],
  ['Can I send money abroad in dollars?', 'transfer'],
  ['I transferred funds to the wrong account', 'transfer'],
  ['Why was my transfer declined?', 'transfer'],
  ['The app crashes every time I log in', 'app'],
  ['I cannot update the mobile application', 'app'],
  ['The app shows a blank screen after the update', 'app'],
  ['How do I turn on notifications in the app?', 'app'],
  ['The application will not open on my phone', 'app'],
  ['I forgot the passcode for the app', 'app'],
];

/** Paraphrases that share few words with the training sentences. */
const HELD_OUT: Array<[string, string]> = [
  ['I am still waiting for my new card to be delivered', 'card'],
  ['Someone stole my wallet with the card inside', 'card'],
  ['My friend is still waiting for the money I wired', 'transfer'],
  ['Is there a fee for sending cash overseas?', 'transfer'],
  ['The software freezes on my iPhone', 'app'],
  ['After installing the latest version nothing loads', 'app'],
];

describe('example: text classifier on the real USE-lite (default settings)', function () {
  this.timeout(240_000);
  const modelDir = tempDir('real-use-');
  let server: ChildServer | undefined;
  const start = async () => {
    server = await spawnServer(SERVER, { MODEL_DIR: modelDir, TRAIN_EVERY_N_ANNOTATIONS: '0', LOG_LEVEL: 'warn', EMBED_WORKERS: '1' }, { startTimeoutMs: 60_000 });
    const http = supertest(server.url);
    for (let i = 0; i < 600 && (await http.get('/ready')).status !== 200; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    await http.get('/ready').expect(200);
    return http;
  };
  const predictions = async (http: ReturnType<typeof supertest>, texts: string[]) =>
    ((await http.post('/predict').send({ project: '1', label_config: CONFIG, tasks: texts.map((text, i) => ({ id: 100 + i, data: { text } })) }).expect(200)).body as {
      results: Array<{ result: Array<{ value: { choices: string[] } }>; model_version: string }>;
    }).results;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('names the encoder in /health, trains on annotations and predicts paraphrases it never saw', async () => {
    const http = await start();
    const health = (await http.get('/health').expect(200)).body;
    expect(health.embedder).to.match(/^combined\(use-lite@507d11df18b0\*1\+hashed-ngrams@v1:[0-9a-f]{8}\)$/);
    for (const [i, [text, choice]] of TRAIN.entries()) {
      await http
        .post('/webhook')
        .send({
          action: 'ANNOTATION_CREATED',
          annotation: { id: i + 1, task: i + 1, result: [{ from_name: 'intent', to_name: 'text', type: 'choices', value: { choices: [choice] } }] },
          task: { id: i + 1, data: { text } },
          project: { id: 1, label_config: CONFIG },
        })
        .expect(201);
    }
    const { body } = await http.post('/webhook').send({ action: 'START_TRAINING', project: { id: 1, label_config: CONFIG } }).expect(201);
    let status: { job_status: string; job: { version?: string; error?: string } } | undefined;
    for (let i = 0; i < 1200; i++) {
      status = (await http.post('/job_status').send({ job: body.job })).body;
      if (['finished', 'failed', 'canceled'].includes(status!.job_status)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status!.job_status, JSON.stringify(status)).to.equal('finished');
    const results = await predictions(http, HELD_OUT.map(([text]) => text));
    const chosen = results.map((r) => r.result[0]!.value.choices[0]);
    expect(chosen).to.deep.equal(HELD_OUT.map(([, label]) => label));
    expect(results.every((r) => r.model_version === status!.job.version)).to.equal(true);
    // The training embedded through the server's pool into the cache under MODEL_DIR.
    expect(fs.statSync(path.join(modelDir, 'embeddings.sqlite')).size).to.be.greaterThan(0);
  });

  it('after a restart, texts already predicted come from the embedding cache', async () => {
    const http = await start();
    const texts = HELD_OUT.map(([text]) => text);
    const results = await predictions(http, texts);
    expect(results.map((r) => r.result[0]!.value.choices[0])).to.deep.equal(HELD_OUT.map(([, label]) => label));
    const health = (await http.get('/health').expect(200)).body;
    expect(health.embedding_cache).to.deep.equal({ hits: texts.length, embedded: 0 });
  });
});
