/**
 * Starts the backend: config from env (+ overrides), logger, MLBackend, Koa app, HTTP server,
 * and a graceful shutdown on SIGTERM/SIGINT (close-with-grace): /ready turns 503, the server
 * stops accepting, in-flight requests finish, training is cancelled without promoting partial
 * checkpoints, the stores close, and the process exits within a bound.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import closeWithGrace from 'close-with-grace';
import { loadConfig, type BackendConfig } from '../config/index.js';
import { createLogger, type Logger } from '../logger.js';
import { MLBackend, type MLBackendOptions } from '../backend/ml-backend.js';
import type { ModelClass } from '../model/base.js';
import type { ModelModuleRef } from '../backend/model-module.js';
import type { Stores } from '../store/types.js';
import { errorMessage } from '../util/json.js';
import { createApp } from './app.js';
import { onClientError } from './error-handler.js';

export interface StartOptions {
  /** The model class (trains on the main thread unless `module` is also given). */
  modelClass?: ModelClass;
  /** The module exporting the model class: training then runs in a worker thread. */
  module?: ModelModuleRef;
  /** Overrides of the environment's configuration (CLI flags). */
  config?: Partial<BackendConfig>;
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** Install SIGTERM/SIGINT handlers that shut down and exit (default true). */
  handleSignals?: boolean;
  /** A store set to serve from instead of MODEL_DIR's (tests). */
  stores?: Stores;
  /** Seams of the backend (predict gate, prediction refresh); see MLBackendOptions. */
  backend?: Pick<MLBackendOptions, 'predictGate' | 'refreshPredictions'>;
}

export interface RunningServer {
  backend: MLBackend;
  server: http.Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startServer(options: StartOptions): Promise<RunningServer> {
  const config = loadConfig(options.env ?? process.env, options.config ?? {});
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const model = options.modelClass
    ? { modelClass: options.modelClass, ...(options.module ? { module: options.module } : {}) }
    : options.module
      ? { module: options.module }
      : undefined;
  if (!model) throw new TypeError('startServer needs a modelClass or a module');
  if (config.basicAuthUser && !config.webhookToken) {
    logger.warn('Basic auth is on and WEBHOOK_TOKEN is not set: Label Studio webhooks carry no credentials and will get 401 (see README, "Webhooks and auth")');
  }
  const backend = await MLBackend.create({ config, logger, model, ...options.backend, ...(options.stores && { stores: options.stores }) });
  // One line per job outcome, including failures before fit starts (e.g. a Label Studio export).
  backend.onJobEvent(({ type, job, remote }) => {
    if (type !== 'finished' || remote) return;
    const { id, kind, project, state, event, durationMs, version, error } = job;
    const what = (kind ?? 'train') === 'train' ? 'training job finished' : 'prediction refresh job finished';
    logger[state === 'failed' ? 'warn' : 'info']({ job: id, kind, project, state, event, durationMs, version, error }, what);
  });
  const { app } = createApp(backend);
  // Slow or stalled headers and bodies must not hold a connection forever. Node checks these
  // timeouts every connectionsCheckingInterval, so that interval follows the shorter one.
  const requestTimeout = Math.round(config.requestTimeoutS * 1000);
  const headersTimeout = Math.min(Math.round(config.headersTimeoutS * 1000), requestTimeout);
  const handle = app.callback();
  const server = http.createServer(
    { requestTimeout, headersTimeout, connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(headersTimeout / 4))) },
    (req, res) => void handle(req, res), // Koa answers every error itself
  );
  server.keepAliveTimeout = 5_000;
  server.on('clientError', onClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${shownHost}:${port}`;
  logger.info({ url, model: backend.modelName, tfBackend: backend.tfRuntime.backend, role: backend.deployment.role }, 'listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      logger.info('shutting down');
      // Not ready from now on; stop accepting; requests in flight finish (cut after the bound)
      // while training is cancelled (its workdir discarded, never promoted). The stores close
      // only after both, so no request still running ever meets a closed database.
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const bound = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutS * 1000);
      bound.unref();
      await Promise.all([serverClosed, backend.beginShutdown('cancel')]);
      clearTimeout(bound);
      await backend.close('cancel');
      logger.info('stopped');
    })());

  if (options.handleSignals ?? true) {
    // SIGTERM, SIGINT (and a crash) close gracefully, once; a second signal or the bound exits at once.
    const grace = closeWithGrace(
      { delay: (config.shutdownTimeoutS + 5) * 1000, logger: { error: (message: unknown) => logger.error({ detail: errorMessage(message) }, 'shutdown') } },
      async ({ signal, err }) => {
        if (err) logger.error({ err }, 'unexpected error: shutting down');
        else logger.info({ signal }, 'signal received');
        await close();
      },
    );
    // A model that cannot load (missing weights, bad settings) is a start-up error, not a zombie.
    backend.whenPreloaded().catch((error: unknown) => {
      logger.fatal({ err: error }, `model preload failed: ${errorMessage(error)}`);
      grace.uninstall();
      void close().finally(() => process.exit(1));
    });
  }
  return { backend, server, url, port, close };
}
