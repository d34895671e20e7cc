/**
 * The text classifier as a separate server process for the benchmarks: offline encoder, a temp
 * MODEL_DIR (removed on stop), quiet logs; plus the plain HTTP calls the benchmarks make against
 * it (GET/POST JSON, one /metrics value).
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

/** A temp MODEL_DIR that outlives one server (e.g. a checkpoint served by two processes). */
export function tempModelDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-model-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts the classifier; its MODEL_DIR is a fresh temp dir removed on stop, unless `modelDir` is
 * given. The serving benchmarks send texts never seen before, so they run on the hashed encoder
 * unless BENCH_EMBEDDER says otherwise (USE-lite's speed is bench-encoders' subject).
 */
export async function startClassifier(env: Record<string, string> = {}, options: { modelDir?: string } = {}): Promise<BenchServer> {
  const owned = options.modelDir ? undefined : tempModelDir();
  const modelDir = options.modelDir ?? owned!.dir;
  const fullEnv = { EMBEDDER: process.env.BENCH_EMBEDDER ?? 'hashed', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', MODEL_DIR: modelDir, ...env };
  let server: ChildServer;
  try {
    server = await spawnServer(CLASSIFIER_SERVER, fullEnv, { startTimeoutMs: 60_000 });
  } catch (error) {
    owned?.remove();
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
      owned?.remove();
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
