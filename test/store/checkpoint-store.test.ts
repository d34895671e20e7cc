import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CheckpointError, MlBackendError } from '../../src/errors.js';
import type { JobRecord } from '../../src/types.js';
import { FsCheckpointStore, type PendingCheckpoint } from '../../src/store/index.js';

const job = (id: string): JobRecord => ({ id, project: '1', state: 'running', event: 'START_TRAINING', triggers: 1, createdAt: new Date().toISOString() });

async function rejection(promise: Promise<unknown>): Promise<MlBackendError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(MlBackendError);
    return err as MlBackendError;
  }
  throw new Error('expected a rejection');
}

describe('store/checkpoint-store', () => {
  let base: string;
  let root: string;
  let problems: string[];
  let store: FsCheckpointStore;

  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'store-ckpt-'));
    root = path.join(base, 'model-dir');
    problems = [];
    store = new FsCheckpointStore(root, { onProblem: (text) => problems.push(text) });
  });
  afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

  /** What a model's fit does: save model.json + weights.bin into the workdir. */
  async function train(project: string, weights: number[] = [1, 2, 3]): Promise<PendingCheckpoint> {
    const pending = await store.begin(project);
    fs.mkdirSync(path.join(pending.workdir, 'model'));
    fs.writeFileSync(path.join(pending.workdir, 'model', 'model.json'), JSON.stringify({ format: 'layers-model', weights }));
    fs.writeFileSync(path.join(pending.workdir, 'model', 'weights.bin'), Buffer.from(new Float32Array(weights).buffer));
    await store.promote(pending, { modelPath: path.join(pending.workdir, 'model', 'model.json'), labels: ['A', 'B'], nested: [{ dir: pending.workdir }] }, job(pending.version));
    return pending;
  }

  it('hashes a checkpoint once: what promotion hashed is not hashed again to load or list it (issue 11)', async () => {
    const pending = await train('1');
    expect(store.filesHashed).to.equal(0);
    await store.loadCurrent('1');
    await store.load('1', pending.version);
    await store.list('1');
    expect(store.filesHashed, 'verification re-hashed what promotion had just hashed').to.equal(0);
    // Another process (a fresh store) verifies every file once, then trusts the unchanged stats.
    const other = new FsCheckpointStore(root, { onProblem: () => undefined });
    await other.load('1', pending.version);
    await other.loadCurrent('1');
    expect(other.filesHashed).to.equal(4); // model.json, weights.bin, train_output.json, job.json
  });

  it('announces a new current version: at once in this store, within the poll interval from another store', async () => {
    const first = await train('1');
    const second = await train('1');
    const watcher = new FsCheckpointStore(root, { onProblem: () => undefined, pollMs: 50 });
    try {
      const heardHere: string[] = [];
      const heardThere: string[] = [];
      store.onCurrentChange((project) => heardHere.push(project));
      watcher.onCurrentChange((project) => heardThere.push(project));
      expect((await watcher.loadCurrent('1'))?.version).to.equal(second.version); // the watcher has seen project 1
      await store.setCurrent('1', first.version);
      expect(heardHere).to.deep.equal(['1']);
      const deadline = Date.now() + 5000;
      while (heardThere.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(heardThere).to.deep.equal(['1']);
      expect((await watcher.loadCurrent('1'))?.version).to.equal(first.version);
      await store.setCurrent('1', first.version); // no change, no news
      expect(heardHere).to.deep.equal(['1']);
    } finally {
      watcher.close();
      store.close();
    }
  });

  it('begins a fresh, uniquely named workdir', async () => {
    const first = await store.begin('1');
    const second = await store.begin('1');
    expect(first.version).to.match(/^v0001-\d{8}T\d{6}Z$/);
    expect(second.version).to.match(/^v0002-/);
    expect(first.workdir).to.equal(path.join(root, '1', `${first.version}.tmp`));
    expect(first.dir).to.equal(path.join(root, '1', first.version));
    expect(fs.readdirSync(first.workdir)).to.deep.equal([]);
    expect(await store.list('1')).to.deep.equal([]); // workdirs are never listed
    expect(await store.loadCurrent('1')).to.equal(null);
  });

  it('gives concurrent begins distinct versions', async () => {
    const pending = await Promise.all([store.begin('1'), store.begin('1'), store.begin('1')]);
    expect(new Set(pending.map((p) => p.version)).size).to.equal(3);
  });

  it('promotes: rewrites paths, writes a manifest, renames and switches current', async () => {
    const pending = await store.begin('1');
    fs.mkdirSync(path.join(pending.workdir, 'model'));
    fs.writeFileSync(path.join(pending.workdir, 'model', 'weights.bin'), 'abc');
    const info = await store.promote(pending, {
      modelPath: path.join(pending.workdir, 'model', 'weights.bin'), list: [pending.workdir, 'keep/me'], workdir: 'stale', other: 3,
    }, job('j1'));
    expect(fs.existsSync(pending.workdir)).to.equal(false);
    expect(info).to.include({ project: '1', version: pending.version, dir: pending.dir, current: true });
    const saved = JSON.parse(fs.readFileSync(path.join(pending.dir, 'train_output.json'), 'utf8'));
    expect(saved).to.deep.equal({ modelPath: path.join(pending.dir, 'model', 'weights.bin'), list: [pending.dir, 'keep/me'], workdir: pending.dir, other: 3 });
    const manifest = JSON.parse(fs.readFileSync(path.join(pending.dir, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.files).sort()).to.deep.equal(['job.json', 'model/weights.bin', 'train_output.json']);
    expect(manifest.files['model/weights.bin']).to.deep.equal({ size: 3, sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' });
    expect(fs.readFileSync(path.join(root, '1', 'current'), 'utf8').trim()).to.equal(pending.version);
    const loaded = await store.loadCurrent('1');
    expect(loaded).to.deep.equal({ project: '1', version: pending.version, dir: pending.dir, trainOutput: saved });
    expect(JSON.parse(fs.readFileSync(path.join(pending.dir, 'job.json'), 'utf8')).id).to.equal('j1');
    expect(problems).to.deep.equal([]);
  });

  it('lists versions oldest first with their job, size and current flag', async () => {
    const a = await train('1');
    const b = await train('1');
    const list = await store.list('1');
    expect(list.map((c) => [c.version, c.current, c.corrupt])).to.deep.equal([[a.version, false, undefined], [b.version, true, undefined]]);
    expect(list[1]?.job?.id).to.equal(b.version);
    expect(list[1]?.sizeBytes).to.be.greaterThan(12);
    expect(list[1]?.trainOutput?.['workdir']).to.equal(b.dir);
    expect(await store.listProjects()).to.deep.equal(['1']);
  });

  it('rolls back and forward with setCurrent, which persists', async () => {
    const a = await train('1');
    const b = await train('1');
    await store.setCurrent('1', a.version);
    const reopened = new FsCheckpointStore(root);
    expect((await reopened.loadCurrent('1'))?.version).to.equal(a.version);
    await store.setCurrent('1', b.version);
    expect((await store.loadCurrent('1'))?.version).to.equal(b.version);
    expect((await rejection(store.setCurrent('1', 'v0099-20260101T000000Z'))).code).to.equal('MLB_ERR_VERSION_NOT_FOUND');
    expect((await rejection(store.load('1', 'v0099-20260101T000000Z')))).to.be.instanceOf(CheckpointError);
  });

  it('flags a flipped weights byte and serves the previous intact version', async () => {
    const a = await train('1');
    const b = await train('1');
    expect((await store.list('1')).every((c) => c.corrupt === undefined)).to.equal(true); // cached as intact
    const weights = path.join(b.dir, 'model', 'weights.bin');
    const bytes = fs.readFileSync(weights);
    bytes[5] = (bytes[5] ?? 0) ^ 0xff;
    fs.writeFileSync(weights, bytes);
    const list = await store.list('1');
    expect(list[1]?.corrupt).to.match(/model\/weights\.bin/);
    expect(list[1]?.trainOutput).to.equal(null);
    expect((await store.loadCurrent('1'))?.version).to.equal(a.version);
    expect(problems).to.have.length(1);
    expect(problems[0]).to.include(b.version).and.include(a.version);
    expect((await rejection(store.load('1', b.version))).code).to.equal('MLB_ERR_CHECKPOINT_CORRUPT');
    expect((await rejection(store.setCurrent('1', b.version))).code).to.equal('MLB_ERR_CHECKPOINT_CORRUPT');
  });

  it('flags a changed model.json, a missing manifest and a bad train_output', async () => {
    const a = await train('1');
    const b = await train('1');
    const c = await train('1');
    const d = await train('1');
    fs.writeFileSync(path.join(d.dir, 'model', 'model.json'), '{"format":"layers-model","weights":[9,9,9]}'); // same length
    fs.rmSync(path.join(c.dir, 'manifest.json'));
    fs.writeFileSync(path.join(b.dir, 'train_output.json'), '[1]');
    const corrupt = (await store.list('1')).map((info) => info.corrupt !== undefined);
    expect(corrupt).to.deep.equal([false, true, true, true]);
    expect((await store.loadCurrent('1'))?.version).to.equal(a.version);
  });

  it('serves the newest intact version when current is missing or names nothing', async () => {
    await train('1');
    const b = await train('1');
    fs.rmSync(path.join(root, '1', 'current'));
    expect((await store.loadCurrent('1'))?.version).to.equal(b.version);
    fs.writeFileSync(path.join(root, '1', 'current'), 'v0042-20260101T000000Z\n');
    expect((await store.loadCurrent('1'))?.version).to.equal(b.version);
    fs.writeFileSync(path.join(root, '1', 'current'), '../../etc\n');
    expect((await store.loadCurrent('1'))?.version).to.equal(b.version);
    expect(problems).to.have.length(3);
  });

  it('serves nothing when no version is intact', async () => {
    const a = await train('1');
    fs.rmSync(path.join(a.dir, 'model', 'weights.bin'));
    expect(await store.loadCurrent('1')).to.equal(null);
    expect(problems[0]).to.include('no intact version');
  });

  it('moves train_output paths along when MODEL_DIR itself moved', async () => {
    const a = await train('1');
    const moved = path.join(base, 'elsewhere');
    fs.renameSync(root, moved);
    const loaded = await new FsCheckpointStore(moved).loadCurrent('1');
    const dir = path.join(moved, '1', a.version);
    expect(loaded?.trainOutput).to.deep.include({ workdir: dir, modelPath: path.join(dir, 'model', 'model.json'), nested: [{ dir }] });
  });

  it('never lists or serves a crashed .tmp workdir, and cleanupIncomplete removes it', async () => {
    const a = await train('1');
    const crashed = await store.begin('1');
    fs.writeFileSync(path.join(crashed.workdir, 'train_output.json'), '{}');
    fs.writeFileSync(path.join(crashed.workdir, 'manifest.json'), '{"createdAt":"x","files":{}}');
    const other = await store.begin('2');
    expect((await store.list('1')).map((c) => c.version)).to.deep.equal([a.version]);
    expect((await store.loadCurrent('1'))?.version).to.equal(a.version);
    expect(await store.list('2')).to.deep.equal([]);
    const next = await store.begin('1'); // the crashed number is not reused
    expect(next.version > crashed.version).to.equal(true);
    expect(await store.cleanupIncomplete('1')).to.equal(2); // one project's leftovers (a training about to start there)
    expect(fs.existsSync(other.workdir)).to.equal(true);
    expect(await store.cleanupIncomplete()).to.equal(1);
    expect(fs.existsSync(crashed.workdir) || fs.existsSync(other.workdir) || fs.existsSync(next.workdir)).to.equal(false);
    expect(fs.existsSync(a.dir)).to.equal(true);
    expect(await store.cleanupIncomplete()).to.equal(0);
  });

  it('discards a workdir that will not be promoted', async () => {
    const pending = await store.begin('1');
    fs.writeFileSync(path.join(pending.workdir, 'x'), 'x');
    await store.discard(pending);
    expect(fs.existsSync(pending.workdir)).to.equal(false);
    expect((await rejection(store.promote(pending, {}, job('x')))).code).to.equal('MLB_ERR_VERSION_NOT_FOUND');
  });

  it('prunes oldest first, never the current version', async () => {
    const versions = [];
    for (let i = 0; i < 5; i++) versions.push((await train('1')).version);
    await store.setCurrent('1', versions[0] ?? '');
    expect(await store.prune('1', 2)).to.deep.equal(versions.slice(1, 3));
    expect((await store.list('1')).map((c) => c.version)).to.deep.equal([versions[0], versions[3], versions[4]]);
    expect(await store.prune('1', 2)).to.deep.equal([]);
    expect((await rejection(store.prune('1', 0))).status).to.equal(400);
    expect(await store.cleanupIncomplete()).to.equal(0); // no leftovers from pruning
  });

  it('rejects unsafe names before touching the file system', async () => {
    const badProjects = ['..', '../x', 'a/b', 'a\\b', 'a\0b', '/tmp/abs', 'x'.repeat(300), 'x.tmp', '.'];
    for (const project of badProjects) {
      expect((await rejection(store.begin(project))).code, project).to.equal('MLB_ERR_BAD_PROJECT_ID');
      expect((await rejection(store.list(project))).code, project).to.equal('MLB_ERR_BAD_PROJECT_ID');
      expect((await rejection(store.loadCurrent(project))).code, project).to.equal('MLB_ERR_BAD_PROJECT_ID');
    }
    await train('1');
    const badVersions = ['..', '../1', '../../x', 'a/b', 'a\\b', 'a\0b', '/etc/passwd', 'x'.repeat(300), 'x.tmp', '.', 'current/..'];
    for (const version of badVersions) {
      expect((await rejection(store.setCurrent('1', version))).code, version).to.equal('MLB_ERR_BAD_VERSION');
      expect((await rejection(store.load('1', version))).code, version).to.equal('MLB_ERR_BAD_VERSION');
      const fake = { project: '1', version, workdir: path.join(base, 'evil'), dir: path.join(base, 'evil2') };
      expect((await rejection(store.promote(fake, {}, job('x')))).code, version).to.equal('MLB_ERR_BAD_VERSION');
      expect((await rejection(store.discard(fake))).code, version).to.equal('MLB_ERR_BAD_VERSION');
    }
    // A safe name with paths pointing elsewhere is refused too.
    const pending = await store.begin('1');
    fs.mkdirSync(path.join(base, 'evil'));
    expect((await rejection(store.promote({ ...pending, workdir: path.join(base, 'evil') }, {}, job('x')))).code).to.equal('MLB_ERR_STORAGE');
    expect(fs.readdirSync(base).sort()).to.deep.equal(['evil', 'model-dir']);
    expect(fs.readdirSync(root)).to.deep.equal(['1']);
  });

  it('lists only project directories under the root', async () => {
    fs.mkdirSync(root, { recursive: true });
    fs.writeFileSync(path.join(root, 'backend.sqlite'), '');
    fs.mkdirSync(path.join(root, '.hidden'));
    await store.begin('7');
    await store.begin('default');
    expect(await store.listProjects()).to.deep.equal(['7', 'default']);
    expect(await new FsCheckpointStore(path.join(base, 'missing')).listProjects()).to.deep.equal([]);
  });
});
