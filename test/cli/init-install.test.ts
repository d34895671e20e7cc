/**
 * What a new user does: `init my-backend`, the `npm install` it suggests (here preferring the
 * npm cache; the packed copy of this package needs nothing from the registry), then start the
 * installed CLI, /health, one training and a prediction over HTTP.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import supertest from 'supertest';
import { spawnCommand } from '../../scripts/lib/spawn-server.js';
import { tempDir } from '../helpers/server.js';
import { runCli } from './run-cli.js';

const run = promisify(execFile);
const CONFIG = '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices></View>';
const ROWS: Array<[string, string]> = [
  ['I love it', 'Positive'], ['great and lovely', 'Positive'], ['excellent work', 'Positive'],
  ['I hate it', 'Negative'], ['awful and terrible', 'Negative'], ['horrible work', 'Negative'],
];

describe('cli: init → npm install → start → /health → training', function () {
  this.timeout(600_000);

  it('the starter installs and trains', async () => {
    const dir = path.join(tempDir(), 'my-backend');
    const init = await runCli(['init', dir], { timeoutMs: 120_000 });
    expect(init.code, init.stderr).to.equal(0);
    expect(init.stdout).to.include('npm install');
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=optional'], { cwd: dir, env: { ...process.env, CI: 'true' }, maxBuffer: 16 << 20 });

    // The installed package's own CLI (not this checkout's).
    const bin = path.join(dir, 'node_modules', 'label-studio-ml-tfjs', 'bin', 'label-studio-ml-tfjs.js');
    const server = await spawnCommand([bin, 'start', 'model.ts'], { cwd: dir, env: { MODEL_DIR: path.join(dir, 'checkpoints'), TRAIN_EVERY_N_ANNOTATIONS: '0', LOG_LEVEL: 'warn' } });
    try {
      const http = supertest(server.url);
      const health = (await http.get('/health').expect(200)).body;
      expect(health).to.include({ status: 'UP', model_class: 'Model' });
      for (const [i, [text, choice]] of ROWS.entries()) {
        await http
          .post('/webhook')
          .send({ action: 'ANNOTATION_CREATED', annotation: { id: i + 1, task: i + 1, result: [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: [choice] } }] }, task: { id: i + 1, data: { text } }, project: { id: 1, label_config: CONFIG } })
          .expect(201);
      }
      const { body } = await http.post('/webhook').send({ action: 'START_TRAINING', project: { id: 1, label_config: CONFIG } }).expect(201);
      let status: { job_status: string; job: { version?: string } } | undefined;
      for (let i = 0; i < 600; i++) {
        status = (await http.post('/job_status').send({ job: body.job })).body;
        if (['finished', 'failed', 'canceled'].includes(status!.job_status)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(status!.job_status, JSON.stringify(status)).to.equal('finished');
      const predicted = (await http.post('/predict').send({ project: '1', label_config: CONFIG, tasks: [{ id: 9, data: { text: 'I love this, excellent' } }] }).expect(200)).body;
      expect(predicted.results[0].model_version).to.equal(status!.job.version);
    } finally {
      await server.stop();
    }
  });
});
