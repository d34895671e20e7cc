/**
 * Source for `new Worker(code, { eval: true })` that imports a module in a worker thread, with
 * tsx registered first when it is installed, so TypeScript modules (this package run from
 * source, user models) load there too: `--import tsx` in execArgv is not honoured by worker
 * threads on Node 20.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export function workerBootstrap(moduleUrl: URL): string {
  let tsxApi: string | undefined;
  try {
    // require.resolve gives tsx's CJS build, whose register() cannot run in a worker; use its ESM twin.
    const resolved = createRequire(import.meta.url).resolve('tsx/esm/api');
    const esm = resolved.replace(/\.cjs$/, '.mjs');
    tsxApi = pathToFileURL(existsSync(esm) ? esm : resolved).href;
  } catch {
    tsxApi = undefined;
  }
  const load = `import(${JSON.stringify(moduleUrl.href)})`;
  return tsxApi ? `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return ${load}; });` : `${load};`;
}

/** The sibling module `name` (.ts when this file runs from source, .js from dist). */
export function siblingModule(name: string, from: string): URL {
  return new URL(`./${name}${from.endsWith('.ts') ? '.ts' : '.js'}`, from);
}
