// The hostile-repository corpus at the agent: every case is pushed to the real Git server as a
// whole new tree (replacing a good fleet the cluster already runs), the bundled agent syncs it,
// and the real hub must show the case's located render error while the live cluster stays exactly
// as it was: no object applied, changed or pruned. Then the cases only Git can make: an empty
// commit, a patch that deletes every object, a deleted branch, a commit whose tree is missing,
// and a force-push to an older tree (which is applied: Git is the truth, as in Flux and Argo CD).
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeApiClient } from '../../agent/src/kube/client.js';
import {
  commitFiles,
  createRepo,
  deleteRef,
  forcePush,
  type GitServer,
  git,
  startGitServer,
  type TestRepo,
} from '../git/index.js';
import { HOSTILE_CASES } from '../support/hostile-repos.js';
import { waitFor, writeAgentConfig } from './agent-harness.js';
import { HubProcess, type LineProcess, spawnLines } from './faults/parts.js';
import { BUNDLE, IMAGE_ENV } from './support/bundle.js';
import { labCluster } from './support/lab.js';
import { labClient } from './sync-fixtures.js';

const NS = 'hostile';
const PARENT_NS = 'strata-hostile';
const cluster = labCluster('hz');
let client: KubeApiClient;
let tmp: string;
let gitServer: GitServer;
let repo: TestRepo;
let hub: HubProcess;
let agent: LineProcess;
let agentPort: number;

const base = (version: string, extra = 0): Record<string, string> => ({
  'global/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`,
  'global/base.yaml': Array.from(
    { length: 10 + extra },
    (_, i) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: base-${i}, namespace: ${NS} }\ndata: { version: "${version}" }\n`,
  ).join('---\n'),
});

/** Every object the agent could touch: its namespace's ConfigMaps and its ApplySet parent. */
async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const c of await client.list('v1', 'ConfigMap', { namespace: NS })) {
    out[c.metadata.name] = `${c.metadata.uid}@${c.metadata.resourceVersion}`;
  }
  for (const s of await client.list('v1', 'Secret', { namespace: PARENT_NS })) {
    out[`secret/${s.metadata.name}`] = `${s.metadata.uid}@${s.metadata.resourceVersion}`;
  }
  return out;
}

async function sync(): Promise<{
  commit: string | null;
  phase: string | null;
  error: { reason: string } | null;
}> {
  const res = await fetch(`http://127.0.0.1:${agentPort}/sync`, {
    method: 'POST',
    signal: AbortSignal.timeout(60_000),
  });
  const body = (await res.json()) as {
    sources: { commit: string | null; phase: string | null; error: { reason: string } | null }[];
  };
  return body.sources[0]!;
}

interface ReportedSource {
  commit: string | null;
  error: { reason: string } | null;
  sync: { commit: string; phase: string; errors: Record<string, unknown>[] } | null;
}

/** The hub's latest report once it covers `commit`. */
async function reported(commit: string): Promise<ReportedSource> {
  return waitFor(`the hub to hold the report of ${commit.slice(0, 8)}`, async () => {
    const res = await fetch(`${hub.url}/api/v1/clusters/prod-hz`);
    if (!res.ok) return undefined;
    const source = ((await res.json()) as { report: { sources: ReportedSource[] } }).report.sources[0];
    return source?.sync?.commit === commit ? source : undefined;
  });
}

async function removeNamespaces(): Promise<void> {
  for (const name of [NS, PARENT_NS]) await client.delete({ apiVersion: 'v1', kind: 'Namespace', name });
  await waitFor(
    'the namespaces to go away',
    async () => {
      for (const name of [NS, PARENT_NS])
        if (await client.get({ apiVersion: 'v1', kind: 'Namespace', name })) return false;
      return true;
    },
    120_000,
  );
}

beforeAll(async () => {
  client = labClient('hz');
  await removeNamespaces();
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-hostile-'));
  repo = await createRepo(path.join(tmp, 'repos'), 'fleet');
  gitServer = await startGitServer({ root: path.join(tmp, 'repos') });
  hub = new HubProcess(path.join(tmp, 'hub.db'), '127.0.0.1', 0, 'prod-hz');
  await hub.createToken();
  await hub.start();
  await writeFile(path.join(tmp, 'hub-token'), hub.token);
  const config = await writeAgentConfig(tmp, {
    cluster: { name: 'prod-hz', labels: { region: 'cn-hangzhou', env: 'prod' } },
    sources: [{ name: 'fleet', url: gitServer.url('fleet'), ref: 'main', interval: '1h', timeout: '10s' }],
    hub: { url: hub.url, tokenFile: path.join(tmp, 'hub-token'), timeout: '5s' },
    kube: { kubeconfig: cluster.kubeconfigPath, namespace: PARENT_NS },
    stateDir: path.join(tmp, 'state'),
    listen: '127.0.0.1:0',
    outbox: { minBackoff: '100ms', maxBackoff: '1s' },
  });
  agent = spawnLines(process.execPath, [BUNDLE, 'agent', '--config', config], { ...IMAGE_ENV });
  agentPort = (await agent.line((l) => l.msg === 'Listening.', 60_000)).port as number;
});

