import { join } from 'node:path';

/** The control-plane processes of one lab cluster, in start order. */
export const COMPONENTS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
] as const;
export type Component = (typeof COMPONENTS)[number];

/** Annotation that makes KWOK manage a Node; the lab's fake node carries it. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
export const KWOK_NODE_NAME = 'kwok-node-0';

export interface LabPorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
}

/** Where one cluster keeps its files under `<labDir>/<name>/`. */
export interface ClusterLayout {
  name: string;
  dir: string;
  state: string;
  kubeconfig: string;
  pki: string;
  servingCert: string;
  serviceAccountKey: string;
  tokenFile: string;
  etcdData: string;
  kwokStages: string;
  logs: string;
}

/** Cluster names become directory names: keep them to DNS-label characters, no path tricks. */
const NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

export function clusterLayout(labDir: string, name: string): ClusterLayout {
  if (!NAME.test(name)) {
    throw new Error(
      `lab: cluster name ${JSON.stringify(name)} must be a DNS label (a-z, 0-9, '-', at most 32)`,
    );
  }
  const dir = join(labDir, name);
  const pki = join(dir, 'pki');
  return {
    name,
    dir,
    state: join(dir, 'state.json'),
    kubeconfig: join(dir, 'kubeconfig'),
    pki,
    // kube-apiserver writes a self-signed serving certificate (with its CA) here on first start.
    servingCert: join(pki, 'apiserver.crt'),
    serviceAccountKey: join(pki, 'service-account.key'),
    tokenFile: join(pki, 'tokens.csv'),
    etcdData: join(dir, 'etcd'),
    kwokStages: join(dir, 'kwok-stages.yaml'),
    logs: join(dir, 'logs'),
  };
}

/** Command-line flags of each component: loopback only, no leader election, one admin kubeconfig. */
export function componentArgs(component: Component, layout: ClusterLayout, ports: LabPorts): string[] {
  switch (component) {
    case 'etcd':
      return [
        `--data-dir=${layout.etcdData}`,
        `--client-port=${ports.etcdClient}`,
        `--peer-port=${ports.etcdPeer}`,
      ];
    case 'kube-apiserver':
      return [
        `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${ports.apiserver}`,
        `--cert-dir=${layout.pki}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${layout.serviceAccountKey}`,
        `--service-account-signing-key-file=${layout.serviceAccountKey}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=RBAC',
        `--token-auth-file=${layout.tokenFile}`,
        // The loopback advertise address would otherwise be written into the `kubernetes` Endpoints.
        '--endpoint-reconciler-type=none',
        '--allow-privileged=true',
        '--profiling=false',
      ];
    case 'kube-controller-manager':
      return [
        `--kubeconfig=${layout.kubeconfig}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.controllerManager}`,
        `--service-account-private-key-file=${layout.serviceAccountKey}`,
        `--root-ca-file=${layout.servingCert}`,
        '--profiling=false',
      ];
    case 'kube-scheduler':
      return [
        `--kubeconfig=${layout.kubeconfig}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.scheduler}`,
        '--profiling=false',
      ];
    case 'kwok':
      return [
        `--kubeconfig=${layout.kubeconfig}`,
        `--config=${layout.kwokStages}`,
        '--manage-all-nodes=false',
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
        '--node-ip=127.0.0.1',
        '--cidr=10.244.0.0/16',
        '--node-lease-duration-seconds=40',
      ];
  }
}

/** The Node KWOK pretends to run: no taint, so ordinary Deployments schedule onto it. */
export function fakeNode(): object {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: KWOK_NODE_NAME,
      annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': KWOK_NODE_NAME,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
      },
    },
  };
}
