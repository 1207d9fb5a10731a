import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { undocumentedExports } from './exports.js';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'doc-comments');

describe('doc comments on the exports of agent/src and hub/src', () => {
  it('has a doc comment on every export', () => {
    const missing = undocumentedExports().map((u) => `${u.file}:${u.line} ${u.name}`);
    expect(missing, 'add a /** … */ comment saying what it is and, where not obvious, why').toEqual([]);
  });

  it('names each export that has no doc comment, and only those (the reader works)', () => {
    const found = undocumentedExports(path.join(FIXTURE, 'tsconfig.json'), [
      'test/unit/architecture/fixtures/',
    ]);
    expect(found.map((u) => `${path.basename(u.file)}:${u.line} ${u.name}`)).toEqual([
      'exports.ts:6 bare',
      'exports.ts:8 commented',
    ]);
  });
}, 120_000);
