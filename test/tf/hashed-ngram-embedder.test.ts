import { expect } from 'chai';
import { HashedNgramEmbedder, hash32 } from '../../src/tf/hashed-ngram-embedder.js';
import type { SparseFeatures } from '../../src/tf/embedder.js';

/** Row `r` as a Map bucket -> weight. */
function row(x: SparseFeatures, r: number): Map<number, number> {
  const out = new Map<number, number>();
  for (let j = x.offsets[r]!; j < x.offsets[r + 1]!; j++) out.set(x.ids[j]!, x.weights[j]!);
  return out;
}

describe('HashedNgramEmbedder', () => {
  const texts = ['The parcel never arrived.', 'Where is my parcel?', '', '   \t ', 'Refund my order please'];

  it('returns one compressed sparse row per text, ids in 1..dim, no zero weights', async () => {
    const e = new HashedNgramEmbedder();
    const x = await e.embed(texts);
    expect(x.kind).to.equal('sparse');
    expect(x.rows).to.equal(texts.length);
    expect(x.dim).to.equal(e.dim);
    expect(x.offsets.length).to.equal(x.rows + 1);
    expect(x.offsets[0]).to.equal(0);
    expect(x.offsets[x.rows]).to.equal(x.ids.length);
    expect(x.weights.length).to.equal(x.ids.length);
    for (let r = 0; r < x.rows; r++) {
      // Every row has at least the constant bias bucket.
      expect(x.offsets[r + 1]! - x.offsets[r]!).to.be.greaterThan(0);
      for (let j = x.offsets[r]!; j < x.offsets[r + 1]!; j++) {
        expect(x.ids[j]).to.be.within(1, e.dim);
        expect(x.weights[j]).to.not.equal(0);
      }
    }
  });

  it('is deterministic across instances and batches', async () => {
    const a = await new HashedNgramEmbedder().embed(texts);
    const b = await new HashedNgramEmbedder().embed([...texts].reverse());
    for (let r = 0; r < texts.length; r++) expect(row(a, r)).to.deep.equal(row(b, texts.length - 1 - r));
    expect(new HashedNgramEmbedder().id).to.equal(new HashedNgramEmbedder().id);
  });

  it('gives empty and whitespace-only texts a row holding only the constant bucket', async () => {
    const e = new HashedNgramEmbedder();
    const x = await e.embed(['', ' \n ']);
    expect(row(x, 0)).to.deep.equal(new Map([[e.dim, 1]]));
    expect(row(x, 1)).to.deep.equal(new Map([[e.dim, 1]]));
  });

  it('ignores case and compatibility forms (NFKC)', async () => {
    const x = await new HashedNgramEmbedder().embed(['ＣＡＦＥ Menu', 'cafe menu']);
    expect(row(x, 0)).to.deep.equal(row(x, 1));
  });

  it('L2-normalises each block: word block norm 1, char block norm charWeight', async () => {
    const e = new HashedNgramEmbedder({ wordBuckets: 64, charBuckets: 64, charWeight: 0.5 });
    const x = await e.embed(['lost card lost card again']);
    let word = 0;
    let char = 0;
    for (const [id, w] of row(x, 0)) {
      if (id <= 64) word += w * w;
      else if (id <= 128) char += w * w;
    }
    expect(Math.sqrt(word)).to.be.closeTo(1, 1e-5);
    expect(Math.sqrt(char)).to.be.closeTo(0.5, 1e-5);
  });

  it('changes id with its parameters and keeps similar texts closer than unrelated ones', async () => {
    expect(new HashedNgramEmbedder({ seed: 1 }).id).to.not.equal(new HashedNgramEmbedder({ seed: 2 }).id);
    expect(new HashedNgramEmbedder().id).to.match(/^hashed-ngrams@v1:[0-9a-f]{8}$/);
    const x = await new HashedNgramEmbedder().embed(['my card was declined', 'my card got declined', 'what a lovely sunny day']);
    const dot = (a: Map<number, number>, b: Map<number, number>) => [...a].reduce((s, [id, w]) => s + w * (b.get(id) ?? 0), 0);
    expect(dot(row(x, 0), row(x, 1))).to.be.greaterThan(dot(row(x, 0), row(x, 2)) + 0.3);
  });

  it('hash32 is a stable 32-bit hash', () => {
    expect(hash32('abc', 0)).to.equal(hash32('abc', 0));
    expect(hash32('abc', 0)).to.not.equal(hash32('abd', 0));
    expect(hash32('abc', 0)).to.be.within(0, 2 ** 32 - 1);
  });
});
