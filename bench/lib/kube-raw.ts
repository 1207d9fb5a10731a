/**
 * A small HTTPS client for the benchmarks' own calls to a lab apiserver (setup, observation, the
 * apiserver's /metrics), kept apart from the agent's client so that nothing the bench does is
 * counted as the agent's work. It speaks to the server and token of a kubeconfig like the lab's.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { parse } from 'yaml';

export interface KubeTarget {
  server: string;
  ca: string;
  token: string;
}

interface KubeconfigFile {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { user: { token: string } }[];
}

/** Server, CA and bearer token of a kubeconfig's first cluster and user (the lab writes one of each). */
export function readKubeTarget(kubeconfig: string): KubeTarget {
  const kc = parse(readFileSync(kubeconfig, 'utf8')) as KubeconfigFile;
  const cluster = kc.clusters[0]?.cluster;
  const token = kc.users[0]?.user.token;
  if (!cluster || !token) throw new Error(`${kubeconfig}: needs a cluster and a token user`);
  return {
    server: cluster.server,
    ca: Buffer.from(cluster['certificate-authority-data'], 'base64').toString(),
    token,
  };
}

/** A kubeconfig for the same cluster with another bearer token (a service account's). */
export function kubeconfigWithToken(target: KubeTarget, user: string, token: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'lab',
        cluster: {
          server: target.server,
          'certificate-authority-data': Buffer.from(target.ca).toString('base64'),
        },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'lab', context: { cluster: 'lab', user } }],
    'current-context': 'lab',
  });
}

export interface RawResponse {
  status: number;
  text: string;
}

export class RawKube {
  private readonly agent: https.Agent;

  constructor(readonly target: KubeTarget) {
    this.agent = new https.Agent({ ca: target.ca, keepAlive: true, maxSockets: 8 });
  }

  request(
    method: string,
    path: string,
    body?: string,
    contentType = 'application/json',
    accept = 'application/json, text/plain',
  ): Promise<RawResponse> {
    const url = new URL(path, this.target.server);
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          agent: this.agent,
          timeout: 60_000,
          headers: {
            authorization: `Bearer ${this.target.token}`,
            accept,
            ...(body === undefined ? {} : { 'content-type': contentType }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** The request's JSON body; throws naming the request and status unless the status is 2xx. */
  async json<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: string,
    contentType?: string,
  ): Promise<T> {
    const res = await this.request(method, path, body, contentType);
    if (res.status < 200 || res.status >= 300) {
      throw new Error(`${method} ${path}: HTTP ${res.status}: ${res.text.slice(0, 500)}`);
    }
    return JSON.parse(res.text) as T;
  }

  /** Server-side apply of one object as field manager `bench`, at its resource path. */
  apply(path: string, object: unknown): Promise<Record<string, unknown>> {
    return this.json(
      'PATCH',
      `${path}?fieldManager=bench&force=true`,
      JSON.stringify(object),
      'application/apply-patch+yaml',
    );
  }

  /** The object at `path`, or undefined when it does not exist. */
  async get<T = Record<string, unknown>>(path: string): Promise<T | undefined> {
    const res = await this.request('GET', path);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}: ${res.text.slice(0, 500)}`);
    return JSON.parse(res.text) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}
