// Pull requests as deployments on the lab's three real clusters, with a real Git server and hub:
// live dry-run plans per cluster (never applied), offline previews for comparison, and the hub's
// view of one PR across the fleet.
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpKubeClient } from '../../agent/src/kube/http.js';
import type { ClusterIdentity } from '../../agent/src/model/object.js';
import { LivePreviews, previewFleet } from '../../agent/src/preview/index.js';
import { renderCluster } from '../../agent/src/render/index.js';
import { openGitTree } from '../../agent/src/source/git-tree.js';
import { syncCluster } from '../../agent/src/sync/index.js';
import type { PreviewView } from '../../contract/live-preview.js';
import type { PreviewStatus } from '../../contract/report.js';
import {
  commitFiles,
  createRepo,
  deleteRef,
  type GitServer,
  setRef,
  startGitServer,
  type TestRepo,
} from '../git/index.js';
import { makeReport, startTestHub, type TestHub } from '../unit/hub/helpers.js';
import { cleanUp, FAST, labClient, namespace, PARENT_NAMESPACE } from './sync-fixtures.js';

const NS = 'preview-e2e';
const PARENT = 'strata-preview-e2e';
const log = pino({ level: 'silent' });

/** Three clusters with different labels, each a real lab cluster. */
const CLUSTERS: { lab: string; identity: ClusterIdentity }[] = [
  { lab: 'hz', identity: { name: 'prod-hz', labels: { region: 'cn-hangzhou', env: 'prod' } } },
  { lab: 'sh', identity: { name: 'prod-sh', labels: { region: 'cn-shanghai', env: 'prod' } } },
  { lab: 'edge', identity: { name: 'edge-1', labels: { region: 'cn-hangzhou', env: 'prod', tier: 'edge' } } },
];

