import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCachedScript } from '../../../agent/src/commands/shared/code-cache.js';

/** The code-cache loader the bundled CLI runs its one-shot verbs through. */
const work = mkdtempSync(join(tmpdir(), 'strata-code-cache-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const script = join(work, 'quick.cjs');
const source = (n: number) =>
  `const { sep } = require('node:path');\nfunction twice(x) { return 2 * x; }\nmodule.exports.value = twice(${n}) + sep.length + (__filename.endsWith('quick.cjs') ? 1 : 0);\n`;

const run = (record = false) => {
  const s = runCachedScript(script, record)!;
  if (record) s.save();
  return { cache: s.cache, value: s.exports.value };
};

describe('runCachedScript', () => {
  it('records a cache, then runs from it; the script works either way', () => {
    writeFileSync(script, source(20));
    expect(run()).toEqual({ cache: 'none', value: 42 });
    expect(run(true)).toEqual({ cache: 'recording', value: 42 });
    expect(existsSync(`${script}.cache`)).toBe(true);
    expect(run()).toEqual({ cache: 'used', value: 42 });
    expect(runCachedScript(join(work, 'missing.cjs'))).toBeUndefined();
  });

  it('compiles afresh when the cache is for another source (V8 itself checks only its length) or damaged', () => {
    writeFileSync(script, source(20));
    run(true);
    writeFileSync(script, source(30)); // same length
    expect(run()).toEqual({ cache: 'rejected', value: 62 });
    writeFileSync(`${script}.cache`, 'not a code cache');
    expect(run()).toEqual({ cache: 'rejected', value: 62 });
  });

  it('is ignored by V8 under other V8 flags', { timeout: 120_000 }, () => {
    writeFileSync(script, source(20));
    run(true);
    const loader = resolve('agent/src/commands/shared/code-cache.ts');
    const code = `import { runCachedScript } from ${JSON.stringify(loader)};
const s = runCachedScript(${JSON.stringify(script)});
console.log(JSON.stringify({ cache: s.cache, value: s.exports.value }));`;
    const out = execFileSync(
      process.execPath,
      ['--max-opt=1', '--import', 'tsx', '--input-type=module', '-e', code],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({ cache: 'rejected', value: 42 });
  });
});
