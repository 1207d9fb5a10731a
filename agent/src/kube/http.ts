import type https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import type { ClusterAccess } from './access.js';
import { type ConnectOptions, KubeApiClient } from './client.js';

export type { ConnectOptions } from './client.js';

/** Loads a kubeconfig with client-node (file, or its default chain: KUBECONFIG, ~/.kube/config, in-cluster). */
export function loadKubeConfig(opts: Pick<ConnectOptions, 'kubeconfig' | 'context'>): KubeConfig {
  const kc = new KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault();
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      throw new Error(`kubeconfig has no context '${opts.context}'`);
    }
    kc.setCurrentContext(opts.context);
  }
  return kc;
}

/** Cluster access through client-node's KubeConfig (its authenticators: OIDC, cloud auth providers, ...). */
export function accessFromKubeConfig(kc: KubeConfig): ClusterAccess {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  return {
    server: cluster.server,
    context: kc.getCurrentContext(),
    async requestOptions() {
      const opts: https.RequestOptions = { headers: {} };
      await kc.applyToHTTPSOptions(opts);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k] = String(v);
      return {
        tls: {
          ...(opts.ca ? { ca: opts.ca as Buffer } : {}),
          ...(opts.cert ? { cert: opts.cert as Buffer } : {}),
          ...(opts.key ? { key: opts.key as Buffer } : {}),
          ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
        },
        headers,
        ...(typeof opts.auth === 'string' ? { auth: opts.auth } : {}),
      };
    },
  };
}

/**
 * The client over a client-node KubeConfig. Loading client-node costs about a second and 100+ MB
 * of memory; `KubeApiClient.connect()` (kubeconfig.ts) reaches the same clusters without it.
 */
export class HttpKubeClient extends KubeApiClient {
  constructor(kc: KubeConfig, opts: ConnectOptions = {}) {
    super(accessFromKubeConfig(kc), opts);
  }
}
