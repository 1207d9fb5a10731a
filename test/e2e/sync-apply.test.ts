// The sync engine against a real apiserver: create, update one field, a quiet plan, a cheap and
// still exact no-op, prune, prune refusals, kept objects, and the ApplySet as kubectl sees it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applySetId,
  GROUP_KINDS_ANNOTATION,
  ID_LABEL,
  NAMESPACES_ANNOTATION,
  PART_OF_LABEL,
  TOOLING_ANNOTATION,
} from '../../agent/src/inventory/applyset.js';
import type { KubeApiClient } from '../../agent/src/kube/client.js';
import { type KubeObject, objectId } from '../../agent/src/model/object.js';
import { planCluster, syncCluster } from '../../agent/src/sync/sync.js';
import {
  cleanUp,
  configMap,
  deployment,
  FAST,
  labClient,
  namespace,
  PARENT_NAMESPACE,
} from './sync-fixtures.js';

const NS = 'e2e-sync-apply';
const SET = { name: 'e2e-sync-apply', namespace: PARENT_NAMESPACE };
const ID = applySetId(SET);

let client: KubeApiClient;
let stateDir: string;

const base = (color = 'blue'): KubeObject[] => [
  namespace(NS),
  configMap(NS, 'a', { color }),
  configMap(NS, 'b', { size: 'm' }),
  configMap(NS, 'c', { shape: 'round' }),
  configMap(NS, 'd', { taste: 'sweet' }),
  deployment(NS, 'web'),
];

const sync = (
  objects: KubeObject[],
  extra: Parameters<typeof syncCluster>[0]['policy'] = {},
  renderFailed = false,
) => syncCluster({ client, objects, applySet: SET, stateDir, policy: { ...FAST, ...extra }, renderFailed });

const cmData = async (name: string) =>
  (await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name }))?.data as
    | Record<string, string>
    | undefined;

beforeAll(async () => {
  client = labClient('hz');
  stateDir = await mkdtemp(join(tmpdir(), 'strata-sync-e2e-'));
  await cleanUp(client, NS, SET.name);
});

afterAll(async () => {
  await cleanUp(client, NS, SET.name);
  client.close();
  await rm(stateDir, { recursive: true, force: true });
});

