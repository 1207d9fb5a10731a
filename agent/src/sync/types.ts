import type { ApplyEvent, ApplyResultKind } from '../apply/apply.js';
import type { HealthSummary, SyncPhase } from '../health/phase.js';
import type { ObjectStatus } from '../health/status.js';
import type { Plan, PlanError, PlanReason } from '../plan/types.js';
import type { PruneOutcome } from '../prune/prune.js';
import type { LiveEvidence } from './evidence.js';

/** Why a sync reports an error: one object's plan, apply or prune error, or a render that failed. */
export type SyncReason = PlanReason | 'RenderFailed';

/** One error of a sync, about one object when it has an id. */
export interface SyncError {
  /** Object identity, when the error is about one object. */
  id?: string;
  reason: SyncReason;
  message: string;
}

/** A field another manager owns, which the sync did not take. */
export interface SyncConflict {
  id: string;
  field: string;
  manager: string;
  message: string;
}

/** An object someone else changed, and whether the sync corrected it or only reported it. */
export interface SyncDrift {
  id: string;
  /** Paths of the fields that differ; never their values. */
  fields: string[];
  action: 'corrected' | 'reported';
}

/** The health of a sync's objects: the aggregate and each object's status. */
export interface SyncHealth {
  status: HealthSummary;
  objects: { id: string; status: ObjectStatus; message: string }[];
}

/** The outcome of one sync (plan → apply → prune → health) of one ApplySet. */
export interface SyncResult {
  phase: SyncPhase;
  startedAt: string;
  finishedAt: string;
  plan: Plan;
  /** Per applied object; never the object itself (it may be a Secret). */
  applied: { id: string; result: ApplyResultKind; error?: PlanError }[];
  pruned: PruneOutcome[];
  pruneRefused?: string;
  counts: {
    created: number;
    updated: number;
    replaced: number;
    pruned: number;
    kept: number;
    unchanged: number;
    failed: number;
  };
  conflicts: SyncConflict[];
  errors: SyncError[];
  drift: SyncDrift[];
  health: SyncHealth;
  stats: { requests: number; dryRuns: number; fromCache: number; fullVerify: boolean };
  /**
   * Set only when the sync found everything in sync and wrote nothing: the resourceVersions its
   * plan read, for a later reconcile of the same render to compare with (agent/src/loop).
   */
  evidence?: LiveEvidence;
}

/** Progress of a sync as it happens, for the CLI and logs. */
export type SyncEvent =
  | ApplyEvent
  | { type: 'planned'; plan: Plan }
  | { type: 'pruned'; outcome: PruneOutcome }
  | { type: 'prune-refused'; reason: string };
