/** LabelStudioMLBase on its own (no server): what a model built by hand gets from ModelInit. */
import { expect } from 'chai';
import { LabelStudioMLBase, TaskDataError, type JsonValue, type ModelInit } from '../../src/index.js';

const CONFIG = '<View><Text name="text" value="$text"/><Choices name="c" toName="text" choice="multiple"><Choice value="A"/></Choices></View>';

function init(overrides: Partial<ModelInit> = {}): ModelInit {
  const values = new Map<string, JsonValue>();
  return {
    projectId: '1',
    labelConfig: CONFIG,
    modelVersion: 'v1',
    trainOutput: null,
    extraParams: {},
    kv: { get: async (key) => values.get(key), set: async (key, value) => void values.set(key, value), has: async (key) => values.has(key) },
    ...overrides,
  };
}

describe('model/base: LabelStudioMLBase', () => {
  it('parses the label config when none is handed in, and offers the Python view', () => {
    const model = new LabelStudioMLBase(init());
    expect(model.labelInterface.control('c').multiple).to.equal(true);
    expect(model.parsedLabelConfig.c?.labels).to.deep.equal(['A']);
    expect(model.getFirstTagOccurrence('Choices', 'Text')).to.deep.equal({ fromName: 'c', toName: 'text', value: 'text' });
  });

  it('reads task text; without access to Label Studio a file reference is a TaskDataError', async () => {
    const model = new LabelStudioMLBase(init());
    expect(await model.readTaskText({ data: { text: 'plain words' } }, 'text')).to.equal('plain words');
    expect(await model.readTaskText({ data: {} }, 'text')).to.equal('');
    const error = await model.readTaskText({ id: 3, data: { text: '/data/upload/1/a.txt' } }, 'text').then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(TaskDataError);
  });

  it('uses the task files it is given (the server hands in one that knows Label Studio)', async () => {
    const seen: Array<[string, number | undefined]> = [];
    const model = new LabelStudioMLBase(init({ taskFiles: { resolveText: async (value, taskId) => (seen.push([value, taskId]), `content of ${value}`) } }));
    expect(await model.readTaskText({ id: 7, data: { text: 's3://bucket/x.txt' } }, 'text')).to.equal('content of s3://bucket/x.txt');
    expect(seen).to.deep.equal([['s3://bucket/x.txt', 7]]);
  });

  it('keeps per-project values through the asynchronous key-value store', async () => {
    const model = new LabelStudioMLBase(init());
    expect(await model.has('k')).to.equal(false);
    await model.set('k', { a: 1 });
    expect(await model.get('k')).to.deep.equal({ a: 1 });
  });
});
