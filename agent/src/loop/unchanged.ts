/**
 * The no-op shortcut of the pipeline: a reconcile whose render inputs (commit, source settings,
 * cluster identity, cluster versions) are those of the last sync that found everything in sync,
 * and whose cluster reads back the same resourceVersions (parent and every member), would render
 * the same objects and compare them with the same live objects: it skips render and plan and
 * reports the last sync's outcome again. Any write to a member (an out-of-band edit, a deletion,
 * a status change) moves a resourceVersion, so drift is still found on the next reconcile.
 */
import type { SourceConfig } from '../config/schema.js';
import type { ClusterIdentity } from '../model/object.js';
import type { ClusterCapabilities } from '../render/helm-render.js';
import { type LiveEvidence, sameEvidence } from '../sync/evidence.js';
import type { SourceSections } from './types.js';

/** What the last quiet sync of one source rendered from and read. */
export interface QuietSync {
  inputs: string;
  evidence: LiveEvidence;
  sections: SourceSections;
  /** Reconciles skipped since that sync. */
  skipped: number;
}

/** Everything a render reads besides the cluster: equal strings render the same objects. */
export function renderInputs(
  source: SourceConfig,
  commit: string,
  identity: ClusterIdentity,
  capabilities: ClusterCapabilities | undefined,
): string {
  return JSON.stringify({ commit, source, identity, capabilities: capabilities ?? null });
}

/**
 * Whether a reconcile of `inputs` may ask the cluster for evidence at all: the same inputs, and
 * fewer than `fullVerifyEvery - 1` skips in a row, so every `fullVerifyEvery`-th reconcile still
 * renders and dry-runs everything (0: no periodic full verify).
 */
export function maySkip(last: QuietSync | undefined, inputs: string, fullVerifyEvery: number): boolean {
  if (!last || last.inputs !== inputs) return false;
  return fullVerifyEvery <= 0 || last.skipped + 1 < fullVerifyEvery;
}

/** The full reconcile this one must be: the one that ends a run of skips verifies everything. */
export function mustFullVerify(
  last: QuietSync | undefined,
  inputs: string,
  fullVerifyEvery: number,
): boolean {
  return Boolean(
    last && last.inputs === inputs && fullVerifyEvery > 0 && !maySkip(last, inputs, fullVerifyEvery),
  );
}

/**
 * Whether the cluster is as the last quiet sync left it: same parent and member resourceVersions.
 */
export function unchangedSince(last: QuietSync, now: LiveEvidence): boolean {
  return sameEvidence(last.evidence, now);
}

/** The last sync's sections again, timed as this reconcile. */
export function repeatSections(last: QuietSync, startedAt: Date, finishedAt: Date): SourceSections {
  return {
    ...last.sections,
    sync: { ...last.sections.sync, startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString() },
  };
}
