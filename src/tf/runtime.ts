/**
 * The one TensorFlow.js instance of the app and the choice of its backend.
 *
 * Everything else imports `tf` from here, so a native binding loaded at start-up
 * (tfjs-node-gpu / tfjs-node, which register the 'tensorflow' backend on the same
 * tfjs-core engine) is what every model uses. Order for 'auto':
 * tfjs-node-gpu → tfjs-node → wasm → cpu (TFJS-NOTES §1, §5).
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors.js';
import { TF_BACKENDS as TF_BACKEND_CHOICES, type TfBackendChoice } from '../config/choices.js';
import { WASM_SPECIFIER, wasmBinaryDir } from './wasm-paths.js';

export { tf };
export { wasmBinaryDir };

// The accepted TFJS_BACKEND values are declared once, with the setting (src/config).
export { TF_BACKEND_CHOICES, type TfBackendChoice };

export type NativePackage = 'tfjs-node-gpu' | 'tfjs-node';

export interface TfRuntimeInfo {
  /** The active tfjs backend: 'tensorflow', 'wasm' or 'cpu'. */
  backend: string;
  /** The native package that provides the 'tensorflow' backend, if any. */
  native: NativePackage | null;
  /** Only set on the wasm backend. */
  wasmSimd?: boolean;
  /** @tensorflow/tfjs version string. */
  tfVersion: string;
  /** Why each better backend was skipped, e.g. "@tensorflow/tfjs-node-gpu: Cannot find module". */
  fallbackReasons: string[];
}

/** Pino-compatible subset. */
export interface RuntimeLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface TfRuntimeOptions {
  /** Usually `process.env.TFJS_BACKEND`; anything but 'auto' forces that backend. @default 'auto' */
  backend?: TfBackendChoice;
  logger?: RuntimeLogger;
  /** Test seam: how native packages are imported. @default dynamic import() */
  importNative?: (specifier: string) => Promise<unknown>;
}

const NATIVE_PACKAGES: ReadonlyArray<{ pkg: NativePackage; specifier: string }> = [
  { pkg: 'tfjs-node-gpu', specifier: '@tensorflow/tfjs-node-gpu' },
  { pkg: 'tfjs-node', specifier: '@tensorflow/tfjs-node' },
];
const NOT_INSTALLED = 'Cannot find module (not installed)';

let pending: Promise<TfRuntimeInfo> | null = null;
let current: TfRuntimeInfo | null = null;

/**
 * Picks and initialises the backend once per process; later calls return the same info
 * (tfjs backends are process-global). A forced backend that cannot start throws ConfigError.
 */
export function initTfRuntime(opts: TfRuntimeOptions = {}): Promise<TfRuntimeInfo> {
  if (pending === null) {
    pending = selectBackend(opts).then(
      (info) => {
        current = info;
        return info;
      },
      (err: unknown) => {
        pending = null; // let a corrected configuration retry
        throw err;
      },
    );
  } else if (opts.backend !== undefined && opts.backend !== 'auto' && current !== null && opts.backend !== current.backend) {
    opts.logger?.warn({ requested: opts.backend, active: current.backend }, 'tfjs runtime already initialised; keeping the active backend');
  }
  return pending;
}

/** The info of the last successful initTfRuntime, or null before it. */
export function getTfRuntimeInfo(): TfRuntimeInfo | null {
  return current;
}

/** Live tensor count and bytes: exported as metrics and used by leak tests. */
export function memoryStats(): { numTensors: number; numBytes: number } {
  const m = tf.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
}

