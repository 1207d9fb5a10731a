import * as fs from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previewFleet } from '../../../agent/src/preview/index.js';
import { openGitTree } from '../../../agent/src/source/git-tree.js';
import type { FileTree } from '../../../agent/src/source/tree.js';
import { git } from '../../git/index.js';

let dir: string;

const FLEET =
  'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: global\n  - path: regions/{labels.region}\n';
const cm = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: x }\ndata: { V: "${value}" }\n`;
const CLUSTERS = [
  { name: 'eu-1', labels: { region: 'eu' } },
  { name: 'us-1', labels: { region: 'us' } },
];

/** A work-tree repository written with the real git CLI (symlinks included); returns the commit. */
async function commit(files: Record<string, string>, links: Record<string, string> = {}): Promise<string> {
  await git(['rm', '-r', '-q', '--ignore-unmatch', '.'], { cwd: dir });
  for (const [p, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, p)), { recursive: true });
    await writeFile(path.join(dir, p), text);
  }
  for (const [p, target] of Object.entries(links)) {
    await mkdir(path.dirname(path.join(dir, p)), { recursive: true });
    await symlink(target, path.join(dir, p));
  }
  await git(['add', '-A', '.'], { cwd: dir });
  await git(['commit', '-q', '--allow-empty', '-m', 'c'], { cwd: dir });
  return git(['rev-parse', 'HEAD'], { cwd: dir });
}

function counting(tree: FileTree, reads: string[]): FileTree {
  return {
    description: tree.description,
    list: (d) => tree.list(d),
    readLink: (p) => tree.readLink(p),
    read: (p, max) => {
      reads.push(p);
      return tree.read(p, max);
    },
  };
}

async function preview(base: string, head: string, baseReads: string[] = []) {
  return previewFleet({
    base: { ref: 'base', tree: counting(await openGitTree({ fs, dir, commit: base }), baseReads) },
    head: { ref: 'head', tree: await openGitTree({ fs, dir, commit: head }) },
    clusters: CLUSTERS,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-same-input-'));
  await git(['init', '-q', '-b', 'main', dir]);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('clusters whose layers a PR does not touch', () => {
  it('are shown unchanged without rendering the base for them', async () => {
    const files = {
      'strata.yaml': FLEET,
      'global/a.yaml': cm('a', '1'),
      'regions/eu/b.yaml': cm('b', '1'),
      'regions/us/c.yaml': cm('c', '1'),
    };
    const base = await commit(files);
    const head = await commit({ ...files, 'regions/eu/b.yaml': cm('b', '2') });
    const reads: string[] = [];
    const result = await preview(base, head, reads);
    expect(result.clusters.map((c) => [c.cluster.name, c.status])).toEqual([
      ['eu-1', 'changed'],
      ['us-1', 'unchanged'],
    ]);
    expect(reads).toContain('regions/eu/b.yaml');
    expect(reads).not.toContain('regions/us/c.yaml');
  });

  it('still compare both renders when a layer holds a symlink, whose target may have changed', async () => {
    const files = { 'strata.yaml': FLEET, 'shared/c.yaml': cm('c', '1'), 'regions/us/d.yaml': cm('d', '1') };
    const base = await commit(files, { 'regions/us/c.yaml': '../../shared/c.yaml' });
    const head = await commit(
      { ...files, 'shared/c.yaml': cm('c', '2') },
      { 'regions/us/c.yaml': '../../shared/c.yaml' },
    );
    const us = (await preview(base, head)).clusters.find((c) => c.cluster.name === 'us-1')!;
    expect(us.status).toBe('changed');
    expect(us.objects[0]).toMatchObject({
      id: '/ConfigMap/x/c',
      changes: [{ path: '.data.V', before: '1', after: '2' }],
    });
  });

  it('render the base again when the fleet file changed', async () => {
    const files = { 'strata.yaml': FLEET, 'global/a.yaml': cm('a', '1'), 'regions/us/c.yaml': cm('c', '1') };
    const base = await commit(files);
    const head = await commit({
      ...files,
      'strata.yaml': `${FLEET}  - path: extra\n`,
      'extra/e.yaml': cm('e', '1'),
    });
    const result = await preview(base, head);
    expect(result.clusters.every((c) => c.status === 'changed')).toBe(true);
  });
});
