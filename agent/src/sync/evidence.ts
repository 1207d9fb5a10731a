/**
 * What the cluster looked like to a plan, as resourceVersions: the ApplySet parent's and every
 * object the member LISTs returned. The apiserver moves an object's resourceVersion on every
 * write (spec, metadata or status), so two snapshots that are equal mean no member and no parent
 * was written, created or deleted in between.
 */
import { type ApplySetParentRef, applySetId } from '../inventory/applyset.js';
import { describeScope, listMembers } from '../inventory/members.js';
import { readParent } from '../inventory/parent.js';
import type { KubeClient } from '../kube/types.js';
import { type KubeObject, objectId } from '../model/object.js';

/** The resourceVersions a plan read: the ApplySet parent's and every listed member's. */
export interface LiveEvidence {
  /** The parent's resourceVersion; '' while there is no parent. */
  parent: string;
  /** The group-kinds the member LISTs covered, as the parent records them. */
  groupKinds: string[];
  /** resourceVersion of every listed object, by object id. */
  members: Map<string, string>;
  /** The member scopes (kind and namespace) that could not be listed, sorted. */
  unreadable: string[];
}

/** The evidence of one plan's reads: the parent and every listed object. */
export function evidenceOf(
  parent: KubeObject | undefined,
  groupKinds: string[],
  listed: KubeObject[],
  unreadable: string[] = [],
): LiveEvidence {
  return {
    parent: parent ? versionOf(parent) : '',
    groupKinds: [...groupKinds].sort(),
    members: new Map(listed.map((o) => [objectId(o), versionOf(o)])),
    unreadable: [...unreadable].sort(),
  };
}

const versionOf = (o: KubeObject) =>
  typeof o.metadata.resourceVersion === 'string' ? o.metadata.resourceVersion : '';

/**
 * The same reads a plan starts with (one GET of the parent, one LIST per recorded kind and
 * namespace), nothing more. A scope that cannot be listed is recorded as unreadable: the same
 * scope unreadable the same way, with everything else equal, is the same evidence.
 */
export async function readEvidence(client: KubeClient, applySet: ApplySetParentRef): Promise<LiveEvidence> {
  const parent = await readParent(client, applySet);
  const { groupKinds } = parent.inventory;
  // readParent refuses a Secret that is not this ApplySet's parent, so its members carry this id.
  const listed = parent.object
    ? await listMembers(client, applySetId(applySet), applySet, parent.inventory)
    : [];
  return evidenceOf(
    parent.object,
    groupKinds,
    listed.flatMap((l) => l.items),
    listed.filter((l) => l.error !== undefined).map((l) => describeScope(l.scope)),
  );
}

/** Whether nothing of the set was written, created or deleted between two plans. */
export function sameEvidence(a: LiveEvidence, b: LiveEvidence): boolean {
  if (a.parent !== b.parent || a.members.size !== b.members.size) return false;
  if (a.groupKinds.join('\n') !== b.groupKinds.join('\n')) return false;
  if (a.unreadable.join('\n') !== b.unreadable.join('\n')) return false;
  // An object without a resourceVersion proves nothing: never equal.
  for (const [id, rv] of a.members) if (!rv || b.members.get(id) !== rv) return false;
  return a.parent !== '';
}
