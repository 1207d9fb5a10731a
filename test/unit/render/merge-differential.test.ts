import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseYamlFile } from '../../../agent/src/render/documents.js';
import { strategicMerge } from '../../../agent/src/render/merge.js';
import { toolPath } from '../../support/tools.js';
import { MERGE_KINDS, type MergeCase, mergeCases } from './merge-cases.js';

/**
 * Strata's strategic merge against the real kustomize, on thousands of generated base objects and
 * patches. One kustomize process merges them all: one overlay of many small kustomizations, each
 * with its resources and one patch file per resource.
 */
const SEED = Number(process.env.MERGE_SEED ?? Date.now() % 100_000);
const CASES = Number(process.env.MERGE_CASES ?? 2000);
const CHUNK = 20;

const work = mkdtempSync(join(tmpdir(), 'strata-merge-diff-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function writeOverlay(cases: MergeCase[]): string {
  const chunks: string[] = [];
  for (let c = 0; c * CHUNK < cases.length; c++) {
    const dir = join(work, `chunk-${c}`);
    mkdirSync(dir, { recursive: true });
    const slice = cases.slice(c * CHUNK, (c + 1) * CHUNK);
    writeFileSync(join(dir, 'resources.yaml'), slice.map((k) => JSON.stringify(k.base)).join('\n---\n'));
    slice.forEach((k, i) => {
      writeFileSync(join(dir, `patch-${i}.yaml`), JSON.stringify(k.patch));
    });
    const patches = slice.map((_, i) => `  - path: patch-${i}.yaml`).join('\n');
    writeFileSync(join(dir, 'kustomization.yaml'), `resources:\n  - resources.yaml\npatches:\n${patches}\n`);
    chunks.push(`  - chunk-${c}`);
  }
  writeFileSync(join(work, 'kustomization.yaml'), `resources:\n${chunks.join('\n')}\n`);
  return work;
}

describe(`strategic merge against kustomize build (seed ${SEED}, MERGE_SEED=${SEED} to replay)`, () => {
  it(`merges ${CASES} random objects and patches over ${MERGE_KINDS.join(', ')} as kustomize does`, () => {
    const cases = mergeCases(SEED, CASES);
    const output = execFileSync(toolPath('kustomize'), ['build', writeOverlay(cases)], {
      encoding: 'utf8',
      maxBuffer: 512 * 1024 * 1024,
    });
    const { docs, errors } = parseYamlFile('kustomize-output.yaml', output);
    expect(errors).toEqual([]);
    const byName = new Map(
      docs.map((d) => {
        const o = d.value as { kind: string; metadata: { name: string } };
        return [`${o.kind}/${o.metadata.name}`, o];
      }),
    );
    expect(byName.size).toBe(CASES);
    const differences: string[] = [];
    for (const k of cases) {
      const ours = strategicMerge(k.base, k.patch, k.apiVersion, k.kind);
      const theirs = byName.get(`${k.kind}/${k.name}`);
      try {
        expect(ours).toEqual(theirs);
      } catch {
        differences.push(
          `${k.kind}/${k.name}:\n base ${JSON.stringify(k.base)}\n patch ${JSON.stringify(k.patch)}\n strata ${JSON.stringify(ours)}\n kustomize ${JSON.stringify(theirs)}`,
        );
      }
    }
    expect(differences.slice(0, 3), `seed ${SEED}: ${differences.length} of ${CASES} cases differ`).toEqual(
      [],
    );
  }, 600_000);
});
