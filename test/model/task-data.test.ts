import { expect } from 'chai';
import { DATA_UNDEFINED_NAME, getTaskText, isPreloadNeeded } from '../../src/model/task-data.js';

describe('isPreloadNeeded', () => {
  // T8's URL list, minus the two local paths that Python only preloads because os.path.exists is mocked.
  const t8 = [
    's3://bucket/test/1.jpg',
    'gs://bucket/test/1.jpg',
    'azure-blob://bucket/test/1.jpg',
    '/data/local-files?d=test',
    '/upload/123.jpg',
  ];
  for (const url of t8) {
    it(`is true for ${url} (T8)`, () => {
      expect(isPreloadNeeded(url)).to.equal(true);
    });
  }

  it('is true for the other Label Studio file references and http(s) URLs', () => {
    for (const url of [
      'upload/3/a.txt',
      '/data/upload/3/2bd44c48-IMG_1842.JPG',
      '/data/local-files/?d=docs/a.txt',
      'http://example.com/a.txt',
      'HTTPS://example.com',
      'https://host:8080/path?x=1#y',
    ]) {
      expect(isPreloadNeeded(url), url).to.equal(true);
    }
  });

  it('is false for plain text (T8 "this is text")', () => {
    for (const text of [
      'this is text',
      '',
      'I love this',
      'http://',
      'https:// not a url',
      'see http://example.com',
      'http://t.co/abc is a link at the start of a tweet',
      'uploading files is slow',
      '/data/not-local-files',
      'c:\\test.jpg',
      '/home/user/123.jpg',
    ]) {
      expect(isPreloadNeeded(text), text).to.equal(false);
    }
  });
});

describe('getTaskText', () => {
  it('reads data[valueKey]', () => {
    expect(getTaskText({ data: { text: 'hello', other: 'x' } }, 'text')).to.equal('hello');
  });

  it("falls back to data['$undefined$'] when the key is missing or empty", () => {
    expect(getTaskText({ data: { [DATA_UNDEFINED_NAME]: 'imported' } }, 'text')).to.equal('imported');
    expect(getTaskText({ data: { text: '', $undefined$: 'imported' } }, 'text')).to.equal('imported');
  });

  it('returns an empty string when that is all there is', () => {
    expect(getTaskText({ data: { text: '' } }, 'text')).to.equal('');
  });

  it('gives undefined for missing or non-string values', () => {
    expect(getTaskText({ data: {} }, 'text')).to.equal(undefined);
    expect(getTaskText({ data: { text: 42 } }, 'text')).to.equal(undefined);
    expect(getTaskText({ data: { text: ['a'], $undefined$: null } }, 'text')).to.equal(undefined);
    expect(getTaskText({ data: {} }, 'constructor')).to.equal(undefined);
    expect(getTaskText({ data: null as unknown as Record<string, unknown> }, 'text')).to.equal(undefined);
  });
});
