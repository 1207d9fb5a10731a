import type { ClusterIdentity } from '../model/object.js';
import type { ClusterCapabilities } from '../render/helm-render.js';
import type { RenderFailure, RenderResult } from '../render/provenance.js';
import { createParseCache, createRenderer, type EntriesResult, type Renderer } from '../render/render.js';
import type { RenderTools } from '../render/tools.js';
import type { FileTree } from '../source/tree.js';
import { countChanges, diffObjects, diffRenders } from './diff.js';
import { previewRollout } from './rollout.js';
import { sameSource } from './same-document.js';
import { SameInput } from './same-input.js';
import type { ClusterPreview, FleetPreview, ObjectChange, PreviewSide } from './types.js';

/** What an offline preview needs: both trees, the clusters and the render options. */
export interface FleetPreviewInput {
  base: { tree: FileTree } & PreviewSide;
  head: { tree: FileTree } & PreviewSide;
  clusters: readonly ClusterIdentity[];
  /**
   * Render every object of both refs for every cluster and compare them all, with no shortcut:
   * slow; the reference the default is tested against.
   */
  full?: boolean;
  /** kustomize and helm, shared by every cluster's render: each distinct input runs once. */
  tools?: RenderTools;
  capabilities?: (cluster: ClusterIdentity) => ClusterCapabilities;
}

const failed = (cluster: ClusterIdentity, head: RenderFailure): ClusterPreview => ({
  cluster,
  status: 'failed',
  counts: { create: 0, update: 0, delete: 0 },
  objects: [],
  errors: head.errors.map((e) => e.toJSON()),
});

const compared = (cluster: ClusterIdentity, baseOk: boolean, objects: ObjectChange[]): ClusterPreview => ({
  cluster,
  status: !baseOk ? 'fixed' : objects.length > 0 ? 'changed' : 'unchanged',
  counts: countChanges(objects),
  objects,
  errors: [],
});

/** One cluster's preview from its two renders. */
export function previewCluster(
  cluster: ClusterIdentity,
  base: RenderResult,
  head: RenderResult,
): ClusterPreview {
  if (!head.ok) return failed(cluster, head);
  return compared(cluster, base.ok, diffRenders(base.ok ? base.objects : [], head.objects));
}

/** The same from renders whose values are read only for objects that may differ. */
function previewEntries(cluster: ClusterIdentity, base: EntriesResult, head: EntriesResult): ClusterPreview {
  if (!head.ok) return failed(cluster, head);
  if (!base.ok)
    return compared(
      cluster,
      false,
      diffObjects(new Map(), head.entries, { base: head.objectOf, head: head.objectOf }),
    );
  const read = { base: base.objectOf, head: head.objectOf, same: sameSource };
  return compared(cluster, true, diffObjects(base.entries, head.entries, read));
}

const unchanged = (cluster: ClusterIdentity): ClusterPreview => ({
  cluster,
  status: 'unchanged',
  counts: { create: 0, update: 0, delete: 0 },
  objects: [],
  errors: [],
});

/**
 * Renders both refs for every cluster and diffs them. Each side has one renderer, so every layer
 * file is read once for the whole fleet, and a file with the same content in both refs is parsed
 * once for both. The head is rendered first: a cluster whose head fails needs no base render, and
 * one whose layers are identical in both commits (a PR touching another region) needs neither a
 * base render nor a diff. Otherwise only objects that can differ are computed and compared: an
 * object no patch changed, defined by equal documents on both sides, is the same value.
 */
export async function previewFleet(input: FleetPreviewInput): Promise<FleetPreview> {
  const clusters = [...input.clusters].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const { previews, renderers } = input.full
    ? await previewFully(input, clusters)
    : await previewChanges(input, clusters);
  const rollout = await rolloutOf(renderers, clusters);
  return {
    base: { ref: input.base.ref, ...(input.base.commit ? { commit: input.base.commit } : {}) },
    head: { ref: input.head.ref, ...(input.head.commit ? { commit: input.head.commit } : {}) },
    ...(rollout ? { rollout } : {}),
    clusters: previews,
  };
}

/** The waves of both sides, from the strata.yaml each renderer read already. */
async function rolloutOf(renderers: { base: Renderer; head: Renderer }, clusters: ClusterIdentity[]) {
  const [base, head] = await Promise.all([renderers.base.fleetConfig(), renderers.head.fleetConfig()]);
  return previewRollout(base.config?.rollout, head.config?.rollout, clusters);
}

const toolOptions = (input: FleetPreviewInput) => ({
  ...(input.tools ? { tools: input.tools } : {}),
  ...(input.capabilities ? { capabilities: input.capabilities } : {}),
});

async function previewChanges(input: FleetPreviewInput, clusters: ClusterIdentity[]) {
  const parseCache = createParseCache();
  const baseRenderer = createRenderer(input.base.tree, { parseCache, sops: 'opaque', ...toolOptions(input) });
  const headRenderer = createRenderer(input.head.tree, { parseCache, sops: 'opaque', ...toolOptions(input) });
  const sameInput = new SameInput(input.base.tree, input.head.tree);
  const previews: ClusterPreview[] = [];
  for (const cluster of clusters) {
    const head = await headRenderer.renderEntries(cluster);
    const dirs = head.ok
      ? [...head.layers.flatMap((l) => (l.dir ? [l.dir] : [])), ...(head.reads ?? [])]
      : [];
    if (head.ok && (await sameInput.same(dirs))) {
      previews.push(unchanged(cluster));
      continue;
    }
    const base = head.ok ? await baseRenderer.renderEntries(cluster) : head;
    previews.push(previewEntries(cluster, base, head));
  }
  return { previews, renderers: { base: baseRenderer, head: headRenderer } };
}

async function previewFully(input: FleetPreviewInput, clusters: ClusterIdentity[]) {
  const baseRenderer = createRenderer(input.base.tree, {
    readEagerly: true,
    sops: 'opaque',
    ...toolOptions(input),
  });
  const headRenderer = createRenderer(input.head.tree, {
    readEagerly: true,
    sops: 'opaque',
    ...toolOptions(input),
  });
  const previews: ClusterPreview[] = [];
  for (const cluster of clusters) {
    previews.push(
      previewCluster(cluster, await baseRenderer.render(cluster), await headRenderer.render(cluster)),
    );
  }
  return { previews, renderers: { base: baseRenderer, head: headRenderer } };
}
