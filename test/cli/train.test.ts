import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CSV_ID_BASE, csvToDataset } from '../../src/cli/csv-dataset.js';
import { lineView } from '../../src/cli/progress.js';
import { parseLabelConfig } from '../../src/model/label-config.js';
import { openLocalStores } from '../../src/store/index.js';
import { tempDir } from '../helpers/server.js';
import { TOY_ENTRY, expectOneLineFailure, runCli } from './run-cli.js';

/** The model `init` scaffolds: training it here proves the template works end to end. */
const SCAFFOLD_MODEL = fileURLToPath(new URL('../../examples/minimal/model.ts', import.meta.url));

const CSV = `text,label
"I love this, great",Positive
what a wonderful day,Positive
excellent and happy,Positive
terrible awful thing,Negative
"I hate it, bad",Negative
horrible and sad,Negative
,Negative
`;

describe('cli: train from a labelled CSV', () => {
  it('builds Label Studio-shaped tasks and a Choices/Text config from the distinct labels', () => {
    const dataset = csvToDataset(CSV, { textColumn: 'text', labelColumn: 'label' });
    expect(dataset.labels).to.deep.equal(['Negative', 'Positive']);
    expect(dataset.skipped).to.equal(1);
    expect(dataset.tasks).to.have.length(6);
    const parsed = parseLabelConfig(dataset.labelConfig);
    expect(parsed.label?.labels).to.deep.equal(['Negative', 'Positive']);
    expect(parsed.label?.inputs[0]?.value).to.equal('text');
    const task = dataset.tasks[0];
    expect(task?.id).to.equal(CSV_ID_BASE + 1);
    expect(task?.data).to.deep.equal({ text: 'I love this, great' });
    expect(task?.annotations[0]?.result[0]).to.deep.include({ from_name: 'label', to_name: 'text', type: 'choices', value: { choices: ['Positive'] } });
  });

  it('uses a given label config and rejects labels it does not list', () => {
    const config = '<View><Text name="review" value="$body"/><Choices name="mood" toName="review"><Choice value="Positive"/><Choice value="Negative"/></Choices></View>';
    const dataset = csvToDataset(CSV, { textColumn: 'text', labelColumn: 'label', labelConfig: config });
    expect(dataset.tasks[0]?.data).to.deep.equal({ body: 'I love this, great' });
    expect(dataset.tasks[0]?.annotations[0]?.result[0]).to.deep.include({ from_name: 'mood', to_name: 'review' });
    const narrow = config.replace('<Choice value="Negative"/>', '');
    expect(() => csvToDataset(CSV, { textColumn: 'text', labelColumn: 'label', labelConfig: narrow })).to.throw(/labels not in the label config.*Negative/);
    expect(() => csvToDataset(CSV, { textColumn: 'body', labelColumn: 'label' })).to.throw('the CSV has no column "body" (columns: text, label)');
  });

  it('plain progress prints at most ~20 epoch lines, first and last included', () => {
    const lines: string[] = [];
    const view = lineView((line) => lines.push(line));
    view.update({ phase: 'embedding' });
    for (let epoch = 1; epoch <= 100; epoch++) view.update({ epoch, epochs: 100, loss: 1 / epoch });
    expect(lines[0]).to.equal('phase: embedding');
    expect(lines[1]).to.equal('epoch 1/100 loss 1.0000');
    expect(lines.at(-1)).to.equal('epoch 100/100 loss 0.0100');
    expect(lines.length).to.be.within(20, 23);
  });

  it('trains the scaffolded model through the job queue, prints version and metrics, keeps the annotations', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'data.csv'), CSV);
    const modelDir = path.join(dir, 'models');
    const result = await runCli(['train', '--data', 'data.csv', '--project', '7', '--entry', SCAFFOLD_MODEL, '--model-dir', modelDir, '--extra-params', '{"epochs": 4}'], { cwd: dir, timeoutMs: 60_000 });
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^project 7: new version v0001-\S+ \(accuracy=[\d.]+\) in [\d.]+ s\n$/);
    // Not a TTY (and CI=true): plain progress lines, no bar control characters.
    expect(result.stderr).to.include('6 annotated rows (1 skipped), labels: Negative, Positive');
    expect(result.stderr).to.match(/^epoch 1\/4 loss \d/m).and.match(/^epoch 4\/4 loss \d/m);
    expect(result.stderr).to.not.include('\u001b[');

    const version = /new version (\S+)/.exec(result.stdout)?.[1] as string;
    expect(fs.readFileSync(path.join(modelDir, '7', 'current'), 'utf8').trim()).to.equal(version);
    const stores = openLocalStores(modelDir, { pollMs: 0 });
    try {
      expect((await stores.annotations.counts('7')).usable).to.equal(6);
      expect(await stores.kv.get('7', 'label_config')).to.be.a('string').and.include('<Choice value="Negative"/>');
    } finally {
      await stores.close();
    }
  });

  it('fails with one line on a missing file or column', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'data.csv'), CSV);
    const [missing, column] = await Promise.all([
      runCli(['train', '--data', path.join(dir, 'nope.csv'), '--project', '1', '--entry', TOY_ENTRY]),
      runCli(['train', '--data', path.join(dir, 'data.csv'), '--project', '1', '--entry', TOY_ENTRY, '--label-column', 'sentiment']),
    ]);
    expect(expectOneLineFailure(missing)).to.match(/cannot read the CSV .*nope\.csv: ENOENT/);
    expect(expectOneLineFailure(column)).to.match(/no column "sentiment"/);
  });
});
