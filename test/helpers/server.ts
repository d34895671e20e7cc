/** Starts the real server on a free loopback port with a temporary MODEL_DIR. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import supertest from 'supertest';
import { startServer, type RunningServer, type StartOptions } from '../../src/server/start.js';
import type { ModelClass } from '../../src/model/base.js';
import { openLocalStores, type LocalStores } from '../../src/store/index.js';
import { createLogger } from '../../src/logger.js';

export const TOY_MODEL = fileURLToPath(new URL('../fixtures/toy-classifier.ts', import.meta.url));

export interface TestServer extends RunningServer {
  modelDir: string;
  /** The stores the server runs on (opened here and handed to it), for tests that look inside. */
  stores: LocalStores;
  http: ReturnType<typeof supertest>;
  stop(): Promise<void>;
}

export function tempDir(prefix = 'mlb-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startTestServer(options: {
  modelClass?: ModelClass;
  module?: string;
  modelDir?: string;
  env?: Record<string, string>;
  /** Seams of the backend (predict gate, prediction refresh). */
  backend?: StartOptions['backend'];
} = {}): Promise<TestServer> {
  const modelDir = options.modelDir ?? tempDir();
  const env: Record<string, string> = { MODEL_DIR: modelDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', ...options.env };
  const logger = createLogger({ level: env.LOG_LEVEL ?? 'silent', pretty: false });
  const stores = openLocalStores(modelDir, {
    onProblem: (message, details) => logger.warn(details ?? {}, message),
    pollMs: Number(env.VERSION_POLL_MS ?? 1000),
  });
  const running = await startServer({
    ...(options.modelClass ? { modelClass: options.modelClass } : {}),
    ...(options.module || !options.modelClass ? { module: { module: options.module ?? TOY_MODEL } } : {}),
    env,
    logger,
    stores,
    ...(options.backend && { backend: options.backend }),
    handleSignals: false,
  });
  return {
    ...running,
    modelDir,
    stores,
    http: supertest(running.url),
    stop: async () => {
      await running.close();
    },
  };
}

export const SENTIMENT_CONFIG =
  '<View><Text name="text" value="$text"/><View style="box-shadow: 2px 2px 5px #999; padding: 20px; margin-top: 2em; border-radius: 5px;"><Header value="Choose text sentiment"/><Choices name="sentiment" toName="text" choice="single" showInLine="true"><Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/></Choices></View></View>';

/** Waits until `check` returns a value (polling); fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let nextAnnotationId = 1000;

/** An ANNOTATION_CREATED webhook body as newer Label Studio sends it. */
export function annotationCreated(project: number, taskId: number, text: string, choice: string, labelConfig = SENTIMENT_CONFIG) {
  const id = nextAnnotationId++;
  return {
    action: 'ANNOTATION_CREATED',
    annotation: {
      id,
      task: taskId,
      project,
      was_cancelled: false,
      ground_truth: false,
      lead_time: 1.5,
      result: [{ id: `r${id}`, from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: [choice] } }],
    },
    task: { id: taskId, data: { text }, project },
    project: { id: project, title: 'Test', label_config: labelConfig },
  };
}
