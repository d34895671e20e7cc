/**
 * Label Studio API keys: a legacy token, or a personal access token (a JWT refresh token that is
 * exchanged for short-lived access tokens). Only the well-formedness check PyJWT makes is done.
 */
import { TaskDataError } from '../errors.js';
import { isObject } from '../util/json.js';

/** Refresh a personal access token's access token this long before it expires (at most half its life). */
const EXPIRY_SKEW_MS = 30_000;

/** What a Label Studio API key is, by its form (the test Label Studio itself makes). */
export type ApiKeyKind = 'legacy-token' | 'personal-access-token' | 'access-token';

export function apiKeyKind(key: string): ApiKeyKind {
  const payload = jwtPayload(key);
  if (!payload) return 'legacy-token';
  return payload['token_type'] === 'refresh' ? 'personal-access-token' : 'access-token';
}

/** The Authorization header for one API key; a personal access token is exchanged (and re-exchanged) for access tokens. */
export class ApiKeyAuth {
  #access: { token: string; expiresAt: number } | undefined;
  #refreshing: Promise<string> | undefined;

  constructor(
    private readonly key: string,
    /** Label Studio's base URL (the refresh endpoint lives there). */
    private readonly baseUrl: string | undefined,
    private readonly fetchImpl: typeof fetch,
    /** A URL as it may appear in a message. */
    private readonly describe: (url: string) => string,
  ) {}

  /** The current access token, so messages can scrub it. */
  get accessToken(): string | undefined {
    return this.#access?.token;
  }

  get kind(): ApiKeyKind {
    return apiKeyKind(this.key);
  }

  /** Forget the access token (Label Studio refused it before its expiry): the next header exchanges again. */
  invalidate(): void {
    this.#access = undefined;
  }

  /** `Token <key>` for a legacy token, `Bearer <key>` for a JWT access token, `Bearer <access>` for a refresh token. */
  async header(signal: AbortSignal): Promise<string> {
    const kind = this.kind;
    if (kind === 'legacy-token') return `Token ${this.key}`;
    if (kind === 'access-token') return `Bearer ${this.key}`;
    if (this.#access && this.#access.expiresAt > Date.now()) return `Bearer ${this.#access.token}`;
    // One exchange at a time: concurrent downloads share it.
    this.#refreshing ??= this.#refresh(signal).finally(() => {
      this.#refreshing = undefined;
    });
    return `Bearer ${await this.#refreshing}`;
  }

  async #refresh(signal: AbortSignal): Promise<string> {
    const url = `${this.baseUrl ?? ''}/api/token/refresh/`;
    const response = await this.fetchImpl(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ refresh: this.key }),
      redirect: 'error',
      signal,
    });
    const body: unknown = await response.json().catch(() => undefined);
    const access = isObject(body) ? body['access'] : undefined;
    if (!response.ok || typeof access !== 'string' || access === '') {
      throw new TaskDataError(
        `Label Studio did not accept LABEL_STUDIO_API_KEY as a personal access token: HTTP ${response.status} ` +
          `from ${this.describe(url)} (create a new token in Label Studio, Account & Settings)`,
        { upstream_status: response.status },
      );
    }
    const exp = jwtPayload(access)?.['exp'];
    // Without an expiry the token is used for this request only.
    const lifeMs = typeof exp === 'number' ? exp * 1000 - Date.now() : 0;
    const expiresAt = lifeMs > 0 ? Date.now() + lifeMs - Math.min(EXPIRY_SKEW_MS, lifeMs / 2) : 0;
    this.#access = { token: access, expiresAt };
    return access;
  }
}

/** Three base64url parts whose header and payload are JSON objects (PyJWT's well-formed check). */
export function isWellFormedJwt(token: string): boolean {
  return jwtPayload(token) !== undefined;
}

export function jwtPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part, i) => /^[A-Za-z0-9_-]*$/.test(part) && (i === 2 || part !== ''))) {
    return undefined;
  }
  const [header, payload] = parts.slice(0, 2).map((part) => {
    try {
      const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
      return isObject(value) ? value : undefined;
    } catch {
      return undefined;
    }
  });
  return header && payload ? payload : undefined;
}
