/** Where tfjs-backend-wasm's .wasm binaries are, for setWasmPaths (correct from any cwd, and after bundling). */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const WASM_SPECIFIER = '@tensorflow/tfjs-backend-wasm';

/** The directory (with trailing separator) holding tfjs-backend-wasm's .wasm binaries, or null. */
export function wasmBinaryDir(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve(WASM_SPECIFIER)); // .../tfjs-backend-wasm/dist
    return existsSync(join(dir, 'tfjs-backend-wasm.wasm')) ? dir + '/' : null;
  } catch {
    return null;
  }
}
