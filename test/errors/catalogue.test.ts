/**
 * Issue 11: the error catalogue equals what is thrown and sent. Every code src/ throws or sends
 * is in ERROR_CATALOGUE, and every catalogued code is thrown or sent somewhere.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CATALOGUE } from '../../src/errors.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const CODE = /\bMLB_ERR_[A-Z_]+\b/g;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sources(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('error catalogue (issue 11)', () => {
  it('lists exactly the codes src/ throws and sends', () => {
    const used = new Set<string>();
    for (const file of sources(SRC)) {
      let text = fs.readFileSync(file, 'utf8');
      // The catalogue itself does not count as a use.
      if (file.endsWith(`${path.sep}errors.ts`)) text = text.slice(text.indexOf('export type ErrorCode'));
      for (const match of text.matchAll(CODE)) used.add(match[0]);
    }
    expect([...used].sort()).to.deep.equal(Object.keys(ERROR_CATALOGUE).sort());
  });

  it('gives every code an HTTP error status and a meaning', () => {
    for (const [code, { status, meaning }] of Object.entries(ERROR_CATALOGUE)) {
      expect(status, code).to.be.within(400, 599);
      expect(meaning, code).to.be.a('string').and.not.equal('');
    }
  });
});
