/**
 * `fetch-model use`: downloads the Universal Sentence Encoder (lite) weights, each file checked
 * against its pinned size and SHA-256 before it gets its final name (src/tf/use-files.ts).
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import type { DownloadEvent, UseCatalog } from '../tf/use-files.js';
import { TEXT_CLASSIFIER_SETTINGS } from '../config/model-settings.js';
import { readSetting } from '../config/settings.js';
import { CliError, formatBytes } from './support.js';

interface UseFlags {
  dir?: string;
  baseUrl?: string;
  check?: boolean;
  catalog?: string;
}

export function fetchModelCommand(): Command {
  const root = new Command('fetch-model').description('download pretrained weights the examples use, verified against pinned SHA-256s');
  root.addCommand(
    new Command('use')
      .description('Universal Sentence Encoder lite (9 files, about 25 MiB) for the text classifier')
      .option('--dir <dir>', 'target directory (env USE_MODEL_DIR, else USE_CACHE_DIR, default .cache/use-lite)')
      .option('--base-url <url>', 'a mirror of the files (default: the tfjs-models bucket)')
      .option('--check', 'only verify the files already in the directory')
      // Test seam and private encoders: a catalogue JSON {baseUrl, files: [{name, bytes, sha256}]}.
      .addOption(new Option('--catalog <file>').hideHelp())
      .action(async (flags: UseFlags) => fetchUse(flags)),
  );
  return root;
}

async function fetchUse(flags: UseFlags): Promise<void> {
  const files = await import('../tf/use-files.js');
  // Where the text classifier looks: USE_MODEL_DIR, else its download cache.
  const dir = path.resolve(flags.dir ?? readSetting(TEXT_CLASSIFIER_SETTINGS.useModelDir) ?? readSetting(TEXT_CLASSIFIER_SETTINGS.useCacheDir));
  const catalog = flags.catalog !== undefined ? await readCatalog(flags.catalog) : files.USE_LITE_CATALOG;
  if (!flags.check) {
    const total = catalog.files.reduce((n, f) => n + f.bytes, 0);
    console.log(`fetching ${catalog.files.length} files (${formatBytes(total)}) from ${flags.baseUrl ?? catalog.baseUrl} into ${dir}`);
    try {
      await files.downloadUseFiles(dir, { catalog, ...(flags.baseUrl !== undefined && { baseUrl: flags.baseUrl }), onProgress: printEvent });
    } catch (error) {
      throw new CliError((error as Error).message);
    }
  }
  const verdict = await files.verifyUseDir(dir, catalog);
  if (!verdict.ok) throw new CliError(`${dir} does not hold the verified files: ${verdict.problems.join('; ')}`);
  console.log(`all ${catalog.files.length} files verified in ${dir}`);
  console.log(`use them with USE_MODEL_DIR=${dir}`);
}

function printEvent(event: DownloadEvent): void {
  if (event.type === 'skip') console.log(`  ${event.file}: already present and verified`);
  else if (event.type === 'done') console.log(`  ${event.file}: ${formatBytes(event.bytes)}, sha256 verified`);
}

async function readCatalog(file: string): Promise<UseCatalog> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as UseCatalog;
  if (typeof parsed.baseUrl !== 'string' || !Array.isArray(parsed.files)) throw new CliError(`${file} is not a catalogue {baseUrl, files}`);
  return parsed;
}
