// Previews under a narrower identity: the agent's client impersonates a ServiceAccount the operator
// chose (`kube.previewServiceAccount`), so a pull request's dry-run can read and touch only what
// that ServiceAccount may, checked by the real apiserver of lab cluster hz. The admin identity
// (which the agent would otherwise use) reads the same object, so the narrowing is what stops it.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiClient } from '../../agent/src/kube/client.js';
import { impersonating, serviceAccountUser } from '../../agent/src/kube/impersonate.js';
import { loadAccess } from '../../agent/src/kube/kubeconfig.js';
import { type KubeObject, objectId } from '../../agent/src/model/object.js';
import { guardPreviewPlan } from '../../agent/src/preview/guard.js';
import { planCluster } from '../../agent/src/sync/sync.js';
import { labCluster } from './support/lab.js';
import { configMap, labClient, namespace } from './sync-fixtures.js';

const suffix = randomBytes(3).toString('hex');
const NS = `e2e-preview-id-${suffix}`;
const PRIVATE = `${NS}-private`;
const SA = 'previewer';
const LIVE_VALUE = `live-value-${suffix}`;
const SET = { name: 'strata-fleet', namespace: NS };

let admin: KubeApiClient;
let previewer: KubeApiClient;

const apply = (obj: KubeObject) => admin.apply(obj, { fieldManager: 'e2e-preview-id', force: true });

beforeAll(async () => {
  admin = labClient('hz');
  for (const ns of [NS, PRIVATE]) await apply(namespace(ns));
  await apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA, namespace: NS } });
  // What a preview needs in its own namespace: read the ApplySet parent and members, dry-run ConfigMaps.
  await apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: SA, namespace: NS },
    rules: [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'create', 'patch'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] },
    ],
  });
  await apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: SA, namespace: NS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: SA },
    subjects: [{ kind: 'ServiceAccount', name: SA, namespace: NS }],
  });
  await apply(configMap(PRIVATE, 'target', { password: LIVE_VALUE }));
  // The admin's own credentials, authorized as the ServiceAccount: what the agent builds for previews.
  const own = loadAccess({ kubeconfig: labCluster('hz').kubeconfigPath });
  previewer = new KubeApiClient(impersonating(own, serviceAccountUser(`${NS}/${SA}`)));
});

afterAll(async () => {
  previewer?.close();
  if (admin) {
    for (const ns of [NS, PRIVATE]) await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns });
    admin.close();
  }
});

describe('a preview that impersonates a ServiceAccount', () => {
  const pr = () => [
    configMap(NS, 'app', { color: 'green' }),
    configMap(PRIVATE, 'target', { password: 'guessed' }),
  ];
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: PRIVATE, name: 'target' };

  it('cannot read what the ServiceAccount cannot, while the agent identity can', async () => {
    expect((await admin.get(ref))?.data).toEqual({ password: LIVE_VALUE });
    await expect(previewer.get(ref)).rejects.toThrow(
      new RegExp(`system:serviceaccount:${NS}:${SA}.*cannot get resource "configmaps"`),
    );
  });

  it('plans the objects the ServiceAccount may touch; the others are Forbidden, with no live value', async () => {
    const planned = await planCluster({ client: previewer, objects: pr(), applySet: SET });
    const byId = new Map(planned.plan.entries.map((e) => [e.id, e]));
    expect(byId.get(`/ConfigMap/${NS}/app`)?.action).toBe('create');
    expect(byId.get(`/ConfigMap/${PRIVATE}/target`)).toMatchObject({
      action: 'error',
      error: { reason: 'Forbidden' },
    });
    const guarded = guardPreviewPlan(planned.plan, new Set(planned.members.map(objectId)));
    expect(JSON.stringify(guarded)).not.toContain(LIVE_VALUE);

    // Under the agent's own (admin) identity the same plan reads the object: a diff of its live value.
    const asAgent = await planCluster({ client: admin, objects: pr(), applySet: SET });
    const target = asAgent.plan.entries.find((e) => e.id === `/ConfigMap/${PRIVATE}/target`);
    expect(target?.action).not.toBe('error');
    expect(JSON.stringify(target)).toContain(LIVE_VALUE);
  });
});
