import type { ResourceInfo } from './types.js';

/** One entry of an APIResourceList as the apiserver serves it. */
interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** Fetches `/api/v1` or `/apis/GROUP/VERSION`; undefined when the group version is not served. */
export type FetchResourceList = (path: string) => Promise<{ resources: ApiResource[] } | undefined>;

/**
 * The API path of a group version: `/api/v1` for the core group, `/apis/GROUP/VERSION` otherwise.
 */
export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/**
 * Kind → resource mapping from discovery, one request per group version, cached.
 * A miss re-asks the server once, so a kind whose CRD was just established is found.
 * A failed request is never cached: an agent whose first discovery met an apiserver that was down
 * asks again on its next call instead of failing with the old error for ever.
 */
export class RestMapper {
  private readonly cache = new Map<string, Promise<Map<string, ResourceInfo> | undefined>>();
  private groups?: Promise<Map<string, string>>;

  constructor(private readonly fetchList: FetchResourceList) {}

  async resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    const cached = this.cache.get(apiVersion);
    if (cached) {
      const hit = (await cached.catch(() => undefined))?.get(kind);
      if (hit) return hit;
    }
    const fresh = this.load(apiVersion);
    this.cache.set(apiVersion, fresh);
    fresh.catch(() => {
      if (this.cache.get(apiVersion) === fresh) this.cache.delete(apiVersion);
    });
    return (await fresh)?.get(kind);
  }

  /** The served (preferred) version of a group-kind, for kinds known only by group and kind. */
  async resourceForGroupKind(group: string, kind: string): Promise<ResourceInfo | undefined> {
    if (!group) return this.resourceFor('v1', kind);
    let version = this.groups ? (await this.groups.catch(() => undefined))?.get(group) : undefined;
    if (!version) {
      const fresh = this.loadGroups();
      this.groups = fresh;
      fresh.catch(() => {
        if (this.groups === fresh) this.groups = undefined;
      });
      version = (await fresh).get(group);
    }
    return version ? this.resourceFor(`${group}/${version}`, kind) : undefined;
  }

  invalidate(): void {
    this.cache.clear();
    this.groups = undefined;
  }

  private async loadGroups(): Promise<Map<string, string>> {
    const list = (await this.fetchList('/apis')) as unknown as
      | { groups?: { name: string; preferredVersion?: { version: string } }[] }
      | undefined;
    const out = new Map<string, string>();
    for (const g of list?.groups ?? []) if (g.preferredVersion) out.set(g.name, g.preferredVersion.version);
    return out;
  }

  private async load(apiVersion: string): Promise<Map<string, ResourceInfo> | undefined> {
    const list = await this.fetchList(groupVersionPath(apiVersion));
    if (!list) return undefined;
    const slash = apiVersion.indexOf('/');
    const group = slash < 0 ? '' : apiVersion.slice(0, slash);
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    const byKind = new Map<string, ResourceInfo>();
    for (const r of list.resources) {
      if (r.name.includes('/')) continue; // subresources such as deployments/status
      byKind.set(r.kind, { group, version, kind: r.kind, resource: r.name, namespaced: r.namespaced });
    }
    return byKind;
  }
}

/** URL path of a collection or of one object. */
export function resourcePath(info: ResourceInfo, namespace: string | undefined, name?: string): string {
  const base = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const tail = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  return `${base}${ns}/${info.resource}${tail}`;
}
