import type { KubeClient } from '../kube/types.js';
import type { KubeObject } from '../model/object.js';
import {
  type ApplySetInventory,
  type ApplySetParentRef,
  applySetId,
  ID_LABEL,
  inventoryOf,
  parentObject,
} from './applyset.js';

/** The ApplySet parent as read from the cluster: whether it exists and what it records. */
export interface ParentState {
  /** The live parent Secret; undefined before the first sync. */
  object?: KubeObject;
  inventory: ApplySetInventory;
}

/** Reads the parent; a Secret of that name that is not our ApplySet's parent is an error, never overwritten. */
export async function readParent(client: KubeClient, ref: ApplySetParentRef): Promise<ParentState> {
  const object = await client.get({ apiVersion: 'v1', kind: 'Secret', ...ref });
  if (!object) return { inventory: { groupKinds: [], namespaces: [] } };
  const id = object.metadata.labels?.[ID_LABEL];
  if (id !== applySetId(ref)) {
    throw new Error(
      `Secret ${ref.namespace}/${ref.name} exists but is not this ApplySet's parent (label ${ID_LABEL}=${id ?? '(none)'}); choose another ApplySet name`,
    );
  }
  return { object, inventory: inventoryOf(object) };
}

/** Records the inventory on the parent, creating the parent (and its namespace) when needed. */
export async function writeParent(
  client: KubeClient,
  ref: ApplySetParentRef,
  inventory: ApplySetInventory,
  fieldManager: string,
): Promise<KubeObject> {
  if (!(await client.get({ apiVersion: 'v1', kind: 'Namespace', name: ref.namespace }))) {
    await client.apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ref.namespace } },
      { fieldManager, force: false },
    );
  }
  return client.apply(parentObject(ref, inventory), { fieldManager, force: true });
}
