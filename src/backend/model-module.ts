/**
 * Loads a user's model class from a module (a path or URL), the way `start [entry]` and the
 * training worker both need it: the module's `exportName` export, else its default export.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LabelStudioMLBase, type ModelClass } from '../model/base.js';
import { ConfigError } from '../errors.js';
import type { JsonObject } from '../types.js';

export interface ModelModuleRef {
  /** File path or file:// URL of the module that exports the model class. */
  module: string;
  /** Named export; default: the default export, else the only LabelStudioMLBase subclass exported. */
  exportName?: string;
}

export function moduleUrl(specifier: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.test(specifier) && !/^[a-z]:[\\/]/i.test(specifier)
    ? specifier
    : pathToFileURL(path.resolve(specifier)).href;
}

function isModelClass(value: unknown): value is ModelClass {
  return typeof value === 'function' && (value === LabelStudioMLBase || value.prototype instanceof LabelStudioMLBase || hasModelShape(value));
}

/** Another copy of this package (e.g. dist vs src) gives another base class: accept the shape. */
function hasModelShape(value: { prototype?: unknown }): boolean {
  const proto = value.prototype as Record<string, unknown> | undefined;
  return !!proto && typeof proto.predict === 'function' && typeof proto.fit === 'function' && typeof (value as unknown as ModelClass).preload === 'function';
}

export async function loadModelClass(ref: ModelModuleRef): Promise<ModelClass> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(moduleUrl(ref.module))) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`cannot load model module ${ref.module}: ${(error as Error).message}`);
  }
  if (ref.exportName) {
    const named = mod[ref.exportName];
    if (!isModelClass(named)) throw new ConfigError(`${ref.module} has no export "${ref.exportName}" that extends LabelStudioMLBase`);
    return named;
  }
  if (isModelClass(mod.default)) return mod.default;
  const candidates = Object.values(mod).filter(isModelClass).filter((c) => c !== LabelStudioMLBase);
  if (candidates.length === 1 && candidates[0]) return candidates[0];
  throw new ConfigError(
    candidates.length === 0
      ? `${ref.module} exports no class that extends LabelStudioMLBase`
      : `${ref.module} exports several model classes (${candidates.map((c) => c.name).join(', ')}): name one`,
  );
}

/** The class's describe() for /health; a describe() that throws describes nothing. */
export function describeModel(modelClass: ModelClass): JsonObject {
  try {
    return modelClass.describe();
  } catch {
    return {};
  }
}
