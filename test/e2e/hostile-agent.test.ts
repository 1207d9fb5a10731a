// Hostile repositories reaching the live agent: the bundled `strata agent` fetches each bad commit
// from the real test Git server (git http-backend) and must leave the lab cluster exactly as its
// last good commit left it (nothing applied, nothing pruned, not even the ApplySet parent touched),
// while its report to a real receiver names the file, document, line and object at fault. A
// representative subset of the render corpus (test/support/hostile-repos.ts) runs here, plus the
// hostilities only Git can produce: a force-push to an older bad tree or to an unrelated history,
// a deleted branch, and a commit whose blob the server cannot serve.
import { mkdtemp, rm, rm as rmFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_LABEL, PART_OF_LABEL } from '../../agent/src/inventory/applyset.js';
import { KubeApiClient } from '../../agent/src/kube/client.js';
import type { Report } from '../../contract/report.js';
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
import { HOSTILE_CASES, type HostileCase } from '../support/hostile-repos.js';
import {
  type AgentProcess,
  type Receiver,
  spawnAgent,
  startReceiver,
  waitFor,
  writeAgentConfig,
} from './agent-harness.js';
import { labCluster } from './support/lab.js';

const NS = 'hostile-e2e';
const PARENT_NS = 'strata-hostile-e2e';
const lab = labCluster('hz');

/**
 * One or two cases of every error code (bad YAML, documents, duplicates, targets, patches,
 * selectors, variables, files, config), and by name the ones a stranger is likeliest to push:
 * alias bombs, symlink traversal and loops, deep nesting, an empty repository, a strata.yaml
 * that names no layer, a patch that deletes every object.
 */
const BY_NAME = [
  'an empty repository',
  'a YAML alias bomb',
  'a merge-key alias bomb',
  'a symlink loop',
  'a symlink that climbs out through a sibling folder',
  'a layer path that climbs out of the repository',
  'a deeply nested block mapping',
  'strata.yaml that names no layer',
  'a file of ten thousand empty documents and one bad one',
];
const PER_CODE = 2;

function subset(): HostileCase[] {
  const chosen = new Map<string, HostileCase>();
  const perCode = new Map<string, number>();
  for (const c of HOSTILE_CASES) {
    // The agent's own file limit (5 MiB) applies live: a case written for a smaller limit is offline only.
    if (c.maxFileBytes) continue;
    const code = String(c.error.code);
    if ((perCode.get(code) ?? 0) < PER_CODE) {
      perCode.set(code, (perCode.get(code) ?? 0) + 1);
      chosen.set(c.name, c);
    }
  }
  for (const name of BY_NAME) {
    const c = HOSTILE_CASES.find((h) => h.name === name);
    if (!c) throw new Error(`no hostile case named ${name}`);
    chosen.set(name, c);
  }
  // "a patch that deletes every object": the corpus's case of a patch removing what it targets.
  const deletesAll = HOSTILE_CASES.find((h) => /delete/i.test(h.name) && h.error.code === 'patch');
  if (deletesAll) chosen.set(deletesAll.name, deletesAll);
  return [...chosen.values()];
}

const CASES = subset();

const good = (round: number) => ({
  'global/ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`,
  'global/keep.yaml': Array.from(
    { length: 5 },
    (_, i) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: keep-${i}, namespace: ${NS} }\ndata: { round: "${round}" }\n`,
  ).join('---\n'),
});

let tmp: string;
let server: GitServer;
let repo: TestRepo;
let receiver: Receiver;
let agent: AgentProcess;
let client: KubeApiClient;
let goodCommit: string;
let baseline: Map<string, string>;

/**
 * Every member of this agent's ApplySet (its part-of label) anywhere, and everything in the
 * ApplySet's namespace, with its resourceVersion. Only this agent's set: the lab cluster is shared
 * with the e2e files before this one, whose Deployments and their status updates (KWOK) go on
 * changing their own resourceVersions while this file runs.
 */
async function clusterState(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const ids = (await client.list('v1', 'Secret', { namespace: PARENT_NS, labelSelector: ID_LABEL })).map(
    (s) => s.metadata.labels?.[ID_LABEL] as string,
  );
  expect(ids.length, `the ApplySet parent in ${PARENT_NS}`).toBeGreaterThan(0);
  const members = `${PART_OF_LABEL} in (${ids.join(',')})`;
  const kinds: [string, string][] = [
    ['v1', 'Namespace'],
    ['v1', 'ConfigMap'],
    ['v1', 'Secret'],
    ['v1', 'Service'],
    ['v1', 'ServiceAccount'],
    ['apps/v1', 'Deployment'],
  ];
  for (const [apiVersion, kind] of kinds) {
    for (const o of await client.list(apiVersion, kind, { labelSelector: members }))
      out.set(`${kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, String(o.metadata.resourceVersion));
  }
  for (const kind of ['ConfigMap', 'Secret']) {
    for (const o of await client.list('v1', kind, { namespace: PARENT_NS })) {
      if (o.metadata.name === 'kube-root-ca.crt') continue;
      out.set(`${kind}/${PARENT_NS}/${o.metadata.name}`, String(o.metadata.resourceVersion));
    }
  }
  return out;
}

