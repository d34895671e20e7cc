import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { getTfRuntimeInfo, initTfRuntime, memoryStats, tf, wasmBinaryDir } from '../../src/tf/runtime.js';

const require = createRequire(import.meta.url);
const TSX = pathToFileURL(require.resolve('tsx')).href;
const RUNTIME = pathToFileURL(new URL('../../src/tf/runtime.ts', import.meta.url).pathname).href;

/**
 * tfjs backends are process-global, so each backend choice runs in its own child process.
 * `mode` selects a fake native import (the real packages cannot be installed here).
 */
const CHILD = `
import { initTfRuntime, tf } from ${JSON.stringify(RUNTIME)};
const { opts, mode } = JSON.parse(process.argv[2]);
const notFound = (s) => Object.assign(new Error("Cannot find package '" + s + "'"), { code: 'ERR_MODULE_NOT_FOUND' });
if (mode === 'addon-missing') {
  opts.importNative = async (s) => {
    throw new Error('The Node.js native addon module (tfjs_binding.node) can not be found at path: /x/' + s + '/lib/napi-v8/tfjs_binding.node. \\nPlease run command');
  };
}
if (mode === 'fake-tfjs-node') {
  // Stands in for @tensorflow/tfjs-node: registers a 'tensorflow' backend on the same engine.
  opts.importNative = async (s) => {
    if (s !== '@tensorflow/tfjs-node') throw notFound(s);
    tf.registerBackend('tensorflow', () => new tf.MathBackendCPU(), 3);
    tf.copyRegisteredKernels('cpu', 'tensorflow');
  };
}
if (mode === 'other-engine') opts.importNative = async () => {};
const logs = [];
opts.logger = { info: (o, m) => logs.push(['info', m]), warn: (o, m) => logs.push(['warn', m]) };
try {
  const info = await initTfRuntime(opts);
  const again = await initTfRuntime({ backend: 'cpu' });
  const sum = tf.tidy(() => tf.matMul(tf.ones([3, 3]), tf.ones([3, 3])).sum().dataSync()[0]);
  console.log(JSON.stringify({ ok: true, info, same: again === info, active: tf.getBackend(), sum, logs }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, name: err.name, code: err.code, message: err.message }));
}
`;

interface ChildResult {
  ok: boolean;
  info?: { backend: string; native: string | null; wasmSimd?: boolean; tfVersion: string; fallbackReasons: string[] };
  same?: boolean;
  active?: string;
  sum?: number;
  logs?: Array<[string, string]>;
  name?: string;
  code?: string;
  message?: string;
}

