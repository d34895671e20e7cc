import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MlBackendError } from '../../src/errors.js';
import type { Annotation } from '../../src/types.js';
import { openLocalStores, openRedisStores, type RedisTarget, type Stores } from '../../src/store/index.js';
import { useRedisServer } from '../helpers/redis.js';

const choice = (label: string) => [{ from_name: 'c', to_name: 't', type: 'choices', value: { choices: [label] } }];
const ann = (id: number, task: number, extra: Partial<Annotation> = {}): Annotation => ({ id, task, result: choice('A'), ...extra });

const IMPLEMENTATIONS = {
  sqlite: (dir: string) => openLocalStores(dir),
  redis: (dir: string, target: RedisTarget) => openRedisStores(dir, target),
};

for (const [name, open] of Object.entries(IMPLEMENTATIONS)) describe(`store/annotation-store (${name})`, () => {
  let dir: string;
  let stores: Stores;
  let target: RedisTarget;
  const redis = name === 'redis' ? useRedisServer() : undefined;
  const reopen = () => open(dir, target);

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-ann-'));
    if (redis) target = redis.target();
    stores = reopen();
  });
  afterEach(async () => {
    await stores.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('upserts, replaces by id and keeps task data when an update lacks it', async () => {
    const store = stores.annotations;
    await store.upsert('1', [{ annotation: ann(10, 2), taskId: 2, taskData: { text: 'two' } }]);
    await store.upsert('1', [{ annotation: ann(11, 1), taskId: 1, taskData: { text: 'one' } }]);
    await store.upsert('1', [{ annotation: ann(10, 2, { result: choice('B') }), taskId: 2 }]);
    expect(await store.trainingSet('1')).to.deep.equal([
      { id: 1, data: { text: 'one' }, annotations: [ann(11, 1)] },
      { id: 2, data: { text: 'two' }, annotations: [ann(10, 2, { result: choice('B') })] },
    ]);
    expect(await store.counts('1')).to.deep.equal({ usable: 2, cancelled: 0, missingTaskData: 0, tasks: 2 });
    expect(await store.trainingSet('other')).to.deep.equal([]);
  });

  it('orders annotations by id within a task', async () => {
    const store = stores.annotations;
    await store.upsert('1', [5, 3, 4].map((id) => ({ annotation: ann(id, 1), taskId: 1, taskData: { n: id } })));
    const [task] = await store.trainingSet('1');
    expect(task?.annotations.map((a) => a.id)).to.deep.equal([3, 4, 5]);
    expect(task?.data).to.deep.equal({ n: 4 }); // the last data sent wins
  });

  it('keeps cancelled, skipped and empty annotations out of training', async () => {
    const store = stores.annotations;
    await store.upsert('1', [
      { annotation: ann(1, 1, { was_cancelled: true, result: [] }), taskId: 1, taskData: { t: 1 } },
      { annotation: ann(2, 1, { skipped: true }), taskId: 1 },
      { annotation: ann(3, 1, { result: [] }), taskId: 1 },
      { annotation: ann(4, 1), taskId: 1 },
      { annotation: ann(5, 9), taskId: 9 },
    ]);
    expect((await store.trainingSet('1')).map((t) => t.annotations.map((a) => a.id))).to.deep.equal([[4]]);
    expect(await store.counts('1')).to.deep.equal({ usable: 1, cancelled: 3, missingTaskData: 1, tasks: 1 });
    // un-cancelling through an update makes it usable again
    await store.upsert('1', [{ annotation: ann(1, 1), taskId: 1 }]);
    expect((await store.counts('1')).usable).to.equal(2);
  });

  it('removes by id and reports how many existed', async () => {
    const store = stores.annotations;
    await store.upsert('1', [1, 2, 3].map((id) => ({ annotation: ann(id, id), taskId: id, taskData: {} })));
    expect(await store.remove('1', [1, 3, 99])).to.equal(2);
    expect(await store.remove('2', [2])).to.equal(0);
    expect((await store.trainingSet('1')).map((t) => t.id)).to.deep.equal([2]);
  });

  it('replaceAll swaps the whole project set and leaves other projects alone', async () => {
    const store = stores.annotations;
    await store.upsert('1', [{ annotation: ann(1, 1), taskId: 1, taskData: { old: true } }]);
    await store.upsert('2', [{ annotation: ann(1, 1), taskId: 1, taskData: { other: true } }]);
    await store.replaceAll('1', [
      { id: 7, data: { text: 'seven' }, annotations: [ann(70, 7), ann(71, 7, { was_cancelled: true })] },
      { id: 8, data: { text: 'eight' }, annotations: [] },
    ]);
    expect(await store.trainingSet('1')).to.deep.equal([{ id: 7, data: { text: 'seven' }, annotations: [ann(70, 7)] }]);
    expect(await store.counts('1')).to.deep.equal({ usable: 1, cancelled: 1, missingTaskData: 0, tasks: 1 });
    expect((await store.trainingSet('2'))[0]?.data).to.deep.equal({ other: true });
  });

  it('rolls back a whole call when one item is invalid', async () => {
    const store = stores.annotations;
    const bad = { annotation: { id: 'x' } as unknown as Annotation, taskId: 2 };
    const rejected = await store.upsert('1', [{ annotation: ann(1, 1), taskId: 1, taskData: {} }, bad]).then(() => undefined, (error: unknown) => error);
    expect(rejected).to.be.instanceOf(MlBackendError).with.property('code', 'MLB_ERR_VALIDATION');
    expect((await store.counts('1')).usable).to.equal(0);
    await store.upsert('1', [{ annotation: ann(1, 1), taskId: 1, taskData: {} }]);
    expect(await store.replaceAll('1', [{ id: 1.5, data: {}, annotations: [] }]).then(() => undefined, (error: unknown) => error)).to.be.instanceOf(MlBackendError);
    expect((await store.counts('1')).usable).to.equal(1);
  });

  it('persists across reopen', async () => {
    await stores.annotations.upsert('1', [{ annotation: ann(1, 1), taskId: 1, taskData: { text: 'x' } }]);
    await stores.close();
    stores = reopen();
    expect(await stores.annotations.trainingSet('1')).to.deep.equal([{ id: 1, data: { text: 'x' }, annotations: [ann(1, 1)] }]);
  });

  it('stores a 5k-annotation burst in one call', async () => {
    const items = Array.from({ length: 5000 }, (_, i) => ({ annotation: ann(i + 1, (i % 1000) + 1), taskId: (i % 1000) + 1, taskData: { text: `task ${i % 1000}` } }));
    await stores.annotations.upsert('1', items);
    expect(await stores.annotations.counts('1')).to.deep.equal({ usable: 5000, cancelled: 0, missingTaskData: 0, tasks: 1000 });
    const set = await stores.annotations.trainingSet('1');
    expect(set).to.have.length(1000);
    expect(set[0]?.annotations.map((a) => a.id)).to.deep.equal([1, 1001, 2001, 3001, 4001]);
  });
});
