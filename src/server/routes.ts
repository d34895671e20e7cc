/**
 * Every route Label Studio calls, old and new. Routes validate and delegate to the backend;
 * they hold no model logic.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { MLBackend } from '../backend/ml-backend.js';
import type { Metrics } from './metrics.js';
import { validateBody } from './schemas.js';
import { MlBackendError } from '../errors.js';

export function createRouter(backend: MLBackend, metrics: Metrics): Router {
  const router = new Router();

  const health = (ctx: Context) => {
    ctx.body = backend.health();
  };
  router.get('/', health);
  router.get('/health', health);

  /** Readiness: the model's preload finished and the server is not shutting down (liveness stays on /health). */
  router.get('/ready', (ctx) => {
    const { ready, error, shuttingDown } = backend.readiness();
    ctx.status = ready ? 200 : 503;
    ctx.body = { ready, ...(error !== undefined && { error }), ...(shuttingDown && { shutting_down: true }) };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });

  // A trainer (distributed mode) serves no Label Studio route: its port is for probes and scrapes.
  if (backend.deployment.role === 'trainer') return router;

  router.post('/setup', async (ctx) => {
    ctx.body = await backend.setup(validateBody('setup', ctx.request.body));
  });

  router.post('/predict', async (ctx) => {
    const reply = await backend.predict(validateBody('predict', ctx.request.body));
    metrics.predictions.inc(reply.results.length);
    ctx.body = reply;
  });

  router.post('/webhook', async (ctx) => {
    const reply = await backend.webhook(validateBody('webhook', ctx.request.body));
    ctx.status = reply.status;
    ctx.body = reply.body;
  });

  router.post('/train', async (ctx) => {
    const reply = await backend.train(validateBody('train', ctx.request.body));
    ctx.status = reply.status;
    ctx.body = reply.body;
  });

  router.get('/is_training', async (ctx) => {
    ctx.body = await backend.isTraining(ctx.query.project);
  });

  router.post('/job_status', async (ctx) => {
    const body = validateBody('jobStatus', ctx.request.body);
    ctx.body = await backend.jobStatus(String(body.job));
  });

  /** Bulk pre-annotation on demand: the prediction refresh job, for all tasks unless only_unlabelled. */
  router.post('/refresh_predictions', async (ctx) => {
    const body = validateBody('refreshPredictions', ctx.request.body);
    const job = await backend.refreshPredictions(body.project, {
      onlyUnlabelled: body.only_unlabelled === true,
      ...(typeof body.version === 'string' && { version: body.version }),
      ...(typeof body.batch === 'number' && { batch: body.batch }),
    });
    ctx.status = 201;
    ctx.body = { job_id: job.id, job };
  });

  router.get('/versions', async (ctx) => {
    ctx.body = await backend.versions(ctx.query.project);
  });

  /** 1.x listed versions with POST {project}; a `version` in the body selects it (rollback). */
  router.post('/versions', async (ctx) => {
    const body = validateBody('selectVersion', ctx.request.body);
    const version = body.version ?? body.model_version;
    if (typeof version === 'string') {
      if (body.project === undefined || body.project === null) {
        throw new MlBackendError('MLB_ERR_VALIDATION', 400, 'project is required to select a version', { field: 'project' });
      }
      ctx.body = await backend.selectVersion(body.project, version);
    } else {
      ctx.body = await backend.versions(body.project);
    }
  });

  return router;
}
