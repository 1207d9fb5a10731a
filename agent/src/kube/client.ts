import https from 'node:https';
import type { KubeObject } from '../model/object.js';
import type { ClusterAccess } from './access.js';
import { RestMapper, resourcePath } from './discovery.js';
import { errorFromResponse, KubeApiError } from './errors.js';
import { loadAccess } from './kubeconfig.js';
import type {
  ApplyOptions,
  DeleteOptions,
  KubeClient,
  ListOptions,
  ObjectRef,
  ResourceInfo,
} from './types.js';

/** How to reach a cluster: kubeconfig file and context, or in-cluster, and request limits. */
export interface ConnectOptions {
  kubeconfig?: string;
  context?: string;
  /** Parallel connections to the apiserver. */
  maxSockets?: number;
  /** Per-request timeout. */
  timeoutMs?: number;
}

interface Response {
  status: number;
  body: string;
}

/**
 * KubeClient over HTTPS: plain JSON over one keep-alive agent, so the engine controls (and counts)
 * every call. Credentials come from a ClusterAccess (kubeconfig.ts, or client-node in http.ts).
 */
export class KubeApiClient implements KubeClient {
  private readonly server: URL;
  private agent?: https.Agent;
  private readonly mapper: RestMapper;
  private requests = 0;

  constructor(
    private readonly access: ClusterAccess,
    private readonly opts: ConnectOptions = {},
  ) {
    this.server = new URL(access.server);
    this.mapper = new RestMapper(async (path) => {
      const res = await this.send('GET', path);
      if (res.status === 404) return undefined;
      if (res.status >= 300) throw errorFromResponse(res.status, res.body, 'discover');
      return JSON.parse(res.body);
    });
  }

  /** From a kubeconfig (explicit, KUBECONFIG, ~/.kube/config) and context, or in-cluster. */
  static connect(opts: ConnectOptions & { inCluster?: boolean } = {}): KubeApiClient {
    return new KubeApiClient(loadAccess(opts), opts);
  }

  /** The kubeconfig context this client talks to. */
  get context(): string {
    return this.access.context;
  }

  get requestCount(): number {
    return this.requests;
  }

  resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    return this.mapper.resourceFor(apiVersion, kind);
  }

  resourceForGroupKind(group: string, kind: string): Promise<ResourceInfo | undefined> {
    return this.mapper.resourceForGroupKind(group, kind);
  }

  invalidateDiscovery(): void {
    this.mapper.invalidate();
  }

  /** The server's Kubernetes version and served group/versions: what `helm template` is told. */
  async capabilities(): Promise<{ kubeVersion: string; apiVersions: string[] }> {
    const get = async (path: string) => {
      const res = await this.send('GET', path);
      if (res.status >= 300) throw errorFromResponse(res.status, res.body, 'discover');
      return JSON.parse(res.body);
    };
    const [version, core, apis] = await Promise.all([get('/version'), get('/api'), get('/apis')]);
    const groups = (apis.groups ?? []) as { versions?: { groupVersion: string }[] }[];
    const apiVersions = [
      ...((core.versions ?? []) as string[]),
      ...groups.flatMap((g) => (g.versions ?? []).map((v) => v.groupVersion)),
    ];
    return { kubeVersion: String(version.gitVersion), apiVersions: [...new Set(apiVersions)].sort() };
  }

  async apply(obj: KubeObject, opts: ApplyOptions): Promise<KubeObject> {
    const ref = { apiVersion: obj.apiVersion, kind: obj.kind, ...obj.metadata };
    const info = await this.mustResolve(ref, 'apply');
    const query = new URLSearchParams({ fieldManager: opts.fieldManager });
    if (opts.force) query.set('force', 'true');
    if (opts.dryRun) query.set('dryRun', 'All');
    const path = `${resourcePath(info, obj.metadata.namespace, obj.metadata.name)}?${query}`;
    const res = await this.send('PATCH', path, JSON.stringify(obj), 'application/apply-patch+yaml');
    return this.expectObject(res, opts.dryRun ? 'dry-run apply' : 'apply', ref);
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    const info = await this.resourceFor(ref.apiVersion, ref.kind);
    if (!info) return undefined;
    const res = await this.send('GET', resourcePath(info, ref.namespace, ref.name));
    if (res.status === 404) return undefined;
    return this.expectObject(res, 'get', ref);
  }

  async list(apiVersion: string, kind: string, opts: ListOptions = {}): Promise<KubeObject[]> {
    const info = await this.resourceFor(apiVersion, kind);
    if (!info) return [];
    return this.listResource(info, opts);
  }

  async listResource(info: ResourceInfo, opts: ListOptions = {}): Promise<KubeObject[]> {
    const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
    const kind = info.kind;
    const items: KubeObject[] = [];
    let token = '';
    do {
      const query = new URLSearchParams({ limit: '1000' });
      if (opts.labelSelector) query.set('labelSelector', opts.labelSelector);
      if (token) query.set('continue', token);
      const res = await this.send('GET', `${resourcePath(info, opts.namespace)}?${query}`);
      if (res.status === 404) return [];
      if (res.status >= 300) throw errorFromResponse(res.status, res.body, 'list');
      const page = JSON.parse(res.body) as { items?: KubeObject[]; metadata?: { continue?: string } };
      // A LIST answer leaves apiVersion/kind off its items.
      for (const item of page.items ?? []) items.push({ ...item, apiVersion, kind });
      token = page.metadata?.continue ?? '';
    } while (token);
    return items;
  }

  async mergePatch(ref: ObjectRef, patch: unknown, fieldManager: string): Promise<KubeObject> {
    const info = await this.mustResolve(ref, 'patch');
    const query = new URLSearchParams({ fieldManager });
    const path = `${resourcePath(info, ref.namespace, ref.name)}?${query}`;
    const res = await this.send('PATCH', path, JSON.stringify(patch), 'application/merge-patch+json');
    return this.expectObject(res, 'patch', ref);
  }

  async delete(ref: ObjectRef, opts: DeleteOptions = {}): Promise<boolean> {
    const info = await this.resourceFor(ref.apiVersion, ref.kind);
    if (!info) return false;
    const body = JSON.stringify({
      propagationPolicy: opts.propagationPolicy ?? 'Background',
      ...(opts.preconditions ? { preconditions: opts.preconditions } : {}),
    });
    const res = await this.send(
      'DELETE',
      resourcePath(info, ref.namespace, ref.name),
      body,
      'application/json',
    );
    if (res.status === 404) return false;
    if (res.status >= 300) throw errorFromResponse(res.status, res.body, 'delete', ref);
    return true;
  }

  /** Closes idle keep-alive sockets so a CLI process can exit. */
  close(): void {
    this.agent?.destroy();
  }

  private async mustResolve(ref: ObjectRef, verb: string): Promise<ResourceInfo> {
    const info = await this.resourceFor(ref.apiVersion, ref.kind);
    if (info) return info;
    throw new KubeApiError({
      code: 404,
      reason: 'KindNotServed',
      message: `the cluster does not serve ${ref.kind} in ${ref.apiVersion}`,
      verb,
      object: ref,
    });
  }

  private expectObject(res: Response, verb: string, ref: ObjectRef): KubeObject {
    if (res.status >= 300) throw errorFromResponse(res.status, res.body, verb, ref);
    return JSON.parse(res.body) as KubeObject;
  }

  private async send(method: string, path: string, body?: string, contentType?: string): Promise<Response> {
    const opts = await this.access.requestOptions();
    this.agent ??= new https.Agent({ ...opts.tls, keepAlive: true, maxSockets: this.opts.maxSockets ?? 16 });
    const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
    if (contentType) headers['Content-Type'] = contentType;
    // An explicit length, never chunked: Go's server may leave an unread chunked body on a
    // keep-alive connection (e.g. after a 404), which breaks the next request on it.
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    this.requests++;
    return new Promise<Response>((resolve, reject) => {
      const req = https.request(
        {
          protocol: this.server.protocol,
          hostname: this.server.hostname,
          port: this.server.port,
          path: `${this.server.pathname.replace(/\/$/, '')}${path}`,
          method,
          headers,
          agent: this.agent,
          ...(opts.auth ? { auth: opts.auth } : {}),
          timeout: this.opts.timeoutMs ?? 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }
}
