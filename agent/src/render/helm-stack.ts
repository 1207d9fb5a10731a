import { matchesSelector } from '../../../contract/selector.js';
import type { ClusterIdentity, KubeObject } from '../model/object.js';
import { errorAt } from './classify.js';
import type { ParsedDocument } from './documents.js';
import type { RenderError } from './errors.js';
import { isHelmChartDocument, isHelmChartPatch } from './helm-chart.js';
import { documentRefOf } from './layer-plan.js';
import type { Layer } from './layers.js';
import { applyPatchDocument } from './patches.js';
import type { DocumentRef, DroppedObject } from './provenance.js';
import { type RenderEntry, readDocument } from './read.js';
import { cloneJson } from './variables.js';

/** Where one Helm value was last set: the document (and line) and the value's path. */
export interface ValueSource extends DocumentRef {
  path: string;
}

/** A HelmChart after every layer: its final value, the document whose position its objects take, who set each value. */
export interface StackedChart {
  id: string;
  object: KubeObject;
  /** The last full definition: the chart's objects join the render in its layer, in its place. */
  definedBy: ParsedDocument;
  layer: string;
  entry: RenderEntry;
  /** By value path (`image.tag`), the document that set it last. */
  values: Map<string, ValueSource>;
}

/** Each HelmChart after the layers' patches of it are merged, with what was dropped and why. */
export interface StackResult {
  charts: Map<string, StackedChart>;
  dropped: DroppedObject[];
  errors: RenderError[];
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Leaf paths of a values map (a list, an empty map or a scalar is a leaf, as Helm merges them whole). */
function leaves(value: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (isMap(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) leaves(v, [...prefix, k], out);
  } else if (prefix.length > 0) out.push(prefix);
  return out;
}

/** Records that `doc` set these paths: a path it sets replaces what it, or anything under it, had. */
function recordSets(
  values: Map<string, ValueSource>,
  doc: ParsedDocument,
  base: (string | number)[],
  paths: string[][],
) {
  for (const path of paths) {
    const key = path.join('.');
    for (const k of [...values.keys()])
      if (k === key || k.startsWith(`${key}.`) || key.startsWith(`${k}.`)) values.delete(k);
    const ref = documentRefOf(doc);
    values.set(key, { ...ref, line: doc.locate([...base, ...path]).line, path: key });
  }
}

function jsonPatchPaths(ops: unknown): string[][] {
  if (!Array.isArray(ops)) return [];
  return ops.flatMap((op) => {
    const path = isMap(op) && typeof op.path === 'string' ? op.path : '';
    if (!path.startsWith('/values/')) return [];
    return [
      path
        .slice('/values/'.length)
        .split('/')
        .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~')),
    ];
  });
}

/**
 * The first pass of a render with charts: every layer's HelmChart documents and the Patches that
 * target `kind: HelmChart`, read for this cluster in layer order exactly as resources and patches
 * are (later definitions replace, patches merge into `values`, selectors and `delete` apply). Only
 * then are charts rendered, so a region's or a cluster's values reach the chart, and the chart's
 * objects still join the render in the defining layer, where later layers can patch them.
 */
export function stackCharts(
  layers: { layer: Layer; docs: readonly ParsedDocument[] }[],
  cluster: ClusterIdentity,
): StackResult {
  const entries = new Map<string, RenderEntry>();
  const definers = new Map<
    string,
    { doc: ParsedDocument; layer: string; values: Map<string, ValueSource> }
  >();
  const errors: RenderError[] = [];
  const dropped: DroppedObject[] = [];
  for (const { layer, docs } of layers) {
    const definedHere = new Set<string>();
    for (const doc of docs) {
      const chart = isHelmChartDocument(doc);
      if (!chart && !isHelmChartPatch(doc)) continue;
      const read = readDocument(doc, cluster, true);
      errors.push(...read.errors);
      const result = read.result;
      if (!result || read.errors.length > 0) continue;
      if (result.clusterSelector && !matchesSelector(result.clusterSelector, cluster.labels)) {
        if (result.type === 'resource')
          dropped.push({
            id: result.id,
            definedAt: documentRefOf(doc),
            reason: 'cluster-selector does not match',
          });
        continue;
      }
      if (result.type === 'resource') {
        if (definedHere.has(result.id)) {
          errors.push(
            errorAt(doc, [], 'duplicate', `${result.id} is defined twice in layer '${layer.dir}'`, {
              object: result.id,
            }),
          );
          continue;
        }
        definedHere.add(result.id);
        const earlier = entries.get(result.id);
        const replaced = earlier
          ? [
              ...earlier.provenance.replaced,
              { layer: earlier.provenance.layer, ...earlier.provenance.definedAt },
            ]
          : [];
        const object = read.object ?? cloneJson(result.object);
        entries.set(result.id, {
          id: result.id,
          object,
          provenance: { layer: layer.dir, definedAt: documentRefOf(doc), replaced, patches: [] },
        });
        const values = new Map<string, ValueSource>();
        recordSets(values, doc, ['values'], leaves((object as Record<string, unknown>).values));
        definers.set(result.id, { doc, layer: layer.dir, values });
        continue;
      }
      const before = new Map(entries);
      const applied = applyPatchDocument(doc, result.patch, entries, (w) => w.object!);
      errors.push(...applied.errors);
      for (const d of applied.deleted) {
        definers.delete(d.id);
        dropped.push({
          id: d.id,
          definedAt: d.provenance.definedAt,
          reason: `deleted by ${doc.file} (doc ${doc.index})`,
        });
      }
      for (const [id, entry] of entries) {
        if (before.get(id) === entry) continue;
        const values = definers.get(id)?.values;
        if (!values) continue;
        const merge = result.patch.merge;
        if (merge && Object.hasOwn(merge, 'values'))
          recordSets(values, doc, ['merge', 'values'], leaves(merge.values));
        if (result.patch.jsonPatch)
          recordSets(values, doc, ['jsonPatch'], jsonPatchPaths(result.patch.jsonPatch));
      }
    }
  }
  const charts = new Map<string, StackedChart>();
  for (const [id, entry] of entries) {
    const definer = definers.get(id);
    if (!definer) continue;
    charts.set(id, {
      id,
      object: entry.object!,
      definedBy: definer.doc,
      layer: definer.layer,
      entry,
      values: definer.values,
    });
  }
  return { charts, dropped, errors };
}
