import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatRenderError, type RenderResult, renderCluster } from '../../../agent/src/render/index.js';
import { FolderTree } from '../../../agent/src/source/folder.js';
import { openGitTree } from '../../../agent/src/source/git-tree.js';

/** The same files read as a folder and as a Git commit must render the same way. */
const hz = { name: 'prod-hz', labels: { region: 'cn-hangzhou' } };
const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: d }\n`;

function commit(dir: string): void {
  const run = (...args: string[]) =>
    execFileSync('git', ['-C', dir, ...args], {
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@x',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@x',
      },
    });
  run('init', '-q', '-b', 'main');
  run('add', '-A');
  run('commit', '-qm', 'fixture');
}

function fixture(layout: (root: string) => void): string {
  const root = mkdtempSync(join(tmpdir(), 'strata-one-reading-'));
  mkdirSync(join(root, 'global'));
  writeFileSync(join(root, 'global/a.yaml'), cm('a'));
  layout(root);
  commit(root);
  return root;
}

async function both(root: string): Promise<[RenderResult, RenderResult]> {
  const fromFolder = await renderCluster(new FolderTree(root), hz);
  const fromGit = await renderCluster(await openGitTree({ fs, dir: root, commit: 'main' }), hz);
  return [fromFolder, fromGit];
}

const summary = (r: RenderResult) =>
  r.ok ? { ids: r.objects.map((o) => o.id), layers: r.layers } : { errors: r.errors.map(formatRenderError) };

describe('one reading of a tree: folder and Git commit alike', () => {
  it('follows a layer folder that is a symlink inside the repository, in both', async () => {
    const root = fixture((r) => {
      mkdirSync(join(r, 'shared/hz'), { recursive: true });
      writeFileSync(join(r, 'shared/hz/b.yaml'), cm('b'));
      mkdirSync(join(r, 'regions'));
      symlinkSync('../shared/hz', join(r, 'regions/cn-hangzhou'));
    });
    const [folder, git] = await both(root);
    expect(summary(folder)).toEqual(summary(git));
    expect(summary(folder)).toMatchObject({ ids: ['/ConfigMap/d/a', '/ConfigMap/d/b'] });
  });

  it('refuses a layer folder that is a symlink leaving the repository, in both, at the link', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'strata-outside-'));
    writeFileSync(join(outside, 'c.yaml'), cm('c'));
    const root = fixture((r) => {
      mkdirSync(join(r, 'clusters'));
      symlinkSync(outside, join(r, 'clusters/prod-hz'));
    });
    const [folder, git] = await both(root);
    expect(summary(folder)).toEqual(summary(git));
    expect(summary(folder)).toEqual({
      errors: [`clusters/prod-hz: symlink to '${outside}' leaves the repository; refused`],
    });
  });
});
