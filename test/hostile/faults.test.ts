/**
 * Faults: SIGKILL at every step of training and checkpoint writing, corrupt and missing
 * checkpoint files, a full database, a disk that refuses checkpoint writes, a project directory
 * that is not a directory, a MODEL_DIR that cannot exist. After each: the last good version
 * serves, corrupt versions are reported and skipped, acknowledged annotations are kept and every
 * error is JSON.
 *
 * Honest simulations (tests run as root, so chmod does not block writes, and there is no tmpfs
 * to fill): "disk full" for SQLite is `PRAGMA max_page_count` (SQLite then fails exactly as on a
 * full disk, SQLITE_FULL); "disk full" for checkpoints is ENOSPC raised by the file handle's write
 * in the main thread (where checkpoints are promoted); "unwritable" is a file where a directory
 * must be (ENOTDIR/EEXIST, as EROFS/EACCES would fail the same calls); a MODEL_DIR under a file
 * or in /proc cannot be created at all. FAULT_ITERATIONS (default 5) sets the SIGKILL loop length.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import supertest from 'supertest';
import { createLogger } from '../../src/logger.js';
import { startServer } from '../../src/server/start.js';
import { compareVersions } from '../../src/store/versions.js';
import { SENTIMENT_CONFIG, TOY_MODEL, annotationCreated, startTestServer, tempDir, waitFor, type TestServer } from '../helpers/server.js';
import { SERVE_TOY, spawnServer, type ChildServer } from '../helpers/process.js';
import { counters, expectJsonError, postJson, rawRequest, sleep } from '../helpers/fuzz.js';

const ITERATIONS = Math.max(1, Number(process.env.FAULT_ITERATIONS ?? '') || 5);
const TEXTS: Array<[string, string]> = [
  ['good great', 'Positive'], ['great fun', 'Positive'], ['lovely good', 'Positive'], ['nice great', 'Positive'],
  ['bad awful', 'Negative'], ['awful mess', 'Negative'], ['terrible bad', 'Negative'], ['worst awful', 'Negative'],
];

type Http = ReturnType<typeof supertest>;

async function annotate(http: Http, project: number, firstTask = 1): Promise<number> {
  for (const [i, [text, choice]] of TEXTS.entries()) await http.post('/webhook').send(annotationCreated(project, firstTask + i, text, choice)).expect(201);
  return TEXTS.length;
}

async function train(http: Http, project: number): Promise<string> {
  const { body } = await http.post('/webhook').send({ action: 'START_TRAINING', project: { id: project, label_config: SENTIMENT_CONFIG } }).expect(201);
  return body.job as string;
}

async function waitJob(http: Http, job: string, timeoutMs = 60_000): Promise<{ job_status: string; job: Record<string, unknown> }> {
  return waitFor(async () => {
    const status = (await http.post('/job_status').send({ job }).expect(200)).body;
    return ['finished', 'failed', 'canceled'].includes(status.job_status) ? status : undefined;
  }, timeoutMs, `job ${job}`);
}

interface VersionsReply {
  versions: string[];
  current_version: string;
  projects: Record<string, { current_version: string; versions: Array<{ version: string; current: boolean; corrupt?: string }> }>;
}

const versionsOf = async (http: Http, project: string) => (await http.get('/versions').query({ project }).expect(200)).body as VersionsReply;
const served = async (http: Http, project: string) => (await http.post('/setup').send({ project, schema: SENTIMENT_CONFIG }).expect(200)).body.model_version as string;

async function predictLabel(http: Http, project: string, text: string): Promise<string> {
  const res = await http.post('/predict').send({ project, tasks: [{ data: { text } }] }).expect(200);
  return res.body.results[0].result[0].value.choices[0] as string;
}

/** An in-process server whose warn+ logs are captured. */
async function startLogged(modelDir: string, env: Record<string, string> = {}) {
  const stream = new PassThrough();
  let logs = '';
  stream.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  const running = await startServer({
    module: { module: TOY_MODEL },
    env: { MODEL_DIR: modelDir, PORT: '0', HOST: '127.0.0.1', TRAIN_EVERY_N_ANNOTATIONS: '0', TRAINING_THREAD: 'main', ...env },
    logger: createLogger({ level: 'warn', destination: stream }),
    handleSignals: false,
  });
  return { ...running, http: supertest(running.url), logs: () => logs, stop: () => running.close() };
}

