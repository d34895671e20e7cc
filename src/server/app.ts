/**
 * The Koa app: request ids and logs, JSON errors, auth, body parsing with limits, routes, and a
 * JSON 404 for everything else.
 */
import Koa, { type Context, type Next } from 'koa';
import { bodyParser } from '@koa/bodyparser';
import { randomUUID } from 'node:crypto';
import type { MLBackend } from '../backend/ml-backend.js';
import { MlBackendError } from '../errors.js';
import { authMiddleware } from './auth.js';
import { errorHandler, notFound } from './error-handler.js';
import { Metrics } from './metrics.js';
import { createRouter } from './routes.js';
import { addUiRoutes } from './ui-routes.js';

export interface AppHandle {
  app: Koa;
  metrics: Metrics;
}

const JSON_TYPES = ['json', 'application/*+json'];

/** Label Studio payloads nest a handful of levels; deeper bodies only serve to overflow the stack. */
export const MAX_JSON_DEPTH = 256;

/** Nesting depth of a parsed JSON value, walked without recursion; stops once past `limit`. */
function exceedsDepth(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

async function limitDepth(ctx: Context, next: Next): Promise<void> {
  if (exceedsDepth(ctx.request.body, MAX_JSON_DEPTH)) {
    throw new MlBackendError('MLB_ERR_VALIDATION', 400, `request body is nested deeper than ${MAX_JSON_DEPTH} levels`, { field: '(body)' });
  }
  await next();
}

/** POST bodies must be JSON; an empty body is read as `{}` so the schema names what is missing. */
async function requireJson(ctx: Context, next: Next): Promise<void> {
  if (ctx.method === 'POST' && ctx.request.length !== 0 && ctx.get('content-type') !== '' && !ctx.is(JSON_TYPES)) {
    throw new MlBackendError('MLB_ERR_UNSUPPORTED_MEDIA_TYPE', 415, `expected an application/json body, got ${ctx.get('content-type')}`);
  }
  if (ctx.method === 'POST' && ctx.get('content-type') === '' && ctx.request.length) {
    ctx.request.headers['content-type'] = 'application/json';
  }
  await next();
}

export function createApp(backend: MLBackend): AppHandle {
  const { config, logger } = backend;
  const metrics = new Metrics(backend);
  const app = new Koa();
  const httpLogger = logger.child({ component: 'http' });

  app.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    const requestId = ctx.get('x-request-id').slice(0, 128) || randomUUID();
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      metrics.requests.inc({ route, method: ctx.method, status: String(ctx.status) });
      metrics.latency.observe({ route }, seconds);
      if (route !== '/health' && route !== '/metrics' && route !== '/ui/api/projects') {
        httpLogger.info({ requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(seconds * 1e4) / 10 }, 'request');
      }
    }
  });
  app.use(errorHandler({ logger: httpLogger, debugErrors: config.debugErrors }));
  app.use(authMiddleware({ user: config.basicAuthUser, pass: config.basicAuthPass, webhookToken: config.webhookToken }));
  app.use(requireJson);
  app.use(
    bodyParser({
      enableTypes: ['json'],
      extendTypes: { json: JSON_TYPES },
      jsonLimit: `${Math.round(config.maxBodyMb * 1024 * 1024)}b`,
      jsonStrict: true,
      onError(error, ctx) {
        const status = (error as { status?: number }).status ?? 400;
        if (status === 413) throw new MlBackendError('MLB_ERR_BODY_TOO_LARGE', 413, `request body is larger than MAX_BODY_MB=${config.maxBodyMb}`);
        ctx.throw(new MlBackendError('MLB_ERR_INVALID_JSON', 400, `request body is not valid JSON: ${error.message}`));
      },
    }),
  );
  app.use(limitDepth);
  const router = createRouter(backend, metrics);
  if (backend.deployment.role !== 'trainer') addUiRoutes(router, backend);
  // notFound wraps the router so allowedMethods (405/501) runs before a route miss becomes a 404.
  app.use(notFound);
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  // Koa logs errors it sees itself; ours are already rendered and logged by errorHandler.
  app.silent = true;
  return { app, metrics };
}
