/**
 * A private `redis-server` (Debian's package) on a free loopback port with its own data directory,
 * for the distributed-mode tests and benchmarks: never the system service. AOF persistence as the
 * README documents it (appendonly yes, appendfsync everysec), so a restart keeps the data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './spawn-server.js';

export const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Stops the server: SIGTERM (Redis flushes the AOF first), or SIGKILL to simulate a crash. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port and directory (after `stop`). */
  restart(): Promise<void>;
  output(): string;
}

export function redisServerAvailable(): boolean {
  return fs.existsSync(REDIS_SERVER_BIN);
}

/** Resolves once the server answers PING (a raw RESP exchange: no client library needed). */
async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export async function startRedisServer(options: { dir?: string; port?: number } = {}): Promise<RedisServer> {
  if (!redisServerAvailable()) {
    throw new Error(`no redis-server at ${REDIS_SERVER_BIN}: install Debian's redis-server package (bash .ci/run does), or set REDIS_SERVER_BIN`);
  }
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mlb-redis-'));
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;
  let log = '';

  const launch = async () => {
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', 'everysec', '--daemonize', 'no', '--protected-mode', 'yes',
      '--loglevel', 'warning', '--logfile', '',
    ];
    const started = spawn(REDIS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    started.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    started.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child = started;
    const deadline = Date.now() + 10_000;
    while (!(await ping(port))) {
      if (started.exitCode !== null || Date.now() > deadline) {
        started.kill('SIGKILL');
        throw new Error(`redis-server did not start on port ${port}:\n${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    await exited;
  };

  await launch();
  return { port, url: `redis://127.0.0.1:${port}/0`, dir, stop, restart: launch, output: () => log };
}