async function selectBackend(opts: TfRuntimeOptions): Promise<TfRuntimeInfo> {
  const choice = opts.backend ?? 'auto';
  if (!TF_BACKEND_CHOICES.includes(choice)) {
    throw new ConfigError(`TFJS_BACKEND must be one of ${TF_BACKEND_CHOICES.join(', ')}; got ${JSON.stringify(choice)}`);
  }
  const importNative = opts.importNative ?? ((s: string) => import(s));
  const reasons: string[] = [];
  const info = (backend: string, native: NativePackage | null, extra: Partial<TfRuntimeInfo> = {}): TfRuntimeInfo => ({
    backend,
    native,
    ...extra,
    tfVersion: tf.version.tfjs,
    fallbackReasons: [...reasons],
  });
  const done = (result: TfRuntimeInfo): TfRuntimeInfo => {
    opts.logger?.info({ tfjs: result }, `tfjs backend: ${result.backend}`);
    return result;
  };

  if (choice === 'auto' || choice === 'tensorflow') {
    const native = await tryNative(importNative, reasons);
    if (native !== null) return done(info('tensorflow', native));
    if (choice === 'tensorflow') {
      throw new ConfigError(
        `TFJS_BACKEND=tensorflow but no native TensorFlow binding could be loaded (${reasons.join('; ')}). ` +
          'Install @tensorflow/tfjs-node-gpu@4.22.0 (GPU image) or unset TFJS_BACKEND to use wasm/cpu.',
      );
    }
    // "Not installed" is the normal case off the GPU image; an installed but broken package is not.
    for (const r of reasons) if (!r.endsWith(NOT_INSTALLED)) opts.logger?.warn({ reason: r }, 'native tfjs backend installed but unusable');
  }

  if (choice === 'auto' || choice === 'wasm') {
    const simd = await tryWasm(reasons);
    if (simd !== null) return done(info('wasm', null, { wasmSimd: simd }));
    if (choice === 'wasm') {
      throw new ConfigError(`TFJS_BACKEND=wasm but the wasm backend could not start (${reasons.join('; ')}). Unset TFJS_BACKEND or set it to cpu.`);
    }
    opts.logger?.warn({ reason: reasons[reasons.length - 1] }, 'wasm backend unavailable; using cpu');
  }

  if (!(await tf.setBackend('cpu'))) throw new ConfigError('the tfjs cpu backend failed to initialise');
  await tf.ready();
  return done(info('cpu', null));
}

/** Imports the native packages in order; returns the one whose 'tensorflow' backend started. */
async function tryNative(importNative: (s: string) => Promise<unknown>, reasons: string[]): Promise<NativePackage | null> {
  for (const { pkg, specifier } of NATIVE_PACKAGES) {
    try {
      await importNative(specifier);
    } catch (err) {
      reasons.push(`${specifier}: ${describeImportError(err)}`);
      continue;
    }
    // The package registers 'tensorflow' on *its* tfjs-core; absent here means a second copy.
    if (tf.findBackendFactory('tensorflow') == null) {
      reasons.push(`${specifier}: loaded, but its 'tensorflow' backend is not registered with this @tensorflow/tfjs (version mismatch: it must pin tfjs ${tf.version.tfjs})`);
      continue;
    }
    try {
      if (await tf.setBackend('tensorflow')) {
        await tf.ready();
        return pkg;
      }
      reasons.push(`${specifier}: the 'tensorflow' backend failed to initialise`);
    } catch (err) {
      reasons.push(`${specifier}: ${firstLine(err)}`);
    }
  }
  return null;
}

/** Loads and starts the wasm backend; returns whether SIMD is used, or null if it failed. */
async function tryWasm(reasons: string[]): Promise<boolean | null> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Point at the package's own .wasm files: correct from any cwd, and survives bundling of this file.
    const dir = wasmBinaryDir();
    if (dir !== null) wasm.setWasmPaths(dir);
    if (!(await tf.setBackend('wasm'))) {
      reasons.push(`${WASM_SPECIFIER}: the wasm backend failed to initialise`);
      return null;
    }
    await tf.ready();
    return Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  } catch (err) {
    reasons.push(`${WASM_SPECIFIER}: ${describeImportError(err)}`);
    return null;
  }
}

function describeImportError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return NOT_INSTALLED;
  return firstLine(err); // e.g. "The Node.js native addon module (tfjs_binding.node) can not be found at path: ..."
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n').find((l) => l.trim() !== '')?.trim() ?? msg;
}
