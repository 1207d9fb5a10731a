/**
 * PURE: an ApplySet member is an object that carries the part-of label *and* that Strata's field
 * manager applied. The label alone is not enough: `kubectl get -o yaml` copies it onto objects
 * Strata never applied, and prune must not take those.
 */
import type { KubeObject } from '../model/object.js';

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
}

/** True when `fieldManager` holds fields of the object through server-side apply. */
export function appliedBy(obj: KubeObject, fieldManager: string): boolean {
  const entries = obj.metadata.managedFields as ManagedFieldsEntry[] | undefined;
  return (entries ?? []).some((e) => e.manager === fieldManager && e.operation === 'Apply');
}
