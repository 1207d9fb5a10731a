// Remote kustomize bases, allowed per layer by strata.yaml `remoteBases`: the real kustomize clones
// from a real Git server (git http-backend on loopback, test/git) for a layer that lists the
// server's URL prefix, and a layer that does not is refused at the kustomization's line with no
// process started.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatRenderError, type RenderResult, renderCluster } from '../../../agent/src/render/index.js';
import { createToolRunner } from '../../../agent/src/render-tools/runner.js';
import { FolderTree } from '../../../agent/src/source/folder.js';
import { commitFiles, createRepo, type GitServer, startGitServer, type TestRepo } from '../../git/index.js';
import { toolPath } from '../../support/tools.js';
import { hz, type RepoFile, writeRepo } from './helpers.js';

const kustomize = toolPath('kustomize');
const runner = () =>
  createToolRunner({ binaries: { kustomize }, workDir: mkdtempSync(join(tmpdir(), 'strata-kz-remote-')) });

const BASE = {
  'base/kustomization.yaml': 'resources: [settings.yaml]\n',
  'base/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { mode: v1 }\n',
};

let root: string;
let server: GitServer;
let bases: TestRepo;
let first: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'strata-remote-git-'));
  bases = await createRepo(root, 'bases');
  first = await commitFiles(bases, BASE, { message: 'base v1' });
  server = await startGitServer({ root });
});

afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

/** strata.yaml with an `allowed` layer (listing `prefix`) and a `refused` one, each a kustomization of `ref`. */
function fleet(ref: string, prefix = `http://127.0.0.1:${server.port}/`): Record<string, RepoFile> {
  const overlay = (name: string) => `namespace: ${name}\nnamePrefix: ${name}-\nresources:\n  - ${ref}\n`;
  return {
    'strata.yaml': `apiVersion: strata.dev/v1
kind: Fleet
layers:
  - path: allowed
    remoteBases: [${JSON.stringify(prefix)}]
  - path: refused
`,
    'allowed/kustomization.yaml': overlay('allowed'),
    'refused/kustomization.yaml': overlay('refused'),
  };
}

const remoteRef = (commit: string) => `${server.url('bases')}//base?ref=${commit}`;

function errorsOf(result: RenderResult): string[] {
  return result.ok ? [] : result.errors.map(formatRenderError);
}

describe('remote kustomize bases', { timeout: 120_000 }, () => {
  it('builds a layer that allows the server, and refuses the one that does not, at its line', async () => {
    const run = runner();
    const ref = remoteRef('main');
    const result = await renderCluster(new FolderTree(writeRepo(fleet(ref))), hz, { tools: { runner: run } });
    expect(errorsOf(result)).toEqual([
      `refused/kustomization.yaml:4:5 (doc 0): kustomize: '${ref}' is a remote base, which this layer does not allow; Strata builds kustomizations without network unless the layer lists a URL prefix of the base under remoteBases in strata.yaml`,
    ]);
    // The refused layer started no process; the allowed one fetched (its render alone shows it).
    expect(run.stats.processes).toBe(1);
    expect(server.requests).toBeGreaterThan(0);
    const alone = fleet(ref);
    delete alone['refused/kustomization.yaml'];
    const built = await renderCluster(new FolderTree(writeRepo(alone)), hz, { tools: { runner: run } });
    if (!built.ok) throw new Error(errorsOf(built).join('\n'));
    expect(built.objects.map((o) => [o.id, o.object.data])).toEqual([
      ['/ConfigMap/allowed/allowed-settings', { mode: 'v1' }],
    ]);
  });

  it('refuses a base on another server or repository than the prefix names', async () => {
    const run = runner();
    const ref = remoteRef('main');
    const files = fleet(ref, `http://127.0.0.1:${server.port}/other/`);
    delete files['refused/kustomization.yaml'];
    const result = await renderCluster(new FolderTree(writeRepo(files)), hz, { tools: { runner: run } });
    expect(errorsOf(result)).toEqual([
      `allowed/kustomization.yaml:4:5 (doc 0): kustomize: '${ref}' is a remote base, which this layer does not allow; Strata builds kustomizations without network unless the layer lists a URL prefix of the base under remoteBases in strata.yaml`,
    ]);
    expect(run.stats.processes).toBe(0);
  });

  it('builds a branch afresh on every render (it can move), and caches a pinned commit', async () => {
    const run = runner();
    const onBranch = fleet(remoteRef('main'));
    delete onBranch['refused/kustomization.yaml'];
    const tree = new FolderTree(writeRepo(onBranch));
    const modeOf = async () => {
      const r = await renderCluster(tree, hz, { tools: { runner: run } });
      if (!r.ok) throw new Error(errorsOf(r).join('\n'));
      return (r.objects[0]!.object.data as { mode?: string } | undefined)?.mode;
    };
    const before = await modeOf();
    await commitFiles(bases, {
      'base/settings.yaml': BASE['base/settings.yaml'].replace('mode: v1', 'mode: v2'),
    });
    expect([before, await modeOf()]).toEqual(['v1', 'v2']);
    expect(run.stats.processes).toBe(2);

    const pinned = fleet(remoteRef(first));
    delete pinned['refused/kustomization.yaml'];
    const pinnedTree = new FolderTree(writeRepo(pinned));
    for (let i = 0; i < 2; i++) {
      const r = await renderCluster(pinnedTree, hz, { tools: { runner: run } });
      if (!r.ok) throw new Error(errorsOf(r).join('\n'));
      expect(r.objects[0]!.object.data).toEqual({ mode: 'v1' });
    }
    expect(run.stats.processes).toBe(3);
  });

  it.each([
    ['https://github.com/org', "must end with '/', so it cannot admit a longer host or name"],
    ['https://user:secret@github.com/org/', 'holds credentials; strata.yaml is no place for them'],
    ['ssh://git@github.com/org/', 'must start with https:// or http://'],
    ['https://github.com/org/?ref=main', 'must not hold a query or fragment'],
  ])('refuses remoteBases entry %s with its strata.yaml line', async (prefix, problem) => {
    const files = fleet(remoteRef('main'), prefix);
    const result = await renderCluster(new FolderTree(writeRepo(files)), hz, { tools: { runner: runner() } });
    expect(errorsOf(result)).toEqual([
      `strata.yaml:5:19 (doc 0): layers[0].remoteBases[0]: '${prefix}' ${problem}`,
    ]);
  });
});
