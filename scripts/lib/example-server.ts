/**
 * Starts the text-classifier example as a real server process (loopback, offline encoder,
 * a throw-away MODEL_DIR, training only on START_TRAINING / /train) and cleans up after it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnServer, type ChildServer } from './spawn-server.js';

const SERVER = fileURLToPath(new URL('../../examples/text-classifier/server.ts', import.meta.url));

export interface ExampleServer {
  server: ChildServer;
  modelDir: string;
  /** GET /health body (model class, embedder, backend). */
  health: Record<string, unknown>;
  close(): Promise<void>;
}

export async function startExampleServer(env: Record<string, string> = {}): Promise<ExampleServer> {
  const modelDir = mkdtempSync(join(tmpdir(), 'lsml-script-'));
  let server: ChildServer;
  try {
    server = await spawnServer(
      SERVER,
      { EMBEDDER: 'hashed', TRAIN_EVERY_N_ANNOTATIONS: '0', LOG_LEVEL: 'warn', MODEL_DIR: modelDir, MAX_BODY_MB: '200', ...env },
      { startTimeoutMs: 120_000 },
    );
  } catch (error) {
    rmSync(modelDir, { recursive: true, force: true });
    throw error;
  }
  const health = (await (await fetch(`${server.url}/health`)).json()) as Record<string, unknown>;
  return {
    server,
    modelDir,
    health,
    close: async () => {
      const stopped = server.stop();
      const timer = setTimeout(() => server.child.kill('SIGKILL'), 30_000);
      await stopped;
      clearTimeout(timer);
      rmSync(modelDir, { recursive: true, force: true });
    },
  };
}
