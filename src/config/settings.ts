/**
 * The one way configuration is declared and read, for the server and for models alike: each
 * setting names its environment variable, its default, the values it accepts and a line of
 * documentation. Reading applies the same rules everywhere (booleans: true/false, 1/0, yes/no,
 * on/off) and fails with one error naming the variable and the value. The README's configuration
 * tables are generated from these declarations (scripts/config-docs.ts; a test keeps them equal).
 */
import path from 'node:path';
import { ConfigError } from '../errors.js';

export type Env = Record<string, string | undefined>;

export interface Setting<T> {
  /** The environment variable. */
  readonly env: string;
  /** Older or alternative variables, read when `env` is unset. */
  readonly aliases: readonly string[];
  /** One line for the README table. */
  readonly doc: string;
  /** The default as the README shows it ("—" when there is none). */
  readonly shownDefault: string;
  /** The accepted values as the README shows them, when they are a short list. */
  readonly shownChoices?: readonly string[];
  /** Logged as [REDACTED], never shown with its value; read untrimmed (spaces may belong to it). */
  readonly secret: boolean;
  /** The value when the variable is unset or empty. */
  fallback(): T;
  /** Parses a trimmed, non-empty raw value; throws via `invalid`. */
  parse(raw: string, name: string): T;
}

export type SettingsSchema = Readonly<Record<string, Setting<unknown>>>;
export type SettingsOf<S extends SettingsSchema> = { -readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

/** The one configuration error: names the variable, the value and what was expected. */
export function invalid(name: string, raw: string, expected: string): never {
  throw new ConfigError(`${name}=${JSON.stringify(raw)} is invalid: expected ${expected}`);
}

interface Common {
  env: string;
  aliases?: readonly string[];
  doc: string;
}

function setting<T>(common: Common, rest: Omit<Setting<T>, 'env' | 'aliases' | 'doc' | 'secret'> & { secret?: boolean }): Setting<T> {
  return { env: common.env, aliases: common.aliases ?? [], doc: common.doc, secret: false, ...rest };
}

/** `shown`: the default as the README says it, when it depends on the machine. */
export function integer(spec: Common & { default: number; min: number; max: number; shown?: string }): Setting<number> {
  const expected = `an integer from ${spec.min} to ${spec.max}`;
  return setting(spec, {
    shownDefault: spec.shown ?? String(spec.default),
    fallback: () => spec.default,
    parse(raw, name) {
      if (!/^-?\d+$/.test(raw)) invalid(name, raw, expected);
      const value = Number(raw);
      return value < spec.min || value > spec.max ? invalid(name, raw, expected) : value;
    },
  });
}

export function decimal(spec: Common & { default: number; min: number; max: number }): Setting<number> {
  const expected = `a number from ${spec.min} to ${spec.max}`;
  return setting(spec, {
    shownDefault: String(spec.default),
    fallback: () => spec.default,
    parse(raw, name) {
      const value = Number(raw);
      return Number.isFinite(value) && value >= spec.min && value <= spec.max ? value : invalid(name, raw, expected);
    },
  });
}

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

/** "false" and "0" mean false (the Python SDK's truthy-string bug is a known complaint). */
export function boolean(spec: Common & { default: boolean }): Setting<boolean> {
  return setting(spec, {
    shownDefault: String(spec.default),
    fallback: () => spec.default,
    parse(raw, name) {
      const lower = raw.toLowerCase();
      if (TRUE.includes(lower)) return true;
      if (FALSE.includes(lower)) return false;
      return invalid(name, raw, 'true/false (also 1/0, yes/no, on/off)');
    },
  });
}

/** One of a few words, matched case-insensitively. */
export function choice<const C extends readonly string[]>(spec: Common & { choices: C; default: C[number] }): Setting<C[number]> & { readonly choices: C } {
  return {
    ...setting<C[number]>(spec, {
      shownDefault: spec.default,
      shownChoices: spec.choices,
      fallback: () => spec.default,
      parse(raw, name) {
        const lower = raw.toLowerCase();
        return spec.choices.includes(lower) ? lower : invalid(name, raw, `one of ${spec.choices.join(', ')}`);
      },
    }),
    choices: spec.choices,
  };
}

/** Free text; without a default, unset reads as undefined. */
export function text(spec: Common & { secret?: boolean }): Setting<string | undefined>;
export function text(spec: Common & { default: string; secret?: boolean }): Setting<string>;
export function text(spec: Common & { default?: string; secret?: boolean }): Setting<string | undefined> {
  return setting(spec, {
    shownDefault: spec.default ?? '—',
    secret: spec.secret ?? false,
    fallback: () => spec.default,
    parse: (raw) => raw,
  });
}

/** A directory or file, resolved against the working directory. */
export function filePath(spec: Common): Setting<string | undefined>;
export function filePath(spec: Common & { default: string }): Setting<string>;
export function filePath(spec: Common & { default?: string }): Setting<string | undefined> {
  return setting(spec, {
    shownDefault: spec.default === undefined ? '—' : `./${spec.default}`,
    fallback: () => (spec.default === undefined ? undefined : path.resolve(spec.default)),
    parse: (raw) => path.resolve(raw),
  });
}

/** An absolute http(s) URL, without trailing slashes. */
export function httpUrl(spec: Common): Setting<string | undefined> {
  return setting(spec, {
    shownDefault: '—',
    fallback: () => undefined,
    parse(raw, name) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return invalid(name, raw, 'an absolute http(s) URL such as http://label-studio:8080');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') invalid(name, raw, 'an http:// or https:// URL');
      return raw.replace(/\/+$/, '');
    },
  });
}

