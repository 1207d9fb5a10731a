import { createHash } from 'node:crypto';
import { groupOf, type KubeObject } from '../model/object.js';
import { VERSION } from '../version.js';

// KEP-3659 names, as kubectl reads them.
/** The ApplySet membership label on every object Strata applied (KEP-3659). */
export const PART_OF_LABEL = 'applyset.kubernetes.io/part-of';
/** The ApplySet id label on the parent object (KEP-3659). */
export const ID_LABEL = 'applyset.kubernetes.io/id';
/**
 * The parent's annotation naming the tool that manages the set, so another tool leaves it alone.
 */
export const TOOLING_ANNOTATION = 'applyset.kubernetes.io/tooling';
/** The parent's list of kinds its members have: where prune looks for members. */
export const GROUP_KINDS_ANNOTATION = 'applyset.kubernetes.io/contains-group-kinds';
/** The parent's list of namespaces its members live in besides its own. */
export const NAMESPACES_ANNOTATION = 'applyset.kubernetes.io/additional-namespaces';

/** Where the ApplySet's parent object lives: a Secret in the agent's namespace. */
export interface ApplySetParentRef {
  name: string;
  namespace: string;
}

/**
 * The name of the ApplySet parent Secret that `owner` (an agent's source, or the cluster of a
 * one-shot `strata apply`) records its objects under. Changing it orphans every applied object.
 */
export function applySetName(owner: string): string {
  return `strata-${owner}`;
}

/** The recorded inventory: which kinds and namespaces may hold members. */
export interface ApplySetInventory {
  groupKinds: string[];
  namespaces: string[];
}

/**
 * The ApplySet id per KEP-3659: `applyset-<base64url(sha256(name.namespace.kind.group))>-v1`,
 * unpadded, computed from the parent's identity so every tool derives the same value.
 */
export function applySetId(parent: ApplySetParentRef, kind = 'Secret', group = ''): string {
  const digest = createHash('sha256').update(`${parent.name}.${parent.namespace}.${kind}.${group}`).digest();
  return `applyset-${digest.toString('base64url')}-v1`;
}

/** `Deployment.apps`, or just `Namespace` for the core group: the KEP's group-kind form. */
export function groupKindOf(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): string {
  const group = groupOf(obj.apiVersion);
  return group ? `${obj.kind}.${group}` : obj.kind;
}

/** `Kind.group` as the annotation writes it, into group and kind. */
export function parseGroupKind(gk: string): { group: string; kind: string } {
  const dot = gk.indexOf('.');
  return dot < 0 ? { group: '', kind: gk } : { group: gk.slice(dot + 1), kind: gk.slice(0, dot) };
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The inventory a parent object records (kinds and namespaces); empty when it has none. */
export function inventoryOf(parent: KubeObject | undefined): ApplySetInventory {
  const annotations = parent?.metadata.annotations ?? {};
  return {
    groupKinds: splitList(annotations[GROUP_KINDS_ANNOTATION]),
    namespaces: splitList(annotations[NAMESPACES_ANNOTATION]),
  };
}

/** Both inventories together: kept while members of an old and a new one may both exist. */
export function unionInventory(a: ApplySetInventory, b: ApplySetInventory): ApplySetInventory {
  return {
    groupKinds: [...new Set([...a.groupKinds, ...b.groupKinds])].sort(),
    namespaces: [...new Set([...a.namespaces, ...b.namespaces])].sort(),
  };
}

/** What a set of member objects needs recorded; the parent's own namespace is implied. */
export function inventoryFor(objects: KubeObject[], parent: ApplySetParentRef): ApplySetInventory {
  const groupKinds = new Set<string>();
  const namespaces = new Set<string>();
  for (const obj of objects) {
    groupKinds.add(groupKindOf(obj));
    const ns = obj.metadata.namespace;
    if (ns && ns !== parent.namespace) namespaces.add(ns);
  }
  return { groupKinds: [...groupKinds].sort(), namespaces: [...namespaces].sort() };
}

/** Whether two inventories list the same kinds and namespaces, in any order. */
export function sameInventory(a: ApplySetInventory, b: ApplySetInventory): boolean {
  return (
    a.groupKinds.join(',') === b.groupKinds.join(',') && a.namespaces.join(',') === b.namespaces.join(',')
  );
}

/** The parent Secret as Strata applies it. */
export function parentObject(parent: ApplySetParentRef, inventory: ApplySetInventory): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: parent.name,
      namespace: parent.namespace,
      labels: { [ID_LABEL]: applySetId(parent) },
      annotations: {
        [TOOLING_ANNOTATION]: `strata/v${VERSION}`,
        [GROUP_KINDS_ANNOTATION]: inventory.groupKinds.join(','),
        [NAMESPACES_ANNOTATION]: inventory.namespaces.join(','),
      },
    },
  };
}

/** A copy of a desired object labelled as a member of the set. */
export function withMembership(obj: KubeObject, id: string): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, labels: { ...obj.metadata.labels, [PART_OF_LABEL]: id } } };
}
