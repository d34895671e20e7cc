/**
 * A distributed deployment in separate processes for the issue 14 tests: a private redis-server,
 * one shared MODEL_DIR, api replicas and trainers (the real server with the toy model), each on
 * its own loopback port. Short job locks and version polls keep the tests quick.
 */
import fs from 'node:fs';
import { startRedisServer, type RedisServer } from '../../scripts/lib/redis-server.js';
import { SENTIMENT_CONFIG, tempDir } from './server.js';
import { SERVE_TOY, spawnServer, type ChildServer } from './process.js';

export type Role = 'api' | 'trainer' | 'all';

export interface Cluster {
  redis: RedisServer;
  modelDir: string;
  /** The environment every process of the deployment shares. */
  env: Record<string, string>;
  apis: ChildServer[];
  trainers: ChildServer[];
  spawn(role: Role, env?: Record<string, string>): Promise<ChildServer>;
  stop(): Promise<void>;
}

export async function startCluster(options: { apis: number; trainers: number; env?: Record<string, string> }): Promise<Cluster> {
  const redis = await startRedisServer();
  const modelDir = tempDir('mlb-cluster-');
  const env = {
    REDIS_URL: redis.url,
    MODEL_DIR: modelDir,
    JOB_LOCK_MS: '1000',
    VERSION_POLL_MS: '500',
    TRAIN_EVERY_N_ANNOTATIONS: '0',
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  const all: ChildServer[] = [];
  const spawn = async (role: Role, extra: Record<string, string> = {}) => {
    const child = await spawnServer(SERVE_TOY, { ...env, ROLE: role, ...extra }, { startTimeoutMs: 60_000 });
    all.push(child);
    return child;
  };
  const [apis, trainers] = await Promise.all([
    Promise.all(Array.from({ length: options.apis }, () => spawn('api'))),
    Promise.all(Array.from({ length: options.trainers }, () => spawn('trainer'))),
  ]);
  return {
    redis,
    modelDir,
    env,
    apis,
    trainers,
    spawn,
    stop: async () => {
      await Promise.all(all.map((child) => child.stop()));
      await redis.stop();
      fs.rmSync(redis.dir, { recursive: true, force: true });
      fs.rmSync(modelDir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies the tests read field by field
  body: any;
}

export async function post(server: ChildServer, route: string, body: unknown): Promise<Reply> {
  const res = await fetch(server.url + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

export async function get(server: ChildServer, route: string): Promise<Reply> {
  const res = await fetch(server.url + route);
  const text = await res.text();
  return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

/** The version a replica serves for a project (its /setup answer). */
export async function servedVersion(server: ChildServer, project: number): Promise<string> {
  const reply = await post(server, '/setup', { project: String(project), schema: SENTIMENT_CONFIG });
  if (reply.status !== 200) throw new Error(`/setup answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  return reply.body.model_version as string;
}

/** /predict in a loop on each server until stopped: every answer's status and version, with its time. */
export function predictLoop(servers: ChildServer[], project: number) {
  const seen = servers.map(() => [] as Array<{ status: number; version: string | undefined; at: number }>);
  let running = true;
  const loops = servers.map(async (server, index) => {
    while (running) {
      const reply = await post(server, '/predict', { project: String(project), label_config: SENTIMENT_CONFIG, tasks: [{ id: 1, data: { text: 'good great' } }] })
        .catch((error: unknown) => ({ status: 0, body: { error: String(error) } }));
      seen[index]!.push({ status: reply.status, version: reply.body.model_version, at: Date.now() });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  return {
    seen,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return seen;
    },
  };
}

/** Milliseconds from `since` until each server's answers first named `version` (undefined: never did). */
export function firstServed(seen: ReturnType<typeof predictLoop>['seen'], version: string, since: number): Array<number | undefined> {
  return seen.map((answers) => {
    const first = answers.find((answer) => answer.version === version);
    return first === undefined ? undefined : first.at - since;
  });
}
