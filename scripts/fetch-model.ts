/**
 * Downloads the USE-lite encoder files and verifies each against its pinned SHA-256.
 *
 *   tsx scripts/fetch-model.ts [--dir <dir>] [--base-url <url>]
 *
 * Default dir: $USE_MODEL_DIR, else $USE_CACHE_DIR (default .cache/use-lite), as the text classifier reads them.
 * Exit 0 when every file is verified; otherwise 1 with a one-line reason on stderr.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { TEXT_CLASSIFIER_SETTINGS, readSetting } from '../src/index.js';
import {
  USE_LITE_CATALOG,
  downloadUseFiles,
  verifyUseDir,
  type DownloadEvent,
  type UseCatalog,
} from '../src/tf/use-files.js';

export interface FetchUseModelOptions {
  /** Target directory. @default $USE_MODEL_DIR, else $USE_CACHE_DIR (.cache/use-lite) */
  dir?: string;
  /** Mirror of the catalogue's base URL. */
  baseUrl?: string;
  /** Test seam: a catalogue other than the pinned USE-lite one. */
  catalog?: UseCatalog;
  fetchImpl?: typeof fetch;
  /** One line per event. @default console.log */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** Downloads and verifies into the directory; resolves with its absolute path, throws on any failure. */
export async function fetchUseModel(opts: FetchUseModelOptions = {}): Promise<{ dir: string }> {
  const env = opts.env ?? process.env;
  const settings = TEXT_CLASSIFIER_SETTINGS;
  const dir = resolve(opts.dir ?? readSetting(settings.useModelDir, env) ?? readSetting(settings.useCacheDir, env));
  const catalog = opts.catalog ?? USE_LITE_CATALOG;
  const log = opts.log ?? ((line: string) => console.log(line));
  const total = catalog.files.reduce((n, f) => n + f.bytes, 0);
  log(`fetch-model: ${catalog.files.length} files (${formatBytes(total)}) from ${opts.baseUrl ?? catalog.baseUrl} into ${dir}`);

  await downloadUseFiles(dir, {
    catalog,
    ...(opts.baseUrl !== undefined && { baseUrl: opts.baseUrl }),
    ...(opts.fetchImpl !== undefined && { fetchImpl: opts.fetchImpl }),
    onProgress: progressLogger(log),
  });
  const check = await verifyUseDir(dir, catalog);
  if (!check.ok) throw new Error(`verification failed after download: ${check.problems.join('; ')}`);
  log(`fetch-model: all ${catalog.files.length} files verified in ${dir}`);
  log(`fetch-model: use them with USE_MODEL_DIR=${dir}`);
  return { dir };
}

/** Start/done lines plus one line per quarter of a large file. */
function progressLogger(log: (line: string) => void): (e: DownloadEvent) => void {
  let lastQuarter = 0;
  return (e) => {
    switch (e.type) {
      case 'skip':
        log(`  ${e.file}: already present and verified, skipped`);
        break;
      case 'start':
        lastQuarter = 0;
        log(`  ${e.file}: downloading ${formatBytes(e.bytes)}`);
        break;
      case 'progress': {
        const quarter = Math.floor((e.received / e.bytes) * 4);
        if (e.bytes >= 1 << 20 && quarter > lastQuarter && quarter < 4) {
          lastQuarter = quarter;
          log(`  ${e.file}: ${quarter * 25}%`);
        }
        break;
      }
      case 'done':
        log(`  ${e.file}: sha256 verified`);
        break;
    }
  };
}

function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${n.toLocaleString('en-US')} B`;
}

async function main(argv: string[]): Promise<number> {
  let values: { dir?: string | undefined; 'base-url'?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { dir: { type: 'string' }, 'base-url': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    console.error(`fetch-model: ${(err as Error).message}`);
    return 2;
  }
  if (values.help === true) {
    console.log('usage: tsx scripts/fetch-model.ts [--dir <dir>] [--base-url <url>]');
    return 0;
  }
  try {
    await fetchUseModel({
      ...(values.dir !== undefined && { dir: values.dir }),
      ...(values['base-url'] !== undefined && { baseUrl: values['base-url'] }),
    });
    return 0;
  } catch (err) {
    console.error(`fetch-model: ${(err as Error).message}`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
