import { groupOf, type KubeObject, objectId } from '../model/object.js';

/** `strata.dev/prune: "false"` on an object keeps it when it leaves the repository. */
export const PRUNE_ANNOTATION = 'strata.dev/prune';

/** The guard on large deletions: the most objects one sync may prune unless allowed. */
export interface PruneSafety {
  /** Largest share of the ApplySet one sync may delete (0–1). */
  maxFraction: number;
  /** Delete even above maxFraction. */
  allowLarge: boolean;
}

/** Which ApplySet members to delete and which to keep, or why pruning was refused. */
export interface PruneSelection {
  /** Members the render no longer holds, to delete (unless `refused`). */
  remove: KubeObject[];
  /** Members the render no longer holds but that ask to be kept (`strata.dev/prune: "false"`). */
  keep: KubeObject[];
  /** Why nothing may be deleted this time, when that is the case: then neither `remove` nor `keep` is acted on. */
  refused?: string;
}

/**
 * Which ApplySet members to prune. Never anything when the render failed or is empty, and nothing
 * at all when the deletion would exceed the allowed share of the set.
 */
export function selectPrune(
  members: KubeObject[],
  desiredIds: Set<string>,
  render: { failed: boolean },
  safety: PruneSafety,
  /** Objects a member's deletion also takes (a Namespace's contents, a CRD's resources), by member id. */
  cascade: Map<string, number> = new Map(),
): PruneSelection {
  const gone = members.filter((m) => !desiredIds.has(objectId(m)));
  const keep = gone.filter((m) => m.metadata.annotations?.[PRUNE_ANNOTATION] === 'false');
  const remove = gone.filter((m) => m.metadata.annotations?.[PRUNE_ANNOTATION] !== 'false');
  if (remove.length === 0) return { remove, keep };
  if (render.failed) return { remove, keep, refused: 'the render failed; nothing is pruned' };
  if (desiredIds.size === 0) {
    return {
      remove,
      keep,
      refused: `the render produced no objects; refusing to prune all ${remove.length} members`,
    };
  }
  // A Namespace or CRD weighs what its deletion takes with it, on both sides of the fraction.
  const taken = remove.reduce((n, m) => n + (cascade.get(objectId(m)) ?? 0), 0);
  const fraction = (remove.length + taken) / (members.length + taken);
  if (fraction > safety.maxFraction && !safety.allowLarge) {
    const also = taken > 0 ? ` (and ${taken} objects inside the Namespaces and CRDs among them)` : '';
    return {
      remove,
      keep,
      refused:
        `pruning ${remove.length} of ${members.length} members${also} (${Math.round(fraction * 100)}%) exceeds the ` +
        `limit of ${Math.round(safety.maxFraction * 100)}%; allow it explicitly to proceed`,
    };
  }
  return { remove, keep };
}

const DELETE_ORDER = ['namespaced', 'cluster', 'Namespace', 'CustomResourceDefinition'];

/** Dependents go first: namespaced objects, cluster-scoped ones, Namespaces, and CRDs last. */
export function deletionRank(obj: KubeObject): number {
  if (obj.kind === 'CustomResourceDefinition') return DELETE_ORDER.indexOf('CustomResourceDefinition');
  if (obj.kind === 'Namespace' && obj.apiVersion === 'v1') return DELETE_ORDER.indexOf('Namespace');
  return obj.metadata.namespace ? 0 : 1;
}

/** An object whose kind prune may not touch (`allow`: `*`, `group/*`, `group/Kind`) carries the keep annotation. */
export function protectFromPrune(object: KubeObject, allow: string[]): KubeObject {
  const group = groupOf(object.apiVersion);
  const allowed = allow.some((a) => a === '*' || a === `${group}/*` || a === `${group}/${object.kind}`);
  if (allowed) return object;
  const annotations = { ...object.metadata.annotations, [PRUNE_ANNOTATION]: 'false' };
  return { ...object, metadata: { ...object.metadata, annotations } };
}
