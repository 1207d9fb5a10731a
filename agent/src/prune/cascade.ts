/**
 * What pruning a Namespace or a CRD takes with it: the apiserver deletes everything in the
 * Namespace and every custom resource of the CRD, so the mass-prune guard counts those too
 * (one Namespace holding 500 objects weighs 501, not 1). Counted with LISTs, only for the
 * Namespaces and CRDs a sync is about to prune; a kind the agent may not list counts as one object.
 */
import type { KubeClient } from '../kube/types.js';
import { type KubeObject, objectId } from '../model/object.js';

/** Kinds counted inside a Namespace, besides the ApplySet's own namespaced kinds. */
const NAMESPACED_KINDS: [string, string][] = [
  ['v1', 'ConfigMap'],
  ['v1', 'Secret'],
  ['v1', 'ServiceAccount'],
  ['v1', 'Service'],
  ['v1', 'Pod'],
  ['v1', 'PersistentVolumeClaim'],
  ['apps/v1', 'Deployment'],
  ['apps/v1', 'StatefulSet'],
  ['apps/v1', 'DaemonSet'],
  ['batch/v1', 'Job'],
  ['batch/v1', 'CronJob'],
  ['networking.k8s.io/v1', 'Ingress'],
  ['rbac.authorization.k8s.io/v1', 'Role'],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
];

/** Objects every Namespace gets from controllers, and objects owned by another: not counted twice. */
function counted(obj: KubeObject): boolean {
  if (Array.isArray(obj.metadata.ownerReferences) && obj.metadata.ownerReferences.length > 0) return false;
  if (obj.kind === 'ConfigMap' && obj.metadata.name === 'kube-root-ca.crt') return false;
  if (obj.kind === 'ServiceAccount' && obj.metadata.name === 'default') return false;
  return true;
}

async function listOrOne(client: KubeClient, apiVersion: string, kind: string, namespace?: string) {
  try {
    return { items: await client.list(apiVersion, kind, namespace ? { namespace } : {}), unknown: 0 };
  } catch {
    return { items: [], unknown: 1 };
  }
}

/**
 * For each Namespace and CRD in `remove`: how many objects besides those already in `remove` its
 * deletion would also delete. `extraKinds` are the ApplySet's kinds (`apiVersion`, `kind`).
 */
export async function cascadeCounts(
  client: KubeClient,
  remove: KubeObject[],
  extraKinds: [string, string][] = [],
): Promise<Map<string, number>> {
  const removing = new Set(remove.map(objectId));
  const out = new Map<string, number>();
  const kinds = [...new Map([...NAMESPACED_KINDS, ...extraKinds].map((k) => [k.join('|'), k])).values()];
  for (const obj of remove) {
    let taken = 0;
    if (obj.kind === 'Namespace' && obj.apiVersion === 'v1') {
      for (const [apiVersion, kind] of kinds) {
        const info = await client.resourceFor(apiVersion, kind).catch(() => undefined);
        if (!info?.namespaced) continue;
        const { items, unknown } = await listOrOne(client, apiVersion, kind, obj.metadata.name);
        taken += unknown + items.filter((o) => counted(o) && !removing.has(objectId(o))).length;
      }
    } else if (obj.kind === 'CustomResourceDefinition') {
      const spec = obj.spec as
        | { group?: string; names?: { kind?: string }; versions?: { name: string; storage?: boolean }[] }
        | undefined;
      const version = spec?.versions?.find((v) => v.storage)?.name ?? spec?.versions?.[0]?.name;
      if (spec?.group && spec.names?.kind && version) {
        const { items, unknown } = await listOrOne(client, `${spec.group}/${version}`, spec.names.kind);
        taken += unknown + items.filter((o) => !removing.has(objectId(o))).length;
      }
    }
    if (taken > 0) out.set(objectId(obj), taken);
  }
  return out;
}
