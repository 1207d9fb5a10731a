import type { ClusterIdentity } from '../model/object.js';
import type { FileTree } from '../source/tree.js';
import type { ParsedDocument } from './documents.js';
import type { RenderError } from './errors.js';
import { isHelmChartDocument, isHelmChartPatch } from './helm-chart.js';
import {
  type ChartReport,
  type ClusterCapabilities,
  type RenderedChart,
  renderChart,
} from './helm-render.js';
import { stackCharts } from './helm-stack.js';
import type { Layer } from './layers.js';
import type { DroppedObject } from './provenance.js';
import type { RenderTools } from './tools.js';

/** Whether a layer's documents hold a HelmChart or a patch of one (then the render takes two passes). */
export const usesCharts = (docs: readonly ParsedDocument[]) =>
  docs.some((d) => isHelmChartDocument(d) || isHelmChartPatch(d));

/** The layers after their charts are rendered: documents with each chart's objects in its place. */
export interface ChartsInLayers {
  /** Each layer's documents with every HelmChart replaced by its objects (in its place) and HelmChart patches removed. */
  docs: Map<string, readonly ParsedDocument[]>;
  charts: ChartReport[];
  /** Repository folders read besides the layers. */
  reads: string[];
  dropped: DroppedObject[];
  errors: RenderError[];
}

/** What one renderer keeps between clusters: rendered charts and layer document lists, so equal inputs share them. */
export interface ChartMemo {
  charts: Map<string, RenderedChart>;
  layers: Map<string, readonly ParsedDocument[]>;
}

/** An empty chart memo, one per renderer. */
export const createChartMemo = (): ChartMemo => ({ charts: new Map(), layers: new Map() });

/**
 * Stacks every HelmChart over the cluster's layers, renders each once with its final values, and
 * gives each layer its documents with the charts' objects in place. A cluster whose charts render
 * alike gets the very same document lists as the others, so layer plans stay shared.
 */
export async function expandCharts(
  tree: FileTree,
  layers: { layer: Layer; docs: readonly ParsedDocument[] }[],
  cluster: ClusterIdentity,
  tools: RenderTools,
  caps: ClusterCapabilities,
  maxFileBytes: number,
  memo: ChartMemo,
): Promise<ChartsInLayers> {
  const stacked = stackCharts(layers, cluster);
  const errors = [...stacked.errors];
  const reports: ChartReport[] = [];
  const reads: string[] = [];
  const byDefiner = new Map<ParsedDocument, RenderedChart>();
  for (const chart of stacked.charts.values()) {
    const rendered = await renderChart(tree, chart, tools, caps, maxFileBytes, memo.charts);
    errors.push(...rendered.errors);
    if (rendered.report) reports.push(rendered.report);
    reads.push(...(rendered.reads ?? []));
    byDefiner.set(chart.definedBy, rendered);
  }
  const docs = new Map<string, readonly ParsedDocument[]>();
  for (const { layer, docs: layerDocs } of layers) {
    if (!usesCharts(layerDocs)) {
      docs.set(layer.dir, layerDocs);
      continue;
    }
    const keyParts: string[] = [layer.dir];
    const out: ParsedDocument[] = [];
    layerDocs.forEach((doc, i) => {
      if (isHelmChartPatch(doc)) return;
      if (!isHelmChartDocument(doc)) {
        out.push(doc);
        return;
      }
      const rendered = byDefiner.get(doc);
      if (!rendered) return;
      keyParts.push(`${i}=${rendered.key ?? 'failed'}`);
      out.push(...rendered.docs);
    });
    const key = keyParts.join('\0');
    let shared = memo.layers.get(key);
    if (!shared) {
      shared = out;
      memo.layers.set(key, shared);
    }
    docs.set(layer.dir, shared);
  }
  return { docs, charts: reports, reads, dropped: stacked.dropped, errors };
}
