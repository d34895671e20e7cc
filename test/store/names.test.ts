import { expect } from 'chai';
import { MlBackendError } from '../../src/errors.js';
import { assertSafeProjectId, assertSafeVersion, normalizeProjectId } from '../../src/store/safe-names.js';
import { compareVersions, nextVersionName, versionSeq } from '../../src/store/versions.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(MlBackendError);
    expect((err as MlBackendError).status).to.equal(400);
    return (err as MlBackendError).code;
  }
  return undefined;
}

const UNSAFE = ['', '.', '..', '../x', 'a/b', 'a\\b', 'a\0b', '/etc', 'C:\\x', 'x.tmp', ' a', 'x'.repeat(300), '-a', '.hidden'];

describe('store/safe-names', () => {
  it('accepts plain project ids and versions', () => {
    expect(assertSafeProjectId('62053')).to.equal('62053');
    expect(assertSafeProjectId('my_project-2')).to.equal('my_project-2');
    expect(assertSafeVersion('v0003-20261122T160512Z')).to.equal('v0003-20261122T160512Z');
    expect(assertSafeVersion('1.2.3')).to.equal('1.2.3');
  });

  it('rejects unsafe project ids with MLB_ERR_BAD_PROJECT_ID', () => {
    for (const bad of [...UNSAFE, 'a.b']) expect(codeOf(() => assertSafeProjectId(bad)), JSON.stringify(bad)).to.equal('MLB_ERR_BAD_PROJECT_ID');
  });

  it('rejects unsafe versions with MLB_ERR_BAD_VERSION', () => {
    for (const bad of UNSAFE) expect(codeOf(() => assertSafeVersion(bad)), JSON.stringify(bad)).to.equal('MLB_ERR_BAD_VERSION');
  });

  it('names the value JSON-quoted and truncated', () => {
    try {
      assertSafeVersion(`../${'y'.repeat(500)}`);
      expect.fail('should throw');
    } catch (err) {
      const text = (err as Error).message;
      expect(text).to.include('"../yyy');
      expect(text.length).to.be.below(200);
    }
  });

  it('normalises Label Studio project ids', () => {
    expect(normalizeProjectId('62053.1712586036')).to.equal('62053');
    expect(normalizeProjectId('3')).to.equal('3');
    expect(normalizeProjectId(3)).to.equal('3');
    expect(normalizeProjectId(undefined)).to.equal('default');
    expect(normalizeProjectId(null)).to.equal('default');
    expect(normalizeProjectId('')).to.equal('default');
    for (const bad of [{}, [], true, NaN, '../1.2', '.123', -1]) {
      expect(codeOf(() => normalizeProjectId(bad)), JSON.stringify(bad)).to.equal('MLB_ERR_BAD_PROJECT_ID');
    }
  });
});

describe('store/versions', () => {
  const now = new Date('2026-11-22T16:05:12.345Z');

  it('numbers versions after existing dirs and workdirs', () => {
    expect(nextVersionName([], now)).to.equal('v0001-20261122T160512Z');
    expect(nextVersionName(['current', 'v0002-20260101T000000Z', 'v0003-20260101T000000Z.tmp'], now)).to.equal('v0004-20261122T160512Z');
    expect(versionSeq('v12345-20260101T000000Z')).to.equal(12345);
    expect(versionSeq('custom')).to.equal(undefined);
  });

  it('sorts by sequence, past v9999 too, unknown names first', () => {
    const names = ['v10000-20260101T000000Z', 'v0002-20260101T000000Z', 'manual', 'v0010-20250101T000000Z'];
    expect([...names].sort(compareVersions)).to.deep.equal(['manual', 'v0002-20260101T000000Z', 'v0010-20250101T000000Z', 'v10000-20260101T000000Z']);
  });
});
