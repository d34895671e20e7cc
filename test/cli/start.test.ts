import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../helpers/process.js';
import { tempDir, waitFor } from '../helpers/server.js';
import { CLI_BIN, TOY_ENTRY, cliEnv, expectOneLineFailure, runCli } from './run-cli.js';

describe('cli: start and healthcheck', () => {
  let child: ChildProcess | undefined;
  afterEach(() => child?.kill('SIGKILL'));

  it('serves the module with flags overriding env, Basic auth on; healthcheck passes auth; SIGTERM exits 0', async () => {
    const port = await freePort();
    const modelDir = path.join(tempDir(), 'models');
    // The environment says otherwise: every flag below must win.
    const env = cliEnv({ PORT: '1', HOST: '0.0.0.0', MODEL_DIR: '/nonexistent/elsewhere', LOG_LEVEL: 'error', BASIC_AUTH_USER: undefined, BASIC_AUTH_PASS: undefined });
    child = spawn(process.execPath, [
      CLI_BIN, 'start', TOY_ENTRY, '--port', String(port), '--host', '127.0.0.1', '--model-dir', modelDir,
      '--basic-auth-user', 'ops', '--basic-auth-pass', 's3cret', '--log-level', 'info', '--export', 'default',
    ], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` };
    await waitFor(async () => (await fetch(`${url}/health`, { headers: auth }).catch(() => undefined))?.ok, 30_000, `server start:\n${output}`);

    expect((await fetch(`${url}/health`)).status).to.equal(401);
    expect(fs.existsSync(path.join(modelDir, 'backend.sqlite'))).to.equal(true);
    expect(output).to.include('"msg":"listening"');

    const [healthy, unauthorised, ready] = await Promise.all([
      runCli(['healthcheck', '--url', url], { env: { BASIC_AUTH_USER: 'ops', BASIC_AUTH_PASS: 's3cret' } }),
      runCli(['healthcheck', '--url', url], { env: { BASIC_AUTH_USER: undefined, BASIC_AUTH_PASS: undefined } }),
      runCli(['healthcheck', '--ready'], { env: { PORT: String(port), BASIC_AUTH_USER: 'ops', BASIC_AUTH_PASS: 's3cret' } }),
    ]);
    expect(healthy.code, healthy.stderr).to.equal(0);
    expect(unauthorised.code).to.equal(1);
    expect(unauthorised.stderr.trim()).to.equal(`label-studio-ml-tfjs: error: ${url}/health: HTTP 401`);
    expect(ready.code, ready.stderr).to.equal(0);

    child.kill('SIGTERM');
    expect(await exited).to.equal(0);
    expect(output).to.include('"msg":"stopped"');
  });

  it('fails with one line when the port is taken or the model module has no model class', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type": "module"}');
    fs.writeFileSync(path.join(dir, 'not-a-model.ts'), 'export const x = 1;\n');
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const [noModel, busy] = await Promise.all([
        runCli(['start', path.join(dir, 'not-a-model.ts'), '--port', '0', '--log-level', 'silent']),
        runCli(['start', TOY_ENTRY, '--host', '127.0.0.1', '--port', String(taken), '--log-level', 'silent', '--model-dir', dir]),
      ]);
      expect(expectOneLineFailure(noModel)).to.match(/not-a-model\.ts exports no class that extends LabelStudioMLBase$/);
      expect(expectOneLineFailure(busy)).to.match(/EADDRINUSE/);
    } finally {
      blocker.close();
    }
  });
});
