#!/usr/bin/env node
// Launcher for the `label-studio-ml-tfjs` CLI: the built CLI (dist/) when present, else the
// TypeScript sources through tsx. tsx is registered in both cases so that `start model.ts`
// can load a user's TypeScript model module. LABEL_STUDIO_ML_TFJS_FROM_SOURCE=1 forces the
// sources (tests, and a checkout with a stale dist/).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'src', 'cli', 'main.js');
const source = join(root, 'src', 'cli', 'main.ts');

let tsx = false;
try {
  const { register } = await import('tsx/esm/api');
  register();
  tsx = true;
} catch {
  // tsx absent: only the built CLI and JavaScript model modules can run.
}

const fromSource = process.env.LABEL_STUDIO_ML_TFJS_FROM_SOURCE === '1' || !existsSync(built);
if (fromSource && !tsx) {
  console.error('label-studio-ml-tfjs: error: dist/ is missing and tsx is not installed: run `npm run build` or install tsx');
  process.exit(1);
}
const { main } = await import(pathToFileURL(fromSource ? source : built).href);
await main(process.argv);
