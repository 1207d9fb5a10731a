/**
 * Lab clusters for e2e tests. test/e2e/global-setup.ts starts three real local Kubernetes clusters
 * (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, KWOK with one fake Node named
 * `kwok-node-0`) before any e2e file runs, and hands their kubeconfigs to the tests:
 *
 *   import { labCluster, LAB_CLUSTER_NAMES } from './support/lab.js';
 *   const hz = labCluster('hz');            // { name, server, kubeconfigPath, kubeConfig }
 *   const api = hz.kubeConfig.makeApiClient(CoreV1Api);
 *   // or hand hz.kubeconfigPath to the strata CLI / kubectl --kubeconfig
 *
 * The clusters are shared by every e2e file (files run one after another): create your own
 * namespace (or uniquely named cluster-scoped objects) and delete what you create. The admin
 * identity is in system:masters. Deployments become Available: KWOK marks their Pods Ready
 * without running containers, so any image name works. There is no kubelet, kube-proxy or DNS.
 * Fast local iteration: `npm run lab -- up --clusters hz,sh,edge --dir .lab/dev`, then
 * `STRATA_LAB_DIR=.lab/dev npx vitest run --project e2e` reuses that lab and leaves it running.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import type { LabCluster } from '../../cluster/lab-api.js';

/** The clusters every e2e run gets, as named in the fleet examples. */
export const LAB_CLUSTER_NAMES = ['hz', 'sh', 'edge'] as const;
export type LabClusterName = (typeof LAB_CLUSTER_NAMES)[number];

export interface ProvidedLab {
  dir: string;
  clusters: LabCluster[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    strataLab: ProvidedLab;
  }
}

export interface LabClusterHandle {
  name: string;
  server: string;
  kubeconfigPath: string;
  /** Loaded from kubeconfigPath; make API clients from it. */
  kubeConfig: KubeConfig;
}

/** The lab directory global setup used (clusters live in `<dir>/<name>/`). */
export function labDir(): string {
  return inject('strataLab').dir;
}

export function labCluster(name: string): LabClusterHandle {
  const cluster = inject('strataLab').clusters.find((c) => c.name === name);
  if (!cluster) {
    throw new Error(
      `lab cluster ${JSON.stringify(name)} is not running; the lab has ${LAB_CLUSTER_NAMES.join(', ')}`,
    );
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.kubeconfigPath);
  return { name: cluster.name, server: cluster.server, kubeconfigPath: cluster.kubeconfigPath, kubeConfig };
}

export function labClusters(): LabClusterHandle[] {
  return LAB_CLUSTER_NAMES.map(labCluster);
}