/** The first report that carries a sync of `commit` (the agent has reconciled it). */
function reportOf(commit: string): Promise<Report> {
  return waitFor(`a report of ${commit.slice(0, 8)}`, async () =>
    receiver.reports.find((r) => r.sources[0]?.sync?.commit === commit),
  );
}

/** A report naming the source's fetch error (the agent kept `kept`). */
function sourceErrorReport(after: number, kept: string): Promise<Report> {
  return waitFor('a report with a source error', async () =>
    receiver.reports
      .slice(after)
      .find((r) => r.sources[0]?.error && r.sources[0]?.commit === kept && r.sources[0].error.message),
  );
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-hostile-e2e-'));
  repo = await createRepo(path.join(tmp, 'repos'), 'fleet');
  server = await startGitServer({ root: path.join(tmp, 'repos') });
  client = KubeApiClient.connect({ kubeconfig: lab.kubeconfigPath, timeoutMs: 10_000 });
  receiver = await startReceiver();
  goodCommit = await commitFiles(repo, good(1), { replace: true, message: 'good' });
  const config = await writeAgentConfig(tmp, {
    // The identity the corpus is written for (its cluster variables and selectors resolve).
    cluster: { name: 'prod-hz', labels: { region: 'cn-hangzhou', env: 'prod' } },
    sources: [{ name: 'fleet', url: server.url('fleet'), ref: 'main', interval: '1h', timeout: '10s' }],
    hub: { url: receiver.url, timeout: '2s' },
    kube: { kubeconfig: lab.kubeconfigPath, namespace: PARENT_NS },
    stateDir: path.join(tmp, 'state'),
    listen: '127.0.0.1:0',
    prune: { enabled: true },
    outbox: { minBackoff: '100ms', maxBackoff: '1s' },
    log: { level: 'info' },
  });
  agent = spawnAgent(config);
  await agent.port;
  const first = await agent.sync();
  expect(first.sources[0]).toMatchObject({ commit: goodCommit, phase: 'Synced' });
  baseline = await clusterState();
  expect(baseline.size).toBeGreaterThanOrEqual(6);
}, 240_000);

afterAll(async () => {
  await agent?.kill('SIGTERM');
  await receiver?.stop();
  await server?.close();
  for (const name of [NS, PARENT_NS])
    await client?.delete({ apiVersion: 'v1', kind: 'Namespace', name }).catch(() => {});
  client?.close();
  await rm(tmp, { recursive: true, force: true });
});

/** Nothing applied, nothing pruned: every managed object and the ApplySet parent exactly as before. */
async function expectUntouched(): Promise<void> {
  expect(Object.fromEntries(await clusterState())).toEqual(Object.fromEntries(baseline));
}

