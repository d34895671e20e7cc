/**
 * The in-process job queue on a fake clock: debounce, minimum interval, coalescing, the
 * per-project rule, concurrency, cancellation, shutdown, events and the progress history (C2).
 */
import { expect } from 'chai';
import FakeTimers from '@sinonjs/fake-timers';
import { InProcessJobQueue, type KindPolicy } from '../../src/backend/in-process-queue.js';
import { HISTORY_LIMIT } from '../../src/backend/job-history.js';
import type { JobEvent, JobOutcome, RunningJob } from '../../src/backend/job-queue.js';
import type { JobStore } from '../../src/store/types.js';
import type { JobKind, JobRecord, TrainProgress } from '../../src/types.js';
import { MlBackendError } from '../../src/errors.js';

/** Job records in memory: every save is kept, so tests see what was written and when. */
class MemoryJobStore implements JobStore {
  readonly records = new Map<string, JobRecord>();
  readonly saves: JobRecord[] = [];
  async save(job: JobRecord) {
    this.records.set(job.id, structuredClone(job));
    this.saves.push(structuredClone(job));
  }
  async get(id: string) {
    return this.records.get(id);
  }
  async listByProject(project: string, limit = 50) {
    return [...this.records.values()].filter((job) => job.project === project).reverse().slice(0, limit);
  }
  async listUnfinished() {
    return [...this.records.values()].filter((job) => job.state === 'queued' || job.state === 'running');
  }
  async failInterrupted(reason: string) {
    const failed = [...this.records.values()].filter((job) => job.state === 'queued' || job.state === 'running');
    for (const job of failed) this.records.set(job.id, { ...job, state: 'failed', error: reason });
    return failed.map((job) => this.records.get(job.id)!);
  }
}

/** A handler whose runs the test finishes by hand. */
function controllable() {
  const runs: Array<{ job: RunningJob; progress: (p: TrainProgress) => void; finish: (outcome?: JobOutcome) => void; fail: (error: Error) => void }> = [];
  const handler = (job: RunningJob, progress: (p: TrainProgress) => void) =>
    new Promise<JobOutcome>((resolve, reject) => {
      runs.push({ job, progress, finish: (outcome = {}) => resolve(outcome), fail: reject });
      job.signal.addEventListener('abort', () => reject(job.signal.reason as Error));
    });
  return { runs, handler };
}

