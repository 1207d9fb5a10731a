import type { ApiserverReason } from '../kube/errors.js';
import type { ObjectRef } from '../kube/types.js';
import type { FieldChange } from './diff.js';

/** What a plan does to one object. */
export type PlanAction = 'create' | 'update' | 'replace' | 'unchanged' | 'delete' | 'conflict' | 'error';

/** A field another manager owns that a non-forced apply would fight over. */
export interface FieldConflict {
  field: string;
  manager: string;
  message: string;
}

/**
 * Why the engine could not plan, apply or prune one object, when the apiserver's reason is not
 * the answer: an immutable field (the object must be replaced), a bad `strata.dev/*` annotation,
 * a kind the cluster does not serve, discovery or listing that failed, a CRD that never became
 * established, an earlier wave that blocked this one, a replacement that did not finish, the same
 * object rendered twice, or an error of our own.
 */
export type EnginePlanReason =
  | 'Immutable'
  | 'BadAnnotation'
  | 'KindNotServed'
  | 'DiscoveryFailed'
  | 'ListFailed'
  | 'NotEstablished'
  | 'DependencyFailed'
  | 'WaveBlocked'
  | 'ReplaceTimeout'
  | 'Duplicate'
  | 'InternalError'
  // An error entry that carried no reason, as a pull-request preview shows it.
  | 'Error';

/** A plan error's reason: one of ours, or the apiserver's (`Invalid`, `NotFound`, …). */
export type PlanReason = EnginePlanReason | ApiserverReason;

/** Why one object cannot be planned or applied, with the apiserver's code when it answered. */
export interface PlanError {
  /** One of ours (`EnginePlanReason`) or the apiserver's. */
  reason: PlanReason;
  message: string;
  code?: number;
}

/** One object's line in a plan: its action, field changes, conflicts, drift and wave. */
export interface PlanEntry {
  /** Canonical `group/Kind/namespace/name`. */
  id: string;
  ref: ObjectRef;
  action: PlanAction;
  /** Field-level changes (update, conflict, replace). Secret values are never included. */
  changes: FieldChange[];
  /** Fields other managers own that a non-forced apply would conflict on. */
  conflicts?: FieldConflict[];
  /** The live object moved away from what Strata last applied (someone else changed it). */
  drift?: boolean;
  error?: PlanError;
  /** delete entries: the member is kept because it says `strata.dev/prune: "false"`. */
  kept?: boolean;
  /** The plan could not dry-run this object yet: its CRD is part of the same sync. */
  awaitsCrd?: string;
  /** The plan could not dry-run this object yet: its Namespace is created by the same sync. */
  awaitsNamespace?: string;
  wave: number;
}

/** The plan of one ApplySet: every entry, the prune candidates and any refusal to prune. */
export interface Plan {
  entries: PlanEntry[];
  /** Why prune entries will not be carried out, when they will not. */
  pruneRefused?: string;
  /** How the plan was obtained: dry-runs sent vs objects settled from the cache. */
  stats: { dryRuns: number; fromCache: number; fullVerify: boolean };
}

/** Counts by action, e.g. for a summary line. */
export function countActions(entries: PlanEntry[]): Record<PlanAction, number> {
  const counts: Record<PlanAction, number> = {
    create: 0,
    update: 0,
    replace: 0,
    unchanged: 0,
    delete: 0,
    conflict: 0,
    error: 0,
  };
  for (const e of entries) counts[e.action]++;
  return counts;
}

/** Entries the apply step acts on (everything that changes the cluster except prunes). */
export function needsApply(entry: PlanEntry): boolean {
  return (
    entry.action === 'create' ||
    entry.action === 'update' ||
    entry.action === 'replace' ||
    entry.action === 'conflict'
  );
}
