import type { ClusterIdentity } from '../model/object.js';
import type { FieldChange } from '../plan/diff.js';
import type { RenderErrorFields } from '../render/errors.js';
import type { RolloutPreview } from './rollout.js';

/** What merging the head would do to one object. */
export type ObjectAction = 'create' | 'update' | 'delete';

/** What merging the head would do to one object. */
export interface ObjectChange {
  /** Canonical `group/Kind/namespace/name`. */
  id: string;
  action: ObjectAction;
  /** Field-level changes of an update (Secret values never included, only the key that changed). */
  changes: FieldChange[];
  /** Files that define or patch the object on the side that has it (head, or base for deletes). */
  files: string[];
}

/**
 * - `changed` / `unchanged`: both refs render; the diff is or is not empty.
 * - `failed`: the head does not render for this cluster (an agent would keep the base).
 * - `fixed`: the base did not render but the head does; changes are against nothing.
 */
export type ClusterPreviewStatus = 'changed' | 'unchanged' | 'failed' | 'fixed';

/** Objects created, changed and deleted. */
export interface ChangeCounts {
  create: number;
  update: number;
  delete: number;
}

/** One cluster's preview: its status, counts, changed objects and render errors. */
export interface ClusterPreview {
  cluster: ClusterIdentity;
  status: ClusterPreviewStatus;
  counts: ChangeCounts;
  /** Sorted by object id. */
  objects: ObjectChange[];
  /** Head render errors, with file, document and line (status `failed`). */
  errors: RenderErrorFields[];
}

/** One side of the comparison: the ref as asked for and the commit it resolved to. */
export interface PreviewSide {
  ref: string;
  commit?: string;
}

/** Clusters whose changes are identical, shown once. */
export interface ChangeGroup {
  /** Cluster names, sorted. */
  clusters: string[];
  status: ClusterPreviewStatus;
  counts: ChangeCounts;
  objects: ObjectChange[];
  errors: RenderErrorFields[];
}

/** The whole offline preview: both sides and every cluster. */
export interface FleetPreview {
  base: PreviewSide;
  head: PreviewSide;
  /** The staged rollout the merge would start (waves, clusters per wave, rule changes); absent without waves. */
  rollout?: RolloutPreview;
  /** Every cluster, sorted by name. */
  clusters: ClusterPreview[];
}
