import type { KubeObject } from '../model/object.js';

/** Where a kind lives in the API: what discovery (the RESTMapper) says about it. */
export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  /** Plural resource name used in URLs, e.g. `deployments`. */
  resource: string;
  namespaced: boolean;
}

/** Enough to address one object. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** Options of one server-side apply: field manager, force, dry run. */
export interface ApplyOptions {
  fieldManager: string;
  force: boolean;
  dryRun?: boolean;
}

/** Options of one delete: propagation and the preconditions that make it safe. */
export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid: string; resourceVersion?: string };
}

/** Options of one list: namespace and label selector. */
export interface ListOptions {
  labelSelector?: string;
  namespace?: string;
}

/** The small Kubernetes API surface the sync engine needs. */
export interface KubeClient {
  /** Discovery: kind → resource and scope; undefined when the cluster does not serve the kind. */
  resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo | undefined>;
  /** Discovery by group and kind alone (the group's preferred version). */
  resourceForGroupKind(group: string, kind: string): Promise<ResourceInfo | undefined>;
  /** Forget cached discovery (after CRDs change). */
  invalidateDiscovery(): void;
  /** Server-side apply; returns the object the server stored (or would store, with dryRun). */
  apply(obj: KubeObject, opts: ApplyOptions): Promise<KubeObject>;
  /** undefined when the object does not exist. */
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  /** Every object of a kind (all namespaces unless `namespace`), following pagination. */
  list(apiVersion: string, kind: string, opts?: ListOptions): Promise<KubeObject[]>;
  /** JSON merge patch (RFC 7386). */
  mergePatch(ref: ObjectRef, patch: unknown, fieldManager: string): Promise<KubeObject>;
  /**
   * false when the object was already gone. With `preconditions` the apiserver deletes only the very
   * object that was read (same uid, and same resourceVersion when given) and answers 409 otherwise.
   */
  delete(ref: ObjectRef, opts?: DeleteOptions): Promise<boolean>;
  /** Count of HTTP requests sent so far (benchmarks and tests). */
  readonly requestCount: number;
}

/** The API address of an object (apiVersion, kind, namespace, name): what get, apply and delete take. */
export function refOf(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata.name,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
  };
}