describe('tf/runtime: backend selection (child processes)', function () {
  this.timeout(60_000);
  let dir: string;
  let script: string;
  const CASES = {
    auto: [{ backend: 'auto' }, 'real'],
    cpu: [{ backend: 'cpu' }, 'real'],
    wasm: [{ backend: 'wasm' }, 'real'],
    tensorflow: [{ backend: 'tensorflow' }, 'real'],
    addonMissing: [{ backend: 'auto' }, 'addon-missing'],
    fakeNode: [{ backend: 'auto' }, 'fake-tfjs-node'],
    otherEngine: [{ backend: 'tensorflow' }, 'other-engine'],
  } as const;
  const results: Partial<Record<keyof typeof CASES, ChildResult>> = {};
  const result = (name: keyof typeof CASES): ChildResult => {
    const r = results[name];
    if (r === undefined) throw new Error(`no result for ${name}`);
    return r;
  };

  // The children are independent, so start them all at once.
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tf-runtime-'));
    script = join(dir, 'child.mjs');
    await writeFile(script, CHILD);
    await Promise.all(
      Object.entries(CASES).map(async ([name, [opts, mode]]) => {
        results[name as keyof typeof CASES] = await runChild(opts, mode);
      }),
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // cwd is the temp dir, so the wasm binaries must be found without relying on the cwd.
  function runChild(opts: Record<string, unknown>, mode: string): Promise<ChildResult> {
    return new Promise((resolve, reject) => {
      execFile(process.execPath, ['--import', TSX, script, JSON.stringify({ opts, mode })], { cwd: dir, timeout: 50_000 }, (err, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(line) as ChildResult);
        } catch {
          reject(new Error(`child failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`));
        }
      });
    });
  }

  it('auto picks wasm (SIMD) with no native package and records why', () => {
    const r = result('auto');
    expect(r.ok, r.message).to.equal(true);
    expect(r.info?.backend).to.equal('wasm');
    expect(r.active).to.equal('wasm');
    expect(r.info?.native).to.equal(null);
    expect(r.info?.wasmSimd).to.equal(true);
    expect(r.info?.tfVersion).to.equal('4.22.0');
    expect(r.info?.fallbackReasons).to.deep.equal([
      '@tensorflow/tfjs-node-gpu: Cannot find module (not installed)',
      '@tensorflow/tfjs-node: Cannot find module (not installed)',
    ]);
    expect(r.sum).to.equal(27);
    expect(r.same, 'second call returns the same info').to.equal(true);
    // Not installed is normal off the GPU image: no warning, the reasons ride on the info line.
    expect(r.logs?.filter(([lvl]) => lvl === 'warn')).to.deep.equal([]);
    expect(r.logs?.some(([lvl, m]) => lvl === 'info' && m.includes('wasm'))).to.equal(true);
  });

  it('a forced cpu backend is used and skips the native probes', () => {
    const r = result('cpu');
    expect(r.ok, r.message).to.equal(true);
    expect(r.info).to.deep.include({ backend: 'cpu', native: null, fallbackReasons: [] });
    expect(r.active).to.equal('cpu');
    expect(r.sum).to.equal(27);
  });

  it('a forced wasm backend is used', () => {
    const r = result('wasm');
    expect(r.ok, r.message).to.equal(true);
    expect(r.info?.backend).to.equal('wasm');
    expect(r.info?.fallbackReasons).to.deep.equal([]);
  });

  it('a forced tensorflow backend without tfjs-node is a ConfigError naming TFJS_BACKEND and why', () => {
    const r = result('tensorflow');
    expect(r.ok).to.equal(false);
    expect(r.name).to.equal('ConfigError');
    expect(r.code).to.equal('MLB_ERR_CONFIG');
    expect(r.message).to.include('TFJS_BACKEND=tensorflow');
    expect(r.message).to.include('@tensorflow/tfjs-node-gpu: Cannot find module');
    expect(r.message).to.include('@tensorflow/tfjs-node: Cannot find module');
  });

  it('records the addon-not-found error of an installed but unbuilt native package', () => {
    const r = result('addonMissing');
    expect(r.ok, r.message).to.equal(true);
    expect(r.info?.backend).to.equal('wasm');
    expect(r.info?.fallbackReasons).to.have.length(2);
    expect(r.info?.fallbackReasons[0]).to.match(/^@tensorflow\/tfjs-node-gpu: The Node\.js native addon module \(tfjs_binding\.node\) can not be found/);
    expect(r.info?.fallbackReasons[0]).to.not.include('\n');
    expect(r.logs?.filter(([lvl]) => lvl === 'warn')).to.have.length(2); // installed but broken: warn
  });

  it('uses the tensorflow backend when a native package registers it (tfjs-node stand-in)', () => {
    const r = result('fakeNode');
    expect(r.ok, r.message).to.equal(true);
    expect(r.info).to.deep.include({ backend: 'tensorflow', native: 'tfjs-node' });
    expect(r.info?.fallbackReasons).to.deep.equal(['@tensorflow/tfjs-node-gpu: Cannot find module (not installed)']);
    expect(r.active).to.equal('tensorflow');
    expect(r.sum).to.equal(27);
  });

  it('detects a native package that registered on another tfjs-core copy', () => {
    const r = result('otherEngine');
    expect(r.ok).to.equal(false);
    expect(r.name).to.equal('ConfigError');
    expect(r.message).to.include('version mismatch');
  });
});

describe('tf/runtime: in this process', () => {
  it('initialises once and reports the same info', async () => {
    const a = await initTfRuntime();
    const b = await initTfRuntime();
    expect(b).to.equal(a);
    expect(getTfRuntimeInfo()).to.equal(a);
    expect(tf.getBackend()).to.equal(a.backend);
  });

  it('memoryStats counts live tensors', () => {
    const before = memoryStats();
    const t = tf.zeros([10, 10]);
    expect(memoryStats().numTensors).to.equal(before.numTensors + 1);
    expect(memoryStats().numBytes).to.equal(before.numBytes + 400);
    t.dispose();
    expect(memoryStats()).to.deep.equal(before);
  });

  it('finds the wasm binaries in the package dist folder', () => {
    expect(wasmBinaryDir()).to.match(/tfjs-backend-wasm[\\/]dist[\\/]$/);
  });
});