describe('backend/in-process-queue (fake clock)', () => {
  let clock: FakeTimers.Clock;
  let store: MemoryJobStore;
  let events: JobEvent[];

  beforeEach(() => {
    clock = FakeTimers.createClock(1_000_000);
    store = new MemoryJobStore();
    events = [];
  });

  async function open(kinds: Partial<Record<JobKind, Omit<KindPolicy, 'handler'> & { handler?: KindPolicy['handler'] }>>) {
    const train = controllable();
    const withHandlers = Object.fromEntries(Object.entries(kinds).map(([kind, policy]) => [kind, { handler: train.handler, ...policy }]));
    const fake = { now: () => clock.now, setTimeout: (callback: () => void, ms: number) => clock.setTimeout(callback, ms), clearTimeout: (handle: unknown) => clock.clearTimeout(handle as FakeTimers.TimerId) };
    const queue = await InProcessJobQueue.open({ store, kinds: withHandlers, clock: fake, progressSaveMs: 1000 });
    queue.subscribe((event) => events.push(event));
    return { queue, runs: train.runs };
  }
  const trigger = (event = 'ANNOTATION_CREATED', immediate = false) => ({ event, data: {}, immediate });

  it('starts an immediate job only after the request that queued it has answered (a zero timer)', async () => {
    const { queue, runs } = await open({ train: { concurrency: 1 } });
    const record = await queue.enqueue('train', '1', trigger('START_TRAINING', true));
    expect(record).to.include({ state: 'queued', kind: 'train', project: '1', triggers: 1 });
    expect(runs).to.have.length(0);
    await clock.tickAsync(0);
    expect(runs).to.have.length(1);
    expect((await queue.get(record.id))?.state).to.equal('running');
  });

  it('debounces annotation triggers and coalesces a burst into the pending job', async () => {
    const { queue, runs } = await open({ train: { concurrency: 1, debounceMs: 1000 } });
    const first = await queue.enqueue('train', '1', trigger());
    await clock.tickAsync(600);
    const second = await queue.enqueue('train', '1', trigger('ANNOTATION_UPDATED'));
    expect(second.id).to.equal(first.id);
    expect(second).to.include({ triggers: 2, event: 'ANNOTATION_UPDATED' });
    await clock.tickAsync(999); // the quiet time restarted at the second trigger
    expect(runs).to.have.length(0);
    await clock.tickAsync(1);
    expect(runs).to.have.length(1);
    expect(runs[0]?.job.record.triggers).to.equal(2);
  });

  it('a steady stream postpones the job by at most five debounce periods', async () => {
    const { queue, runs } = await open({ train: { concurrency: 1, debounceMs: 1000 } });
    for (let t = 0; t < 4500; t += 500) {
      await queue.enqueue('train', '1', trigger());
      await clock.tickAsync(500);
    }
    expect(runs).to.have.length(0);
    await clock.tickAsync(500); // 5000 ms after the first trigger
    expect(runs).to.have.length(1);
    expect(runs[0]?.job.record.triggers).to.equal(9);
  });

  it('keeps TRAIN_MIN_INTERVAL_S between the starts of two jobs of a project, dropping nothing', async () => {
    const { queue, runs } = await open({ train: { concurrency: 1, minIntervalMs: 10_000 } });
    await queue.enqueue('train', '1', trigger('START_TRAINING', true));
    await clock.tickAsync(0);
    await clock.tickAsync(2000);
    runs[0]?.finish();
    await clock.tickAsync(0);
    const next = await queue.enqueue('train', '1', trigger('START_TRAINING', true));
    await clock.tickAsync(7999);
    expect(runs).to.have.length(1);
    await clock.tickAsync(1);
    expect(runs).to.have.length(2);
    expect(runs[1]?.job.record.id).to.equal(next.id);
  });

  it('runs one job per project and keeps at most one pending, which starts when the running one ends', async () => {
    const { queue, runs } = await open({ train: { concurrency: 2 } });
    const running = await queue.enqueue('train', '1', trigger('START_TRAINING', true));
    await clock.tickAsync(0);
    const pending = await queue.enqueue('train', '1', trigger('START_TRAINING', true));
    const joined = await queue.enqueue('train', '1', trigger('START_TRAINING', true));
    expect(joined.id).to.equal(pending.id).and.not.equal(running.id);
    await clock.tickAsync(100);
    expect(runs).to.have.length(1);
    expect(await queue.active('train', '1')).to.deep.include({ running: await queue.get(running.id), pending: await queue.get(pending.id) });
    runs[0]?.finish({ version: 'v0001', annotationCount: 4 });
    await clock.tickAsync(0);
    expect(runs).to.have.length(2);
    expect(await queue.get(running.id)).to.include({ state: 'succeeded', version: 'v0001', annotationCount: 4 });
  });

  it('shares the concurrency limit across projects; other kinds have their own slots', async () => {
    const { queue, runs } = await open({ train: { concurrency: 1 }, 'refresh-predictions': { concurrency: 1 } });
    await queue.enqueue('train', 'a', trigger('START_TRAINING', true));
    await queue.enqueue('train', 'b', trigger('START_TRAINING', true));
    await queue.enqueue('refresh-predictions', 'a', trigger('PROMOTED', true));
    await clock.tickAsync(0);
    expect(runs.map((run) => [run.job.record.kind, run.job.record.project])).to.deep.equal([['train', 'a'], ['refresh-predictions', 'a']]);
    expect(queue.stats()).to.deep.equal({ running: 2, pending: 1 });
    runs[0]?.finish();
    await clock.tickAsync(0);
    expect(runs.map((run) => run.job.record.project)).to.deep.equal(['a', 'a', 'b']);
  });

  it('cancels a pending job (never run) and a running one (its signal aborts)', async () => {
    const { queue, runs } = await open({ train: { concurrency: 1, debounceMs: 1000 } });
    const waiting = await queue.enqueue('train', '1', trigger());
    expect(await queue.cancel(waiting.id, 'not needed')).to.equal(true);
    await clock.tickAsync(5000);
    expect(runs).to.have.length(0);
    expect(await queue.get(waiting.id)).to.include({ state: 'cancelled', error: 'not needed' });

    const started = await queue.enqueue('train', '1', trigger('START_TRAINING', true));
    await clock.tickAsync(0);
    expect(await queue.cancel(started.id, 'stop')).to.equal(true);
    await clock.tickAsync(0);
    expect(runs[0]?.job.signal.aborted).to.equal(true);
    expect(await queue.get(started.id)).to.include({ state: 'cancelled', error: 'stop' });
    expect(await queue.cancel('no-such-job')).to.equal(false);
  });

  it('a failing job is failed with its message and the next one still runs', async () => {
    const { queue, runs } = await open({ train: { concurrency: 1 } });
    const job = await queue.enqueue('train', '1', trigger('START_TRAINING', true));
    await clock.tickAsync(0);
    runs[0]?.fail(new Error('fit failed'));
    await clock.tickAsync(0);
    expect(await queue.get(job.id)).to.include({ state: 'failed', error: 'fit failed' });
    await queue.enqueue('train', '1', trigger('START_TRAINING', true));
    await clock.tickAsync(0);
    expect(runs).to.have.length(2);
  });

  it('shutdown cancels pending and running jobs once, then refuses new jobs with a catalogued 503', async () => {
    const { queue, runs } = await open({ train: { concurrency: 1, debounceMs: 1000 } });
    const running = await queue.enqueue('train', '1', trigger('START_TRAINING', true));
    await clock.tickAsync(0);
    const pending = await queue.enqueue('train', '2', trigger());
    const first = queue.shutdown('cancel', 5000);
    expect(queue.shutdown('cancel', 5000)).to.equal(first);
    await clock.tickAsync(0);
    await first;
    expect(runs).to.have.length(1);
    expect(await queue.get(running.id)).to.include({ state: 'cancelled', error: 'server shutting down' });
    expect(await queue.get(pending.id)).to.include({ state: 'cancelled', error: 'server shutting down' });
    const refused = await queue.enqueue('train', '1', trigger()).then(() => undefined, (error: unknown) => error);
    expect(refused).to.be.instanceOf(MlBackendError).and.include({ code: 'MLB_ERR_SHUTTING_DOWN', status: 503 });
  });

  it("shutdown in 'finish' mode lets the running job end, within the bound", async () => {
    const { queue, runs } = await open({ train: { concurrency: 1 } });
    const job = await queue.enqueue('train', '1', trigger('START_TRAINING', true));
    await clock.tickAsync(0);
    let stopped = false;
    const done = queue.shutdown('finish', 10_000).then(() => (stopped = true));
    await clock.tickAsync(5000);
    expect(stopped).to.equal(false);
    runs[0]?.finish({ version: 'v1' });
    await clock.tickAsync(0);
    await done;
    expect(await queue.get(job.id)).to.include({ state: 'succeeded', version: 'v1' });
  });

  it('emits queued, started, progress and finished; the history keeps epochs and phase changes (C2)', async () => {
    const { queue, runs } = await open({ train: { concurrency: 1 } });
    const job = await queue.enqueue('train', '1', trigger('START_TRAINING', true));
    await clock.tickAsync(0);
    const report = runs[0]!.progress;
    report({ phase: 'embedding' });
    report({ phase: 'embedding' }); // no change: not kept
    for (let epoch = 1; epoch <= 3; epoch++) {
      await clock.tickAsync(400);
      report({ phase: 'training', epoch, epochs: 3, loss: 1 / epoch });
    }
    report({ phase: 'saving' });
    runs[0]?.finish();
    await clock.tickAsync(0);
    expect(events.map((event) => event.type)).to.deep.equal(['queued', 'started', 'progress', 'progress', 'progress', 'progress', 'progress', 'progress', 'finished']);
    const record = (await queue.get(job.id))!;
    expect(record.history?.map((h) => [h.phase, h.epoch])).to.deep.equal([['embedding', undefined], ['training', 1], ['training', 2], ['training', 3], ['saving', undefined]]);
    expect(record.history?.[1]?.at).to.equal(new Date(1_000_000 + 400).toISOString());
    // Saved on phase changes and at most once a second in between, and at the end.
    expect(store.saves.filter((saved) => saved.id === job.id && saved.state === 'running').length).to.be.within(3, 5);
  });

  it(`thins the history to at most ${HISTORY_LIMIT} entries, keeping the newest and the first`, async () => {
    const { queue, runs } = await open({ train: { concurrency: 1 } });
    const job = await queue.enqueue('train', '1', trigger('START_TRAINING', true));
    await clock.tickAsync(0);
    for (let epoch = 1; epoch <= 2000; epoch++) runs[0]!.progress({ epoch, epochs: 2000, loss: 1 / epoch });
    runs[0]?.finish();
    await clock.tickAsync(0);
    const epochs = (await queue.get(job.id))!.history!.map((h) => h.epoch!);
    expect(epochs.length).to.be.at.most(HISTORY_LIMIT).and.at.least(HISTORY_LIMIT / 2);
    expect(epochs[0]).to.equal(1);
    expect(epochs.at(-1)).to.equal(2000);
    expect(epochs).to.deep.equal([...epochs].sort((a, b) => a - b));
  });

  it('marks jobs a dead process left queued or running as failed when it opens', async () => {
    await store.save({ id: 'old', kind: 'train', project: '1', state: 'running', event: 'START_TRAINING', triggers: 1, createdAt: new Date(0).toISOString() });
    const { queue } = await open({ train: { concurrency: 1 } });
    expect(queue.interrupted.map((job) => job.id)).to.deep.equal(['old']);
    expect(await queue.get('old')).to.include({ state: 'failed', error: 'interrupted by a restart' });
  });

  it('onIdle resolves only when nothing runs or waits', async () => {
    const { queue, runs } = await open({ train: { concurrency: 1, debounceMs: 1000 } });
    await queue.enqueue('train', '1', trigger());
    let idle = false;
    void queue.onIdle().then(() => (idle = true));
    await clock.tickAsync(1000);
    expect(idle).to.equal(false);
    runs[0]?.finish();
    await clock.tickAsync(0);
    expect(idle).to.equal(true);
  });
});
