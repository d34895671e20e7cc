/**
 * The /ui page for people: the page, its assets, and the JSON it polls (GET /ui/api/projects,
 * contract C3). Every /ui response carries a strict Content-Security-Policy: the page runs only
 * its own scripts and styles, never inline ones. Actions go through the existing API routes.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { MLBackend } from '../backend/ml-backend.js';
import { MlBackendError } from '../errors.js';
import { buildOverview } from '../backend/overview.js';
import { UiAssets, type UiAsset } from './ui-assets.js';

export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

function secure(ctx: Context, cacheControl: string): void {
  ctx.set('Content-Security-Policy', UI_CSP);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Cache-Control', cacheControl);
}

/** Sends a file; browsers revalidate with If-None-Match and get a 304 while it is unchanged. */
function send(ctx: Context, asset: UiAsset): void {
  secure(ctx, 'no-cache');
  ctx.set('ETag', asset.etag);
  ctx.type = asset.type;
  if (ctx.get('if-none-match') === asset.etag) {
    ctx.status = 304;
    return;
  }
  ctx.body = asset.body;
}

/** Adds the /ui routes to the app's router (so unknown methods get the same JSON 405). */
export function addUiRoutes(router: Router, backend: MLBackend, assets = new UiAssets()): void {
  router.get('/ui', (ctx) => {
    // The page links its assets and the API relatively, so it works behind a path prefix too;
    // relative links need the trailing slash, and so does this relative redirect.
    if (!ctx.path.endsWith('/')) {
      secure(ctx, 'no-cache');
      ctx.status = 302;
      ctx.set('Location', 'ui/');
      ctx.body = { status: 302, location: 'ui/' };
      return;
    }
    send(ctx, assets.page());
  });

  router.get('/ui/assets/:name', (ctx) => {
    const asset = assets.asset(ctx.params.name ?? '');
    if (!asset) throw new MlBackendError('MLB_ERR_NOT_FOUND', 404, `no asset ${JSON.stringify(ctx.params.name)} in /ui`);
    send(ctx, asset);
  });

  router.get('/ui/api/projects', async (ctx) => {
    secure(ctx, 'no-store');
    ctx.body = { projects: await buildOverview(backend) };
  });
}
