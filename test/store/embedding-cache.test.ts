import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { EMBEDDING_CACHE_FILE, EmbeddingCache } from '../../src/store/embedding-cache.js';
import { tempDir } from '../helpers/server.js';

const row = (seed: number, dim = 8) => Float32Array.from({ length: dim }, (_, i) => Math.sin(seed * 31 + i));

describe('store/embedding-cache: persistent rows by (encoder, text)', () => {
  it('stores rows by encoder id and text, and finds them after a reopen', () => {
    const dir = tempDir();
    const cache = EmbeddingCache.open(dir);
    cache.putMany('enc-a', ['hello', 'world'], [row(1), row(2)]);
    expect(cache.getMany('enc-a', ['world', 'missing', 'hello'])).to.deep.equal([row(2), undefined, row(1)]);
    // Another encoder's rows are another encoder's.
    expect(cache.getMany('enc-b', ['hello'])).to.deep.equal([undefined]);
    cache.close();
    const again = EmbeddingCache.open(dir);
    expect(again.getMany('enc-a', ['hello'])[0]).to.deep.equal(row(1));
    expect(again.stats).to.include({ rows: 2, bytes: 2 * 8 * 4, hits: 1, misses: 0 });
    again.close();
    expect(fs.existsSync(path.join(dir, EMBEDDING_CACHE_FILE))).to.equal(true);
  });

  it('hands out rows of their own (aligned copies): changing one never changes the cache', () => {
    const cache = EmbeddingCache.open(tempDir());
    cache.putMany('e', ['t'], [row(3)]);
    const first = cache.getMany('e', ['t'])[0]!;
    first.fill(0);
    expect(cache.getMany('e', ['t'])[0]).to.deep.equal(row(3));
    cache.close();
  });

  it('stays within its byte bound by evicting the least recently used rows', () => {
    const rowBytes = 64 * 4;
    const cache = EmbeddingCache.open(tempDir(), { maxBytes: 100 * rowBytes });
    const texts = Array.from({ length: 300 }, (_, i) => `text ${i}`);
    for (let start = 0; start < texts.length; start += 50) {
      const batch = texts.slice(start, start + 50);
      cache.putMany('e', batch, batch.map((_, i) => row(start + i, 64)));
    }
    const { rows, bytes, evicted } = cache.stats;
    expect(bytes).to.be.at.most(100 * rowBytes);
    expect(rows).to.be.greaterThan(50);
    expect(evicted).to.equal(300 - rows);
    // The newest rows are the ones kept.
    expect(cache.getMany('e', [texts[299]!])[0]).to.deep.equal(row(299, 64));
    expect(cache.getMany('e', [texts[0]!])[0]).to.equal(undefined);
    cache.close();
  });

  it('a damaged cache file is set aside and the cache starts empty', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, EMBEDDING_CACHE_FILE), 'this is not a database, just bytes'.repeat(200));
    const problems: string[] = [];
    const cache = EmbeddingCache.open(dir, { onProblem: (message) => problems.push(message) });
    cache.putMany('e', ['a'], [row(1)]);
    expect(cache.getMany('e', ['a'])[0]).to.deep.equal(row(1));
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/could not be opened.*moved to .*damaged/);
    expect(fs.readdirSync(dir).some((f) => f.includes('.damaged-'))).to.equal(true);
    cache.close();
  });

  it('EMBED_CACHE_MB=0 semantics: a zero bound stores nothing', () => {
    const cache = EmbeddingCache.open(tempDir(), { maxBytes: 0 });
    cache.putMany('e', ['a'], [row(1)]);
    expect(cache.getMany('e', ['a'])[0]).to.equal(undefined);
    cache.close();
  });
});
