/**
 * Issue 14: the BullMQ job queue against a real redis-server. Each queue instance has its own
 * connections, as a separate process would: "replicas" that only queue and "trainers" that run.
 * The per-project rule (one running, at most one pending, bursts coalesce, debounce and minimum
 * interval), events between processes, cancellation from anywhere and the hand-back on shutdown.
 * (A trainer killed with SIGKILL is in test/distributed, with real processes.)
 */
import { expect } from 'chai';
import { Queue } from 'bullmq';
import { BullMqJobQueue } from '../../src/backend/bullmq-queue.js';
import type { JobEvent, JobOutcome, KindPolicy, RunningJob } from '../../src/backend/job-queue.js';
import { createLogger } from '../../src/logger.js';
import { openRedisStores, RedisKeys, type RedisStores, type RedisTarget } from '../../src/store/index.js';
import type { JobKind, JobRecord, TrainProgress } from '../../src/types.js';
import { useRedisServer } from '../helpers/redis.js';
import { tempDir, waitFor } from '../helpers/server.js';

interface Run {
  job: RunningJob;
  trainer: string;
  progress: (p: TrainProgress) => void;
  finish: (outcome?: JobOutcome) => void;
}

describe('backend/bullmq-queue (real redis-server, issue 14)', function () {
  this.timeout(30_000);
  const redis = useRedisServer();
  let target: RedisTarget;
  let stores: RedisStores;
  let queues: BullMqJobQueue[];
  let runs: Run[];
  const logger = createLogger({ level: 'silent', pretty: false });

  beforeEach(() => {
    target = redis.target();
    stores = openRedisStores(tempDir(), target);
    queues = [];
    runs = [];
  });
  afterEach(async () => {
    for (const run of runs) run.finish();
    await Promise.all(queues.map((queue) => queue.shutdown('finish', 5000)));
    await stores.close();
  });

  /** A queue instance; `trainer` names it in the runs it makes. */
  async function open(options: { trainer?: string; policy?: Partial<KindPolicy> } = {}): Promise<BullMqJobQueue> {
    const handler = (job: RunningJob, progress: (p: TrainProgress) => void) =>
      new Promise<JobOutcome>((resolve, reject) => {
        runs.push({ job, trainer: options.trainer ?? '?', progress, finish: (outcome = {}) => resolve(outcome) });
        job.signal.addEventListener('abort', () => reject(job.signal.reason as Error));
      });
    const kinds: Partial<Record<JobKind, KindPolicy>> = { train: { handler, concurrency: 2, debounceMs: 0, minIntervalMs: 0, ...options.policy } };
    const queue = new BullMqJobQueue({ target, store: stores.jobs, kinds, runs: options.trainer ? ['train'] : [], lockMs: 1000, logger, progressSaveMs: 0 });
    await queue.ready();
    queues.push(queue);
    return queue;
  }

  const trigger = (event = 'ANNOTATION_CREATED', immediate = false) => ({ event, data: {}, immediate });
  const runsOf = (project: string) => runs.filter((run) => run.job.record.project === project);
  const stored = (id: string) => stores.jobs.get(id) as Promise<JobRecord>;

  it('coalesces a burst from several replicas into one job that a trainer runs; every replica hears it finish', async () => {
    const policy = { debounceMs: 400 };
    const [a, b] = [await open({ policy }), await open({ policy })];
    await open({ trainer: 'T', policy });
    const heard: JobEvent[] = [];
    b.subscribe((event) => heard.push(event));
    const landed = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).enqueue('train', '1', trigger())));
    expect(new Set(landed.map((job) => job.id)).size).to.equal(1);
    const run = await waitFor(async () => runsOf('1')[0], 10_000, 'the run');
    expect(run.job.record.triggers).to.equal(10);
    expect((await a.active('train', '1')).running?.id).to.equal(landed[0]?.id);
    run.progress({ epoch: 1, epochs: 2, loss: 0.5 });
    await waitFor(async () => (await b.get(run.job.record.id))?.progress?.epoch === 1, 5000, 'progress in the shared record');
    run.finish({ version: 'v0001-x' });
    const finished = await waitFor(async () => heard.find((event) => event.type === 'finished'), 5000, 'the finished event');
    expect(finished).to.deep.include({ remote: true });
    expect(finished.job).to.include({ state: 'succeeded', version: 'v0001-x', triggers: 10 });
    expect(await a.get(run.job.record.id)).to.include({ state: 'succeeded' });
    expect(runs).to.have.length(1);
  });

  it('keeps one job running and one pending per project across trainers; the pending one starts as soon as the running one ends', async () => {
    const replica = await open();
    await open({ trainer: 'T1' });
    await open({ trainer: 'T2' });
    const first = await replica.enqueue('train', '1', trigger('START_TRAINING', true));
    const run = await waitFor(async () => runsOf('1')[0], 10_000, 'the first run');
    const pending = await Promise.all([1, 2, 3].map(() => replica.enqueue('train', '1', trigger())));
    expect(new Set(pending.map((job) => job.id)).size).to.equal(1);
    expect(pending[0]?.id).to.not.equal(first.id);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // both trainers are free: still nothing else runs
    expect(runs).to.have.length(1);
    expect(await replica.active('train', '1')).to.deep.include({ running: (await replica.get(first.id))!, pending: (await replica.get(pending[0]!.id))! });
    expect(replica.stats()).to.deep.equal({ running: 1, pending: 1 });
    const released = Date.now();
    run.finish();
    const second = await waitFor(async () => runsOf('1')[1], 10_000, 'the second run');
    expect(Date.now() - released).to.be.below(3000); // woken, not left to its 5 s recheck
    expect(second.job.record).to.include({ id: pending[0]?.id, triggers: 3 });
    second.finish();
    await replica.onIdle();
  });

  it('runs jobs of two projects at once on two trainers', async () => {
    const replica = await open();
    await open({ trainer: 'T1', policy: { concurrency: 1 } });
    await open({ trainer: 'T2', policy: { concurrency: 1 } });
    await replica.enqueue('train', '1', trigger('START_TRAINING', true));
    await replica.enqueue('train', '2', trigger('START_TRAINING', true));
    await waitFor(async () => runs.length === 2, 10_000, 'two runs');
    expect(new Set(runs.map((run) => run.trainer)).size).to.equal(2);
    expect((await stores.jobs.listUnfinished()).map((job) => job.state)).to.deep.equal(['running', 'running']);
  });

  it('holds the minimum interval between two starts of a project, whichever trainer runs them', async () => {
    const replica = await open();
    await open({ trainer: 'T1', policy: { minIntervalMs: 1500 } });
    await open({ trainer: 'T2', policy: { minIntervalMs: 1500 } });
    await replica.enqueue('train', '1', trigger('START_TRAINING', true));
    const first = await waitFor(async () => runsOf('1')[0], 10_000, 'the first run');
    first.finish();
    await waitFor(async () => (await stored(first.job.record.id)).state === 'succeeded', 5000, 'the first job to finish');
    await replica.enqueue('train', '1', trigger('START_TRAINING', true));
    const second = await waitFor(async () => runsOf('1')[1], 10_000, 'the second run');
    const gap = Date.parse(second.job.record.startedAt!) - Date.parse(first.job.record.startedAt!);
    expect(gap).to.be.at.least(1500);
  });

  it('cancels a pending job from any replica at once, and a running one where it runs', async () => {
    const [a, b] = [await open(), await open()];
    await open({ trainer: 'T' });
    const running = await a.enqueue('train', '1', trigger('START_TRAINING', true));
    await waitFor(async () => runsOf('1')[0], 10_000, 'the run');
    const pending = await a.enqueue('train', '1', trigger());
    expect(await b.cancel(pending.id, 'not needed')).to.equal(true);
    expect(await stored(pending.id)).to.include({ state: 'cancelled', error: 'not needed' });
    expect(await b.cancel(pending.id)).to.equal(false);
    expect(await b.cancel(running.id, 'stop it')).to.equal(true);
    await waitFor(async () => (await stored(running.id)).state === 'cancelled', 5000, 'the running job to be cancelled');
    expect(await stored(running.id)).to.include({ error: 'stop it' });
    expect(await a.active('train', '1')).to.deep.equal({});
    expect(runs).to.have.length(1);
  });

  it('hands a running job back when its trainer shuts down: another trainer runs it again', async () => {
    const replica = await open();
    const first = await open({ trainer: 'T1' });
    const job = await replica.enqueue('train', '1', trigger('START_TRAINING', true));
    await waitFor(async () => runsOf('1')[0], 10_000, 'the first run');
    await open({ trainer: 'T2' });
    await first.shutdown('cancel', 5000);
    const again = await waitFor(async () => runsOf('1')[1], 10_000, 'the run on the other trainer');
    expect(again.trainer).to.equal('T2');
    expect(again.job.record).to.include({ id: job.id, restarts: 1, state: 'running' });
    again.finish({ version: 'v0001-y' });
    await waitFor(async () => (await stored(job.id)).state === 'succeeded', 5000, 'the job to succeed');
  });

  it('does not join a pending job that left the queue (lost with Redis data): it is failed and a new one is queued', async () => {
    const replica = await open();
    const lost = await replica.enqueue('train', '1', trigger());
    const bull = new Queue('train', { connection: { url: target.url }, prefix: new RedisKeys(target.prefix).bull });
    await bull.remove(lost.id);
    await bull.close();
    const next = await replica.enqueue('train', '1', trigger());
    expect(next.id).to.not.equal(lost.id);
    expect(await stored(lost.id)).to.include({ state: 'failed' });
    expect((await replica.active('train', '1')).pending?.id).to.equal(next.id);
  });
});
