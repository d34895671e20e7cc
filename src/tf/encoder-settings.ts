/**
 * Every environment variable the text encoders and sampling scores read, parsed in one place
 * (names, defaults, rules). Invalid values fail at start with the variable and the value.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { SCORE_METHODS, type ScoreMethod } from './sampling-scores.js';
import { DEFAULT_USE_DIR, type UseCatalog } from './use-files.js';

/**
 * - `auto` (default): the combined encoder when USE-lite is available (always, after `npm ci`:
 *   the weights come with the dependencies), else the hashed n-grams with one warning;
 * - `combined`: USE-lite + hashed n-grams, or a start-up error saying how to get USE;
 * - `use`: USE-lite alone; `hashed`: the offline n-gram encoder alone (no weights at all).
 */
export type EncoderChoice = 'auto' | 'combined' | 'use' | 'hashed';
export const ENCODER_CHOICES: readonly EncoderChoice[] = ['auto', 'combined', 'use', 'hashed'];

export interface EncoderSettings {
  /** EMBEDDER, default auto. */
  embedder: EncoderChoice;
  /** USE_MODEL_DIR: another verified copy of the nine USE-lite files, tried first. */
  useModelDir: string | undefined;
  /** USE_CACHE_DIR, default .cache/use-lite: where `fetch-model` (or USE_DOWNLOAD) puts the files. */
  useCacheDir: string;
  /** USE_DOWNLOAD, default true: download the pinned files when no verified copy is found. */
  useDownload: boolean;
  /** USE_CATALOG: a JSON catalogue to verify against instead of the pinned one (mirrors, test models). */
  useCatalog: UseCatalog | undefined;
  /** EMBED_WORKERS, default cores − 1 (1 to 4): USE embedding threads. */
  embedWorkers: number;
  /** EMBED_CACHE_MB, default 512: bound of the persistent embedding cache (0 = no disk cache). */
  embedCacheMb: number;
  /**
   * SCORE_METHOD, default margin: what the prediction score measures. Margin ranks two-class
   * tasks exactly as least confidence does, and picks far better among many classes.
   */
  scoreMethod: ScoreMethod;
}

type Env = Record<string, string | undefined>;

function fail(name: string, value: string, expected: string): never {
  throw new ConfigError(`${name}=${JSON.stringify(value)} is invalid: expected ${expected}`);
}

function choice<T extends string>(env: Env, name: string, fallback: T, choices: readonly T[]): T {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  return (choices as readonly string[]).includes(raw) ? (raw as T) : fail(name, raw, `one of ${choices.join(', ')}`);
}

/** 1/0, true/false, yes/no, on/off; anything else is an error (never "non-empty means true"). */
function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  return fail(name, raw, 'true/false (also 1/0, yes/no, on/off)');
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  return /^\d+$/.test(raw) && value >= min && value <= max ? value : fail(name, raw, `an integer from ${min} to ${max}`);
}

/** One embedding thread per core, less the one that serves HTTP and trains heads. */
export function defaultEmbedWorkers(cores = os.availableParallelism()): number {
  return Math.min(4, Math.max(1, cores - 1));
}

export function encoderSettingsFromEnv(env: Env = process.env): EncoderSettings {
  let useCatalog: UseCatalog | undefined;
  const catalogFile = env.USE_CATALOG?.trim();
  if (catalogFile) {
    try {
      useCatalog = JSON.parse(fs.readFileSync(catalogFile, 'utf8')) as UseCatalog;
    } catch (error) {
      throw new ConfigError(`USE_CATALOG=${JSON.stringify(catalogFile)} is not a readable JSON catalogue: ${(error as Error).message}`);
    }
  }
  return {
    embedder: choice(env, 'EMBEDDER', 'auto', ENCODER_CHOICES),
    useModelDir: env.USE_MODEL_DIR?.trim() || undefined,
    useCacheDir: path.resolve(env.USE_CACHE_DIR?.trim() || DEFAULT_USE_DIR),
    useDownload: bool(env, 'USE_DOWNLOAD', true),
    useCatalog,
    embedWorkers: int(env, 'EMBED_WORKERS', defaultEmbedWorkers(), 1, 64),
    embedCacheMb: int(env, 'EMBED_CACHE_MB', 512, 0, 1_048_576),
    scoreMethod: choice(env, 'SCORE_METHOD', 'margin', SCORE_METHODS),
  };
}
