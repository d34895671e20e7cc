/**
 * Every error becomes a JSON body — never an HTML page, never a stack trace unless DEBUG_ERRORS
 * asks for one: `{"status": 400, "error": "MLB_ERR_VALIDATION", "detail": "tasks is required", ...}`.
 * 5xx bodies keep the Python SDK's envelope keys (`detail`, `status`, `result`).
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Context, Next } from 'koa';
import type { Logger } from '../logger.js';
import { ENVELOPE_KEYS, MlBackendError, isMlBackendError, type ErrorCode } from '../errors.js';

interface HttpishError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  message?: string;
  name?: string;
  stack?: string;
}

/** Errno and SQLite codes that mean "no space left": 507 Insufficient Storage. */
const STORAGE_FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'SQLITE_FULL']);
/** Other file-system and database failures: the storage, not the request, is at fault. */
const STORAGE_FAULT = /^(E(ROFS|ACCES|PERM|NOTDIR|ISDIR|EXIST|IO|MFILE|NFILE|BUSY)|SQLITE_\w+)$/;

/** Body-parser and router errors carry a status; storage errors an errno or SQLite code. */
function classify(error: HttpishError & { code?: unknown }): { status: number; code: ErrorCode } {
  const errno = typeof error.code === 'string' ? error.code : '';
  if (STORAGE_FULL.has(errno)) return { status: 507, code: 'MLB_ERR_STORAGE' };
  if (STORAGE_FAULT.test(errno)) return { status: 500, code: 'MLB_ERR_STORAGE' };
  const status = error.status ?? error.statusCode ?? 500;
  if (status === 413) return { status, code: 'MLB_ERR_BODY_TOO_LARGE' };
  if (status === 415) return { status, code: 'MLB_ERR_UNSUPPORTED_MEDIA_TYPE' };
  if (status === 405) return { status, code: 'MLB_ERR_METHOD_NOT_ALLOWED' };
  if (status === 404) return { status, code: 'MLB_ERR_NOT_FOUND' };
  if (status === 400 && error.type === 'entity.parse.failed') return { status, code: 'MLB_ERR_INVALID_JSON' };
  if (status >= 400 && status < 500) return { status, code: 'MLB_ERR_BAD_REQUEST' };
  return { status: status >= 500 && status < 600 ? status : 500, code: 'MLB_ERR_INTERNAL' };
}

export function errorHandler(options: { logger: Logger; debugErrors: boolean }) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (caught) {
      const error = (caught instanceof Error ? caught : new Error(String(caught))) as Error & HttpishError;
      const known = isMlBackendError(error);
      const { status, code } = known ? { status: error.status, code: error.code } : classify(error);
      const expose = known ? error.expose : status < 500;
      const detail = expose ? error.message : `${error.name}: ${error.message}`;
      const body: Record<string, unknown> = { status, error: code, detail };
      // Details add facts (the field, an upstream status); they never change the envelope's own keys.
      for (const [key, value] of Object.entries((known && error.details) || {})) {
        if (!(ENVELOPE_KEYS as readonly string[]).includes(key)) body[key] = value;
      }
      if (status >= 500 && options.debugErrors) body.result = { traceback: error.stack ?? '' };
      ctx.status = status;
      ctx.type = 'application/json';
      ctx.body = body;
      if (status >= 500) options.logger.error({ err: error, path: ctx.path }, 'request failed');
      else options.logger.debug({ status, code, detail, path: ctx.path }, 'request rejected');
    }
  };
}

/** Anything no route answered (wraps the router, so it sees the outcome of routes and allowedMethods). */
export async function notFound(ctx: Context, next: Next): Promise<void> {
  await next();
  if (ctx.body !== undefined || ctx.status !== 404) return;
  throw new MlBackendError('MLB_ERR_NOT_FOUND', 404, `no route for ${ctx.method} ${ctx.path}`);
}

/**
 * Node's own answer to a request it could not parse or that timed out (REQUEST_TIMEOUT_S,
 * HEADERS_TIMEOUT_S) is a bodiless 400/408/431; this sends the same statuses as JSON errors.
 */
export function onClientError(error: Error & { code?: string }, socket: Duplex): void {
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const detail =
    status === 408 ? 'request not received in time (REQUEST_TIMEOUT_S / HEADERS_TIMEOUT_S)'
      : status === 431 ? 'request headers are too large'
        : `malformed HTTP request (${error.code ?? error.message})`;
  // Only when nothing of a response went out on this connection yet (as Node's default handler).
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent && error.code !== 'ECONNRESET') {
    const body = JSON.stringify({ status, error: 'MLB_ERR_BAD_REQUEST', detail });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
