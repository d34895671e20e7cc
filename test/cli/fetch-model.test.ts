import { expect } from 'chai';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { tempDir } from '../helpers/server.js';
import { expectOneLineFailure, runCli } from './run-cli.js';

const FILES: Record<string, Buffer> = { 'model.json': Buffer.from('{"format":"graph-model"}'), 'group1-shard1of1': Buffer.alloc(4096, 7) };

describe('cli: fetch-model use', () => {
  let server: http.Server;
  let baseUrl: string;
  let catalog: string;

  before(async () => {
    server = http.createServer((req, res) => {
      const name = (req.url ?? '').split('/').pop() ?? '';
      const body = name === 'tampered' ? Buffer.from('evil') : FILES[name];
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/use`;
    catalog = path.join(tempDir(), 'catalog.json');
    const files = Object.entries(FILES).map(([name, body]) => ({ name, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') }));
    fs.writeFileSync(catalog, JSON.stringify({ baseUrl, files }));
  });
  after(() => server.close());

  it('downloads and verifies every file, then --check passes', async () => {
    const dir = path.join(tempDir(), 'use');
    const first = await runCli(['fetch-model', 'use', '--dir', dir, '--catalog', catalog]);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.include('model.json: 24 B, sha256 verified').and.include(`all 2 files verified in ${dir}`);
    expect(fs.readFileSync(path.join(dir, 'group1-shard1of1')).equals(FILES['group1-shard1of1'] as Buffer)).to.equal(true);
    const check = await runCli(['fetch-model', 'use', '--dir', dir, '--catalog', catalog, '--check']);
    expect(check.code, check.stderr).to.equal(0);
    expect(check.stdout).to.include(`all 2 files verified in ${dir}`);
  });

  it('refuses a file whose checksum does not match, and --check on an empty directory fails; one line each', async () => {
    const tampered = path.join(tempDir(), 'catalog.json');
    fs.writeFileSync(tampered, JSON.stringify({ baseUrl, files: [{ name: 'tampered', bytes: 4, sha256: '0'.repeat(64) }] }));
    const dir = path.join(tempDir(), 'use');
    const [bad, check, offline] = await Promise.all([
      runCli(['fetch-model', 'use', '--dir', dir, '--catalog', tampered]),
      runCli(['fetch-model', 'use', '--dir', tempDir(), '--check']),
      runCli(['fetch-model', 'use', '--dir', tempDir(), '--catalog', catalog, '--base-url', 'http://127.0.0.1:9/use']),
    ]);
    expect(expectOneLineFailure(bad)).to.match(/refusing download .*tampered: sha256 /);
    expect(fs.existsSync(path.join(dir, 'tampered'))).to.equal(false);
    expect(expectOneLineFailure(check)).to.match(/does not hold the verified files: model\.json: missing/);
    expect(expectOneLineFailure(offline)).to.match(/download of model\.json .* failed/);
  });
});
