import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { undocumentedExports } from './exports.js';

/**
 * Exports that were undocumented when this test was written, `file name` a line. The list only
 * shrinks: document one and take its line out; a new export needs its doc comment from the start.
 */
const LIST = path.join(import.meta.dirname, 'undocumented-exports.txt');

function listed(): Set<string> {
  return new Set(
    readFileSync(LIST, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#')),
  );
}

describe('doc comments on the exports of agent/src and hub/src', () => {
  const found = undocumentedExports();
  const keys = new Set(found.map((u) => `${u.file} ${u.name}`));
  const allowed = listed();

  it('finds exports, documented or not (the reader works)', () => {
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((u) => u.line > 0 && u.name !== '')).toBe(true);
  });

  it('has a doc comment on every export not on the shrinking list', () => {
    const missing = found
      .filter((u) => !allowed.has(`${u.file} ${u.name}`))
      .map((u) => `${u.file}:${u.line} ${u.name}`);
    expect(missing, 'add a /** … */ comment saying what it is and, where not obvious, why').toEqual([]);
  });

  it('lists nothing that is documented or gone (take such lines out of the list)', () => {
    expect([...allowed].filter((k) => !keys.has(k))).toEqual([]);
  });
}, 120_000);
