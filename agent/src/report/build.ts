/** Building the status report (docs/design.md §5) from the sources' latest status. */

import type { PreviewStatus, ReportInput, SourceStatus } from '../../../contract/report.js';
import type { ClusterIdentity } from '../model/object.js';

export interface AgentInfo {
  version: string;
  startedAt: string;
}

/** Every report is a full snapshot of the cluster's sources, so the latest one alone tells the truth. */
export const SNAPSHOT_KEY = 'snapshot';

export function buildReport(
  identity: ClusterIdentity,
  agent: AgentInfo,
  sources: SourceStatus[],
  previews: PreviewStatus[],
  seq: number,
  now: Date,
): ReportInput {
  return {
    cluster: identity.name,
    labels: identity.labels,
    seq,
    createdAt: now.toISOString(),
    agent,
    sources,
    previews,
  };
}