describe('sync on a real apiserver', () => {
  it('creates every object, labels it into the ApplySet and records the set on its parent', async () => {
    const r = await sync(base());
    expect(r.errors).toEqual([]);
    expect(r.counts.created).toBe(6);
    for (const obj of base()) {
      const live = await client.get({
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
      });
      expect(live?.metadata.labels?.[PART_OF_LABEL], objectId(obj)).toBe(ID);
      const managers = ((live?.metadata.managedFields ?? []) as { manager: string }[]).map((m) => m.manager);
      expect(managers).toContain('strata');
    }
    const parent = await client.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: PARENT_NAMESPACE,
      name: SET.name,
    });
    expect(parent?.metadata.labels?.[ID_LABEL]).toBe(ID);
    expect(parent?.metadata.annotations?.[GROUP_KINDS_ANNOTATION]).toBe(
      'ConfigMap,Deployment.apps,Namespace',
    );
    expect(parent?.metadata.annotations?.[NAMESPACES_ANNOTATION]).toBe(NS);
    expect(parent?.metadata.annotations?.[TOOLING_ANNOTATION]).toMatch(/^strata\/v/);
  });

  it('plans quietly: a fresh full dry-run of what was applied shows nothing, despite apiserver defaulting', async () => {
    const cp = await planCluster({ client, objects: base(), applySet: SET, policy: FAST });
    expect(cp.plan.stats.fullVerify).toBe(true);
    expect(cp.plan.entries.filter((e) => e.action !== 'unchanged')).toEqual([]);
  });

  it('plans a one-field change as exactly that field, then applies it', async () => {
    const cp = await planCluster({ client, objects: base('green'), applySet: SET, policy: FAST });
    const changed = cp.plan.entries.filter((e) => e.action !== 'unchanged');
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({ id: `/ConfigMap/${NS}/a`, action: 'update', drift: false });
    expect(changed[0]!.changes).toEqual([
      { path: '.data.color', op: 'replace', before: 'blue', after: 'green' },
    ]);
    const r = await sync(base('green'));
    expect(r.counts).toMatchObject({ updated: 1, created: 0, unchanged: 5 });
    expect((await cmData('a'))?.color).toBe('green');
  });

  it('settles a no-op reconcile from one LIST per kind and namespace, with no dry-run at all', async () => {
    await sync(base('green')); // lets objects a controller touched since (the Deployment) be verified once
    const r = await sync(base('green'));
    expect(r.counts).toMatchObject({ created: 0, updated: 0, pruned: 0, unchanged: 6 });
    expect(r.stats.dryRuns).toBe(0);
    expect(r.stats.fromCache).toBe(6);
    // parent GET + one LIST per cluster-scoped kind (Namespace) + one per namespaced kind (ConfigMap,
    // Deployment) in each of the parent's namespace and NS: 1 + 1 + 2 × 2, never one per object
    expect(r.stats.requests).toBeLessThanOrEqual(6);
    expect(r.phase === 'Synced' || r.phase === 'Progressing').toBe(true);
  });

  it('stays exact: a live change made between reconciles is still found and corrected', async () => {
    await client.mergePatch(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'b' },
      { data: { size: 'xl' } },
      'someone-else',
    );
    const r = await sync(base('green'));
    expect(r.stats.dryRuns).toBe(1);
    expect(r.drift).toEqual([{ id: `/ConfigMap/${NS}/b`, fields: ['.data.size'], action: 'corrected' }]);
    expect((await cmData('b'))?.size).toBe('m');
  });

  it('prunes the member the render dropped, and nothing else', async () => {
    const objects = base('green').filter((o) => o.metadata.name !== 'd');
    const r = await sync(objects);
    expect(r.pruned).toEqual([{ id: `/ConfigMap/${NS}/d`, result: 'pruned' }]);
    expect(await cmData('d')).toBeUndefined();
    for (const name of ['a', 'b', 'c']) expect(await cmData(name)).toBeDefined();
  });

  it('never prunes when the render is empty or failed', async () => {
    const empty = await sync([]);
    expect(empty.pruneRefused).toMatch(/no objects/);
    expect(empty.pruned).toEqual([]);
    const failed = await sync(base('green'), {}, true);
    expect(failed.phase).toBe('Failed');
    expect(failed.applied).toEqual([]);
    expect(failed.pruned).toEqual([]);
    for (const name of ['a', 'b', 'c']) expect(await cmData(name)).toBeDefined();
  });

  it('refuses a prune above the allowed fraction, and carries it out when explicitly allowed', async () => {
    // 5 members (ns, a, b, c, web); keeping ns and a drops 3 = 60% > 50%.
    const small = [namespace(NS), configMap(NS, 'a', { color: 'green' })];
    const refused = await sync(small);
    expect(refused.pruneRefused).toContain('3 of 5 members (60%)');
    expect(refused.phase).toBe('OutOfSync');
    expect(await cmData('b')).toBeDefined();
    const allowed = await sync(small, { allowLargePrune: true });
    expect(allowed.pruned.map((p) => p.id).sort()).toEqual([
      `/ConfigMap/${NS}/b`,
      `/ConfigMap/${NS}/c`,
      `apps/Deployment/${NS}/web`,
    ]);
    expect(await cmData('b')).toBeUndefined();
    const parent = await client.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: PARENT_NAMESPACE,
      name: SET.name,
    });
    expect(parent?.metadata.annotations?.[GROUP_KINDS_ANNOTATION]).toBe('ConfigMap,Namespace');
  });

  it('keeps a member annotated strata.dev/prune: "false", taking it out of the ApplySet', async () => {
    const keepMe = configMap(NS, 'keep', { v: '1' }, { 'strata.dev/prune': 'false' });
    const objects = [namespace(NS), configMap(NS, 'a', { color: 'green' }), configMap(NS, 'x', { v: '1' })];
    await sync([...objects, keepMe]);
    const r = await sync(objects);
    expect(r.pruned).toEqual([{ id: `/ConfigMap/${NS}/keep`, result: 'kept' }]);
    const kept = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'keep' });
    expect(kept?.data).toEqual({ v: '1' });
    expect(kept?.metadata.labels?.[PART_OF_LABEL]).toBeUndefined();
  });

  it('the part-of label selects exactly the objects Strata applied (what kubectl get -l sees)', async () => {
    await client.apply(configMap(NS, 'foreign', { mine: 'no' }), {
      fieldManager: 'other-tool',
      force: false,
    });
    const objects = [
      namespace(NS),
      configMap(NS, 'a', { color: 'green' }),
      configMap(NS, 'x', { v: '1' }),
      deployment(NS, 'web'),
    ];
    const r = await sync(objects);
    expect(r.errors).toEqual([]);
    const selector = { labelSelector: `${PART_OF_LABEL}=${ID}` };
    const found = [
      ...(await client.list('v1', 'ConfigMap', selector)),
      ...(await client.list('apps/v1', 'Deployment', selector)),
      ...(await client.list('v1', 'Namespace', selector)),
      ...(await client.list('v1', 'Secret', selector)),
    ].map(objectId);
    expect(found.sort()).toEqual(objects.map(objectId).sort());
    expect(await cmData('foreign')).toEqual({ mine: 'no' });
  });
});