describe('hostile repositories reaching the live agent', () => {
  it('runs a representative subset of the corpus', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(20);
    expect(new Set(CASES.map((c) => c.error.code)).size).toBe(
      new Set(HOSTILE_CASES.map((c) => c.error.code)).size,
    );
  });

  it.each(CASES)(
    '$name: the report names the place, nothing is applied or pruned',
    { timeout: 60_000 },
    async (c) => {
      const bad = await commitFiles(repo, c.files, { replace: true, message: c.name });
      const result = await agent.sync();
      expect(result.sources[0]).toMatchObject({ commit: bad, phase: 'Failed' });
      const errors = (await reportOf(bad)).sources[0]?.sync?.errors ?? [];
      const { message, code: _code, column: _column, patch: _patch, ...where } = c.error;
      const found = errors.find((e) =>
        Object.entries(where).every(([k, v]) => JSON.stringify(e[k as keyof typeof e]) === JSON.stringify(v)),
      );
      expect(found, `report errors: ${JSON.stringify(errors)}`).toBeDefined();
      expect(found?.reason).toBe('RenderError');
      expect(found?.message).toMatch(message);
      await expectUntouched();
    },
  );

  it('a force-push back to an older bad commit is refused like any bad commit', {
    timeout: 60_000,
  }, async () => {
    const bad = await commitFiles(
      repo,
      { ...good(1), 'global/bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n   x: 1\n' },
      { replace: true, message: 'an old bad commit' },
    );
    await commitFiles(repo, good(1), { replace: true, message: 'fixed' });
    await agent.sync();
    await forcePush(repo, 'main', bad);
    const result = await agent.sync();
    expect(result.sources[0]).toMatchObject({ commit: bad, phase: 'Failed' });
    const errors = (await reportOf(bad)).sources[0]?.sync?.errors ?? [];
    expect(errors).toContainEqual(
      expect.objectContaining({ reason: 'RenderError', file: 'global/bad.yaml', line: 5 }),
    );
    await expectUntouched();
  });

  it('a force-push to an unrelated history with a bad tree is refused', { timeout: 60_000 }, async () => {
    const orphan = await commitFiles(
      repo,
      { 'global/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x, namespace: nowhere\n' },
      { replace: true, parent: null, branch: 'orphan', message: 'unrelated' },
    );
    await forcePush(repo, 'main', orphan);
    const result = await agent.sync();
    expect(result.sources[0]).toMatchObject({ commit: orphan, phase: 'Failed' });
    const errors = (await reportOf(orphan)).sources[0]?.sync?.errors ?? [];
    expect(errors).toContainEqual(expect.objectContaining({ reason: 'RenderError', file: 'global/a.yaml' }));
    await expectUntouched();
  });

  it('a deleted branch keeps the last commit, names the ref and prunes nothing', {
    timeout: 60_000,
  }, async () => {
    const restored = await commitFiles(repo, good(1), { replace: true, message: 'good again' });
    await agent.sync();
    baseline = await clusterState();
    await deleteRef(repo, 'refs/heads/main');
    try {
      const before = receiver.reports.length;
      const result = await agent.sync();
      expect(result.sources[0]?.commit).toBe(restored);
      const report = await sourceErrorReport(before, restored);
      expect(report.sources[0]?.error).toMatchObject({ reason: 'RefNotFound' });
      expect(report.sources[0]?.error?.message).toMatch(/ref main not found at http/);
      await expectUntouched();
    } finally {
      await forcePush(repo, 'main', restored);
    }
  });

  it('a commit whose blob the server has lost keeps the last commit and prunes nothing', {
    timeout: 60_000,
  }, async () => {
    const kept = await commitFiles(repo, good(1), { replace: true, message: 'good once more' });
    await agent.sync();
    baseline = await clusterState();
    const broken = await commitFiles(
      repo,
      {
        'global/lost.yaml':
          'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: lost, namespace: hostile-e2e }\n',
      },
      { message: 'lost blob' },
    );
    const blob = await git(['rev-parse', `${broken}:global/lost.yaml`], { cwd: repo.dir });
    await rmFile(path.join(repo.dir, 'objects', blob.slice(0, 2), blob.slice(2)));
    try {
      const before = receiver.reports.length;
      const result = await agent.sync();
      expect(result.sources[0]?.commit).toBe(kept);
      const report = await sourceErrorReport(before, kept);
      expect(report.sources[0]?.error).toMatchObject({ reason: 'SourceUnavailable' });
      expect(report.sources[0]?.error?.message).toMatch(
        /the remote sent no object [0-9a-f]{40} for ref main \(an incomplete pack/,
      );
      await expectUntouched();
    } finally {
      await forcePush(repo, 'main', kept);
    }
  });

  it('applies the next good commit after all of them', { timeout: 60_000 }, async () => {
    const next = await commitFiles(repo, good(2), { replace: true, message: 'good, round 2' });
    const result = await agent.sync();
    expect(result.sources[0]).toMatchObject({ commit: next, phase: 'Synced' });
    const cms = await client.list('v1', 'ConfigMap', { namespace: NS, labelSelector: PART_OF_LABEL });
    expect(cms.map((c) => `${c.metadata.name}=${(c.data as { round?: string }).round}`).sort()).toEqual(
      Array.from({ length: 5 }, (_, i) => `keep-${i}=2`),
    );
  });
});
