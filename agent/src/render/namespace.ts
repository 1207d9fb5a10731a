import type { ParsedDocument } from './documents.js';
import table from './merge-keys.generated.json' with { type: 'json' };

/**
 * Whether a kind is cluster-scoped or namespaced; undefined when the cluster's discovery does not
 * say.
 */
export type Scope = 'Cluster' | 'Namespaced' | undefined;
/** Whether a kind lives outside namespaces; undefined when the caller does not know it. */
export type ScopeOf = (apiVersion: string, kind: string) => Scope;
/** The same question put to a cluster's discovery, which answers asynchronously. */
export type DiscoverScope = (apiVersion: string, kind: string) => Scope | Promise<Scope>;

const CLUSTER_SCOPED = new Set<string>(table.clusterScoped);
const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Kubernetes' own kinds, as its OpenAPI spec serves them. */
export const builtInScope: ScopeOf = (apiVersion, kind) => {
  if (CLUSTER_SCOPED.has(`${apiVersion}/${kind}`)) return 'Cluster';
  return undefined;
};

/** The scopes the CustomResourceDefinitions among `docs` declare, by `group/Kind`. */
function crdScopes(docs: readonly ParsedDocument[]): Map<string, string> {
  const scopes = new Map<string, string>();
  for (const { value } of docs) {
    if (!isMap(value) || value.kind !== 'CustomResourceDefinition' || !isMap(value.spec)) continue;
    const { group, names, scope } = value.spec;
    if (
      typeof group === 'string' &&
      isMap(names) &&
      typeof names.kind === 'string' &&
      typeof scope === 'string'
    ) {
      scopes.set(`${group}/${names.kind}`, scope);
    }
  }
  return scopes;
}

/**
 * Asks `discover` once for each kind of `docs` that neither Kubernetes' OpenAPI table nor the
 * layer's CRDs place, and returns the answers as a synchronous ScopeOf.
 */
export async function discoverScopes(
  docs: readonly ParsedDocument[],
  discover: DiscoverScope,
): Promise<ScopeOf> {
  const crds = crdScopes(docs);
  const answers = new Map<string, Scope>();
  for (const { value } of docs) {
    if (!isMap(value) || typeof value.apiVersion !== 'string' || typeof value.kind !== 'string') continue;
    const key = `${value.apiVersion}/${value.kind}`;
    if (answers.has(key) || value.apiVersion.startsWith('strata.dev/')) continue;
    if (builtInScope(value.apiVersion, value.kind) || crds.has(`${groupOf(value.apiVersion)}/${value.kind}`))
      continue;
    answers.set(key, await discover(value.apiVersion, value.kind));
  }
  return (apiVersion, kind) => answers.get(`${apiVersion}/${kind}`);
}

const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');

const cache = new WeakMap<readonly ParsedDocument[], Map<string, ParsedDocument[]>>();

/**
 * A layer's documents with its default namespace given to every namespaced object that has none,
 * as `kubectl apply -n NAMESPACE` does. Cluster-scoped kinds are known from Kubernetes' OpenAPI
 * spec, from `scopeOf` (the agent's discovery) and from the CRDs in the same layer; a kind known
 * from none of them is taken as namespaced, as kustomize's namespace setting does. Objects that
 * name their namespace keep it, and Strata's own documents (Patch) are left alone.
 */
export function withDefaultNamespace(
  docs: readonly ParsedDocument[],
  namespace: string,
  scopeOf?: ScopeOf,
): readonly ParsedDocument[] {
  let byNamespace = cache.get(docs);
  const cached = scopeOf ? undefined : byNamespace?.get(namespace);
  if (cached) return cached;
  const crds = crdScopes(docs);
  const clusterScoped = (apiVersion: string, kind: string) => {
    const scope =
      scopeOf?.(apiVersion, kind) ??
      builtInScope(apiVersion, kind) ??
      crds.get(`${groupOf(apiVersion)}/${kind}`);
    return scope === 'Cluster';
  };
  const result = docs.map((doc) => {
    const value = doc.value;
    if (!isMap(value) || typeof value.apiVersion !== 'string' || typeof value.kind !== 'string') return doc;
    if (value.apiVersion.startsWith('strata.dev/') || clusterScoped(value.apiVersion, value.kind)) return doc;
    const metadata = value.metadata;
    if (metadata !== undefined && !isMap(metadata)) return doc;
    if (metadata?.namespace !== undefined && metadata.namespace !== null && metadata.namespace !== '')
      return doc;
    return { ...doc, value: { ...value, metadata: { ...metadata, namespace } } };
  });
  if (!scopeOf) {
    byNamespace ??= new Map();
    byNamespace.set(namespace, result);
    cache.set(docs, byNamespace);
  }
  return result;
}
