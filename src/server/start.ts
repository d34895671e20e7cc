/**
 * Starts the backend: config from env (+ overrides), logger, MLBackend, Koa app, HTTP server,
 * and a graceful shutdown on SIGTERM/SIGINT: stop accepting, let in-flight requests finish,
 * cancel training without promoting partial checkpoints, close the stores, exit within a bound.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, type BackendConfig } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { MLBackend } from '../backend/ml-backend.js';
import type { ModelClass } from '../model/base.js';
import type { ModelModuleRef } from '../backend/model-module.js';
import type { JobRecord } from '../types.js';
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
  const backend = await MLBackend.create({ config, logger, model });
  // One line per job outcome, including failures before fit starts (e.g. a Label Studio export).
  backend.queue.on('finished', (job: JobRecord) => {
    const { id, project, state, event, durationMs, version, error } = job;
    logger[state === 'failed' ? 'warn' : 'info']({ job: id, project, state, event, durationMs, version, error }, 'training job finished');
  });
  const { app } = createApp(backend);
  // Slow or stalled headers and bodies must not hold a connection forever. Node checks these
  // timeouts every connectionsCheckingInterval, so that interval follows the shorter one.
  const requestTimeout = Math.round(config.requestTimeoutS * 1000);
  const headersTimeout = Math.min(Math.round(config.headersTimeoutS * 1000), requestTimeout);
  const server = http.createServer(
    { requestTimeout, headersTimeout, connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(headersTimeout / 4))) },
    app.callback(),
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
  logger.info({ url, model: backend.modelClass.modelName, tfBackend: backend.tf.backend }, 'listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      logger.info('shutting down');
      // Stop accepting; requests in flight finish (cut after the bound), training is cancelled
      // (its workdir discarded, never promoted) meanwhile. The stores close only after both,
      // so no request still running ever meets a closed database.
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const bound = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutS * 1000);
      bound.unref();
      await Promise.all([serverClosed, backend.queue.shutdown('cancel', config.shutdownTimeoutS * 1000)]);
      clearTimeout(bound);
      await backend.close('cancel');
      logger.info('stopped');
    })());

  if (options.handleSignals ?? true) {
    // A model that cannot load (missing weights, bad settings) is a start-up error, not a zombie.
    backend.preloaded.catch((error: unknown) => {
      logger.fatal({ err: error }, `model preload failed: ${error instanceof Error ? error.message : String(error)}`);
      void close().finally(() => process.exit(1));
    });
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'signal received');
      const force = setTimeout(() => process.exit(1), (config.shutdownTimeoutS + 5) * 1000);
      force.unref();
      close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { backend, server, url, port, close };
}
