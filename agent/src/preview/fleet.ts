import type { ClusterIdentity } from '../model/object.js';
import type { RenderResult } from '../render/provenance.js';
import { createRenderer } from '../render/render.js';
import type { FileTree } from '../source/tree.js';
import { countChanges, diffRenders } from './diff.js';
import { SameInput } from './same-input.js';
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
 * file is read and parsed once for the whole fleet, not once per cluster. The head is rendered
 * first: a cluster whose head fails needs no base render, and one whose layers are identical in
 * both commits (a PR touching another region) needs neither a base render nor a diff.
 */
export async function previewFleet(input: FleetPreviewInput): Promise<FleetPreview> {
  const baseRenderer = createRenderer(input.base.tree);
  const headRenderer = createRenderer(input.head.tree);
  const sameInput = new SameInput(input.base.tree, input.head.tree);
  const clusters = [...input.clusters].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const previews: ClusterPreview[] = [];
  for (const cluster of clusters) {
    const head = await headRenderer.render(cluster);
    if (head.ok && (await sameInput.same(head.layers.flatMap((l) => (l.dir ? [l.dir] : []))))) {
      previews.push({
        cluster,
        status: 'unchanged',
        counts: { create: 0, update: 0, delete: 0 },
        objects: [],
        errors: [],
      });
      continue;
    }
    const base = head.ok ? await baseRenderer.render(cluster) : head;
    previews.push(previewCluster(cluster, base, head));
  }
  return {
    base: { ref: input.base.ref, ...(input.base.commit ? { commit: input.base.commit } : {}) },
    head: { ref: input.head.ref, ...(input.head.commit ? { commit: input.head.commit } : {}) },
    clusters: previews,
  };
}
