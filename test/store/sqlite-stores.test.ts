import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MlBackendError } from '../../src/errors.js';
import type { JobRecord } from '../../src/types.js';
import { openStores, type Stores } from '../../src/store/index.js';

describe('store/database, kv-store and job-store', () => {
  let dir: string;
  let stores: Stores;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-db-'));
    stores = openStores(path.join(dir, 'model-dir'), { onProblem: () => {} });
  });
  afterEach(() => {
    stores.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const reopen = () => {
    stores.close();
    stores = openStores(path.join(dir, 'model-dir'), { onProblem: () => {} });
  };

  it('creates MODEL_DIR and opens the database in WAL mode with a schema version', () => {
    expect(fs.existsSync(path.join(dir, 'model-dir', 'backend.sqlite'))).to.equal(true);
    expect(stores.db.pragma('journal_mode', { simple: true })).to.equal('wal');
    expect(stores.db.pragma('user_version', { simple: true })).to.equal(1);
    expect(stores.db.pragma('busy_timeout', { simple: true })).to.equal(5000);
  });

  it('reports an unusable MODEL_DIR as MLB_ERR_STORAGE', () => {
    const file = path.join(dir, 'not-a-dir');
    fs.writeFileSync(file, 'x');
    expect(() => openStores(file)).to.throw(MlBackendError).with.property('code', 'MLB_ERR_STORAGE');
    expect(() => openStores(path.join(file, 'below'))).to.throw(MlBackendError).with.property('code', 'MLB_ERR_STORAGE');
  });

  it('refuses a database written by a newer schema', () => {
    stores.db.pragma('user_version = 99');
    expect(() => openStores(path.join(dir, 'model-dir'))).to.throw(MlBackendError, /schema version 99/);
  });

  it('lets a second connection (a training worker) open the same file', () => {
    const other = openStores(path.join(dir, 'model-dir'));
    other.kv.set('p', 'from-worker', 1);
    expect(stores.kv.get('p', 'from-worker')).to.equal(1);
    other.close();
  });

  it('round-trips JSON values per project and keeps them across reopen', () => {
    const { kv } = stores;
    kv.set('1', 'model_version', 'v0001');
    kv.set('1', 'extra', { a: [1, 2, { b: null }], c: true });
    kv.set('2', 'model_version', 'other');
    expect(kv.get('1', 'model_version')).to.equal('v0001');
    expect(kv.has('1', 'extra')).to.equal(true);
    expect(kv.has('1', 'missing')).to.equal(false);
    expect(kv.get('1', 'missing')).to.equal(undefined);
    kv.set('1', 'model_version', 'v0002');
    kv.delete('2', 'model_version');
    reopen();
    expect(stores.kv.get('1', 'model_version')).to.equal('v0002');
    expect(stores.kv.get('1', 'extra')).to.deep.equal({ a: [1, 2, { b: null }], c: true });
    expect(stores.kv.has('2', 'model_version')).to.equal(false);
  });

  it('refuses to store undefined', () => {
    expect(() => stores.kv.set('1', 'k', undefined as never)).to.throw(TypeError);
    expect(stores.kv.has('1', 'k')).to.equal(false);
  });

  const job = (id: string, overrides: Partial<JobRecord> = {}): JobRecord => ({
    id, project: '1', state: 'queued', event: 'START_TRAINING', triggers: 1, createdAt: `2026-01-01T00:00:0${id}.000Z`, ...overrides,
  });

  it('saves, updates and lists jobs newest first, across reopen', () => {
    const { jobs } = stores;
    jobs.save(job('1'));
    jobs.save(job('2'));
    jobs.save(job('3', { project: '2' }));
    jobs.save(job('1', { state: 'succeeded', version: 'v0001-20260101T000000Z' }));
    reopen();
    expect(stores.jobs.get('1')).to.include({ state: 'succeeded', version: 'v0001-20260101T000000Z' });
    expect(stores.jobs.get('nope')).to.equal(undefined);
    expect(stores.jobs.listByProject('1').map((j) => j.id)).to.deep.equal(['2', '1']);
    expect(stores.jobs.listByProject('1', 1).map((j) => j.id)).to.deep.equal(['2']);
  });

  it('fails jobs left queued or running by a dead process', () => {
    const { jobs } = stores;
    jobs.save(job('1', { state: 'succeeded' }));
    jobs.save(job('2', { state: 'running', startedAt: '2026-01-01T00:00:05.000Z' }));
    jobs.save(job('3'));
    const failed = jobs.failInterrupted('server restarted');
    expect(failed.map((j) => j.id)).to.deep.equal(['2', '3']);
    for (const id of ['2', '3']) {
      const stored = jobs.get(id);
      expect(stored).to.include({ state: 'failed', error: 'server restarted' });
      expect(Date.parse(stored?.finishedAt ?? '')).to.be.greaterThan(0);
    }
    expect(jobs.get('2')?.durationMs).to.be.a('number');
    expect(jobs.get('3')?.durationMs).to.equal(undefined);
    expect(jobs.get('1')?.state).to.equal('succeeded');
    expect(jobs.failInterrupted('again')).to.deep.equal([]);
  });
});
