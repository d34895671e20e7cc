/**
 * Pure helpers for reading task data (PROTOCOL.md §1.6, §2.2): which values are references to
 * files that must be downloaded first, and where a task's text lives.
 */
import type { Task } from '../types.js';

/** Where Label Studio stores values imported without the config's key (`utils.DATA_UNDEFINED_NAME`). */
export const DATA_UNDEFINED_NAME = '$undefined$';

const CLOUD_PREFIXES = ['s3:', 'gs:', 'azure-blob:'];
const UPLOAD_PREFIXES = ['upload/', '/upload/', '/data/upload/'];
/** An http(s) URL with a host and no whitespace (so prose that starts with a link stays text). */
const HTTP_URL = /^https?:\/\/[^/?#\s]+[^\s]*$/i;

/**
 * Python `is_preload_needed` without its `os.path.exists` branch (this module does no I/O): true
 * for Label Studio uploads, local-files references, cloud storage URIs and http(s) URLs.
 * Deliberately stricter than Python: the upload prefixes need their slash ("upload/…", Python
 * takes any "upload…") and a URL may not contain whitespace, so plain text is never fetched.
 */
export function isPreloadNeeded(value: string): boolean {
  if (typeof value !== 'string') return false;
  if (UPLOAD_PREFIXES.some((prefix) => value.startsWith(prefix))) return true;
  if (value.startsWith('/data/') && value.includes('?d=')) return true;
  if (CLOUD_PREFIXES.some((prefix) => value.startsWith(prefix))) return true;
  return HTTP_URL.test(value);
}

/**
 * The text a task holds for the object's data key: `data[valueKey]`, else `data['$undefined$']`
 * (Python `data.get(value) or data.get('$undefined$')`). Non-string values give undefined.
 */
export function getTaskText(task: Pick<Task, 'data'>, valueKey: string): string | undefined {
  const data = task.data;
  if (typeof data !== 'object' || data === null) return undefined;
  const primary = Object.hasOwn(data, valueKey) ? data[valueKey] : undefined;
  if (typeof primary === 'string' && primary !== '') return primary;
  const fallback = Object.hasOwn(data, DATA_UNDEFINED_NAME) ? data[DATA_UNDEFINED_NAME] : undefined;
  if (typeof fallback === 'string') return fallback;
  return typeof primary === 'string' ? primary : undefined;
}
