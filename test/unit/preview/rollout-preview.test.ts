// The rollout rules in a pull request's preview: two real repository folders (base and head)
// previewed for a fleet; a change to the waves alone changes no object but must show.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatJson, formatMarkdown, previewFleet } from '../../../agent/src/preview/index.js';
import { FolderTree } from '../../../agent/src/source/folder.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const CLUSTERS: { name: string; labels: Record<string, string> }[] = [
  { name: 'edge-1', labels: { tier: 'edge', env: 'prod' } },
  { name: 'prod-hz', labels: { env: 'prod', region: 'cn-hangzhou' } },
  { name: 'prod-sh', labels: { env: 'prod', region: 'cn-shanghai' } },
];

function side(root: string, name: string, rollout: string): FolderTree {
  const repo = path.join(root, name);
  mkdirSync(path.join(repo, 'global'), { recursive: true });
  writeFileSync(
    path.join(repo, 'strata.yaml'),
    `apiVersion: strata.dev/v1\nkind: Fleet\nlayers: [{ path: global }]\n${rollout}`,
  );
  writeFileSync(
    path.join(repo, 'global', 'cm.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app, namespace: default }\ndata: { a: "1" }\n',
  );
  return new FolderTree(repo);
}

const TWO =
  'rollout:\n  soak: 10m\n  waves:\n    - name: canary\n      selector: tier=edge\n    - name: rest\n';
const THREE =
  'rollout:\n  soak: 10m\n  waves:\n    - name: canary\n      selector: tier=edge\n    - name: hz\n      selector: region=cn-hangzhou\n      approval: manual\n      maxConcurrent: 1\n    - name: rest\n';

describe('rollout rules in the preview', () => {
  it('shows the waves, their clusters and policy, and which clusters a rule change moves', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'strata-preview-rollout-'));
    const preview = await previewFleet({
      base: { ref: 'main', tree: side(dir, 'base', TWO) },
      head: { ref: 'pr', tree: side(dir, 'head', THREE) },
      clusters: CLUSTERS,
    });
    expect(preview.clusters.every((c) => c.status === 'unchanged')).toBe(true);
    expect(preview.rollout).toMatchObject({
      changed: true,
      moves: [
        { cluster: 'prod-hz', from: '1 (rest)', to: '1 (hz)' },
        { cluster: 'prod-sh', from: '1 (rest)', to: '2 (rest)' },
      ],
    });
    expect(preview.rollout!.waves.map((w) => [w.name, w.clusters])).toEqual([
      ['canary', ['edge-1']],
      ['hz', ['prod-hz']],
      ['rest', ['prod-sh']],
    ]);
    const md = formatMarkdown(preview);
    expect(md).toContain('**Rollout in 3 waves** — **the rollout rules change in this PR**');
    expect(md).toContain(
      '| 1 hz | `region=cn-hangzhou` | prod-hz | 10m | 15m | 0 | 1 | manual | skip after 1h |',
    );
    expect(md).toContain(
      'Clusters that change wave: prod-hz 1 (rest) → 1 (hz); prod-sh 1 (rest) → 2 (rest).',
    );
    expect(JSON.parse(formatJson(preview)).rollout.changed).toBe(true);
  });

  it('shows unchanged waves without a change mark, and nothing for a fleet without waves', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'strata-preview-rollout-'));
    const same = await previewFleet({
      base: { ref: 'main', tree: side(dir, 'base', TWO) },
      head: { ref: 'pr', tree: side(dir, 'head', TWO) },
      clusters: CLUSTERS,
    });
    expect(same.rollout).toMatchObject({ changed: false, moves: [] });
    expect(formatMarkdown(same)).toContain('**Rollout in 2 waves**:');
    const none = await previewFleet({
      base: { ref: 'main', tree: side(dir, 'b2', '') },
      head: { ref: 'pr', tree: side(dir, 'h2', '') },
      clusters: CLUSTERS,
    });
    expect(none.rollout).toBeUndefined();
    expect(formatMarkdown(none)).not.toContain('Rollout');
  });
});
