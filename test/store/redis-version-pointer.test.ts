/**
 * Issue 14: "which version is current" in Redis. A change is announced to every process at once
 * (pub/sub), a change whose message was missed is caught by the periodic check, the `current`
 * files stay a mirror that answers when Redis holds nothing (a fresh or wiped Redis), and a
 * garbage value in Redis never gets served.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { RedisKeys, openRedisStores, type RedisStores, type RedisTarget } from '../../src/store/index.js';
import type { JobRecord } from '../../src/types.js';
import { useRedisServer } from '../helpers/redis.js';
import { tempDir, waitFor } from '../helpers/server.js';

const job = (id: string): JobRecord => ({ id, project: '1', state: 'running', event: 'START_TRAINING', triggers: 1, createdAt: new Date().toISOString() });

describe('store/redis-version-pointer (real redis-server, issue 14)', () => {
  const server = useRedisServer();
  let root: string;
  let target: RedisTarget;
  let opened: RedisStores[];
  let raw: Redis;

  beforeEach(() => {
    root = tempDir('mlb-pointer-');
    target = server.target();
    opened = [];
    raw = new Redis(target.url);
  });
  afterEach(async () => {
    await Promise.all(opened.map((stores) => stores.close()));
    raw.disconnect();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const open = (pollMs: number) => {
    const stores = openRedisStores(root, target, { pollMs, onProblem: () => undefined });
    opened.push(stores);
    return stores;
  };
  async function train(stores: RedisStores, project = '1'): Promise<string> {
    const pending = await stores.checkpoints.begin(project);
    fs.writeFileSync(path.join(pending.workdir, 'weights.bin'), 'w');
    await stores.checkpoints.promote(pending, { labels: ['A'] }, job(pending.version));
    return pending.version;
  }

  it('announces a change to another process at once, by message alone (no polling)', async () => {
    const [here, there] = [open(0), open(0)];
    const first = await train(here);
    const second = await train(here);
    const heard: string[] = [];
    there.checkpoints.onCurrentChange((project) => heard.push(project));
    expect((await there.checkpoints.loadCurrent('1'))?.version).to.equal(second);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the subscription is made
    await here.checkpoints.setCurrent('1', first);
    await waitFor(async () => heard.includes('1'), 1_000, 'the announcement');
    expect((await there.checkpoints.loadCurrent('1'))?.version).to.equal(first);
  });

  it('catches a change whose message was missed within the poll interval', async () => {
    const writer = open(0);
    const first = await train(writer);
    const second = await train(writer);
    const watcher = open(100);
    const heard: string[] = [];
    watcher.checkpoints.onCurrentChange((project) => heard.push(project));
    expect((await watcher.checkpoints.loadCurrent('1'))?.version).to.equal(second);
    await raw.hset(new RedisKeys(target.prefix).current, '1', first); // no PUBLISH
    await waitFor(async () => heard.includes('1'), 2_000, 'the periodic check');
    expect((await watcher.checkpoints.loadCurrent('1'))?.version).to.equal(first);
  });

  it('keeps the current file as a mirror that answers when Redis holds nothing', async () => {
    const stores = open(0);
    const first = await train(stores);
    await train(stores);
    await stores.checkpoints.setCurrent('1', first);
    expect(fs.readFileSync(path.join(root, '1', 'current'), 'utf8').trim()).to.equal(first);
    await raw.flushdb(); // Redis lost everything
    expect((await open(0).checkpoints.loadCurrent('1'))?.version).to.equal(first);
  });

  it('never serves a garbage value found in Redis: the newest intact version serves, and it is reported', async () => {
    const problems: string[] = [];
    const stores = openRedisStores(root, target, { pollMs: 0, onProblem: (message) => problems.push(message) });
    opened.push(stores);
    await train(stores);
    const newest = await train(stores);
    await raw.hset(new RedisKeys(target.prefix).current, '1', '../../etc');
    expect((await stores.checkpoints.loadCurrent('1'))?.version).to.equal(newest);
    expect(problems.join('\n')).to.match(/invalid current version/);
  });
});
