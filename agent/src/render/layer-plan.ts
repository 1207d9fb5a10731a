import { type LabelSelector, matchesSelector } from '../../../contract/selector.js';
import type { ClusterIdentity } from '../model/object.js';
import type { ParsedDocument } from './documents.js';
import type { DocumentRef, DroppedObject } from './provenance.js';
import { factsOf, isPatchDocument, type RenderEntry, resolvesFor } from './read.js';

/**
 * What a layer's resources give a cluster, the same for every cluster that reads its documents
 * alike: the objects defined (values read later, per cluster), the ones its selector drops, and
 * the Patch documents to read and apply for that cluster. Entries and provenance are frozen and
 * shared by those clusters' renders.
 */
export interface LayerPlan {
  objects: ReadonlyMap<string, RenderEntry>;
  dropped: readonly DroppedObject[];
  patches: readonly ParsedDocument[];
}

/**
 * Whom a layer's documents read alike: clusters for which the same variables resolve and the same
 * cluster selectors match. Absent when a resource document's checks depend on the cluster in
 * another way, or fail.
 */
interface LayerShape {
  variables: string[];
  selectors: LabelSelector[];
  plans: Map<string, LayerPlan | null>;
}

const shapes = new WeakMap<readonly ParsedDocument[], LayerShape | null>();
const NONE = Object.freeze([]) as never[];

/** Where a document was defined (file, document index, line), for provenance and errors. */
export const documentRefOf = (doc: ParsedDocument): DocumentRef => ({
  file: doc.file,
  doc: doc.index,
  line: doc.locate([]).line,
  ...(doc.builtBy ? { builtBy: doc.builtBy } : {}),
});

/** The layer's plan for this cluster, or undefined when it must be read document by document. */
export function planLayer(docs: readonly ParsedDocument[], dir: string, cluster: ClusterIdentity) {
  let shape = shapes.get(docs);
  if (shape === undefined) {
    shape = shapeOf(docs);
    shapes.set(docs, shape);
  }
  if (!shape) return undefined;
  const key = [
    ...shape.variables.map((v) => (resolvesFor([v], cluster) ? '1' : '0')),
    '|',
    ...shape.selectors.map((s) => (matchesSelector(s, cluster.labels) ? '1' : '0')),
  ].join('');
  let plan = shape.plans.get(key);
  if (plan === undefined) {
    plan = planFor(docs, dir, cluster) ?? null;
    shape.plans.set(key, plan);
  }
  return plan ?? undefined;
}

function shapeOf(docs: readonly ParsedDocument[]): LayerShape | null {
  const variables = new Set<string>();
  const selectors = new Set<LabelSelector>();
  for (const doc of docs) {
    if (isPatchDocument(doc)) continue;
    const { fixed, template } = factsOf(doc);
    const result = template?.result ?? fixed?.result;
    if (result?.type !== 'resource' || (fixed && fixed.errors.length > 0)) return null;
    for (const v of template?.variables ?? []) variables.add(v);
    if (result.clusterSelector) selectors.add(result.clusterSelector);
  }
  return { variables: [...variables], selectors: [...selectors], plans: new Map() };
}

/** Reads the layer's resources as `renderLayer` would; undefined when one fails for this cluster (duplicates, variables). */
function planFor(
  docs: readonly ParsedDocument[],
  dir: string,
  cluster: ClusterIdentity,
): LayerPlan | undefined {
  const objects = new Map<string, RenderEntry>();
  const dropped: DroppedObject[] = [];
  const patches: ParsedDocument[] = [];
  for (const doc of docs) {
    if (isPatchDocument(doc)) {
      patches.push(doc);
      continue;
    }
    const { fixed, template } = factsOf(doc);
    if (template && !resolvesFor(template.variables, cluster)) return undefined;
    const result = (template?.result ?? fixed?.result)!;
    if (result.type !== 'resource') return undefined;
    const definedAt = Object.freeze(documentRefOf(doc));
    if (result.clusterSelector && !matchesSelector(result.clusterSelector, cluster.labels)) {
      dropped.push(Object.freeze({ id: result.id, definedAt, reason: 'cluster-selector does not match' }));
      continue;
    }
    if (objects.has(result.id)) return undefined;
    const provenance = Object.freeze({ layer: dir, definedAt, replaced: NONE, patches: NONE });
    const entry: RenderEntry = {
      id: result.id,
      provenance,
      source: doc,
      view: result.object,
      viewHasLabels: !template?.labelsVary,
    };
    objects.set(result.id, Object.freeze(entry));
  }
  return { objects, dropped, patches };
}
