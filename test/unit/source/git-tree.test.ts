import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { cpSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderCluster, toYamlStream } from '../../../agent/src/render/index.js';
import { createToolRunner } from '../../../agent/src/render-tools/runner.js';
import { FolderTree } from '../../../agent/src/source/folder.js';
import { openGitTree } from '../../../agent/src/source/git-tree.js';
import { toolPath } from '../../support/tools.js';

const FLEET = new URL('../../../examples/fleet/', import.meta.url).pathname;
const hz = { name: 'prod-hz', labels: { region: 'cn-hangzhou', env: 'prod' } };
// The fleet's kustomize overlay and Helm chart, read from the commit, are built by the real tools.
const tools = {
  runner: createToolRunner({ binaries: { kustomize: toolPath('kustomize'), helm: toolPath('helm') } }),
};

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@x',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@x',
    },
  }).trim();
}

let repo: string;
let first: string;
let second: string;

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'strata-gittree-'));
  git(repo, 'init', '-q', '-b', 'main');
  cpSync(FLEET, repo, { recursive: true });
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'fleet');
  first = git(repo, 'rev-parse', 'HEAD');
  git(repo, 'tag', '-a', 'v1', '-m', 'release 1');
  git(repo, 'gc', '-q');
  // A second commit, left as loose objects, with symlinks inside and outside the repository.
  writeFileSync(
    join(repo, 'regions/cn-hangzhou/web.yaml'),
    fs.readFileSync(join(repo, 'regions/cn-hangzhou/web.yaml'), 'utf8').replace('replicas: 5', 'replicas: 6'),
  );
  fs.mkdirSync(join(repo, 'shared'));
  writeFileSync(
    join(repo, 'shared/extra.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: extra }\n',
  );
  symlinkSync('../../shared/extra.yaml', join(repo, 'global/monitoring/linked.yaml'));
  symlinkSync('/etc/passwd', join(repo, 'global/escape.yaml'));
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'six');
  second = git(repo, 'rev-parse', 'HEAD');
  // The working tree moves on; the commits must still render as committed.
  fs.rmSync(join(repo, 'global'), { recursive: true });
});

describe('GitTree', () => {
  it('renders a commit from the packed object store exactly like the folder it came from', async () => {
    const fromGit = await renderCluster(await openGitTree({ fs, dir: repo, commit: 'v1' }), hz, { tools });
    const fromFolder = await renderCluster(new FolderTree(FLEET), hz, { tools });
    if (!fromGit.ok || !fromFolder.ok) throw new Error('render failed');
    expect(toYamlStream(fromGit.objects)).toBe(toYamlStream(fromFolder.objects));
    expect(fromGit.objects.length).toBeGreaterThan(5);
  });

  it('resolves branches, abbreviated ids and annotated tags to the commit', async () => {
    expect((await openGitTree({ fs, dir: repo, commit: 'main' })).commit).toBe(second);
    expect((await openGitTree({ fs, dir: repo, commit: first.slice(0, 8) })).commit).toBe(first);
    expect((await openGitTree({ fs, gitdir: join(repo, '.git'), commit: 'v1' })).commit).toBe(first);
    await expect(openGitTree({ fs, dir: repo, commit: 'no-such-branch' })).rejects.toThrow();
  });

  it('lists folders with entry types and reads files and symlinks from loose objects', async () => {
    const tree = await openGitTree({ fs, dir: repo, commit: second });
    const entries = await tree.list('global/monitoring');
    expect(entries?.map((e) => `${e.path}:${e.type}`).sort()).toEqual([
      'global/monitoring/linked.yaml:symlink',
      'global/monitoring/namespace.yaml:file',
      'global/monitoring/node-exporter.yaml:file',
      'global/monitoring/prometheus.yaml:file',
    ]);
    expect(await tree.readLink('global/monitoring/linked.yaml')).toBe('../../shared/extra.yaml');
    expect(new TextDecoder().decode(await tree.read('regions/cn-hangzhou/web.yaml', 1 << 20))).toContain(
      'replicas: 6',
    );
    expect(await tree.list('no/such/dir')).toBeUndefined();
    expect(await tree.list('strata.yaml')).toBeUndefined();
  });

  it('refuses to read a blob over the size limit, naming the path', async () => {
    const tree = await openGitTree({ fs, dir: repo, commit: second });
    await expect(tree.read('global/shop/web.yaml', 10)).rejects.toThrow(
      /global\/shop\/web.yaml.*over the 10-byte limit/,
    );
  });

  it('refuses paths that climb out of the tree', async () => {
    const tree = await openGitTree({ fs, dir: repo, commit: second });
    await expect(tree.list('../x')).rejects.toThrow(/invalid repository path/);
  });

  it('a commit with a symlink leaving the repository fails to render, naming the link', async () => {
    const result = await renderCluster(await openGitTree({ fs, dir: repo, commit: second }), hz, { tools });
    if (result.ok) throw new Error('expected a failed render');
    expect(result.errors.map((e) => [e.file, e.message])).toEqual([
      ['global/escape.yaml', "symlink to '/etc/passwd' leaves the repository; refused"],
    ]);
  });
});

describe('GitTree on a damaged object store', () => {
  it('fails the read of a folder whose tree object is missing instead of treating it as absent', async () => {
    const broken = mkdtempSync(join(tmpdir(), 'strata-gittree-broken-'));
    git(broken, 'init', '-q', '-b', 'main');
    fs.mkdirSync(join(broken, 'global'));
    writeFileSync(join(broken, 'global/cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n');
    git(broken, 'add', '-A');
    git(broken, 'commit', '-q', '-m', 'one');
    const globalTree = git(broken, 'rev-parse', 'HEAD:global');
    fs.rmSync(join(broken, '.git/objects', globalTree.slice(0, 2), globalTree.slice(2)));

    const tree = await openGitTree({ fs, dir: broken, commit: 'main' });
    expect(await tree.list('missing')).toBeUndefined();
    await expect(tree.list('global')).rejects.toThrow(globalTree);
    const result = await renderCluster(tree, hz);
    expect(result.ok).toBe(false);
  });
});
