/**
 * Helpers for the hostile-input suite: raw HTTP requests (any method, headers and bytes, no
 * client-side "help"), checks that an answer is a proper JSON error, hostile values, and a
 * snapshot of a directory tree to prove nothing was written outside MODEL_DIR.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import { expect } from 'chai';

/** Property runs per fuzz property; default 30; FUZZ_RUNS=1000 for a long run. */
export const FUZZ_RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? '') || 30);

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: unknown;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Leave out Content-Length (then the body goes chunked). */
  noLength?: boolean;
  timeoutMs?: number;
}

/** Counts every request the suite sends, for the report. */
export const counters = { requests: 0, faults: 0 };

/** One request over a fresh connection; resolves with whatever the server answered. */
export function rawRequest(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, 'utf8');
  const headers: Record<string, string | string[] | number> = { ...request.headers };
  if (body !== undefined && !request.noLength && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
    headers['content-length'] = body.length;
  }
  counters.requests++;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method: request.method ?? 'GET', path: request.path, headers, agent: false, timeout: request.timeoutMs ?? 20_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${request.method ?? 'GET'} ${request.path} within ${request.timeoutMs ?? 20_000} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** POST a JSON-ish body (a value is JSON.stringified; a string is sent as is). */
export function postJson(baseUrl: string, route: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(baseUrl, {
    method: 'POST',
    path: route,
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const describeResponse = (res: RawResponse) => `${res.status} ${res.headers['content-type'] ?? '(no type)'} ${res.text.slice(0, 300)}`;

/** A JSON error envelope: `{status, error: "MLB_ERR_...", detail}` matching the HTTP status. */
export function expectJsonError(res: RawResponse, context = ''): void {
  const where = `${context}: ${describeResponse(res)}`;
  expect(res.headers['content-type'], where).to.match(/^application\/json/);
  expect(res.json, where).to.be.an('object');
  const body = res.json as Record<string, unknown>;
  expect(body.status, where).to.equal(res.status);
  expect(body.error, where).to.be.a('string').and.match(/^MLB_ERR_/);
  expect(body.detail, where).to.be.a('string');
  expect(res.text, where).to.not.match(/<html|<!doctype|\n\s+at /i);
}

/** Hostile input must get a JSON 4xx or a JSON 2xx, never a 5xx and never HTML. */
export function expectHandled(res: RawResponse, context = ''): void {
  const where = `${context}: ${describeResponse(res)}`;
  expect(res.status, where).to.be.within(200, 499);
  if (res.status >= 400) expectJsonError(res, context);
  else if (res.status !== 204) expect(res.headers['content-type'], where).to.match(/^(application\/json|text\/plain)/);
}

/** `[[[...]]]` or `{"a":{"a":...}}` nested `depth` times, built without recursion. */
export function deepJson(depth: number, kind: 'array' | 'object' = 'array'): string {
  return kind === 'array' ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Names that must never reach the file system as paths. */
export const HOSTILE_NAMES: string[] = [
  '..', '.', '../..', '../../etc/passwd', '..\\..\\windows', '/etc', '/tmp/x', 'a/b', 'a\\b', 'x\u0000y', '\u0000',
  '%2e%2e', '%2e%2e%2fetc', '..%2f..', '\u2025', '\uff0e\uff0e', '\u002e\u002e\u2215etc', 'café', '日本語', '🙂', 'a'.repeat(300),
  'a'.repeat(5000), ' ', '', '-rf', '.hidden', 'CON', 'nul', 'x.tmp', 'v0001-20260101T000000Z.tmp', 'a\nb', 'a b', '~root', '$HOME', '*', '?',
];

/** Any JSON value, with the odd ones over-represented: huge, unicode, nested, null. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { maxDepth: 3 },
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(null, true, false, 0, -1, 1e308, -0, 2 ** 53 + 1, '', [], {}, ...HOSTILE_NAMES),
  fc.string({ unit: 'binary', maxLength: 50 }),
  fc.integer({ min: 1000, max: 200_000 }).map((n) => 'x'.repeat(n)),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 20 }),
  fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 8 }),
);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path (list of keys) into a JSON value, the root included. */
function paths(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((item, i) => paths(item, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

export type Mutation = { kind: 'replace'; value: unknown } | { kind: 'delete' } | { kind: 'wrap' } | { kind: 'addKey'; key: string; value: unknown };

/** Applies a mutation at a path of a deep copy of `base`. */
export function mutate(base: Json, pathIndex: number, mutation: Mutation): unknown {
  const copy = JSON.parse(JSON.stringify(base)) as Json;
  const all = paths(copy);
  const target = all[pathIndex % all.length] ?? [];
  if (target.length === 0) {
    if (mutation.kind === 'replace') return mutation.value;
    if (mutation.kind === 'wrap') return [copy];
    if (mutation.kind === 'addKey' && copy !== null && typeof copy === 'object' && !Array.isArray(copy)) return { ...copy, [mutation.key]: mutation.value };
    return copy;
  }
  let parent: Json = copy;
  for (const key of target.slice(0, -1)) parent = (parent as Record<string | number, Json>)[key] as Json;
  const last = target[target.length - 1] as string | number;
  const holder = parent as Record<string | number, unknown>;
  if (mutation.kind === 'replace') holder[last] = mutation.value;
  else if (mutation.kind === 'delete') {
    if (Array.isArray(holder)) holder.splice(last as number, 1);
    else delete holder[last];
  } else if (mutation.kind === 'wrap') holder[last] = [holder[last]];
  else {
    const node = holder[last];
    if (node !== null && typeof node === 'object' && !Array.isArray(node)) (node as Record<string, unknown>)[mutation.key] = mutation.value;
    else holder[last] = { [mutation.key]: mutation.value };
  }
  return copy;
}

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  hostileValue.map((value): Mutation => ({ kind: 'replace', value })),
  fc.constant<Mutation>({ kind: 'delete' }),
  fc.constant<Mutation>({ kind: 'wrap' }),
  fc.record({ key: fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'project', 'data', 'result', 'task', 'x'), value: hostileValue }).map(
    ({ key, value }): Mutation => ({ kind: 'addKey', key, value }),
  ),
);

/** Every file and directory under `root` (relative paths), for before/after comparisons. */
export function snapshotTree(root: string, skip: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (skip(childRel)) continue;
      out.push(childRel + (entry.isDirectory() ? '/' : ''));
      if (entry.isDirectory()) walk(path.join(dir, entry.name), childRel);
    }
  };
  walk(root, '');
  return out.sort();
}

/** Opens a raw TCP connection (slow-loris style tests). Resolves with what the server sent when it closed. */
export function rawSocket(baseUrl: string): { socket: net.Socket; closed: Promise<{ data: string; ms: number }> } {
  const url = new URL(baseUrl);
  const socket = net.connect(Number(url.port), url.hostname);
  const started = Date.now();
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
  socket.on('error', () => {});
  const closed = new Promise<{ data: string; ms: number }>((resolve) => socket.on('close', () => resolve({ data, ms: Date.now() - started })));
  counters.requests++;
  return { socket, closed };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
