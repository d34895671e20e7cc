import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MlBackendError } from '../../src/errors.js';
import type { JobRecord } from '../../src/types.js';
import { openLocalStores, openRedisStores, type LocalStores, type RedisTarget, type Stores } from '../../src/store/index.js';
import { useRedisServer } from '../helpers/redis.js';

describe('store/database (SQLite)', () => {
  let dir: string;
  let stores: LocalStores;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-db-'));
    stores = openLocalStores(path.join(dir, 'model-dir'), { onProblem: () => {} });
  });
  afterEach(async () => {
    await stores.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates MODEL_DIR and opens the database in WAL mode with a schema version', async () => {
    expect(fs.existsSync(path.join(dir, 'model-dir', 'backend.sqlite'))).to.equal(true);
    expect(stores.db.pragma('journal_mode', { simple: true })).to.equal('wal');
    expect(stores.db.pragma('user_version', { simple: true })).to.equal(1);
    expect(stores.db.pragma('busy_timeout', { simple: true })).to.equal(5000);
  });

  it('reports an unusable MODEL_DIR as MLB_ERR_STORAGE', async () => {
    const file = path.join(dir, 'not-a-dir');
    fs.writeFileSync(file, 'x');
    expect(() => openLocalStores(file)).to.throw(MlBackendError).with.property('code', 'MLB_ERR_STORAGE');
    expect(() => openLocalStores(path.join(file, 'below'))).to.throw(MlBackendError).with.property('code', 'MLB_ERR_STORAGE');
  });

  it('refuses a database written by a newer schema', async () => {
    stores.db.pragma('user_version = 99');
    expect(() => openLocalStores(path.join(dir, 'model-dir'))).to.throw(MlBackendError, /schema version 99/);
  });

  it('lets a second connection (a training worker) open the same file', async () => {
    const other = openLocalStores(path.join(dir, 'model-dir'));
    await other.kv.set('p', 'from-worker', 1);
    expect(await stores.kv.get('p', 'from-worker')).to.equal(1);
    await other.close();
  });
});

const IMPLEMENTATIONS = {
  sqlite: (dir: string) => openLocalStores(path.join(dir, 'model-dir'), { onProblem: () => {} }),
  redis: (dir: string, target: RedisTarget) => openRedisStores(path.join(dir, 'model-dir'), target, { onProblem: () => {} }),
};

for (const [name, open] of Object.entries(IMPLEMENTATIONS)) describe(`store: kv-store and job-store (${name})`, () => {
  let dir: string;
  let stores: Stores;
  let target: RedisTarget;
  const redis = name === 'redis' ? useRedisServer() : undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-db-'));
    if (redis) target = redis.target();
    stores = open(dir, target);
  });
  afterEach(async () => {
    await stores.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const reopen = async () => {
    await stores.close();
    stores = open(dir, target);
  };

  it('round-trips JSON values per project and keeps them across reopen', async () => {
    const { kv } = stores;
    await kv.set('1', 'model_version', 'v0001');
    await kv.set('1', 'extra', { a: [1, 2, { b: null }], c: true });
    await kv.set('2', 'model_version', 'other');
    expect(await kv.get('1', 'model_version')).to.equal('v0001');
    expect(await kv.has('1', 'extra')).to.equal(true);
    expect(await kv.has('1', 'missing')).to.equal(false);
    expect(await kv.get('1', 'missing')).to.equal(undefined);
    await kv.set('1', 'model_version', 'v0002');
    await kv.delete('2', 'model_version');
    await reopen();
    expect(await stores.kv.get('1', 'model_version')).to.equal('v0002');
    expect(await stores.kv.get('1', 'extra')).to.deep.equal({ a: [1, 2, { b: null }], c: true });
    expect(await stores.kv.has('2', 'model_version')).to.equal(false);
  });

  it('counts annotation events per project until reset (TRAIN_EVERY_N_ANNOTATIONS)', async () => {
    const counter = stores.annotationEvents;
    expect(await counter.add('1', 2)).to.equal(2);
    expect(await counter.add('1', 3)).to.equal(5);
    expect(await counter.add('2', 1)).to.equal(1);
    await counter.reset('1');
    expect(await counter.add('1', 1)).to.equal(1);
    if (name === 'redis') {
      // Replicas count together: another store set on the same Redis sees the same count.
      const other = open(dir, target);
      expect(await other.annotationEvents.add('1', 1)).to.equal(2);
      await other.close();
    }
  });

  it('refuses to store undefined', async () => {
    expect(await stores.kv.set('1', 'k', undefined as never).then(() => undefined, (error: unknown) => error)).to.be.instanceOf(TypeError);
    expect(await stores.kv.has('1', 'k')).to.equal(false);
  });

  const job = (id: string, overrides: Partial<JobRecord> = {}): JobRecord => ({
    id, project: '1', state: 'queued', event: 'START_TRAINING', triggers: 1, createdAt: `2026-01-01T00:00:0${id}.000Z`, ...overrides,
  });

  it('saves, updates and lists jobs newest first, across reopen', async () => {
    const { jobs } = stores;
    await jobs.save(job('1'));
    await jobs.save(job('2'));
    await jobs.save(job('3', { project: '2' }));
    await jobs.save(job('1', { state: 'succeeded', version: 'v0001-20260101T000000Z' }));
    await reopen();
    expect(await stores.jobs.get('1')).to.include({ state: 'succeeded', version: 'v0001-20260101T000000Z' });
    expect(await stores.jobs.get('nope')).to.equal(undefined);
    expect((await stores.jobs.listByProject('1')).map((j) => j.id)).to.deep.equal(['2', '1']);
    expect((await stores.jobs.listByProject('1', 1)).map((j) => j.id)).to.deep.equal(['2']);
  });

  it('fails jobs left queued or running by a dead process', async () => {
    const { jobs } = stores;
    await jobs.save(job('1', { state: 'succeeded' }));
    await jobs.save(job('2', { state: 'running', startedAt: '2026-01-01T00:00:05.000Z' }));
    await jobs.save(job('3'));
    expect((await jobs.listUnfinished()).map((j) => j.id)).to.deep.equal(['2', '3']);
    const failed = await jobs.failInterrupted('server restarted');
    expect(await jobs.listUnfinished()).to.deep.equal([]);
    expect(failed.map((j) => j.id)).to.deep.equal(['2', '3']);
    for (const id of ['2', '3']) {
      const stored = await jobs.get(id);
      expect(stored).to.include({ state: 'failed', error: 'server restarted' });
      expect(Date.parse(stored?.finishedAt ?? '')).to.be.greaterThan(0);
    }
    expect((await jobs.get('2'))?.durationMs).to.be.a('number');
    expect((await jobs.get('3'))?.durationMs).to.equal(undefined);
    expect((await jobs.get('1'))?.state).to.equal('succeeded');
    expect(await jobs.failInterrupted('again')).to.deep.equal([]);
  });
});
