import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The code-cache loader the bundled CLI runs its one-shot verbs through, in real child processes
 * (the cache is written at process exit, as the build's training render writes it).
 */
const loader = resolve('agent/src/commands/shared/code-cache.ts');
const work = mkdtempSync(join(tmpdir(), 'strata-code-cache-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const script = join(work, 'quick.cjs');
const source = (n: number) =>
  `const { sep } = require('node:path');\nfunction twice(x) { return 2 * x; }\nmodule.exports.value = twice(${n}) + sep.length + (__filename.endsWith('quick.cjs') ? 1 : 0);\n`;

function run(record: boolean, nodeFlags: string[] = []): { cache: string; value: number } {
  const code = `import { runCachedScript } from ${JSON.stringify(loader)};
const s = runCachedScript(${JSON.stringify(script)}, ${record});
console.log(JSON.stringify({ cache: s.cache, value: s.exports.value }));`;
  const out = execFileSync(
    process.execPath,
    [...nodeFlags, '--import', 'tsx', '--input-type=module', '-e', code],
    {
      encoding: 'utf8',
    },
  );
  return JSON.parse(out);
}

describe('runCachedScript', () => {
  it('records a cache at exit, then runs from it; the script works either way', () => {
    writeFileSync(script, source(20));
    expect(run(false)).toEqual({ cache: 'none', value: 42 });
    expect(run(true)).toEqual({ cache: 'recording', value: 42 });
    expect(existsSync(`${script}.cache`)).toBe(true);
    expect(run(false)).toEqual({ cache: 'used', value: 42 });
  });

  it('falls back to compiling when V8 rejects the cache: other flags, changed source, a damaged file', () => {
    writeFileSync(script, source(20));
    run(true);
    expect(run(false, ['--max-opt=1'])).toEqual({ cache: 'rejected', value: 42 });
    writeFileSync(script, source(30));
    expect(run(false)).toEqual({ cache: 'rejected', value: 62 });
    writeFileSync(`${script}.cache`, 'not a code cache');
    expect(run(false)).toEqual({ cache: 'rejected', value: 62 });
  });
});
