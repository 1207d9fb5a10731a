/** Building the status report (docs/design.md §5) from the sources' latest status. */

import {
  type KubeCapabilities,
  MAX_REPORTED_API_VERSIONS,
  type PreviewStatus,
  type ReportInput,
  type SourceStatus,
} from '../../../contract/report.js';
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
  kube?: { kubeVersion?: string; apiVersions?: readonly string[] },
): ReportInput {
  const capabilities = kubeCapabilities(kube);
  return {
    cluster: identity.name,
    labels: identity.labels,
    ...(capabilities ? { kube: capabilities } : {}),
    seq,
    createdAt: now.toISOString(),
    agent,
    sources,
    previews,
  };
}

/** The discovered versions as the report carries them; nothing before the first discovery. */
function kubeCapabilities(kube?: {
  kubeVersion?: string;
  apiVersions?: readonly string[];
}): KubeCapabilities | undefined {
  if (!kube?.kubeVersion) return undefined;
  return {
    version: kube.kubeVersion.slice(0, 64),
    apiVersions: (kube.apiVersions ?? []).filter((v) => v.length <= 256).slice(0, MAX_REPORTED_API_VERSIONS),
  };
}
