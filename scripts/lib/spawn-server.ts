/**
 * Runs the real server as a separate process on loopback (benchmarks, simulator, crash tests):
 * a free port, captured output, and a promise for its exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface ChildServer {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Starts `script` with tsx and waits until /health answers (or the process dies). */
export async function spawnServer(script: string, env: Record<string, string>, options: { startTimeoutMs?: number } = {}): Promise<ChildServer> {
  return spawnCommand(['--import', 'tsx', script], { env, ...options });
}

/** Runs `node <args>` as a server on a free loopback port and waits until /health answers. */
export async function spawnCommand(args: string[], options: { env?: Record<string, string>; cwd?: string; startTimeoutMs?: number } = {}): Promise<ChildServer> {
  const env = options.env ?? {};
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', CI: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  const auth = env.BASIC_AUTH_USER ? { authorization: `Basic ${Buffer.from(`${env.BASIC_AUTH_USER}:${env.BASIC_AUTH_PASS ?? ''}`).toString('base64')}` } : undefined;
  for (;;) {
    try {
      const res = await fetch(`${url}/health`, auth ? { headers: auth } : {});
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    return exited;
  };
  return { child, url, output: () => output, exited, stop };
}
