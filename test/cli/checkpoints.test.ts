import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { FsCheckpointStore } from '../../src/store/checkpoint-store.js';
import type { JobRecord } from '../../src/types.js';
import { tempDir } from '../helpers/server.js';
import { expectOneLineFailure, runCli } from './run-cli.js';

/** A TF.js layers model.json as model.save writes it: a Dense(2) on 128 inputs. */
const MODEL_JSON = {
  modelTopology: {
    class_name: 'Sequential',
    config: { name: 'sequential_1', layers: [{ class_name: 'Dense', config: { name: 'dense_Dense1', units: 2, batch_input_shape: [null, 128] } }] },
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
  },
  weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'dense_Dense1/kernel', shape: [128, 2], dtype: 'float32' }, { name: 'dense_Dense1/bias', shape: [2], dtype: 'float32' }] }],
  format: 'layers-model',
};

async function addVersion(store: FsCheckpointStore, project: string, accuracy: number): Promise<string> {
  const pending = await store.begin(project);
  fs.mkdirSync(path.join(pending.workdir, 'model'));
  fs.writeFileSync(path.join(pending.workdir, 'model', 'model.json'), JSON.stringify(MODEL_JSON));
  fs.writeFileSync(path.join(pending.workdir, 'model', 'weights.bin'), Buffer.alloc(130 * 4));
  const job: JobRecord = { id: `job-${accuracy}`, project, state: 'succeeded', event: 'START_TRAINING', triggers: 1, createdAt: new Date().toISOString(), annotationCount: 12, metrics: { accuracy } };
  await store.promote(pending, { labels: ['Negative', 'Positive'], model_dir: path.join(pending.workdir, 'model'), metrics: { accuracy } }, job);
  return pending.version;
}

describe('cli: checkpoints list|show|rollback|prune', () => {
  let modelDir: string;
  let versions: string[];
  const cli = (...args: string[]) => runCli(['checkpoints', ...args, '--model-dir', modelDir]);

  before(async () => {
    modelDir = tempDir();
    const store = new FsCheckpointStore(modelDir);
    versions = [];
    for (const accuracy of [0.5, 0.75, 0.875, 1]) versions.push(await addVersion(store, '3', accuracy));
    await addVersion(store, '9', 0.25);
    // Version 2 of project 3 is damaged after the fact: flagged, never served.
    fs.appendFileSync(path.join(modelDir, '3', versions[1] as string, 'model', 'weights.bin'), 'x');
  });

  it('list shows every project and version with labels, metrics, annotations, size, current and corrupt', async () => {
    const [text, jsonResult] = await Promise.all([cli('list'), cli('list', '--project', '3', '--json')]);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.include('project 3 (current: ' + versions[3] + ')').and.include('project 9');
    expect(text.stdout).to.match(new RegExp(`\\* ${versions[3]} .*labels=Negative\\|Positive  accuracy=1  annotations=12  `));
    expect(text.stdout).to.match(new RegExp(`! ${versions[1]} .*CORRUPT: `));

    const json = JSON.parse(jsonResult.stdout);
    const listed = json.projects['3'].versions;
    expect(listed.map((v: { version: string }) => v.version)).to.deep.equal(versions);
    expect(listed[3]).to.include({ current: true, annotation_count: 12 });
    expect(listed[3].metrics).to.deep.equal({ accuracy: 1 });
    expect(listed[1].corrupt).to.be.a('string');
    expect(listed[0].size_bytes).to.be.greaterThan(520);
  });

  it('show prints the model summary from model.json and the train_output', async () => {
    const result = await cli('show', versions[0] as string, '--project', '3');
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.include('model/model.json: Sequential (layers-model), 258 parameters in 2 weight tensors');
    expect(result.stdout).to.match(/dense_Dense1\s+Dense\s+258/);
    expect(result.stdout).to.include('"labels": [');
    expect(result.stdout).to.include(`"model_dir": "${path.join(modelDir, '3', versions[0] as string, 'model')}"`);
  });

  it('rollback switches the current version; corrupt or unknown versions are refused with one line', async () => {
    const rolled = await cli('rollback', versions[2] as string, '--project', '3');
    expect(rolled.code, rolled.stderr).to.equal(0);
    expect(rolled.stdout).to.include(`${versions[3]} -> ${versions[2]}`);
    expect(fs.readFileSync(path.join(modelDir, '3', 'current'), 'utf8').trim()).to.equal(versions[2]);
    const [corrupt, ambiguous] = await Promise.all([cli('rollback', versions[1] as string, '--project', '3'), cli('rollback', versions[0] as string)]);
    expect(expectOneLineFailure(corrupt)).to.match(/is corrupt/);
    expect(expectOneLineFailure(ambiguous)).to.match(/several projects .*3, 9.*--project/);
  });

  it('prune keeps the newest N and always the current one', async () => {
    const result = await cli('prune', '--keep', '1', '--project', '3');
    expect(result.code, result.stderr).to.equal(0);
    const left = fs.readdirSync(path.join(modelDir, '3')).filter((name) => name.startsWith('v')).sort();
    expect(left).to.deep.equal([versions[2], versions[3]]);
  });
});
