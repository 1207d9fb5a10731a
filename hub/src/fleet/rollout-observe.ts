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
  /**
   * Failed or Degraded on the commit, since. A failure after the cluster was first healthy on the
   * commit stays counted (flapping is failing). One before it was ever healthy is cleared by a
   * report on the commit that is no longer failed: the commit's first reports can still show what
   * the previous commit broke (a status its controller has not caught up with, the previous health
   * kept by a sync that failed to start), and the commit is judged by its own reports only.
   */
  failedAt: number | null;
  /** When the hub told this cluster the commit is released to it (later waves only). */
  releasedAt: number | null;
}

/** The observation of a cluster that has not applied, passed or failed the commit yet. */
export const EMPTY_OBSERVATION: RolloutObservation = {
  appliedAt: null,
  healthySince: null,
  firstHealthyAt: null,
  failedAt: null,
  releasedAt: null,
};

/** Where one report puts a cluster on a commit. */
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
  const firstHealthyAt = standing === 'healthy' ? (previous.firstHealthyAt ?? at) : previous.firstHealthyAt;
  return {
    appliedAt: previous.appliedAt ?? at,
    healthySince: standing === 'healthy' ? (previous.healthySince ?? at) : null,
    firstHealthyAt,
    failedAt: standing === 'failed' ? (previous.failedAt ?? at) : stillCounted(previous),
    releasedAt: previous.releasedAt,
  };
}

/** A failure that a report no longer failed leaves counted: only one after the first healthy report. */
function stillCounted(previous: RolloutObservation): number | null {
  const { failedAt, firstHealthyAt } = previous;
  return failedAt !== null && firstHealthyAt !== null && failedAt >= firstHealthyAt ? failedAt : null;
}

/** Whether two observations are equal, so an unchanged one is not written again. */
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