/** Checkpoint-writing stages as they show on disk, in order. */
const STAGES = ['workdir', 'model/weights.bin', 'model/model.json', 'train_output.json', 'manifest.json', 'renamed', 'current'] as const;
type Stage = (typeof STAGES)[number];

function stageOf(projectDir: string, known: Set<string>, currentBefore: string): number {
  let entries: string[];
  try {
    entries = fs.readdirSync(projectDir);
  } catch {
    return -1;
  }
  const current = (() => {
    try {
      return fs.readFileSync(path.join(projectDir, 'current'), 'utf8').trim();
    } catch {
      return '';
    }
  })();
  if (current !== currentBefore) return STAGES.indexOf('current');
  if (entries.some((e) => e.startsWith('v') && !e.endsWith('.tmp') && !known.has(e))) return STAGES.indexOf('renamed');
  const workdir = entries.find((e) => e.startsWith('v') && e.endsWith('.tmp'));
  if (!workdir) return -1;
  for (let i = STAGES.indexOf('manifest.json'); i > 0; i--) {
    if (fs.existsSync(path.join(projectDir, workdir, STAGES[i] as string))) return i;
  }
  return 0;
}

describe('hostile: faults', function () {
  this.timeout(180_000);
  after(() => console.log(`      (faults injected: ${counters.faults}; hostile requests so far: ${counters.requests})`));

  /**
   * One lane of the kill loop: its own MODEL_DIR and server process. Each iteration acknowledges
   * one more annotation, starts a training and SIGKILLs the process as soon as `target` shows on
   * disk (or a random delay into fit), then restarts and checks what survived.
   */
  async function killLane(targets: Stage[], seed: number, hit: string[], trainingThread: 'worker' | 'main'): Promise<void> {
    const modelDir = tempDir('mlb-kill-');
    const env = { MODEL_DIR: modelDir, TRAIN_EVERY_N_ANNOTATIONS: '0', LOG_LEVEL: 'warn', TRAINING_THREAD: trainingThread };
    const projectDir = path.join(modelDir, '2');
    let random = seed;
    const next = () => (random = (random * 48271) % 2147483647) / 2147483647;
    // The first good version is trained in-process (cheaper than one more server process).
    const prepare = await startTestServer({ modelDir, env: { TRAIN_EVERY_N_ANNOTATIONS: '0', TRAINING_THREAD: 'main' } });
    let acknowledged: number;
    let good: string;
    try {
      acknowledged = await annotate(prepare.http, 2);
      await waitJob(prepare.http, await train(prepare.http, 2));
      good = await served(prepare.http, '2');
      expect(good).to.match(/^v0001-/);
      await prepare.http.post('/setup').send({ project: '2', schema: SENTIMENT_CONFIG, extra_params: { epochs: 6, epochDelayMs: 25 } }).expect(200);
    } finally {
      await prepare.stop();
    }
    let child: ChildServer = await spawnServer(SERVE_TOY, env);
    try {
      let http = supertest(child.url);
      for (const [i, target] of targets.entries()) {
        const known = new Set(fs.readdirSync(projectDir).filter((e) => !e.endsWith('.tmp')));
        const currentBefore = fs.readFileSync(path.join(projectDir, 'current'), 'utf8').trim();
        // One more annotation, acknowledged before the kill: it must survive.
        await http.post('/webhook').send(annotationCreated(2, 100 + i, i % 2 ? 'good fun' : 'awful bad', i % 2 ? 'Positive' : 'Negative')).expect(201);
        acknowledged++;
        const job = await train(http, 2);
        const extraDelay = target === 'workdir' ? Math.floor(next() * 150) : 0;
        let stage = -1;
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline) {
          stage = stageOf(projectDir, known, currentBefore);
          if (stage >= STAGES.indexOf(target)) break;
          await sleep(1);
        }
        if (extraDelay) await sleep(extraDelay);
        child.child.kill('SIGKILL');
        await child.exited;
        counters.faults++;
        hit.push(`${target}->${STAGES[stage] ?? 'none'}${extraDelay ? `+${extraDelay}ms` : ''}`);

        child = await spawnServer(SERVE_TOY, env);
        http = supertest(child.url);
        const listed = await versionsOf(http, '2');
        const versions = listed.projects['2']?.versions ?? [];
        const context = `kill ${hit.at(-1)} (seed ${seed}): ${JSON.stringify(listed)}\n${child.output().slice(-2000)}`;
        expect(versions.filter((v) => v.corrupt), context).to.deep.equal([]);
        const now = await served(http, '2');
        expect(listed.versions, context).to.include(now);
        expect(compareVersions(now, good), context).to.be.at.least(0);
        expect(fs.readdirSync(projectDir).filter((e) => e.includes('.tmp')), context).to.deep.equal([]);
        const status = (await http.post('/job_status').send({ job }).expect(200)).body;
        expect(status.job_status, context).to.be.oneOf(['failed', 'finished']);
        if (status.job_status === 'failed') expect(status.job.error, context).to.match(/interrupted/);
        expect(await predictLabel(http, '2', 'great good'), context).to.equal('Positive');
        good = now;
      }
      child.child.kill('SIGTERM');
      await child.exited;
      // Every acknowledged annotation survived every kill.
      const check = await startTestServer({ modelDir, env: { TRAIN_EVERY_N_ANNOTATIONS: '0' } });
      try {
        expect((await check.stores.annotations.counts('2')).usable, `seed ${seed}, kills ${hit.join(', ')}`).to.equal(acknowledged);
        expect(await served(check.http, '2')).to.equal(good);
      } finally {
        await check.stop();
      }
    } finally {
      if (child.child.exitCode === null && child.child.signalCode === null) {
        child.child.kill('SIGKILL');
        await child.exited;
      }
    }
  }

  it(`SIGKILL during training and at each step of checkpoint writing (${ITERATIONS} kills): the last good version serves after restart, nothing half-written, annotations kept`, async () => {
    // Targets cycle through fit (a random delay once the workdir exists) and every on-disk step of
    // writing a checkpoint; a window missed by the 1 ms polling means the kill lands a step later.
    const order: Stage[] = ['workdir', 'model/weights.bin', 'manifest.json', 'train_output.json', 'renamed', 'model/model.json', 'current'];
    const targets = Array.from({ length: ITERATIONS }, (_, i) => order[i % order.length] as Stage);
    const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100_000);
    // Two lanes (separate MODEL_DIRs and processes) run side by side to halve the wall time. The
    // first trains in the worker thread (the default); the second on the main thread, which spares
    // booting a worker after every restart (a SIGKILL takes down every thread alike).
    const lanes = [targets.filter((_, i) => i % 2 === 0), targets.filter((_, i) => i % 2 === 1)].filter((lane) => lane.length > 0);
    const hits = lanes.map(() => [] as string[]);
    try {
      await Promise.all(lanes.map((lane, n) => killLane(lane, seed + n, hits[n] as string[], n === 0 ? 'worker' : 'main')));
    } finally {
      console.log(`      kills (target->stage reached): ${hits.flat().join(', ')} [FAULT_SEED=${seed}]`);
    }
  });


  describe('corrupt and missing checkpoint files', () => {
    let modelDir: string;
    let v1: string;
    let v2: string;
    const dir = (version: string) => path.join(modelDir, '5', version);
    const flipByte = (file: string) => {
      const bytes = fs.readFileSync(file);
      bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] ?? 0) ^ 0xff;
      fs.writeFileSync(file, bytes);
      counters.faults++;
    };

    before(async () => {
      modelDir = tempDir('mlb-corrupt-');
      const server = await startTestServer({ modelDir, env: { TRAIN_EVERY_N_ANNOTATIONS: '0', TRAINING_THREAD: 'main' } });
      try {
        await annotate(server.http, 5);
        await train(server.http, 5);
        await server.backend.waitForJobs();
        v1 = await served(server.http, '5');
        await train(server.http, 5);
        await server.backend.waitForJobs();
        v2 = await served(server.http, '5');
        expect(v2).to.not.equal(v1);
      } finally {
        await server.stop();
      }
    });

    /** Restarts on the damaged dir and checks what serves and what /versions reports. */
    async function restartAndCheck(expected: { serves: string; corrupt: Record<string, RegExp>; log: RegExp | null }) {
      const server = await startLogged(modelDir);
      try {
        const listed = await versionsOf(server.http, '5');
        const reported = Object.fromEntries((listed.projects['5']?.versions ?? []).filter((v) => v.corrupt).map((v) => [v.version, v.corrupt]));
        expect(Object.keys(reported).sort()).to.deep.equal(Object.keys(expected.corrupt).sort());
        for (const [version, reason] of Object.entries(expected.corrupt)) expect(reported[version]).to.match(reason);
        expect(listed.versions, 'corrupt versions are not offered').to.not.include.members(Object.keys(expected.corrupt));
        expect(await served(server.http, '5')).to.equal(expected.serves);
        expect(listed.current_version).to.equal(expected.serves);
        const label = await predictLabel(server.http, '5', 'awful bad');
        if (expected.serves !== 'v0000-initial') expect(label).to.equal('Negative');
        if (expected.log) expect(server.logs()).to.match(expected.log);
        expect((await server.backend.annotationCounts('5')).usable, 'annotations kept').to.equal(TEXTS.length);
        for (const version of Object.keys(expected.corrupt)) {
          const res = await rawRequest(server.url, { method: 'POST', path: '/versions', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ project: '5', version }) });
          expect(res.status).to.equal(409);
          expectJsonError(res, `selecting corrupt ${version}`);
        }
      } finally {
        await server.stop();
      }
    }

    it('corrupt weights.bin in an old version: reported corrupt, the current one still serves', async () => {
      flipByte(path.join(dir(v1), 'model', 'weights.bin'));
      await restartAndCheck({ serves: v2, corrupt: { [v1]: /weights\.bin does not match/ }, log: null });
    });

    it('corrupt model.json in the current version: the newest intact one serves, with a warning', async () => {
      flipByte(path.join(dir(v1), 'model', 'weights.bin')); // the same flip again: v1 is intact again
      const text = fs.readFileSync(path.join(dir(v2), 'model', 'model.json'), 'utf8');
      fs.writeFileSync(path.join(dir(v2), 'model', 'model.json'), text.replace('"', "'"));
      counters.faults++;
      await restartAndCheck({ serves: v1, corrupt: { [v2]: /model\.json does not match/ }, log: new RegExp(`current version ${v2} is corrupt.*serving the newest intact version ${v1}`) });
    });

    it('truncated weights, a garbage manifest: every version corrupt -> the untrained model serves, and training works again', async () => {
      fs.truncateSync(path.join(dir(v1), 'model', 'weights.bin'), 3);
      counters.faults++;
      await restartAndCheck({ serves: 'v0000-initial', corrupt: { [v1]: /weights\.bin has 3 bytes/, [v2]: /model\.json/ }, log: /no intact version to serve/ });
      fs.writeFileSync(path.join(dir(v2), 'manifest.json'), '{"files": nope');
      counters.faults++;
      await restartAndCheck({ serves: 'v0000-initial', corrupt: { [v1]: /weights\.bin/, [v2]: /manifest\.json is unreadable/ }, log: /no intact version/ });
      const server = await startTestServer({ modelDir, env: { TRAIN_EVERY_N_ANNOTATIONS: '0', TRAINING_THREAD: 'main' } });
      try {
        await train(server.http, 5);
        await server.backend.waitForJobs();
        const v3 = await served(server.http, '5');
        expect(v3).to.match(/^v0003-/);
        expect(await predictLabel(server.http, '5', 'awful bad')).to.equal('Negative');
      } finally {
        await server.stop();
      }
    });

    it('a missing, garbage or dangling `current` pointer: the newest intact version serves', async () => {
      const v3 = fs.readdirSync(path.join(modelDir, '5')).filter((e) => e.startsWith('v0003-'))[0] as string;
      const current = path.join(modelDir, '5', 'current');
      for (const [damage, log] of [
        [() => fs.rmSync(current), /current\W{0,2} is missing/],
        [() => fs.writeFileSync(current, '../../../etc/passwd\n'), /current\W{0,2} holds an invalid version name/],
        [() => fs.writeFileSync(current, 'v0042-20260101T000000Z\n'), /current version v0042-20260101T000000Z does not exist/],
        [() => fs.writeFileSync(current, Buffer.from([0xff, 0x00, 0xfe])), /invalid version name/],
      ] as Array<[() => void, RegExp]>) {
        damage();
        counters.faults++;
        await restartAndCheck({ serves: v3, corrupt: { [v1]: /weights/, [v2]: /manifest/ }, log });
      }
    });

    it('a version corrupted while the server runs: /versions reports it at once, predictions keep working', async () => {
      const server = await startLogged(modelDir);
      try {
        const now = await served(server.http, '5');
        flipByte(path.join(dir(now), 'model', 'weights.bin'));
        const listed = await versionsOf(server.http, '5');
        expect(listed.projects['5']?.versions.find((v) => v.version === now)?.corrupt).to.match(/weights\.bin does not match/);
        expect(await predictLabel(server.http, '5', 'awful bad')).to.equal('Negative');
      } finally {
        await server.stop();
      }
    });
  });

  describe('storage failures', () => {
    it('database full during webhooks: a JSON 507, nothing half-stored, every acknowledged annotation kept (also after restart)', async () => {
      const modelDir = tempDir('mlb-full-');
      const server = await startTestServer({ modelDir, env: { TRAIN_EVERY_N_ANNOTATIONS: '0', TRAINING_THREAD: 'main' } });
      let restarted: TestServer | undefined;
      try {
        await annotate(server.http, 6);
        const db = server.stores.db;
        db.pragma('wal_checkpoint(TRUNCATE)');
        const pages = db.pragma('page_count', { simple: true }) as number;
        db.pragma(`max_page_count = ${pages}`);
        counters.faults++;
        let acknowledged = TEXTS.length;
        let failures = 0;
        for (let i = 0; i < 60; i++) {
          const body = annotationCreated(6, 1000 + i, `${'long text '.repeat(400)} ${i}`, 'Positive');
          const res = await postJson(server.url, '/webhook', body);
          if (res.status === 201) acknowledged++;
          else {
            failures++;
            expect(res.status, res.text).to.equal(507);
            expectJsonError(res, 'webhook on a full database');
            expect((res.json as { error: string }).error).to.equal('MLB_ERR_STORAGE');
          }
        }
        expect(failures, 'the database did fill up').to.be.greaterThan(0);
        // Other routes keep answering while the disk is full.
        expect((await rawRequest(server.url, { path: '/health' })).status).to.equal(200);
        expect((await postJson(server.url, '/predict', { project: '6', tasks: [{ data: { text: 'x' } }], label_config: SENTIMENT_CONFIG })).status).to.equal(200);
        expect((await server.stores.annotations.counts('6')).usable).to.equal(acknowledged);
        // Space comes back: webhooks work again.
        db.pragma('max_page_count = 1073741823');
        await server.http.post('/webhook').send(annotationCreated(6, 5000, 'after', 'Negative')).expect(201);
        acknowledged++;
        await server.stop();
        restarted = await startTestServer({ modelDir, env: { TRAIN_EVERY_N_ANNOTATIONS: '0', TRAINING_THREAD: 'main' } });
        expect((await restarted.stores.annotations.counts('6')).usable).to.equal(acknowledged);
      } finally {
        await (restarted ?? server).stop().catch(() => {});
      }
    });

    it('no space for a checkpoint (ENOSPC while promoting): the job fails cleanly, the previous version serves, no leftovers', async () => {
      // Training stays in the worker thread, so the injected ENOSPC hits the main thread's promote step.
      const server = await startTestServer({ env: { TRAIN_EVERY_N_ANNOTATIONS: '0' } });
      // FileHandle.prototype is shared by every handle in this thread; training itself runs in the worker.
      const probe = await open(fileURLToPath(import.meta.url), 'r');
      const proto = Object.getPrototypeOf(probe) as { writeFile: (...args: unknown[]) => Promise<void> };
      await probe.close();
      const original = proto.writeFile;
      try {
        await annotate(server.http, 7);
        await waitJob(server.http, await train(server.http, 7));
        const good = await served(server.http, '7');
        proto.writeFile = async function () {
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
        };
        counters.faults++;
        const job = await waitJob(server.http, await train(server.http, 7));
        expect(job.job_status).to.equal('failed');
        expect(job.job.error).to.match(/ENOSPC|no space/);
        proto.writeFile = original;
        expect(await served(server.http, '7')).to.equal(good);
        expect(fs.readdirSync(path.join(server.modelDir, '7')).filter((e) => e.includes('.tmp'))).to.deep.equal([]);
        expect(fs.readFileSync(path.join(server.modelDir, '7', 'current'), 'utf8').trim()).to.equal(good);
        const listed = await versionsOf(server.http, '7');
        expect(listed.versions).to.deep.equal([good]);
        expect((await server.stores.annotations.counts('7')).usable).to.equal(TEXTS.length);
        // Space again: the next training succeeds.
        await waitJob(server.http, await train(server.http, 7));
        expect(await served(server.http, '7')).to.not.equal(good);
      } finally {
        proto.writeFile = original;
        await server.backend.waitForJobs();
        await server.stop();
      }
    });

    it('a project directory that cannot be used (a file in its place): training fails, reads are a JSON storage error, other projects unaffected, recovers once fixed', async () => {
      const server = await startTestServer({ env: { TRAIN_EVERY_N_ANNOTATIONS: '0', TRAINING_THREAD: 'main' } });
      try {
        fs.writeFileSync(path.join(server.modelDir, '8'), 'not a directory');
        counters.faults++;
        await annotate(server.http, 8);
        const job = await waitJob(server.http, await train(server.http, 8));
        expect(job.job_status).to.equal('failed');
        expect(job.job.error).to.match(/ENOTDIR|EEXIST|not a directory|file already exists/i);
        for (const res of [
          await rawRequest(server.url, { path: '/versions?project=8' }),
          await postJson(server.url, '/setup', { project: '8', schema: SENTIMENT_CONFIG }),
          await postJson(server.url, '/predict', { project: '8', tasks: [{ data: { text: 'x' } }] }),
        ]) {
          expect(res.status, res.text).to.equal(500);
          expectJsonError(res, 'project dir is a file');
          expect((res.json as { error: string }).error).to.equal('MLB_ERR_STORAGE');
        }
        expect((await rawRequest(server.url, { path: '/versions' })).status).to.equal(200);
        expect((await postJson(server.url, '/predict', { project: '9', tasks: [{ data: { text: 'x' } }], label_config: SENTIMENT_CONFIG })).status).to.equal(200);
        expect((await server.stores.annotations.counts('8')).usable).to.equal(TEXTS.length);
        fs.rmSync(path.join(server.modelDir, '8'));
        await waitJob(server.http, await train(server.http, 8));
        expect(await served(server.http, '8')).to.match(/^v0001-/);
      } finally {
        await server.backend.waitForJobs();
        await server.stop();
      }
    });

    it('a MODEL_DIR that cannot be created (under a file, in /proc): start-up fails at once with a clear message, no hang', async () => {
      const parent = tempDir('mlb-nodir-');
      fs.writeFileSync(path.join(parent, 'file'), 'x');
      for (const modelDir of [path.join(parent, 'file', 'models'), '/proc/mlb-models']) {
        counters.faults++;
        const outcome = await Promise.race([
          startTestServer({ modelDir }).then(
            async (server) => {
              await server.stop();
              return 'started';
            },
            (error: Error) => error,
          ),
          sleep(15_000).then(() => 'hung'),
        ]);
        expect(outcome, modelDir).to.be.instanceOf(Error);
        expect((outcome as Error).message).to.match(/Cannot create MODEL_DIR/);
        expect(fs.existsSync(modelDir)).to.equal(false);
      }
    });
  });
});

