/**
 * The hub's view of one pull-request ref across the fleet, as `GET /api/v1/previews/{ref}` returns
 * it: the shape a PR bot reads, and what the shared PR-comment renderer (pr-comment.ts) draws.
 */
import type { PreviewPlanEntry, ReportError } from './report.js';

/**
 * - `planned`: planned the PR's head commit.
 * - `failed`: the head did not render or could not be planned there.
 * - `stale`: its latest plan is of an older commit than the PR's head.
 * - `notReported`: no plan of this ref from that cluster yet (an offline agent, for one).
 * - `closed`: the agent saw the ref disappear.
 */
/** A cluster's standing for one ref. */
export type PreviewClusterState = 'planned' | 'failed' | 'stale' | 'notReported' | 'closed';
/** The states in the order a reader wants them: what needs attention first. */
export const PREVIEW_CLUSTER_STATES: PreviewClusterState[] = [
  'failed',
  'stale',
  'notReported',
  'planned',
  'closed',
];

/** One cluster's latest plan of the ref (or its silence). */
export interface PreviewClusterView {
  name: string;
  labels: Record<string, string>;
  state: PreviewClusterState;
  commit: string | null;
  plannedAt: string | null;
  receivedAt: string | null;
  /** Plan entries by action (`create`, `update`, `delete`, `conflict`, `error`, `unchanged`, …). */
  counts: Record<string, number>;
  /** Every entry that is not `unchanged`, as the agent reported it (Secret values already masked). */
  entries: PreviewPlanEntry[];
  error: ReportError | null;
  renderErrors: unknown[];
  /** Its wave under the planned commit's rollout rules, as its agent computed it; null: none or unknown. */
  wave?: { index: number; name: string } | null;
}

/** Every known cluster's standing for one ref. */
export interface PreviewView {
  ref: string;
  state: 'open' | 'closed';
  /** The newest commit any cluster planned for this ref: the PR's head as far as the hub knows. */
  headCommit: string | null;
  /** For a merged PR: the commit it was merged as, whose rollout shows the deployment. */
  mergedAs: string | null;
  total: number;
  counts: Record<PreviewClusterState, number>;
  clusters: PreviewClusterView[];
}

/** One line of the preview list: the view without its clusters, with the fleet's change counts. */
export type PreviewSummary = Omit<PreviewView, 'clusters'> & { changes: Record<string, number> };
