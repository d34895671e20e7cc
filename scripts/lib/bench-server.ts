/**
 * The text classifier as a separate server process for the benchmarks: offline encoder, a temp
 * MODEL_DIR (removed on stop), quiet logs; plus the few HTTP calls the benchmarks make against it
 * (JSON POST, waiting for a training job, the served version, /health, /metrics).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnServer, type ChildServer } from './spawn-server.js';

export const CLASSIFIER_SERVER = fileURLToPath(new URL('../../examples/text-classifier/server.ts', import.meta.url));

export interface BenchServer {
  url: string;
  pid: number;
  /** GET /health at start. */
  health: Record<string, unknown>;
  /** The TF.js backend the server reports (GET /health tfjs_backend). */
  tfjsBackend: string;
  env: Record<string, string>;
  server: ChildServer;
  stop(): Promise<void>;
}

const running = new Set<ChildServer>();
// Backstop: never leave a server behind when a benchmark throws or is interrupted.
process.once('exit', () => {
  for (const server of running) server.child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(130));
}

export async function startClassifier(env: Record<string, string> = {}): Promise<BenchServer> {
  const modelDir = mkdtempSync(path.join(os.tmpdir(), 'bench-model-'));
  const fullEnv = { EMBEDDER: 'hashed', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', MODEL_DIR: modelDir, ...env };
  let server: ChildServer;
  try {
    server = await spawnServer(CLASSIFIER_SERVER, fullEnv, { startTimeoutMs: 60_000 });
  } catch (error) {
    rmSync(modelDir, { recursive: true, force: true });
    throw error;
  }
  running.add(server);
  const health = (await getJson(server.url, '/health')) as Record<string, unknown>;
  return {
    url: server.url,
    pid: server.child.pid ?? -1,
    health,
    tfjsBackend: String(health.tfjs_backend),
    env: fullEnv,
    server,
    async stop() {
      const timer = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
      await server.stop();
      clearTimeout(timer);
      running.delete(server);
      rmSync(modelDir, { recursive: true, force: true });
    },
  };
}

export async function getJson(url: string, route: string): Promise<unknown> {
  const res = await fetch(`${url}${route}`);
  if (!res.ok) throw new Error(`GET ${route}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

export interface PostReply {
  status: number;
  body: Record<string, unknown>;
  ms: number;
}

export async function postJson(url: string, route: string, body: object | string): Promise<PostReply> {
  const started = performance.now();
  const res = await fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  const ms = performance.now() - started;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  if (res.status >= 300) throw new Error(`POST ${route}: HTTP ${res.status} ${text.slice(0, 500)}`);
  return { status: res.status, body: parsed, ms };
}

export interface JobInfo {
  state: string;
  version?: string;
  durationMs?: number;
  metrics?: Record<string, number>;
  annotationCount?: number;
  error?: string;
}

/** Polls /job_status until the job ends; throws unless it finished. */
export async function waitForJob(url: string, jobId: string, timeoutMs = 300_000, pollMs = 100): Promise<JobInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await postJson(url, '/job_status', { job: jobId });
    const job = body.job as JobInfo;
    if (body.job_status === 'finished') return job;
    if (body.job_status === 'failed' || body.job_status === 'canceled') throw new Error(`training job ${jobId} ${String(body.job_status)}: ${job.error ?? ''}`);
    if (Date.now() > deadline) throw new Error(`training job ${jobId} still ${String(body.job_status)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Trains through legacy POST /train (the fastest way in) and waits for the job. */
export async function trainViaExport(url: string, body: object, timeoutMs?: number): Promise<JobInfo & { wallMs: number }> {
  const started = performance.now();
  const { body: reply } = await postJson(url, '/train', body);
  const job = await waitForJob(url, String(reply.job), timeoutMs);
  return { ...job, wallMs: performance.now() - started };
}

/** The version POST /setup reports, as Label Studio reads it. */
export async function setupVersion(url: string, project: number, labelConfig: string): Promise<string> {
  const { body } = await postJson(url, '/setup', { project: String(project), schema: labelConfig });
  return String(body.model_version);
}

/** A gauge or counter from GET /metrics (Prometheus text), summed over its label sets. */
export async function metric(url: string, name: string): Promise<number | undefined> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match && match[1] === name) total = (total ?? 0) + Number(match[3]);
  }
  return total;
}
