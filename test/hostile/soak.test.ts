/**
 * Soak: a bounded burst of mixed traffic (predict, annotation webhooks that trigger trainings,
 * health, metrics, versions) against the real server in its own process, over loopback.
 * Expected: no errors, RSS growth bounded, and the main thread's TF.js tensor count back where it
 * was once trainings settle (models are swapped, never leaked). SOAK_SECONDS (default 10) for longer runs.
 */
import { expect } from 'chai';
import { SENTIMENT_CONFIG, annotationCreated, tempDir, waitFor } from '../helpers/server.js';
import { SERVE_TOY, spawnServer, type ChildServer } from '../helpers/process.js';
import { counters, sleep } from '../helpers/fuzz.js';

const SECONDS = Math.max(3, Number(process.env.SOAK_SECONDS ?? '') || 10);
const CONCURRENCY = 8;
const PROJECTS = [21, 22];
const RSS_GROWTH_LIMIT_MB = 96;

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} not in /metrics`);
  return Number(line.split(' ')[1]);
}

async function post(url: string, route: string, body: unknown): Promise<Response> {
  return fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('hostile: soak', function () {
  this.timeout((SECONDS + 120) * 1000);
  let server: ChildServer;

  before(async () => {
    server = await spawnServer(SERVE_TOY, { MODEL_DIR: tempDir('mlb-soak-'), TRAIN_EVERY_N_ANNOTATIONS: '15', TRAIN_DEBOUNCE_MS: '300', LOG_LEVEL: 'warn' });
  });
  after(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    console.log(`      (hostile requests so far: ${counters.requests}; faults injected: ${counters.faults})`);
  });

  it(`${SECONDS} s of mixed traffic (${CONCURRENCY} clients): no errors, bounded RSS, flat tensor count`, async () => {
    const { url } = server;
    let annotationId = 1;
    const webhook = (project: number) => {
      const i = annotationId++;
      const positive = i % 2 === 0;
      return annotationCreated(project, i, `${positive ? 'good great' : 'awful bad'} ${i % 7}`, positive ? 'Positive' : 'Negative');
    };
    // Every project trained once, so the served models (and their tensors) exist before the baseline.
    for (const project of PROJECTS) {
      await post(url, '/setup', { project: String(project), schema: SENTIMENT_CONFIG, extra_params: { epochs: 5 } });
      for (let i = 0; i < 15; i++) expect((await post(url, '/webhook', webhook(project))).status).to.equal(201);
    }
    const versionOf = async (project: number) =>
      ((await (await post(url, '/setup', { project: String(project), schema: SENTIMENT_CONFIG })).json()) as { model_version: string }).model_version;
    for (const project of PROJECTS) await waitFor(async () => (await versionOf(project)) !== 'v0000-initial', 60_000, `first training of ${project}`);

    const errors: string[] = [];
    const counts = { predict: 0, webhook: 0, health: 0, other: 0 };
    const samples: Array<{ rss: number; tensors: number }> = [];
    const sample = async () => samples.push({ rss: await metric(url, 'mlbackend_process_resident_memory_bytes'), tensors: await metric(url, 'mlbackend_tfjs_tensors') });

    const warmupEnd = Date.now() + Math.min(5, SECONDS / 4) * 1000;
    const deadline = Date.now() + SECONDS * 1000;
    let baseline: { rss: number; tensors: number } | undefined;
    const client = async (n: number) => {
      let i = n;
      while (Date.now() < deadline) {
        i++;
        const project = PROJECTS[i % PROJECTS.length] as number;
        const roll = (i * 7919) % 100;
        try {
          let res: Response;
          if (roll < 55) {
            counts.predict++;
            const tasks = Array.from({ length: 1 + (i % 5) }, (_, k) => ({ id: k, data: { text: k % 2 ? 'good great fun' : 'awful bad mess' } }));
            res = await post(url, '/predict', { project: `${project}.1712586036`, tasks, label_config: SENTIMENT_CONFIG, params: { context: null } });
            const body = (await res.json()) as { results?: unknown[] };
            if (res.status === 200 && body.results?.length !== tasks.length) errors.push(`predict: ${JSON.stringify(body).slice(0, 200)}`);
          } else if (roll < 80) {
            counts.webhook++;
            res = await post(url, '/webhook', webhook(project));
            await res.arrayBuffer();
          } else if (roll < 92) {
            counts.health++;
            res = await fetch(`${url}/health`);
            await res.arrayBuffer();
          } else {
            counts.other++;
            res = roll < 96 ? await fetch(`${url}/versions?project=${project}`) : await fetch(`${url}/metrics`);
            await res.arrayBuffer();
          }
          if (res.status >= 400) errors.push(`${res.status} ${res.url}`);
        } catch (error) {
          errors.push(`network: ${(error as Error).message}`);
        }
      }
    };
    const sampler = (async () => {
      await sleep(Math.max(0, warmupEnd - Date.now()));
      await sample();
      baseline = samples[0];
      while (Date.now() < deadline) {
        await sleep(1000);
        await sample();
      }
    })();
    await Promise.all([...Array.from({ length: CONCURRENCY }, (_, n) => client(n)), sampler]);
    counters.requests += counts.predict + counts.webhook + counts.health + counts.other;

    // Let trainings settle, then touch every project so the newest versions are loaded and old models disposed.
    await waitFor(async () => {
      const states = await Promise.all(PROJECTS.map(async (p) => (await (await fetch(`${url}/is_training?project=${p}`)).json()) as { is_training: boolean; job_id?: string }));
      return states.every((s) => !s.is_training && s.job_id === undefined);
    }, 60_000, 'trainings to settle');
    for (const project of PROJECTS) await post(url, '/predict', { project: String(project), tasks: [{ data: { text: 'x' } }] });
    await sample();
    const end = samples.at(-1) as { rss: number; tensors: number };
    const base = baseline as { rss: number; tensors: number };
    const trainings = (await metric(url, 'mlbackend_training_jobs_total{outcome="succeeded"}').catch(() => NaN));
    const report = `requests ${JSON.stringify(counts)}, trainings ${trainings}, rss ${(base.rss / 2 ** 20).toFixed(0)} -> ${(end.rss / 2 ** 20).toFixed(0)} MB, tensors ${base.tensors} -> ${end.tensors}`;
    console.log(`      soak: ${report}`);
    expect(errors.slice(0, 10), report).to.deep.equal([]);
    expect(counts.predict, 'traffic flowed').to.be.greaterThan(50);
    expect(end.tensors, `tensors: ${report}`).to.be.at.most(base.tensors);
    expect((end.rss - base.rss) / 2 ** 20, `RSS growth: ${report}`).to.be.below(RSS_GROWTH_LIMIT_MB);
    expect((await fetch(`${url}/health`)).status).to.equal(200);
  });
});
