import type { ChangeGroup, ClusterPreview, ObjectChange } from './types.js';

/**
 * Two clusters belong together when their status, changes (values included) and errors are the
 * same. Which files produced a change may differ (a cluster's own overlay can restate a value).
 */
function fingerprint(p: ClusterPreview): string {
  return JSON.stringify([p.status, p.objects.map((o) => [o.id, o.action, o.changes]), p.errors]);
}

/** Keeps, per object, only the files every cluster of the group shares, so what is shown is true for all. */
function sharedFiles(objects: ObjectChange[], other: ObjectChange[]): ObjectChange[] {
  return objects.map((o, i) => {
    const theirs = new Set(other[i]?.files ?? []);
    return { ...o, files: o.files.filter((f) => theirs.has(f)) };
  });
}

const STATUS_ORDER = { failed: 0, fixed: 1, changed: 2, unchanged: 3 } as const;

/**
 * Clusters with identical changes, grouped so a reviewer reads each change once. Groups come
 * failed first, then by size (largest first), then by first cluster name: deterministic.
 */
export function groupChanges(clusters: readonly ClusterPreview[]): ChangeGroup[] {
  const groups = new Map<string, ChangeGroup>();
  const sorted = [...clusters].sort((a, b) => (a.cluster.name < b.cluster.name ? -1 : 1));
  for (const p of sorted) {
    const key = fingerprint(p);
    const group = groups.get(key);
    if (group) {
      group.clusters.push(p.cluster.name);
      group.objects = sharedFiles(group.objects, p.objects);
    } else {
      groups.set(key, {
        clusters: [p.cluster.name],
        status: p.status,
        counts: p.counts,
        objects: p.objects,
        errors: p.errors,
      });
    }
  }
  return [...groups.values()].sort(
    (a, b) =>
      STATUS_ORDER[a.status] - STATUS_ORDER[b.status] ||
      b.clusters.length - a.clusters.length ||
      (a.clusters[0]! < b.clusters[0]! ? -1 : 1),
  );
}
