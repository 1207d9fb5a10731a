/**
 * Shared helpers for the sync engine's e2e tests (test/e2e/sync-*.test.ts). Each test file uses
 * its own namespace and ApplySet parent so files never touch each other's objects.
 */
import { KubeApiClient } from '../../agent/src/kube/client.js';
import type { KubeObject } from '../../agent/src/model/object.js';
import type { SyncPolicy } from '../../agent/src/sync/policy.js';
import { eventually } from '../support/eventually.js';
import { labCluster } from './support/lab.js';

/** Where the tests keep their ApplySet parents. */
export const PARENT_NAMESPACE = 'strata-e2e';

/** Quick polling so tests do not idle; everything else as in production. */
export const FAST: Partial<SyncPolicy> = {
  pollMs: 200,
  crdTimeoutMs: 30_000,
  waveTimeoutMs: 60_000,
  deleteTimeoutMs: 30_000,
};

export function labClient(cluster = 'hz'): KubeApiClient {
  return KubeApiClient.connect({ kubeconfig: labCluster(cluster).kubeconfigPath });
}

export function namespace(name: string, annotations?: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(annotations ? { annotations } : {}) } };
}

export function configMap(
  ns: string,
  name: string,
  data: Record<string, string>,
  annotations?: Record<string, string>,
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) },
    data,
  };
}

export function deployment(
  ns: string,
  name: string,
  opts: { replicas?: number; app?: string; image?: string; annotations?: Record<string, string> } = {},
): KubeObject {
  const app = opts.app ?? name;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: {
      replicas: opts.replicas ?? 1,
      selector: { matchLabels: { app } },
      template: {
        metadata: { labels: { app } },
        spec: {
          containers: [{ name: 'main', image: opts.image ?? 'registry.example/web:1' }],
        },
      },
    },
  };
}

/** Deletes a test namespace and ApplySet parent, and waits until the namespace is gone. */
export async function cleanUp(client: KubeApiClient, ns: string, parentName: string): Promise<void> {
  await client.delete({ apiVersion: 'v1', kind: 'Secret', namespace: PARENT_NAMESPACE, name: parentName });
  if (await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns })) {
    await eventually(`namespace ${ns} to go away`, 90_000, async () =>
      (await client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns })) ? undefined : true,
    );
  }
}
