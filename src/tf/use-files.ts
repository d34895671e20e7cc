/**
 * The pinned USE-lite file catalogue (TFJS-NOTES §8), its verification and a verifying
 * downloader. The encoder is third-party data: it is fetched once on a connected machine,
 * checked byte for byte against these SHA-256s, and shipped as a directory (USE_MODEL_DIR).
 */
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile } from '../util/fs.js';

/** Where fetch-model puts the files by default (relative to the working directory). */
export const DEFAULT_USE_DIR = '.cache/use-lite';

export interface UseFileSpec {
  name: string;
  bytes: number;
  sha256: string;
}

export interface UseCatalog {
  baseUrl: string;
  files: readonly UseFileSpec[];
}

/** USE-lite 1.3.3: the graph model served by tfjs-models plus its SentencePiece vocabulary. */
export const USE_LITE_CATALOG: UseCatalog = Object.freeze({
  baseUrl: 'https://storage.googleapis.com/tfjs-models/savedmodel/universal_sentence_encoder',
  files: Object.freeze([
    { name: 'model.json', bytes: 247_026, sha256: '507d11df18b070f99e0ad650b9a4e6534a4cfb05040127e8ce579f00c8fa3b53' },
    { name: 'vocab.json', bytes: 218_327, sha256: '1ad860b9720c16cd48e666d664a556b2515c04f5a26a4b53c0372427913b1b8e' },
    { name: 'group1-shard1of7', bytes: 4_194_304, sha256: '8775e61b6a4235ea230a62a0d81f1ff00f5213ce86baa5d89c29e611f8cd7412' },
    { name: 'group1-shard2of7', bytes: 4_194_304, sha256: 'deaf897e5eea5be6c71ea62876a092034560b6f6fbc99c87a768076385a465bd' },
    { name: 'group1-shard3of7', bytes: 4_194_304, sha256: '50ee49b0daf620cf0cacda2f5fcc0da5929f4a3e520034844b6f8d9f3f4ec936' },
    { name: 'group1-shard4of7', bytes: 4_194_304, sha256: 'c1a50daae51e7c6e1e904f5d8d638a8658a0a1d310b9345cd7a368866304d596' },
    { name: 'group1-shard5of7', bytes: 4_194_304, sha256: '410cde3029282e5f601c782985cbb5caa96977f6705dec981c98dd02e93fec6b' },
    { name: 'group1-shard6of7', bytes: 4_194_304, sha256: '83ef116b2b98dc98e03547280ca0166142fbf6b4547bf1d9e6d13a8f518c088b' },
    { name: 'group1-shard7of7', bytes: 2_737_832, sha256: 'a29a5e08ee3afd839250b9187b89f1d3163749b5b1807bb175341a16c6012689' },
  ]),
});

export type UseVerifyResult = { ok: true } | { ok: false; problems: string[] };

/** Every catalogue file present in `dir` with the right size and SHA-256. */
export async function verifyUseDir(dir: string, catalog: UseCatalog = USE_LITE_CATALOG): Promise<UseVerifyResult> {
  const problems: string[] = [];
  for (const spec of catalog.files) {
    const problem = await checkFile(join(dir, spec.name), spec);
    if (problem !== null) problems.push(problem);
  }
  return problems.length === 0 ? { ok: true } : { ok: false, problems };
}

/** null when the file matches, else a one-line description naming the file. */
export async function checkFile(path: string, spec: UseFileSpec): Promise<string | null> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) return `${spec.name}: not a regular file`;
    size = st.size;
  } catch {
    return `${spec.name}: missing`;
  }
  if (size !== spec.bytes) return `${spec.name}: size ${size} B, expected ${spec.bytes} B`;
  const actual = (await hashFile(path)).sha256;
  if (actual !== spec.sha256) return `${spec.name}: sha256 ${actual}, expected ${spec.sha256}`;
  return null;
}

export type DownloadEvent =
  | { type: 'skip'; file: string; bytes: number }
  | { type: 'start'; file: string; bytes: number }
  | { type: 'progress'; file: string; received: number; bytes: number }
  | { type: 'done'; file: string; bytes: number };

export interface DownloadUseOptions {
  /** Overrides the catalogue's base URL (a mirror). */
  baseUrl?: string;
  /** Defaults to the pinned USE-lite catalogue; tests pass a synthetic one. */
  catalog?: UseCatalog;
  fetchImpl?: typeof fetch;
  onProgress?: (event: DownloadEvent) => void;
}

export class UseDownloadError extends Error {
  readonly file: string;
  constructor(file: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UseDownloadError';
    this.file = file;
  }
}

/**
 * Downloads each catalogue file into `destDir` through a temp name; a file is renamed into place
 * only when its size and SHA-256 match, so nothing unverified ever sits under a final name.
 * Files already present and valid are skipped. Throws UseDownloadError on the first failure.
 */
export async function downloadUseFiles(destDir: string, opts: DownloadUseOptions = {}): Promise<void> {
  const catalog = opts.catalog ?? USE_LITE_CATALOG;
  const baseUrl = (opts.baseUrl ?? catalog.baseUrl).replace(/\/+$/, '');
  const fetchImpl = opts.fetchImpl ?? fetch;
  await mkdir(destDir, { recursive: true });

  for (const spec of catalog.files) {
    const target = join(destDir, spec.name);
    if ((await checkFile(target, spec)) === null) {
      opts.onProgress?.({ type: 'skip', file: spec.name, bytes: spec.bytes });
      continue;
    }
    // A stale or corrupt file under the final name must not survive a failed refresh.
    await rm(target, { force: true });
    const tmp = join(destDir, `.${spec.name}.${process.pid}.download`);
    const url = `${baseUrl}/${spec.name}`;
    try {
      await fetchToFile(fetchImpl, url, tmp, spec, opts.onProgress);
      const problem = await checkFile(tmp, spec);
      if (problem !== null) throw new UseDownloadError(spec.name, `refusing download from ${url}: ${problem}`);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof UseDownloadError) throw err;
      throw new UseDownloadError(spec.name, `download of ${spec.name} from ${url} failed: ${errorText(err)}`, { cause: err });
    }
    opts.onProgress?.({ type: 'done', file: spec.name, bytes: spec.bytes });
  }
}

async function fetchToFile(
  fetchImpl: typeof fetch,
  url: string,
  path: string,
  spec: UseFileSpec,
  onProgress: DownloadUseOptions['onProgress'],
): Promise<void> {
  const res = await fetchImpl(url);
  if (!res.ok || res.body === null) {
    throw new UseDownloadError(spec.name, `download of ${spec.name} failed: HTTP ${res.status} ${res.statusText} for ${url}`);
  }
  onProgress?.({ type: 'start', file: spec.name, bytes: spec.bytes });
  const fh = await open(path, 'w');
  let received = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      received += chunk.byteLength;
      // Stop early on an oversized body rather than filling the disk.
      if (received > spec.bytes) {
        throw new UseDownloadError(spec.name, `refusing download from ${url}: ${spec.name}: more than the expected ${spec.bytes} B received`);
      }
      await fh.write(chunk);
      onProgress?.({ type: 'progress', file: spec.name, received, bytes: spec.bytes });
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fetch's "fetch failed" hides the reason (ECONNREFUSED, ENOTFOUND) in `cause`. */
function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const detail = cause?.code ?? cause?.message;
  return typeof detail === 'string' && !msg.includes(detail) ? `${msg} (${detail})` : msg;
}
