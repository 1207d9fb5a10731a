// Ordering on a real apiserver: CRD + custom resource in one sync, immutable fields and replace,
// waves that wait for health, and failures that block only what truly depends on them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeApiClient } from '../../agent/src/kube/client.js';
import type { KubeObject } from '../../agent/src/model/object.js';
import { planCluster, syncCluster } from '../../agent/src/sync/sync.js';
import type { SyncEvent } from '../../agent/src/sync/types.js';
import {
  cleanUp,
  configMap,
  deployment,
  FAST,
  labClient,
  namespace,
  PARENT_NAMESPACE,
} from './sync-fixtures.js';

const NS = 'e2e-sync-order';
const SET = { name: 'e2e-sync-order', namespace: PARENT_NAMESPACE };
const GROUP = 'e2e-sync-order.strata.dev';
const CRD_NAME = `gadgets.${GROUP}`;

const crd: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: CRD_NAME },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', listKind: 'GadgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
          },
        },
      },
    ],
  },
};
const gadget = (size: number): KubeObject => ({
  apiVersion: `${GROUP}/v1`,
  kind: 'Gadget',
  metadata: { name: 'g1', namespace: NS },
  spec: { size },
});

let client: KubeApiClient;

beforeAll(async () => {
  client = labClient('sh');
  await cleanUp(client, NS, SET.name);
  await client.delete({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    name: CRD_NAME,
  });
});

afterAll(async () => {
  await cleanUp(client, NS, SET.name);
  await client.delete({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    name: CRD_NAME,
  });
  client.close();
});

describe('CRD and custom resource in one commit', () => {
  it('plans the custom resource as a create that waits for its CRD, then applies both', async () => {
    const objects = [gadget(3), configMap(NS, 'plain', { a: '1' }), namespace(NS), crd];
    const cp = await planCluster({ client, objects, applySet: SET, policy: FAST });
    const cr = cp.plan.entries.find((e) => e.ref.kind === 'Gadget')!;
    expect(cr).toMatchObject({
      action: 'create',
      awaitsCrd: `apiextensions.k8s.io/CustomResourceDefinition//${CRD_NAME}`,
    });
    const cm = cp.plan.entries.find((e) => e.ref.kind === 'ConfigMap')!;
    expect(cm).toMatchObject({ action: 'create', awaitsNamespace: NS });

    const events: SyncEvent[] = [];
    const r = await syncCluster({
      client,
      objects,
      applySet: SET,
      policy: FAST,
      onEvent: (e) => events.push(e),
    });
    expect(r.errors).toEqual([]);
    expect(r.counts.created).toBe(4);
    const steps = events.flatMap((e) => (e.type === 'step' ? [e.step] : []));
    expect(steps).toEqual(['crds', 'namespaces', 'namespaced']);
    const live = await client.get({ apiVersion: `${GROUP}/v1`, kind: 'Gadget', namespace: NS, name: 'g1' });
    expect(live?.spec).toEqual({ size: 3 });
  });

  it('reports a custom resource of a kind nobody serves as an error on that object only', async () => {
    const stray: KubeObject = {
      apiVersion: 'nowhere.strata.dev/v1',
      kind: 'Ghost',
      metadata: { name: 'boo', namespace: NS },
    };
    const objects = [namespace(NS), crd, gadget(3), configMap(NS, 'plain', { a: '2' }), stray];
    const r = await syncCluster({ client, objects, applySet: SET, policy: FAST });
    expect(r.errors).toEqual([
      expect.objectContaining({ id: `nowhere.strata.dev/Ghost/${NS}/boo`, reason: 'KindNotServed' }),
    ]);
    expect(r.counts.updated).toBe(1);
    expect(
      (await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'plain' }))?.data,
    ).toEqual({ a: '2' });
  });
});

describe('immutable fields', () => {
  const objects = (app: string, replace: boolean) => [
    namespace(NS),
    crd,
    gadget(3),
    configMap(NS, 'plain', { a: '2' }),
    deployment(NS, 'api', { app, ...(replace ? { annotations: { 'strata.dev/replace': 'true' } } : {}) }),
  ];

  it('reports a rejected immutable change on that object, while the others are applied', async () => {
    await syncCluster({ client, objects: objects('api-v1', false), applySet: SET, policy: FAST });
    const changed = objects('api-v2', false);
    (changed[3] as KubeObject).data = { a: '3' };
    const r = await syncCluster({ client, objects: changed, applySet: SET, policy: FAST });
    expect(r.errors).toEqual([
      expect.objectContaining({ id: `apps/Deployment/${NS}/api`, reason: 'Immutable' }),
    ]);
    expect(r.errors[0]!.message).toContain('immutable');
    expect(
      (await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'plain' }))?.data,
    ).toEqual({ a: '3' });
  });

  it('with strata.dev/replace: "true" deletes and recreates the object', async () => {
    const before = await client.get({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: NS,
      name: 'api',
    });
    const r = await syncCluster({ client, objects: objects('api-v2', true), applySet: SET, policy: FAST });
    expect(r.errors).toEqual([]);
    expect(r.counts.replaced).toBe(1);
    const after = await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'api' });
    expect(after?.metadata.uid).not.toBe(before?.metadata.uid);
    expect((after?.spec as { selector?: unknown } | undefined)?.selector).toEqual({
      matchLabels: { app: 'api-v2' },
    });
  });
});

describe('waves', () => {
  it('applies a later wave only after the earlier wave is healthy', async () => {
    const objects = [
      namespace(NS),
      deployment(NS, 'db', { annotations: { 'strata.dev/wave': '0' } }),
      configMap(NS, 'after-db', { ready: 'yes' }, { 'strata.dev/wave': '1' }),
    ];
    const events: SyncEvent[] = [];
    const r = await syncCluster({
      client,
      objects,
      applySet: SET,
      policy: { ...FAST, allowLargePrune: true },
      onEvent: (e) => events.push(e),
    });
    expect(r.errors).toEqual([]);
    const order = events.flatMap((e) =>
      e.type === 'waiting' ? [`wait ${e.wave}`] : e.type === 'object' ? [e.outcome.id.split('/')[1]] : [],
    );
    expect(order).toEqual(['Deployment', 'wait 0', 'ConfigMap']);
    const db = r.health.objects.find((o) => o.id === `apps/Deployment/${NS}/db`);
    expect(db?.status).toBe('Current');
  });

  it('blocks later waves when a wave does not become healthy in time, and still applies the unhealthy wave', async () => {
    const lb: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'lb', namespace: NS },
      spec: { type: 'LoadBalancer', ports: [{ port: 80 }], selector: { app: 'db' } },
    };
    const objects = [
      namespace(NS),
      deployment(NS, 'db', { annotations: { 'strata.dev/wave': '0' } }),
      lb,
      configMap(NS, 'after-lb', { ready: 'no' }, { 'strata.dev/wave': '1' }),
    ];
    const r = await syncCluster({
      client,
      objects,
      applySet: SET,
      policy: { ...FAST, waveTimeoutMs: 3_000 },
    });
    expect(r.errors).toEqual([
      expect.objectContaining({ id: `/ConfigMap/${NS}/after-lb`, reason: 'WaveBlocked' }),
    ]);
    expect(r.errors[0]!.message).toContain(`/Service/${NS}/lb`);
    expect(await client.get({ apiVersion: 'v1', kind: 'Service', namespace: NS, name: 'lb' })).toBeDefined();
    expect(
      await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'after-lb' }),
    ).toBeUndefined();
  });
});
