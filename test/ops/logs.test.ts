import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { SERVE_TOY, freePort } from '../helpers/process.js';
import { SENTIMENT_CONFIG, tempDir, waitFor } from '../helpers/server.js';

const PASS = 'basic-PASS-7f3a';
const WRONG_PASS = 'wrong-PASS-91cc';
const API_KEY = 'ls-API-KEY-5d2e0b';
const WEBHOOK_TOKEN = 'hook-TOKEN-c4e1';
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('ops: structured logs', () => {
  it('redact config objects, env-shaped objects and request headers', () => {
    const sink = new PassThrough();
    let text = '';
    sink.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const logger = createLogger({ level: 'info', destination: sink });
    const config = loadConfig({ BASIC_AUTH_USER: 'ops', BASIC_AUTH_PASS: PASS, LABEL_STUDIO_URL: 'http://ls:8080', LABEL_STUDIO_API_KEY: API_KEY, WEBHOOK_TOKEN });
    logger.info({ config }, 'config');
    logger.info({ env: { LABEL_STUDIO_API_KEY: API_KEY, BASIC_AUTH_PASS: PASS, WEBHOOK_TOKEN } }, 'env');
    logger.info({ req: { headers: { authorization: basic('ops', PASS) } } }, 'request');
    expect(text).to.include('[REDACTED]').and.include('"basicAuthUser":"ops"');
    for (const secret of [PASS, API_KEY, WEBHOOK_TOKEN, basic('ops', PASS).slice(6)]) expect(text).to.not.include(secret);
  });

  let child: ChildProcess | undefined;
  let labelStudio: http.Server | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    labelStudio?.close();
  });

  it('are JSON lines with request ids, and never contain passwords, API keys, tokens or Authorization headers', async () => {
    // A Label Studio that fails the annotation export, so the trainer logs an error about it.
    const seenAuth: string[] = [];
    labelStudio = http.createServer((req, res) => {
      seenAuth.push(req.headers.authorization ?? '');
      res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
    });
    await new Promise<void>((resolve) => labelStudio?.listen(0, '127.0.0.1', resolve));
    const port = await freePort();
    const env = {
      ...process.env, CI: 'true', HOST: '127.0.0.1', PORT: String(port), MODEL_DIR: tempDir(), LOG_LEVEL: 'debug',
      BASIC_AUTH_USER: 'ops', BASIC_AUTH_PASS: PASS, WEBHOOK_TOKEN, TRAIN_EVERY_N_ANNOTATIONS: '0',
      LABEL_STUDIO_URL: `http://127.0.0.1:${(labelStudio.address() as AddressInfo).port}`, LABEL_STUDIO_API_KEY: API_KEY,
    };
    child = spawn(process.execPath, ['--import', 'tsx', SERVE_TOY], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    const good = { authorization: basic('ops', PASS), 'content-type': 'application/json' };
    await waitFor(async () => (await fetch(`${url}/health`, { headers: good }).catch(() => undefined))?.ok, 30_000, `server start:\n${stdout}${stderr}`);

    await fetch(`${url}/setup`, { method: 'POST', headers: { ...good, 'x-request-id': 'req-abc-123' }, body: JSON.stringify({ project: '5', schema: SENTIMENT_CONFIG }) });
    expect((await fetch(`${url}/versions`, { headers: { authorization: basic('ops', WRONG_PASS) } })).status).to.equal(401);
    expect((await fetch(`${url}/versions`, { headers: { authorization: `Token ${API_KEY}` } })).status).to.equal(401);
    const training = { action: 'START_TRAINING', project: { id: 5, label_config: SENTIMENT_CONFIG } };
    const webhook = await fetch(`${url}/webhook?token=${WEBHOOK_TOKEN}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(training) });
    expect(webhook.status).to.equal(201);
    // The trainer asks Label Studio for the export with the API key, fails, and logs why.
    await waitFor(async () => stdout.includes('"msg":"training job finished"'), 20_000, `the failed training log:\n${stdout}`);
    expect(seenAuth[0]).to.equal(`Token ${API_KEY}`);
    expect(stdout).to.match(/"state":"failed".*"msg":"training job finished"/);

    child.kill('SIGTERM');
    expect(await exited).to.equal(0);
    const lines = stdout.trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line), line).to.not.throw();
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.find((r) => r.requestId === 'req-abc-123' && r.msg === 'request')).to.include({ method: 'POST', path: '/setup', status: 200 });
    expect(records.some((r) => r.msg === 'request' && r.status === 401)).to.equal(true);

    const everything = stdout + stderr;
    for (const secret of [PASS, WRONG_PASS, API_KEY, WEBHOOK_TOKEN, basic('ops', PASS).slice(6), basic('ops', WRONG_PASS).slice(6)]) {
      expect(everything, `secret ${secret} in logs`).to.not.include(secret);
    }
  });
});