afterAll(async () => {
  await agent?.kill('SIGTERM');
  await hub?.kill();
  await gitServer?.close();
  await removeNamespaces();
  client.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('hostile repositories at the agent', () => {
  it('reports each case where it is and leaves the live cluster untouched', {
    timeout: 600_000,
  }, async () => {
    const good = await commitFiles(repo, base('good'), { replace: true });
    expect(await sync()).toMatchObject({ commit: good, phase: 'Synced' });
    const before = await snapshot();
    expect(Object.keys(before).filter((k) => k.startsWith('base-'))).toHaveLength(10);

    // The agent reads files up to its 5 MiB default: cases written for a smaller limit are render-only.
    const cases = HOSTILE_CASES.filter((c) => c.maxFileBytes === undefined);
    expect(cases.length).toBeGreaterThanOrEqual(100);
    const misses: string[] = [];
    for (const c of cases) {
      const commit = await commitFiles(repo, c.files, { replace: true, message: c.name });
      const status = await sync();
      const source = await reported(commit);
      const { message, patch: _op, ...where } = c.error;
      const found = source.sync?.errors.find(
        (e) =>
          e.reason === 'RenderError' &&
          Object.entries(where).every(([k, v]) => k === 'code' || k === 'column' || e[k] === v) &&
          message.test(String(e.message)),
      );
      if (status.phase !== 'Failed' || !found) {
        misses.push(
          `${c.name}: phase ${status.phase}, errors ${JSON.stringify(source.sync?.errors.slice(0, 2))}`,
        );
      }
    }
    expect(misses).toEqual([]);
    // Not one object applied, changed or pruned by any of them.
    expect(await snapshot()).toEqual(before);
  });

  it('prunes nothing for an empty commit or a patch that deletes every object', async () => {
    const before = await snapshot();
    const empty = await commitFiles(repo, {}, { replace: true, message: 'empty' });
    expect(await sync()).toMatchObject({ commit: empty, phase: 'Failed' });
    const deleteAll = await commitFiles(
      repo,
      {
        ...base('good'),
        'global/zz-delete.yaml':
          'apiVersion: strata.dev/v1\nkind: Patch\ntarget: { kind: ConfigMap, namespace: hostile }\ndelete: true\n',
        'global/zz-delete-ns.yaml':
          'apiVersion: strata.dev/v1\nkind: Patch\ntarget: { kind: Namespace }\ndelete: true\n',
      },
      { replace: true, message: 'delete everything' },
    );
    const status = await sync();
    expect(status.commit).toBe(deleteAll);
    expect(status.phase).not.toBe('Synced');
    expect((await reported(deleteAll)).sync?.phase).not.toBe('Synced');
    expect(await snapshot()).toEqual(before);
  });

  it('keeps the last commit when the branch is deleted or its tree is missing', async () => {
    const good = await commitFiles(repo, base('good'), { replace: true, message: 'good again' });
    expect(await sync()).toMatchObject({ commit: good, phase: 'Synced' });
    const before = await snapshot();

    await deleteRef(repo, 'refs/heads/main');
    const gone = await sync();
    expect(gone.commit).toBe(good);
    expect(gone.error?.reason).toBe('RefNotFound');
    expect(await snapshot()).toEqual(before);

    // A commit whose tree object is not in the repository: the server cannot send it.
    const broken = await commitFiles(
      repo,
      { ...base('broken'), 'global/extra.yaml': 'x: 1\n' },
      {
        parent: good,
        message: 'tree will vanish',
      },
    );
    const tree = await git(['rev-parse', `${broken}^{tree}`], { cwd: repo.dir });
    await rm(path.join(repo.dir, 'objects', tree.slice(0, 2), tree.slice(2)));
    const missing = await sync();
    expect(missing.commit).toBe(good);
    expect(missing.error).not.toBeNull();
    expect(await snapshot()).toEqual(before);
    expect(await readdir(path.join(repo.dir, 'objects', tree.slice(0, 2))).catch(() => [])).not.toContain(
      tree.slice(2),
    );
  });

  it('applies a force-push to an older tree, pruning only what that tree no longer holds', async () => {
    const v1 = await commitFiles(repo, base('v1'), { replace: true, parent: null, message: 'v1' });
    expect(await sync()).toMatchObject({ commit: v1, phase: 'Synced' });
    const v2 = await commitFiles(repo, base('v2', 3), { replace: true, message: 'v2' });
    expect(await sync()).toMatchObject({ commit: v2, phase: 'Synced' });
    const atV2 = await snapshot();
    await forcePush(repo, 'main', v1);
    expect(await sync()).toMatchObject({ commit: v1, phase: 'Synced' });
    const after = await snapshot();
    for (let i = 0; i < 10; i++)
      expect(after[`base-${i}`]?.split('@')[0]).toBe(atV2[`base-${i}`]?.split('@')[0]);
    for (let i = 10; i < 13; i++) expect(after[`base-${i}`]).toBeUndefined();
  });
});
