/**
 * Basic auth (BASIC_AUTH_USER + BASIC_AUTH_PASS), compared in constant time, on every route.
 * Label Studio's auto-created webhooks carry no credentials, so /webhook also accepts the shared
 * WEBHOOK_TOKEN in an `X-Webhook-Token` header, an `Authorization: Bearer` header or `?token=`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { MlBackendError } from '../errors.js';

export interface AuthOptions {
  user: string | undefined;
  pass: string | undefined;
  webhookToken: string | undefined;
}

/** Equal-length digests make the comparison time independent of where the strings differ. */
function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

function basicCredentials(header: string | undefined): [string, string] | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

function webhookTokenOf(ctx: Context): string | undefined {
  const header = ctx.get('x-webhook-token');
  if (header) return header;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
  if (bearer?.[1]) return bearer[1];
  const query = ctx.query.token;
  return typeof query === 'string' ? query : undefined;
}

export function authMiddleware(options: AuthOptions) {
  const { user, pass, webhookToken } = options;
  const basicOn = user !== undefined && pass !== undefined;
  return async (ctx: Context, next: Next): Promise<void> => {
    if (!basicOn) return next() as Promise<void>;
    const credentials = basicCredentials(ctx.get('authorization'));
    // Evaluate both halves so a wrong user costs the same time as a wrong password.
    const okUser = credentials ? safeEqual(credentials[0], user) : false;
    const okPass = credentials ? safeEqual(credentials[1], pass) : false;
    if (okUser && okPass) return next() as Promise<void>;
    if (webhookToken !== undefined && ctx.path === '/webhook' && ctx.method === 'POST') {
      const token = webhookTokenOf(ctx);
      if (token !== undefined && safeEqual(token, webhookToken)) return next() as Promise<void>;
    }
    ctx.set('WWW-Authenticate', 'Basic realm="Login required"');
    throw new MlBackendError('MLB_ERR_UNAUTHORIZED', 401, credentials ? 'wrong credentials' : 'authentication required (Basic auth)');
  };
}
