/** Contract C2: what a job record keeps of its progress reports. */
import { expect } from 'chai';
import { HISTORY_LIMIT as MAX_HISTORY, appendHistory } from '../../src/backend/job-history.js';
import { LabelInterface } from '../../src/model/label-config.js';
import { controlsOf } from '../../src/backend/overview.js';
import type { JobRecord } from '../../src/types.js';

const job = (): JobRecord => ({ id: 'j', project: '1', state: 'running', event: 'START_TRAINING', triggers: 1, createdAt: new Date(0).toISOString() });

describe('job progress history (C2)', () => {
  it('keeps epoch reports and phase changes, not repeated phase-only reports', () => {
    const record = job();
    const at = new Date(1_000);
    appendHistory(record, { phase: 'embedding' }, at);
    appendHistory(record, { phase: 'embedding' }, at);
    appendHistory(record, { phase: 'training', epoch: 1, epochs: 2, loss: 0.9 }, at);
    appendHistory(record, { phase: 'training', epoch: 2, epochs: 2, loss: 0.5 }, at);
    appendHistory(record, { phase: 'saving' }, at);
    expect(record.history?.map((entry) => [entry.phase, entry.epoch])).to.deep.equal([
      ['embedding', undefined],
      ['training', 1],
      ['training', 2],
      ['saving', undefined],
    ]);
    expect(record.history?.[0]?.at).to.equal(at.toISOString());
  });

  it(`stays within ${MAX_HISTORY} entries, thinning the older epochs and keeping the first and the latest`, () => {
    const record = job();
    const epochs = 5_000;
    for (let epoch = 1; epoch <= epochs; epoch++) appendHistory(record, { epoch, epochs, loss: 1 / epoch }, new Date(epoch));
    const kept = record.history!.map((entry) => entry.epoch as number);
    expect(kept.length).to.be.at.most(MAX_HISTORY).and.above(MAX_HISTORY / 2);
    expect(kept[0]).to.equal(1);
    expect(kept.slice(-100)).to.deep.equal(Array.from({ length: 100 }, (_, i) => epochs - 99 + i));
    expect(kept).to.deep.equal([...kept].sort((a, b) => a - b));
  });
});

describe('overview: label config controls (C3)', () => {
  it('lists every control with all its attributes; an unknown config has none', () => {
    const xml = '<View><Text name="t" value="$text"/><Choices name="c" toName="t" choice="multiple" hint="a &amp; b"><Choice value="A"/><Choice value="B" alias="b"/></Choices></View>';
    expect(controlsOf(LabelInterface.parse(xml))).to.deep.equal([
      { name: 'c', type: 'Choices', toName: ['t'], labels: ['A', 'b'], attributes: { name: 'c', toName: 't', choice: 'multiple', hint: 'a & b' } },
    ]);
    expect(controlsOf(LabelInterface.forConfig(''))).to.deep.equal([]);
  });
});
