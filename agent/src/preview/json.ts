import { groupChanges } from './group.js';
import type { ClusterPreviewStatus, FleetPreview } from './types.js';

/** The preview as a JSON document: every cluster's full diff, plus which clusters share identical changes. */
export function formatJson(preview: FleetPreview): string {
  const count = (s: ClusterPreviewStatus) => preview.clusters.filter((c) => c.status === s).length;
  const doc = {
    base: preview.base,
    head: preview.head,
    ...(preview.rollout ? { rollout: preview.rollout } : {}),
    summary: {
      clusters: preview.clusters.length,
      changed: count('changed') + count('fixed'),
      unchanged: count('unchanged'),
      failed: count('failed'),
    },
    clusters: preview.clusters,
    groups: groupChanges(preview.clusters).map((g) => ({
      clusters: g.clusters,
      status: g.status,
      counts: g.counts,
    })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