const FLEET = {
  'strata.yaml':
    'apiVersion: strata.dev/v1\nkind: Fleet\nlayers:\n  - path: global\n  - path: regions/{labels.region}\n  - path: clusters/{name}\n',
  'global/web.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${NS} }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: registry.example/web:1 }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: limits, namespace: ${NS} }
data: { CLUSTER: "\${cluster.name}" }
`,
  'regions/cn-shanghai/web.yaml': `apiVersion: strata.dev/v1
kind: Patch
target: { kind: Deployment, name: web, namespace: ${NS} }
merge: { spec: { replicas: 2 } }
`,
};

let tmp: string;
let repo: TestRepo;
let server: GitServer;
let hub: TestHub;
let base: string;
const clients = new Map<string, HttpKubeClient>();
const live = new Map<string, LivePreviews>();

async function pr(number: number, files: Record<string, string | null>): Promise<string> {
  const commit = await commitFiles(repo, files, {
    branch: `pr-${number}`,
    parent: base,
    message: `PR ${number}`,
  });
  await setRef(repo, `refs/pull/${number}/head`, commit);
  return commit;
}

async function refreshAll(): Promise<Map<string, PreviewStatus[]>> {
  const out = new Map<string, PreviewStatus[]>();
  for (const { identity } of CLUSTERS) {
    const previews = live.get(identity.name)!;
    await previews.refresh();
    out.set(identity.name, previews.statuses());
  }
  return out;
}

const seqs = new Map<string, number>();
async function reportToHub(
  name: string,
  labels: Record<string, string>,
  previews: PreviewStatus[],
): Promise<void> {
  const seq = (seqs.get(name) ?? 0) + 1;
  seqs.set(name, seq);
  const res = await hub.post(tokens.get(name), { ...makeReport(name, seq, { labels }), previews });
  expect(res.status).toBeLessThan(300);
}
const tokens = new Map<string, string>();

function statusOf(all: Map<string, PreviewStatus[]>, cluster: string, ref: string): PreviewStatus {
  const s = all.get(cluster)?.find((p) => p.ref === ref);
  if (!s) throw new Error(`${cluster} has no preview of ${ref}`);
  return s;
}

const changed = (s: PreviewStatus) => (s.plan?.entries ?? []).filter((e) => e.action !== 'unchanged');

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'strata-preview-e2e-'));
  repo = await createRepo(tmp, 'fleet');
  base = await commitFiles(repo, FLEET, { message: 'base' });
  server = await startGitServer({ root: tmp });
  hub = await startTestHub();
  for (const name of [...CLUSTERS.map((c) => c.identity.name), 'offline-1'])
    tokens.set(name, (await hub.token(name)).token);
  const tree = await openGitTree({ fs, gitdir: repo.dir, commit: base });
  for (const { lab, identity } of CLUSTERS) {
    const client = labClient(lab);
    clients.set(identity.name, client);
    for (const ns of [NS, PARENT_NAMESPACE])
      await client.apply(namespace(ns), { fieldManager: 'e2e-setup', force: true });
    // The cluster runs the base commit, as its agent would have applied it.
    const rendered = await renderCluster(tree, identity);
    if (!rendered.ok) throw new Error('the base fleet must render');
    const synced = await syncCluster({
      client,
      objects: rendered.objects.map((o) => o.object),
      applySet: { name: PARENT, namespace: PARENT_NAMESPACE },
      policy: FAST,
      log,
    });
    expect(synced.errors).toEqual([]);
    live.set(
      identity.name,
      await LivePreviews.open({
        source: {
          name: 'fleet',
          url: server.url('fleet'),
          ref: 'main',
          path: '',
          previewRefs: 'refs/pull/*/head',
          // Every PR of this test repository is the test's own: no signatures needed.
          previewPolicy: { trust: 'everyone', allowRefs: [] },
        },
        cacheDir: path.join(tmp, `cache-${identity.name}`),
        cluster: identity,
        client,
        applySet: { name: PARENT, namespace: PARENT_NAMESPACE },
        policy: FAST,
        log,
      }),
    );
  }
}, 180_000);

afterAll(async () => {
  for (const client of clients.values()) await cleanUp(client, NS, PARENT);
  await hub?.close();
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 180_000);

describe('live previews on real clusters', () => {
  it('shows a change to one region’s layer only on that region’s cluster, and applies nothing', async () => {
    const head = await pr(1, {
      'regions/cn-shanghai/web.yaml': `apiVersion: strata.dev/v1
kind: Patch
target: { kind: Deployment, name: web, namespace: ${NS} }
merge: { spec: { replicas: 3 } }
`,
    });
    const all = await refreshAll();
    const sh = statusOf(all, 'prod-sh', 'refs/pull/1/head');
    expect(sh.commit).toBe(head);
    expect(changed(sh)).toEqual([
      expect.objectContaining({
        id: `apps/Deployment/${NS}/web`,
        action: 'update',
        changes: [expect.objectContaining({ path: '.spec.replicas', before: 2, after: 3 })],
      }),
    ]);
    expect(changed(statusOf(all, 'prod-hz', 'refs/pull/1/head'))).toEqual([]);
    expect(changed(statusOf(all, 'edge-1', 'refs/pull/1/head'))).toEqual([]);
    const liveWeb = await clients
      .get('prod-sh')!
      .get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' });
    expect((liveWeb?.spec as { replicas?: number } | undefined)?.replicas).toBe(2);
  });

  it('shows a conflict with another field manager in the live plan but a plain change offline', async () => {
    // Someone else owns data.LIMIT on prod-hz's ConfigMap.
    const hz = clients.get('prod-hz')!;
    await hz.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'limits', namespace: NS },
        data: { LIMIT: '5' },
      },
      { fieldManager: 'capacity-operator', force: false },
    );
    const head = await pr(2, {
      'regions/cn-hangzhou/limits.yaml': `apiVersion: strata.dev/v1
kind: Patch
target: { kind: ConfigMap, name: limits, namespace: ${NS} }
merge: { data: { LIMIT: "10" } }
`,
    });
    const all = await refreshAll();
    const entry = changed(statusOf(all, 'prod-hz', 'refs/pull/2/head'))[0];
    expect(entry).toMatchObject({ id: `/ConfigMap/${NS}/limits`, action: 'conflict' });
    expect(entry?.conflicts).toEqual([expect.objectContaining({ manager: 'capacity-operator' })]);

    const offline = await previewFleet({
      base: { ref: 'main', tree: await openGitTree({ fs, gitdir: repo.dir, commit: base }) },
      head: { ref: 'refs/pull/2/head', tree: await openGitTree({ fs, gitdir: repo.dir, commit: head }) },
      clusters: CLUSTERS.map((c) => c.identity),
    });
    const hzOffline = offline.clusters.find((c) => c.cluster.name === 'prod-hz')!;
    expect(hzOffline.objects).toEqual([
      expect.objectContaining({
        id: `/ConfigMap/${NS}/limits`,
        action: 'update',
        changes: [expect.objectContaining({ path: '.data.LIMIT', after: '10' })],
      }),
    ]);
    expect(JSON.stringify(offline)).not.toContain('capacity-operator');
  });

  it('reports a head that fails to render on the cluster it fails for, with its location', async () => {
    await pr(3, {
      'clusters/edge-1/broken.yaml':
        'apiVersion: strata.dev/v1\nkind: Patch\ntarget: { kind: Deployment, name: nope, namespace: x }\nmerge: { a: 1 }\n',
    });
    const all = await refreshAll();
    expect(statusOf(all, 'edge-1', 'refs/pull/3/head')).toMatchObject({
      plan: { entries: [] },
      error: { reason: 'RenderError', file: 'clusters/edge-1/broken.yaml', line: 3 },
    });
    expect(statusOf(all, 'prod-hz', 'refs/pull/3/head').error).toBeNull();
    expect(statusOf(all, 'prod-sh', 'refs/pull/3/head').error).toBeNull();
  });

  it('shows the PR at the hub with an offline agent as not reported, and drops it once closed', async () => {
    const all = await refreshAll();
    for (const { identity } of CLUSTERS)
      await reportToHub(identity.name, identity.labels, all.get(identity.name)!);
    const ref = encodeURIComponent('refs/pull/1/head');
    const view = (await (await hub.get(`/api/v1/previews/${ref}`)).json()) as PreviewView;
    const states = Object.fromEntries(view.clusters.map((c) => [c.name, c.state]));
    expect(states).toEqual({
      'prod-hz': 'planned',
      'prod-sh': 'planned',
      'edge-1': 'planned',
      'offline-1': 'notReported',
    });
    const markdown = await (await hub.get(`/api/v1/previews/${ref}/markdown`)).text();
    expect(markdown).toContain('| offline-1 |');
    expect(markdown).toContain('not reported');

    await deleteRef(repo, 'refs/pull/1/head');
    const after = await refreshAll();
    for (const { identity } of CLUSTERS) {
      expect(statusOf(after, identity.name, 'refs/pull/1/head').state).toBe('closed');
      await reportToHub(identity.name, identity.labels, after.get(identity.name)!);
    }
    const open = (await (await hub.get('/api/v1/previews')).json()) as { previews: { ref: string }[] };
    expect(open.previews.map((p) => p.ref)).not.toContain('refs/pull/1/head');
    expect(open.previews.map((p) => p.ref)).toContain('refs/pull/2/head');
  });
});
