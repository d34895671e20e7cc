import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { fetchUseModel } from '../../scripts/fetch-model.js';
import {
  USE_LITE_CATALOG,
  UseDownloadError,
  downloadUseFiles,
  verifyUseDir,
  type DownloadEvent,
  type UseCatalog,
} from '../../src/tf/use-files.js';
import { SYNTHETIC_USE_FILES, syntheticUseCatalog, writeSyntheticUseModel } from '../helpers/synthetic-use.js';

/** Serves `dir` at /use/<name>; `override` replaces a file's body (corruption, truncation). */
class FileServer {
  readonly override = new Map<string, Buffer>();
  readonly requests: string[] = [];
  #server: Server;
  constructor(readonly dir: string) {
    this.#server = createServer((req, res) => {
      const name = (req.url ?? '').replace(/^\/use\//, '');
      this.requests.push(name);
      const body = this.override.get(name);
      const send = (b: Buffer) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(b);
      if (body !== undefined) send(body);
      else if (!(SYNTHETIC_USE_FILES as readonly string[]).includes(name)) res.writeHead(404).end('not found');
      else readFile(join(this.dir, name)).then(send, () => res.writeHead(500).end());
    });
  }
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/use`;
  }
  stop(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

describe('tf/use-files: pinned catalogue, verification and download', () => {
  let root: string;
  let source: string;
  let server: FileServer;
  let catalog: UseCatalog;
  let n = 0;
  const dest = () => join(root, `dest-${++n}`);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'use-files-'));
    source = join(root, 'source');
    await writeSyntheticUseModel(source);
    server = new FileServer(source);
    catalog = await syntheticUseCatalog(source, await server.start());
  });
  after(async () => {
    await server.stop();
    await rm(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    server.override.clear();
    server.requests.length = 0;
  });

  it('pins the nine USE-lite files (28,369,009 B) with SHA-256s', () => {
    expect(USE_LITE_CATALOG.baseUrl).to.equal('https://storage.googleapis.com/tfjs-models/savedmodel/universal_sentence_encoder');
    expect(USE_LITE_CATALOG.files).to.have.length(9);
    expect(USE_LITE_CATALOG.files.reduce((s, f) => s + f.bytes, 0)).to.equal(28_369_009);
    expect(USE_LITE_CATALOG.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256))).to.equal(true);
    expect(USE_LITE_CATALOG.files.find((f) => f.name === 'model.json')?.sha256).to.match(/^507d11df.*3b53$/);
  });

  it('verifies a good directory and lists every problem of a bad one', async () => {
    expect(await verifyUseDir(source, catalog)).to.deep.equal({ ok: true });
    const r = await verifyUseDir(join(root, 'nowhere'));
    expect(r.ok).to.equal(false);
    if (!r.ok) {
      expect(r.problems).to.have.length(9);
      expect(r.problems[0]).to.equal('model.json: missing');
    }
  });

  it('downloads, verifies and renames every file into place; a second run skips them', async () => {
    const d = dest();
    const events: DownloadEvent[] = [];
    await downloadUseFiles(d, { catalog, onProgress: (e) => events.push(e) });
    expect((await readdir(d)).sort()).to.deep.equal([...SYNTHETIC_USE_FILES].sort()); // no temp files left
    expect(await verifyUseDir(d, catalog)).to.deep.equal({ ok: true });
    expect(events.filter((e) => e.type === 'done').map((e) => e.file)).to.deep.equal([...SYNTHETIC_USE_FILES]);
    expect(server.requests).to.deep.equal([...SYNTHETIC_USE_FILES]);

    server.requests.length = 0;
    const again: DownloadEvent[] = [];
    await downloadUseFiles(d, { catalog, onProgress: (e) => again.push(e) });
    expect(server.requests).to.deep.equal([]);
    expect(again.map((e) => e.type)).to.deep.equal(['skip', 'skip', 'skip']);
  });

  it('refuses a file with one corrupted byte and names file and hashes', async () => {
    const d = dest();
    const good = await readFile(join(source, 'group1-shard1of1'));
    const bad = Buffer.from(good);
    bad[1000] = (bad[1000] ?? 0) ^ 0xff;
    server.override.set('group1-shard1of1', bad);
    const expected = catalog.files.find((f) => f.name === 'group1-shard1of1')?.sha256 ?? '';
    let err: unknown;
    await downloadUseFiles(d, { catalog }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(UseDownloadError);
    expect((err as UseDownloadError).file).to.equal('group1-shard1of1');
    const msg = (err as Error).message;
    expect(msg).to.include('group1-shard1of1');
    expect(msg).to.include(`expected ${expected}`);
    expect(msg).to.match(/sha256 [0-9a-f]{64}/);
    // Files before it are in place; nothing at all under the refused name, no temp file.
    expect((await readdir(d)).sort()).to.deep.equal(['model.json', 'vocab.json']);
  });

  it('refuses a truncated file', async () => {
    const d = dest();
    const good = await readFile(join(source, 'vocab.json'));
    server.override.set('vocab.json', good.subarray(0, good.length - 10));
    let err: unknown;
    await downloadUseFiles(d, { catalog }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(UseDownloadError);
    expect((err as Error).message).to.match(/vocab\.json: size \d+ B, expected \d+ B/);
    expect(await readdir(d)).to.deep.equal(['model.json']);
  });

  it('refuses an oversized body without writing it', async () => {
    const d = dest();
    server.override.set('model.json', Buffer.alloc(200_000, 32));
    let err: unknown;
    await downloadUseFiles(d, { catalog }).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.include('more than the expected');
    expect(await readdir(d)).to.deep.equal([]);
  });

  it('replaces a corrupt file already under the final name', async () => {
    const d = dest();
    await downloadUseFiles(d, { catalog });
    await writeFile(join(d, 'vocab.json'), '[]');
    expect((await verifyUseDir(d, catalog)).ok).to.equal(false);
    await downloadUseFiles(d, { catalog });
    expect(await verifyUseDir(d, catalog)).to.deep.equal({ ok: true });
    expect(server.requests.filter((r) => r === 'vocab.json')).to.have.length(2);
  });

  it('reports HTTP errors and unreachable hosts with the URL', async () => {
    let err: unknown;
    await downloadUseFiles(dest(), { catalog, baseUrl: `${catalog.baseUrl}/missing` }).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.match(/HTTP 404 .*\/use\/missing\/model\.json/);

    const closed = new FileServer(source);
    const url = await closed.start();
    await closed.stop();
    err = undefined;
    await downloadUseFiles(dest(), { catalog, baseUrl: url }).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.include('ECONNREFUSED');
  });

  it('fetchUseModel downloads, verifies and prints how to use the directory', async () => {
    const d = dest();
    const lines: string[] = [];
    const r = await fetchUseModel({ dir: d, catalog, log: (l) => lines.push(l) });
    expect(r.dir).to.equal(d);
    expect(await verifyUseDir(d, catalog)).to.deep.equal({ ok: true });
    expect(lines.at(-1)).to.equal(`fetch-model: use them with USE_MODEL_DIR=${d}`);
    expect(lines.filter((l) => l.endsWith('sha256 verified'))).to.have.length(3);
  });

  it('fetchUseModel defaults to USE_MODEL_DIR', async () => {
    const d = dest();
    const r = await fetchUseModel({ catalog, env: { USE_MODEL_DIR: d }, log: () => {} });
    expect(r.dir).to.equal(d);
  });

  it('the fetch-model CLI exits non-zero with a one-line reason when the mirror answers 404', async function () {
    this.timeout(30_000);
    const require = createRequire(import.meta.url);
    const tsx = pathToFileURL(require.resolve('tsx')).href;
    const script = fileURLToPath(new URL('../../scripts/fetch-model.ts', import.meta.url));
    const d = dest();
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', tsx, script, '--dir', d, '--base-url', `${catalog.baseUrl}/nothing-here`], { cwd: root, timeout: 25_000 }, (_err, so, se) =>
        resolve({ code: child.exitCode, stdout: so, stderr: se }),
      );
    });
    expect(code).to.equal(1);
    expect(stdout).to.include(`into ${d}`);
    const errLines = stderr.trim().split('\n');
    expect(errLines).to.have.length(1);
    expect(errLines[0]).to.match(/^fetch-model: download of model\.json failed: HTTP 404/);
    expect(await readdir(d)).to.deep.equal([]);
  });
});
