/**
 * What the hub remembers of one cluster on one rollout's commit, folded report by report. Pure:
 * the store calls it inside the transaction that saves the report, so every replica folds the same
 * reports into the same record.
 */
import type { Report } from '../../../contract/report.js';
import type { ReportSummary } from './summary.js';

/** One cluster's standing on a rollout commit; times are hub receipt times, epoch ms. */
export interface RolloutObservation {
  /** First report whose sync ran this commit. */
  appliedAt: number | null;
  /** Healthy (Synced and Healthy) without a break since; null while not healthy. */
  healthySince: number | null;
  /** First report healthy on the commit (kept, for the progress deadline). */
  firstHealthyAt: number | null;
  /** First report Failed or Degraded on the commit. A failure stays counted: flapping is failing. */
  failedAt: number | null;
  /** When the hub told this cluster the commit is released to it (later waves only). */
  releasedAt: number | null;
}

export const EMPTY_OBSERVATION: RolloutObservation = {
  appliedAt: null,
  healthySince: null,
  firstHealthyAt: null,
  failedAt: null,
  releasedAt: null,
};

export type CommitStanding = 'healthy' | 'progressing' | 'failed';

/** Where a report puts the cluster on `commit`: null when no source of the report ran it. */
export function standingOn(commit: string, summary: ReportSummary): CommitStanding | null {
  const running = summary.sources.filter((s) => s.commit === commit);
  if (running.length === 0) return null;
  if (running.some((s) => s.phase === 'Failed' || s.phase === 'Degraded' || s.health === 'Degraded'))
    return 'failed';
  return running.every((s) => s.phase === 'Synced' && s.health === 'Healthy') ? 'healthy' : 'progressing';
}

/** The record after one more report received at `at`. A report that did not run the commit ends a healthy streak. */
export function observe(
  previous: RolloutObservation,
  standing: CommitStanding | null,
  at: number,
): RolloutObservation {
  if (standing === null) return { ...previous, healthySince: null };
  return {
    appliedAt: previous.appliedAt ?? at,
    healthySince: standing === 'healthy' ? (previous.healthySince ?? at) : null,
    firstHealthyAt: standing === 'healthy' ? (previous.firstHealthyAt ?? at) : previous.firstHealthyAt,
    failedAt: standing === 'failed' ? (previous.failedAt ?? at) : previous.failedAt,
    releasedAt: previous.releasedAt,
  };
}

export function sameObservation(a: RolloutObservation, b: RolloutObservation): boolean {
  return (
    a.appliedAt === b.appliedAt &&
    a.healthySince === b.healthySince &&
    a.firstHealthyAt === b.firstHealthyAt &&
    a.failedAt === b.failedAt &&
    a.releasedAt === b.releasedAt
  );
}

/** The rollout commits a report speaks of (sources with waves only), with the cluster's standing on each. */
export function rolloutPairs({
  report,
  summary,
}: {
  report: Report;
  summary: ReportSummary;
}): [string, CommitStanding | null][] {
  const commits = new Set<string>();
  for (const source of report.sources) {
    if (!source.rollout) continue;
    commits.add(source.rollout.commit);
    if (source.sync) commits.add(source.sync.commit);
  }
  return [...commits].map((c) => [c, standingOn(c, summary)]);
}
