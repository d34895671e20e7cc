/**
 * Starts the text-classifier example as a real server process (loopback, the default encoder
 * unless EMBEDDER is given, a throw-away MODEL_DIR, training only on START_TRAINING / /train)
 * and cleans up after it. EMBED_CACHE_FROM=<dir> seeds the MODEL_DIR with that directory's
 * embedding cache (a copy), so runs over the shared data sets never re-embed them.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
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
  const seed = process.env.EMBED_CACHE_FROM;
  if (seed && existsSync(join(seed, 'embeddings.sqlite'))) {
    for (const suffix of ['', '-wal']) if (existsSync(join(seed, `embeddings.sqlite${suffix}`))) copyFileSync(join(seed, `embeddings.sqlite${suffix}`), join(modelDir, `embeddings.sqlite${suffix}`));
  }
  let server: ChildServer;
  try {
    server = await spawnServer(
      SERVER,
      { TRAIN_EVERY_N_ANNOTATIONS: '0', LOG_LEVEL: 'warn', MODEL_DIR: modelDir, MAX_BODY_MB: '200', ...env },
      { startTimeoutMs: 120_000 },
    );
  } catch (error) {
    rmSync(modelDir, { recursive: true, force: true });
    throw error;
  }
  // /health answers at once; /ready once the model (and its encoder) has loaded.
  for (let i = 0; i < 1200 && (await fetch(`${server.url}/ready`)).status !== 200; i++) await new Promise((resolve) => setTimeout(resolve, 100));
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
