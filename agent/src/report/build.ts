/** Building the status report (docs/design.md §5) from the sources' latest status. */

import type { PreviewStatus, ReportInput, SourceStatus } from '../../../contract/report.js';
import type { ClusterIdentity } from '../model/object.js';

/** The agent's identity in a report: version and start time. */
export interface AgentInfo {
  version: string;
  startedAt: string;
}

/** Every report is a full snapshot of the cluster's sources, so the latest one alone tells the truth. */
export const SNAPSHOT_KEY = 'snapshot';

/** One report of every source's latest sections and the live previews, with its sequence number. */
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
