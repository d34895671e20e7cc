import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { fileSystemIO } from '../../src/tf/file-io.js';
import { initTfRuntime, memoryStats, tf } from '../../src/tf/runtime.js';
import { USE_OUTPUT_NODE, writeSyntheticUseModel } from '../helpers/synthetic-use.js';

function smallModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [8], units: 4, activation: 'relu', kernelInitializer: 'glorotUniform' }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  return model;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return m;
}

describe('tf/file-io: fileSystemIO', () => {
  let dir: string;
  before(() => initTfRuntime());
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tf-file-io-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips a LayersModel in the tfjs-node layout with identical predictions', async () => {
    const model = smallModel();
    const x = tf.randomUniform([5, 8], -1, 1, 'float32', 7);
    const before = model.predict(x) as tf.Tensor;
    model.setUserDefinedMetadata({ labels: ['a', 'b', 'c'] });
    const target = join(dir, 'nested', 'ckpt', 'model'); // parents do not exist yet
    const result = await model.save(fileSystemIO(target));
    expect(result.modelArtifactsInfo.weightDataBytes).to.equal((8 * 4 + 4 + 4 * 3 + 3) * 4);

    expect((await readdir(target)).sort()).to.deep.equal(['model.json', 'weights.bin']);
    const json = JSON.parse(await readFile(join(target, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    expect(json.format).to.equal('layers-model');
    expect(json.weightsManifest).to.have.length(1);
    expect(json.weightsManifest[0]?.paths).to.deep.equal(['weights.bin']);
    expect(json.weightsManifest[0]?.weights.map((w) => w.shape)).to.deep.equal([[8, 4], [4], [4, 3], [3]]);
    expect(json).to.not.have.property('trainingConfig'); // only with includeOptimizer
    expect(json.userDefinedMetadata).to.deep.equal({ labels: ['a', 'b', 'c'] });
    expect((await stat(join(target, 'weights.bin'))).size).to.equal(result.modelArtifactsInfo.weightDataBytes);

    for (const from of [target, join(target, 'model.json')]) {
      const loaded = await tf.loadLayersModel(fileSystemIO(from));
      const after = loaded.predict(x) as tf.Tensor;
      expect(maxAbsDiff(await before.data(), await after.data())).to.equal(0);
      after.dispose();
      loaded.dispose();
    }
    tf.dispose([x, before]);
    model.dispose();
  });

  it('overwrites an existing checkpoint; with includeOptimizer the reloaded model is compiled and trains on', async () => {
    const model = smallModel();
    await model.save(fileSystemIO(dir));
    const xs = tf.randomUniform([16, 8], -1, 1, 'float32', 3);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0], 'int32'), 3).toFloat();
    await model.fit(xs, ys, { epochs: 2, verbose: 0 });
    await model.save(fileSystemIO(dir), { includeOptimizer: true });
    expect((await readdir(dir)).sort()).to.deep.equal(['model.json', 'weights.bin']);
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    expect(json.trainingConfig?.loss).to.equal('categorical_crossentropy');

    const loaded = await tf.loadLayersModel(fileSystemIO(dir));
    const a = tf.tidy(() => (model.predict(xs) as tf.Tensor).dataSync());
    const b = tf.tidy(() => (loaded.predict(xs) as tf.Tensor).dataSync());
    expect(maxAbsDiff(a, b)).to.equal(0);
    expect(loaded.optimizer, 'restored from trainingConfig').to.not.equal(undefined);
    const h = await loaded.fit(xs, ys, { epochs: 1, verbose: 0 });
    expect(h.history['loss']?.[0]).to.be.a('number');
    tf.dispose([xs, ys]);
    model.dispose();
    loaded.dispose();
  });

  it('loads the synthetic USE GraphModel, also split into several shards', async () => {
    await writeSyntheticUseModel(dir);
    const indices = tf.tensor2d([[0, 0], [0, 1], [1, 0]], [3, 2], 'int32');
    const values = tf.tensor1d([11, 12, 13], 'int32');
    const one = await tf.loadGraphModel(fileSystemIO(dir));
    expect(one.inputs.map((i) => [i.name, i.shape, i.dtype])).to.deep.equal([
      ['indices', [-1, 2], 'int32'],
      ['values', [-1], 'int32'],
    ]);
    expect(one.outputs.map((o) => o.name)).to.deep.equal([USE_OUTPUT_NODE]);
    const ref = (await one.executeAsync({ indices, values })) as tf.Tensor;

    // Re-shard like the real model (group1-shardNof7) to exercise multi-path manifests.
    const shard = await readFile(join(dir, 'group1-shard1of1'));
    const cuts = [0, 40_000, 80_000, shard.length];
    const paths = ['group1-shard1of3', 'group1-shard2of3', 'group1-shard3of3'];
    const multi = join(dir, 'multi');
    await writeSyntheticUseModel(multi);
    await rm(join(multi, 'group1-shard1of1'));
    for (let i = 0; i < 3; i++) await writeFile(join(multi, paths[i] ?? ''), shard.subarray(cuts[i], cuts[i + 1]));
    const json = JSON.parse(await readFile(join(multi, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    const group = json.weightsManifest[0];
    if (group === undefined) throw new Error('no manifest group');
    group.paths = paths.map((p) => `./${p}`);
    await writeFile(join(multi, 'model.json'), JSON.stringify(json));

    const three = await tf.loadGraphModel(fileSystemIO(join(multi, 'model.json')));
    const out = (await three.executeAsync({ indices, values })) as tf.Tensor;
    expect(out.shape).to.deep.equal([2, 512]);
    expect(maxAbsDiff(await ref.data(), await out.data())).to.equal(0);
    tf.dispose([indices, values, ref, out]);
    one.dispose();
    three.dispose();
  });

  it('leaves no tensors behind after save and load', async () => {
    const model = smallModel();
    await model.save(fileSystemIO(dir));
    const before = memoryStats().numTensors;
    const loaded = await tf.loadLayersModel(fileSystemIO(dir));
    loaded.dispose();
    expect(memoryStats().numTensors).to.equal(before);
    model.dispose();
  });

  it('names the missing file when model.json or a shard is absent', async () => {
    let err: unknown;
    await tf.loadLayersModel(fileSystemIO(join(dir, 'nothing'))).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/cannot read .*nothing[\\/]model\.json/);

    await smallModel().save(fileSystemIO(dir));
    await rm(join(dir, 'weights.bin'));
    err = undefined;
    await tf.loadLayersModel(fileSystemIO(dir)).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/cannot read weights file .*weights\.bin/);
  });

  it('refuses manifest paths that leave the model folder', async () => {
    await smallModel().save(fileSystemIO(dir));
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    const group = json.weightsManifest[0];
    if (group === undefined) throw new Error('no manifest group');
    group.paths = ['../weights.bin'];
    await writeFile(join(dir, 'model.json'), JSON.stringify(json));
    let err: unknown;
    await tf.loadLayersModel(fileSystemIO(dir)).catch((e: unknown) => (err = e));
    expect(String(err)).to.include('points outside');
  });

  it('rejects binary topologies on save', async () => {
    let err: unknown;
    await fileSystemIO(dir).save?.({ modelTopology: new ArrayBuffer(4) }).catch((e: unknown) => (err = e));
    expect(String(err)).to.include('binary');
    expect(await readdir(dir)).to.deep.equal([]);
  });
});
