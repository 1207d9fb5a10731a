/**
 * A raw Kubernetes watch of one namespace's ConfigMaps, straight to the lab apiserver (never
 * through the agent's links), that re-lists and re-watches across apiserver restarts. The campaign
 * sees every DELETED event as it happens: a protected object deleted even for a moment counts.
 */

import { readFileSync } from 'node:fs';
import https from 'node:https';
import { parse } from 'yaml';

export interface WatchedEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  name: string;
  uid: string;
}

interface Kubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { user: { token: string } }[];
}

export class ConfigMapWatch {
  private req: ReturnType<typeof https.request> | undefined;
  private stopped = false;
  private readonly server: URL;
  private readonly ca: Buffer;
  private readonly token: string;

  constructor(
    kubeconfigPath: string,
    private readonly namespace: string,
    private readonly onEvent: (e: WatchedEvent) => void,
  ) {
    const kc = parse(readFileSync(kubeconfigPath, 'utf8')) as Kubeconfig;
    const cluster = kc.clusters[0]?.cluster;
    if (!cluster) throw new Error(`${kubeconfigPath}: no cluster`);
    this.server = new URL(cluster.server);
    this.ca = Buffer.from(cluster['certificate-authority-data'], 'base64');
    this.token = kc.users[0]?.user.token ?? '';
  }

  /** Starts watching from now (a list gives the resourceVersion to start from). */
  async start(): Promise<void> {
    const rv = await this.listVersion();
    this.watchFrom(rv);
  }

  stop(): void {
    this.stopped = true;
    this.req?.destroy();
  }

  private get(path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = https.get(
        new URL(path, this.server),
        { ca: this.ca, headers: { authorization: `Bearer ${this.token}` }, timeout: 5000 },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () =>
            res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`)),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
    });
  }

  private async listVersion(): Promise<string> {
    for (;;) {
      try {
        const body = JSON.parse(
          await this.get(`/api/v1/namespaces/${this.namespace}/configmaps?limit=1`),
        ) as {
          metadata: { resourceVersion: string };
        };
        return body.metadata.resourceVersion;
      } catch {
        if (this.stopped) return '0';
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private watchFrom(rv: string): void {
    if (this.stopped) return;
    let last = rv;
    let buffer = '';
    const again = (expired: boolean) => {
      if (this.stopped) return;
      // After a gap the watch resumes where it was; only an expired version needs a fresh list,
      // and the campaign then also compares object uids, so nothing slips between the two.
      setTimeout(async () => this.watchFrom(expired ? await this.listVersion() : last), 200);
    };
    const req = https.get(
      new URL(
        `/api/v1/namespaces/${this.namespace}/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=${last}`,
        this.server,
      ),
      { ca: this.ca, headers: { authorization: `Bearer ${this.token}` } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          again(res.statusCode === 410);
          return;
        }
        let expired = false;
        res.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            const event = JSON.parse(line) as {
              type: WatchedEvent['type'];
              object: { code?: number; metadata: { name: string; uid: string; resourceVersion: string } };
            };
            if (event.type === 'ERROR') {
              expired = event.object.code === 410;
              continue;
            }
            last = event.object.metadata.resourceVersion;
            if (event.type === 'BOOKMARK') continue;
            this.onEvent({
              type: event.type,
              name: event.object.metadata.name,
              uid: event.object.metadata.uid,
            });
          }
        });
        res.on('end', () => again(expired));
        res.on('error', () => again(expired));
      },
    );
    req.on('error', () => again(false));
    this.req = req;
  }
}
