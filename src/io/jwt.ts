/**
 * Label Studio API keys: a legacy token, or a personal access token (a JWT refresh token that is
 * exchanged for short-lived access tokens). Only the well-formedness check PyJWT makes is done.
 */
import { isObject } from '../util/json.js';

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