/**
 * A comma-separated list of http(s) origins (scheme, host and port; paths are refused), or `*`.
 * Unset reads as an empty list.
 */
export function originList(spec: Common): Setting<readonly string[]> {
  return setting(spec, {
    shownDefault: '—',
    fallback: () => [],
    parse(raw, name) {
      const out: string[] = [];
      for (const item of raw.split(',').map((part) => part.trim()).filter(Boolean)) {
        if (item === '*') {
          out.push('*');
          continue;
        }
        let url: URL;
        try {
          url = new URL(item);
        } catch {
          return invalid(name, raw, 'comma-separated origins such as https://cdn.example.com,http://minio:9000 (or *)');
        }
        if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname.replace(/\/+$/, '') !== '' || url.search || url.username) {
          invalid(name, raw, `origins only (scheme://host[:port], no path), got ${item}`);
        }
        out.push(url.origin);
      }
      return out;
    },
  });
}

/** A redis:// or rediss:// URL (database number and credentials allowed); a secret, as it may carry a password. */
export function redisUrl(spec: Common): Setting<string | undefined> {
  return setting(spec, {
    shownDefault: '—',
    secret: true,
    fallback: () => undefined,
    parse(raw, name) {
      const trimmed = raw.trim();
      let url: URL;
      try {
        url = new URL(trimmed);
      } catch {
        return invalid(name, '[REDACTED]', 'a URL such as redis://redis:6379/0');
      }
      if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') invalid(name, '[REDACTED]', 'a redis:// or rediss:// URL');
      return trimmed;
    },
  });
}

/** The raw value of a setting: its variable, else the first alias set; undefined when unset or empty. */
function rawValue(setting: Setting<unknown>, env: Env): { name: string; raw: string } | undefined {
  for (const name of [setting.env, ...setting.aliases]) {
    const value = env[name];
    const raw = setting.secret ? value : value?.trim();
    if (raw) return { name, raw };
  }
  return undefined;
}

export function readSetting<T>(setting: Setting<T>, env: Env = process.env): T {
  const found = rawValue(setting, env);
  return found ? setting.parse(found.raw, found.name) : setting.fallback();
}

/** Reads every setting of a schema from the environment (process.env by default). */
export function readSettings<S extends SettingsSchema>(schema: S, env: Env = process.env): SettingsOf<S> {
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(schema)) out[key] = readSetting(setting, env);
  return out as SettingsOf<S>;
}
