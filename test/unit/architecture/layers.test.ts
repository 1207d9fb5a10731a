import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_LAYERS, HUB_LAYERS, importsOf, layerViolations } from './layers.js';

const repo = resolve(import.meta.dirname, '../../..');

function productFiles(folders = ['agent', 'hub', 'contract']): Map<string, string> {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', ...folders], {
    cwd: repo,
    encoding: 'utf8',
  });
  const files = new Map<string, string>();
  for (const f of listed.split('\n'))
    if (/\.ts$/.test(f) && !f.includes('/testdata/')) {
      try {
        files.set(f, readFileSync(join(repo, f), 'utf8'));
      } catch {
        // listed by git but deleted in the working tree
      }
    }
  return files;
}

/** Whether a relative import names a file that exists (`./x.js` is the source `./x.ts`). */
function resolves(from: string, specifier: string): boolean {
  const base = resolve(repo, dirname(from), specifier);
  const stem = base.replace(/\.(js|mjs|cjs)$/, '');
  const candidates = [base, `${stem}.ts`, `${stem}.mts`, `${stem}.cts`, join(base, 'index.ts')];
  return candidates.some((c) => existsSync(c));
}

describe('the layering in ARCHITECTURE.md', () => {
  it('leaves no import of tests, benchmarks, tools or examples pointing at a moved module', () => {
    const files = productFiles(['test', 'bench', 'tools', 'examples']);
    expect(files.size).toBeGreaterThan(50);
    const broken: string[] = [];
    // This file holds imports of made-up modules as test cases of the import reader.
    files.delete('test/unit/architecture/layers.test.ts');
    for (const [file, text] of files)
      for (const specifier of importsOf(text))
        if (specifier.startsWith('.') && !resolves(file, specifier)) broken.push(`${file}: '${specifier}'`);
    expect(broken).toEqual([]);
  });

  it('holds for every import of agent/src, hub/src and contract/', () => {
    const files = productFiles();
    expect(files.size).toBeGreaterThan(100);
    const text = layerViolations(files).map((v) => `${v.file}: '${v.specifier}': ${v.rule}`);
    expect(text).toEqual([]);
  });

  it('is the one ARCHITECTURE.md describes: every layer is named there, bottom to top', () => {
    const doc = readFileSync(join(repo, 'ARCHITECTURE.md'), 'utf8');
    for (const [program, layers] of [
      ['agent', AGENT_LAYERS],
      ['hub', HUB_LAYERS],
    ] as const) {
      let at = 0;
      for (const rank of layers)
        for (const unit of rank) {
          const found = doc.indexOf(`\`${unit}\``, at);
          expect(found, `${program} layer ${unit} is not named in ARCHITECTURE.md in order`).toBeGreaterThan(
            -1,
          );
          at = found;
        }
    }
  });

  it('finds imports in every form, but not in comments', () => {
    const text = [
      "import type { A } from './a.js';",
      "import {\n  b,\n  c,\n} from '../b/c.js';",
      "export { d } from './d.js';",
      "import './side.js';",
      "const e = await import('./e.js');",
      "// import { x } from './comment.js';",
      "/** import('./doc.js') */",
      "import { z } from 'zod';",
      "const url = 'https://example.com/x'; import { f } from './f.js';",
    ].join('\n');
    expect(importsOf(text).sort()).toEqual([
      '../b/c.js',
      './a.js',
      './d.js',
      './e.js',
      './f.js',
      './side.js',
    ]);
  });

  it('fails an import that runs against the order, crosses programs, or leaves the contract', () => {
    const files = new Map([
      ['agent/src/plan/desired.ts', "import { applyPlan } from '../apply/apply.js';"],
      ['agent/src/source/git.ts', "import type { KubeClient } from '../kube/types.js';"],
      ['agent/src/render/render.ts', "import { x } from '../model/object.js';"],
      ['hub/src/api/views.ts', "import { parseSelector } from '../../../agent/src/model/object.js';"],
      ['agent/src/sync/sync.ts', "import { Store } from '../../../hub/src/store/store.js';"],
      ['hub/src/store/store.ts', "import { html } from '../ui/html.js';"],
      ['contract/report.ts', "import { objectId } from '../agent/src/model/object.js';"],
      ['agent/src/widgets/w.ts', ''],
      ['agent/src/commands/hub.ts', "export { default } from '../../../hub/src/cli.js';"],
      ['agent/src/commands/apply.ts', "import { startHub } from '../../../hub/src/hub.js';"],
    ]);
    const found = layerViolations(files).map((v) => `${v.file} ${v.rule}`);
    expect(found).toEqual([
      'agent/src/plan/desired.ts plan (layer 4) imports apply (layer 5), a higher layer',
      'agent/src/source/git.ts source imports its sibling kube (same layer)',
      'hub/src/api/views.ts hub imports agent internals (agent/src/model/object.ts); share it through contract/',
      'agent/src/sync/sync.ts agent imports hub internals (hub/src/store/store.ts); share it through contract/',
      'hub/src/store/store.ts store (layer 1) imports ui (layer 3), a higher layer',
      'contract/report.ts the contract imports agent internals',
      'agent/src/widgets/w.ts widgets is in no layer of agent/src',
      'agent/src/commands/apply.ts agent imports hub internals (hub/src/hub.ts); share it through contract/',
    ]);
  });
});
