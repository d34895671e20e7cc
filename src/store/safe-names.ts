/**
 * Project ids and version names become path segments under MODEL_DIR, so they are checked
 * before they touch the file system: one plain segment, no dots at the start, no separators.
 */
import { MlBackendError } from '../errors.js';

const PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The project id used when a request names none. */
export const DEFAULT_PROJECT = 'default';

/** JSON-quotes a value for an error message, truncated so a huge input cannot flood logs. */
function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

export function isSafeProjectId(id: unknown): boolean {
  return typeof id === 'string' && PROJECT_ID.test(id);
}

/** `.tmp` is reserved for workdirs being written, so a version may never end with it. */
export function isSafeVersion(version: unknown): boolean {
  return typeof version === 'string' && VERSION.test(version) && !version.endsWith('.tmp');
}

export function assertSafeProjectId(id: string): string {
  if (!isSafeProjectId(id)) {
    throw new MlBackendError('MLB_ERR_BAD_PROJECT_ID', 400,
      `Invalid project id ${quote(id)}: expected 1-64 letters, digits, "_" or "-"`);
  }
  return id;
}

export function assertSafeVersion(version: string): string {
  if (!isSafeVersion(version)) {
    throw new MlBackendError('MLB_ERR_BAD_VERSION', 400,
      `Invalid model version ${quote(version)}: expected 1-128 letters, digits, ".", "_" or "-", ` +
      'starting with a letter or digit and not ending in ".tmp"');
  }
  return version;
}

/**
 * Label Studio sends "<id>.<created_at timestamp>" ("62053.1712586036"), a bare "3" or the
 * number 3; only the id part is kept (as the Python SDK does). A missing project maps to
 * "default" (the Python SDK would use the string "None").
 */
export function normalizeProjectId(raw: unknown): string {
  if (raw === undefined || raw === null || raw === '') return DEFAULT_PROJECT;
  const isId = typeof raw === 'string' || (typeof raw === 'number' && Number.isFinite(raw));
  if (!isId) {
    throw new MlBackendError('MLB_ERR_BAD_PROJECT_ID', 400,
      `Invalid project id: expected a string or a number, got ${Array.isArray(raw) ? 'array' : typeof raw}`);
  }
  return assertSafeProjectId(String(raw).split('.', 1)[0] ?? '');
}
