/**
 * What the CLI commands share: the one-line failure type, where this package lives (the CLI runs
 * from src/ through tsx or from dist/), option parsers and the logger the offline commands use.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { SERVER_SETTINGS } from '../config/server-settings.js';
import { readSetting } from '../config/settings.js';

export const CLI_NAME = 'label-studio-ml-tfjs';
/** The values --log-level and --tfjs-backend accept: the settings' own lists. */
export const LOG_LEVELS = SERVER_SETTINGS.logLevel.choices;
export const TFJS_BACKENDS = SERVER_SETTINGS.tfjsBackend.choices;

/** A failure the user can act on: printed as one line, exit code 1 (no stack unless --verbose). */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The directory holding this package's package.json (src/cli → ../.., dist/src/cli → ../../..). */
export function packageRoot(): string {
  for (let dir = HERE; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === CLI_NAME) return dir;
    if (path.dirname(dir) === dir) throw new CliError(`cannot find the ${CLI_NAME} package.json above ${HERE}`);
  }
}

export interface PackageJson {
  name: string;
  version: string;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  overrides?: Record<string, unknown>;
}

export function packageJson(): PackageJson {
  return JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as PackageJson;
}

/** True when this file was compiled into dist/ (then examples are compiled .js too). */
export function runningFromDist(): boolean {
  return path.relative(packageRoot(), HERE).split(path.sep)[0] === 'dist';
}

/** The bundled text-classifier example: what `start` and `train` serve when no entry is given. */
export function defaultEntry(): string {
  const root = packageRoot();
  return runningFromDist()
    ? path.join(root, 'dist', 'examples', 'text-classifier', 'model.js')
    : path.join(root, 'examples', 'text-classifier', 'model.ts');
}

/** A model module path that must exist (a clear message beats an import stack). */
export function existingEntry(entry: string | undefined): string {
  const resolved = path.resolve(entry ?? defaultEntry());
  if (!existsSync(resolved)) throw new CliError(`model module not found: ${resolved}`);
  return resolved;
}

/** --model-dir, else MODEL_DIR as the server reads it (default ./checkpoints). */
export function resolveModelDir(flag: string | undefined): string {
  return flag !== undefined ? path.resolve(flag) : readSetting(SERVER_SETTINGS.modelDir);
}

export function intArg(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

/** A JSON object option (e.g. --extra-params '{"epochs": 5}'). */
export function jsonObjectArg(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('expected a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError('expected a JSON object');
  return parsed as Record<string, unknown>;
}

/** KEY=VALUE, collected into a list (repeatable options). */
export function keyValueArg(value: string, previous: string[] = []): string[] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(value)) throw new InvalidArgumentError('expected KEY=VALUE');
  return [...previous, value];
}

/** Progress bars and pretty output only for a person at a terminal, never in CI. */
export function isInteractive(stream: NodeJS.WriteStream = process.stderr): boolean {
  return Boolean(stream.isTTY) && !process.env.CI;
}

export function formatBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

export function formatMetrics(metrics: Record<string, unknown> | null | undefined): string {
  if (!metrics) return '';
  return Object.entries(metrics)
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`)
    .join(' ');
}
