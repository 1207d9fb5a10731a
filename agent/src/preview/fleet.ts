import type { ClusterIdentity } from '../model/object.js';
import type { RenderResult } from '../render/provenance.js';
import { createRenderer } from '../render/render.js';
import type { FileTree } from '../source/tree.js';
import { countChanges, diffRenders } from './diff.js';
import type { ClusterPreview, FleetPreview, PreviewSide } from './types.js';

export interface FleetPreviewInput {
  base: { tree: FileTree } & PreviewSide;
  head: { tree: FileTree } & PreviewSide;
  clusters: readonly ClusterIdentity[];
}

/** One cluster's preview from its two renders. */
export function previewCluster(
  cluster: ClusterIdentity,
  base: RenderResult,
  head: RenderResult,
): ClusterPreview {
  if (!head.ok) {
    return {
      cluster,
      status: 'failed',
      counts: { create: 0, update: 0, delete: 0 },
      objects: [],
      errors: head.errors.map((e) => e.toJSON()),
    };
  }
  const objects = diffRenders(base.ok ? base.objects : [], head.objects);
  const status = !base.ok ? 'fixed' : objects.length > 0 ? 'changed' : 'unchanged';
  return { cluster, status, counts: countChanges(objects), objects, errors: [] };
}

/**
 * Renders both refs for every cluster and diffs them. Each side has one renderer, so every layer
 * file is read and parsed once for the whole fleet, not once per cluster.
 */
export async function previewFleet(input: FleetPreviewInput): Promise<FleetPreview> {
  const baseRenderer = createRenderer(input.base.tree);
  const headRenderer = createRenderer(input.head.tree);
  const clusters = [...input.clusters].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const previews: ClusterPreview[] = [];
  for (const cluster of clusters) {
    const [base, head] = await Promise.all([baseRenderer.render(cluster), headRenderer.render(cluster)]);
    previews.push(previewCluster(cluster, base, head));
  }
  return {
    base: { ref: input.base.ref, ...(input.base.commit ? { commit: input.base.commit } : {}) },
    head: { ref: input.head.ref, ...(input.head.commit ? { commit: input.head.commit } : {}) },
    clusters: previews,
  };
}
