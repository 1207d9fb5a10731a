/**
 * Each tool under benchmark talks to its lab apiserver as its own service account (as it would in
 * a cluster), and each service account has a FlowSchema of its own. The apiserver's API Priority
 * and Fairness filter then counts every request of that account, whatever the verb, under that
 * FlowSchema's name in `apiserver_flowcontrol_dispatched_requests_total` on its /metrics — so the
 * request counts come from the apiserver, not from the tools' own bookkeeping, and the lab's own
 * components (which use the admin identity) are never counted. The FlowSchemas use the `exempt`
 * priority level, like the apiserver's own `probes` schema, so nothing is queued or throttled.
 */
import { writeFileSync } from 'node:fs';
import { kubeconfigWithToken, type RawKube } from './kube-raw.js';

export interface PeerIdentity {
  namespace: string;
  serviceAccount: string;
  /** Name of the FlowSchema that counts this identity's requests. */
  flowSchema: string;
  kubeconfigPath: string;
}

/** Creates namespace, service account (cluster-admin), FlowSchema and a 24 h token kubeconfig. */
export async function createPeerIdentity(
  kube: RawKube,
  namespace: string,
  serviceAccount: string,
  kubeconfigPath: string,
): Promise<PeerIdentity> {
  const flowSchema = `bench-${namespace}-${serviceAccount}`;
  await kube.apply(`/api/v1/namespaces/${namespace}`, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace },
  });
  await kube.apply(`/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: serviceAccount, namespace },
  });
  await kube.apply(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${flowSchema}`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: flowSchema },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
  });
  await kube.apply(`/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas/${flowSchema}`, {
    apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
    kind: 'FlowSchema',
    metadata: { name: flowSchema },
    spec: {
      priorityLevelConfiguration: { name: 'exempt' },
      matchingPrecedence: 10,
      rules: [
        {
          subjects: [{ kind: 'ServiceAccount', serviceAccount: { name: serviceAccount, namespace } }],
          resourceRules: [
            { verbs: ['*'], apiGroups: ['*'], resources: ['*'], clusterScope: true, namespaces: ['*'] },
          ],
          nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
        },
      ],
    },
  });
  const review = await kube.json<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
    JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 86_400 },
    }),
  );
  writeFileSync(kubeconfigPath, kubeconfigWithToken(kube.target, serviceAccount, review.status.token), {
    mode: 0o600,
  });
  return { namespace, serviceAccount, flowSchema, kubeconfigPath };
}

/** Requests the apiserver has dispatched for each named FlowSchema since it started. */
export async function dispatchedRequests(kube: RawKube, flowSchemas: string[]): Promise<number> {
  const res = await kube.request('GET', '/metrics');
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  return countDispatched(res.text, flowSchemas);
}

/** Sum of `apiserver_flowcontrol_dispatched_requests_total` over the series of the given FlowSchemas. */
export function countDispatched(metricsText: string, flowSchemas: string[]): number {
  let total = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('apiserver_flowcontrol_dispatched_requests_total{')) continue;
    const schema = /flow_schema="([^"]+)"/.exec(line)?.[1];
    if (schema && flowSchemas.includes(schema)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
