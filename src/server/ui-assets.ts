/**
 * The files of the /ui page: the page's own HTML, CSS and ES modules (src/server/ui/, copied
 * beside the compiled server by `npm run build`) and uPlot, read from node_modules where Node
 * resolves it. Only files found at start are served; each is read once and kept with its ETag.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface UiAsset {
  body: Buffer;
  type: string;
  etag: string;
}

const PAGE_DIR = fileURLToPath(new URL('./ui/', import.meta.url));
const PAGE_FILE = 'index.html';
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};
/** The charting library, served under these names from its npm package. */
const VENDOR: Record<string, string> = {
  'uPlot.esm.js': 'uplot/dist/uPlot.esm.js',
  'uPlot.min.css': 'uplot/dist/uPlot.min.css',
};

export class UiAssets {
  /** Asset name (as in /ui/assets/<name>) → file on disk. */
  readonly #files = new Map<string, string>();
  readonly #loaded = new Map<string, UiAsset>();

  constructor(pageDir = PAGE_DIR) {
    for (const name of readdirSync(pageDir)) {
      if (name !== PAGE_FILE && path.extname(name) in TYPES) this.#files.set(name, path.join(pageDir, name));
    }
    this.#files.set(PAGE_FILE, path.join(pageDir, PAGE_FILE));
    const require = createRequire(import.meta.url);
    for (const [name, specifier] of Object.entries(VENDOR)) this.#files.set(name, require.resolve(specifier));
  }

  /** The page itself. */
  page(): UiAsset {
    return this.#load(PAGE_FILE) as UiAsset;
  }

  /** A CSS or JS file of the page, or undefined for any other name. */
  asset(name: string): UiAsset | undefined {
    return name === PAGE_FILE ? undefined : this.#load(name);
  }

  #load(name: string): UiAsset | undefined {
    const cached = this.#loaded.get(name);
    if (cached) return cached;
    const file = this.#files.get(name);
    if (file === undefined) return undefined;
    const body = readFileSync(file);
    const asset = { body, type: TYPES[path.extname(file)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    this.#loaded.set(name, asset);
    return asset;
  }
}
