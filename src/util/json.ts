/** Small JSON helpers every room uses; written once here (no imports, bottom of the layering). */
import type { JsonObject } from '../types.js';

/** A non-null, non-array object (a JSON object once parsed). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A deep, JSON-clean copy (drops undefined, turns class instances into their JSON). */
export function toJsonObject(value: object): JsonObject {
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

/** Object.defineProperty instead of `=`: a key such as "__proto__" stays an own key. */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
