/**
 * The stand-in's authentication, as LS-API.md §1 describes Label Studio's: a legacy token
 * (`Authorization: Token <key>`, refused when legacy tokens are disabled), a personal access
 * token (a JWT refresh token exchanged at /api/token/refresh for short-lived access tokens sent
 * as `Bearer`), and the error bodies each failure gets.
 */
import { randomBytes, randomUUID } from 'node:crypto';

function b64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function makeJwt(payload: Record<string, unknown>): string {
  return `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(payload)}.${randomBytes(16).toString('base64url')}`;
}

export type AuthOutcome = { ok: true; user: number } | { ok: false; status: 401; detail: string };

export class StandInAuth {
  /** A 40-hex legacy key. */
  readonly legacyToken = randomBytes(20).toString('hex');
  /** A personal access token: a JWT refresh token with a far expiry. */
  readonly personalAccessToken = makeJwt({ token_type: 'refresh', exp: Math.floor(Date.now() / 1000) + 200 * 365 * 86400, jti: randomUUID(), user_id: 1 });
  legacyEnabled = true;
  /** Lifetime of access tokens (Label Studio's default is about 5 minutes). */
  accessTtlS: number;
  readonly #access = new Map<string, number>();
  /** Access tokens handed out, for tests that count exchanges. */
  exchanges = 0;

  constructor(accessTtlS = 300) {
    this.accessTtlS = accessTtlS;
  }

  /** POST /api/token/refresh `{refresh}` → `{access}`. */
  refresh(body: unknown): { status: number; body: object } {
    const refresh = (body as { refresh?: unknown } | null)?.refresh;
    if (refresh !== this.personalAccessToken) return { status: 401, body: { detail: 'Token is invalid or expired', code: 'token_not_valid' } };
    const exp = Math.floor(Date.now() / 1000) + this.accessTtlS;
    const access = makeJwt({ token_type: 'access', exp, jti: randomUUID(), user_id: 1 });
    this.#access.set(access, exp * 1000);
    this.exchanges++;
    return { status: 200, body: { access } };
  }

  /** Makes every access token handed out so far invalid (as an expiry the client did not see coming). */
  revokeAccessTokens(): void {
    this.#access.clear();
  }

  check(header: string | undefined): AuthOutcome {
    const match = /^(Token|Bearer)\s+(\S+)$/.exec(header ?? '');
    if (!match) return { ok: false, status: 401, detail: 'Authentication credentials were not provided.' };
    const [, scheme, key] = match;
    if (scheme === 'Token') {
      if (key !== this.legacyToken) return { ok: false, status: 401, detail: 'Invalid token.' };
      if (!this.legacyEnabled) {
        return { ok: false, status: 401, detail: 'Authentication token no longer valid: legacy token authentication has been disabled for this organization' };
      }
      return { ok: true, user: 1 };
    }
    // Label Studio's JWT middleware swallows a bad, expired or refresh token: the request is anonymous.
    const expiresAt = this.#access.get(key ?? '');
    if (expiresAt === undefined || expiresAt < Date.now()) return { ok: false, status: 401, detail: 'Authentication credentials were not provided.' };
    return { ok: true, user: 1 };
  }
}
