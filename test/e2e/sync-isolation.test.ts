// Least privilege: an agent identity that may manage ConfigMaps in one namespace but may not read
// Secrets there. A Secret in the render is that Secret's error (403 on its read, on its kind's
// member LIST in that namespace), never the sync's: the ConfigMaps apply, later prune, and the sync
// reports the rest. Members are listed per namespace (KEP-3659), so the identity needs no
// cluster-wide LIST, and a 403 on a kind in a namespace the render does not use (ConfigMaps in the
// parent's namespace) is no error at all.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP_KINDS_ANNOTATION } from '../../agent/src/inventory/applyset.js';
import { KubeApiClient } from '../../agent/src/kube/client.js';
import { loadAccess } from '../../agent/src/kube/kubeconfig.js';
import type { KubeObject } from '../../agent/src/model/object.js';
import { syncCluster } from '../../agent/src/sync/sync.js';
import { labCluster } from './support/lab.js';
import { cleanUp, configMap, FAST, labClient, namespace, PARENT_NAMESPACE } from './sync-fixtures.js';

const NS = 'e2e-sync-isolation';
const SA = 'strata-limited';
const SET = { name: 'e2e-sync-isolation', namespace: PARENT_NAMESPACE };
let admin: KubeApiClient;
let limited: KubeApiClient;
let stateDir: string;

const apply = (obj: KubeObject) => admin.apply(obj, { fieldManager: 'test', force: true });

/** A ServiceAccount token (TokenRequest) whose rights are only the Roles below. */
async function limitedClient(): Promise<KubeApiClient> {
  await apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA, namespace: NS } });
  const rules = (ns: string, resources: string[]) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: SA, namespace: ns },
    rules: [{ apiGroups: [''], resources, verbs: ['get', 'list', 'create', 'patch', 'update', 'delete'] }],
  });
  const bind = (ns: string) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: SA, namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: SA },
    subjects: [{ kind: 'ServiceAccount', name: SA, namespace: NS }],
  });
  // ConfigMaps in the test namespace; the ApplySet parent Secret in its own namespace; no other Secret.
  await apply(rules(NS, ['configmaps']));
  await apply(bind(NS));
  await apply(rules(PARENT_NAMESPACE, ['secrets']));
  await apply(bind(PARENT_NAMESPACE));
  await apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: `${NS}-ns` },
    rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'patch'] }],
  });
  await apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: `${NS}-ns` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${NS}-ns` },
    subjects: [{ kind: 'ServiceAccount', name: SA, namespace: NS }],
  });
  const access = loadAccess({ kubeconfig: labCluster('hz').kubeconfigPath });
  const adminOpts = await access.requestOptions();
  const token = await new Promise<string>((resolve, reject) => {
    import('node:https').then(({ request }) => {
      const url = new URL(`${access.server}/api/v1/namespaces/${NS}/serviceaccounts/${SA}/token`);
      const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} });
      const req = request(
        url,
        {
          method: 'POST',
          ca: adminOpts.tls.ca,
          headers: {
            ...adminOpts.headers,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (r) => {
          let text = '';
          r.on('data', (c: Buffer) => {
            text += c.toString();
          });
          r.on('end', () => {
            const parsed = JSON.parse(text) as { status?: { token?: string } };
            if (parsed.status?.token) resolve(parsed.status.token);
            else reject(new Error(`TokenRequest answered ${r.statusCode}: ${text}`));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    }, reject);
  });
  return new KubeApiClient({
    server: access.server,
    context: 'limited',
    requestOptions: async () => ({ tls: adminOpts.tls, headers: { Authorization: `Bearer ${token}` } }),
  });
}

const secret = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: NS },
  stringData: { key: 'value' },
});

beforeAll(async () => {
  admin = labClient('hz');
  stateDir = await mkdtemp(join(tmpdir(), 'strata-sync-isolation-'));
  await cleanUp(admin, NS, SET.name);
  await apply(namespace(NS));
  await apply(namespace(PARENT_NAMESPACE));
  limited = await limitedClient();
});

afterAll(async () => {
  limited?.close();
  for (const name of [`${NS}-ns`]) {
    await admin.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name });
    await admin.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name });
  }
  for (const kind of ['Role', 'RoleBinding'])
    await admin.delete({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind,
      namespace: PARENT_NAMESPACE,
      name: SA,
    });
  await cleanUp(admin, NS, SET.name);
  admin.close();
  await rm(stateDir, { recursive: true, force: true });
});

describe('one forbidden object in the render', () => {
  it('is its own error: the rest applies and prunes, and the sync says what failed', {
    timeout: 120_000,
  }, async () => {
    const sync = (objects: KubeObject[]) =>
      syncCluster({
        client: limited,
        objects,
        applySet: SET,
        stateDir,
        policy: { ...FAST, pruneMaxFraction: 1 },
      });
    const first = await sync([
      configMap(NS, 'a', { v: '1' }),
      configMap(NS, 'b', { v: '1' }),
      secret('forbidden'),
    ]);
    expect(first.phase).toBe('Failed');
    expect(
      first.errors.some(
        (e) => e.id === '/Secret/e2e-sync-isolation/forbidden' && /forbidden/i.test(e.message),
      ),
    ).toBe(true);
    expect(first.counts.created).toBe(2);

    // The Secret's kind is now in the inventory, and its member LIST is forbidden too: still only its error.
    const second = await sync([configMap(NS, 'a', { v: '2' }), secret('forbidden')]);
    expect(
      second.errors.map((e) => `${e.id ?? '(scope)'} ${e.reason}: ${e.message.split(' failed,')[0]}`),
    ).toEqual([
      expect.stringMatching(
        /^\/Secret\/e2e-sync-isolation\/forbidden Forbidden: secrets "forbidden" is forbidden/,
      ),
      '(scope) Forbidden: listing ApplySet members of Secret in namespace e2e-sync-isolation',
    ]);
    expect(second.counts.updated).toBe(1);
    expect(second.counts.pruned).toBe(1);
    const live = await admin.list('v1', 'ConfigMap', { namespace: NS });
    expect(live.map((c) => c.metadata.name).sort()).toEqual(['a', 'kube-root-ca.crt']);
    expect(live.find((c) => c.metadata.name === 'a')?.data).toEqual({ v: '2' });
    // The forbidden kind keeps its place in the ApplySet parent: its members are not forgotten.
    const parent = await admin.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: PARENT_NAMESPACE,
      name: SET.name,
    });
    expect(parent?.metadata.annotations?.[GROUP_KINDS_ANNOTATION]).toMatch(/Secret/);
  });
});
