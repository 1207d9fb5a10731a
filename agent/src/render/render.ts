import { createHash } from 'node:crypto';
import type { ClusterIdentity } from '../model/object.js';
import { matchesSelector } from '../model/selector.js';
import type { FileTree } from '../source/tree.js';
import { type Classified, classifyDocument, errorAt, type PatchSpec } from './classify.js';
import { type ParsedDocument, type ParsedFile, parseYamlFile } from './documents.js';
import { RenderError } from './errors.js';
import { DEFAULT_MAX_FILE_BYTES, readLayerFiles, readRootFile } from './files.js';
import { FLEET_FILE, type FleetConfig, type Layer, parseFleetConfig, resolveLayers } from './layers.js';
import { applyPatchDocument, type WorkingObject } from './patches.js';
import type { DocumentRef, DroppedObject, LayerReport, RenderResult } from './provenance.js';
import { cloneJson, containsVariables, substituteVariables, type VariableProblem } from './variables.js';

export interface RenderOptions {
  /** Largest file read, in bytes (default 5 MiB). */
  maxFileBytes?: number;
  /**
   * Hand out objects that no patch changed without copying them: they are shared between the
   * renders of one renderer and deeply frozen. For read-only callers such as previews; off by default,
   * so every render's objects are its own to change.
   */
  shareObjects?: boolean;
  /**
   * Parsed files shared between renderers, e.g. the base and head commits of a preview: a file
   * with the same path and content in both is parsed once. From `createParseCache()`.
   */
  parseCache?: ParseCache;
}

/** Parsed YAML files by path and content, shared between renderers. */
export type ParseCache = Map<string, ParsedFile>;

export function createParseCache(): ParseCache {
  return new Map();
}

function parseCached(cache: ParseCache | undefined, path: string, text: string): ParsedFile {
  if (!cache) return parseYamlFile(path, text);
  const key = `${path}\0${createHash('sha256').update(text).digest('base64')}`;
  let parsed = cache.get(key);
  if (!parsed) {
    parsed = parseYamlFile(path, text);
    cache.set(key, parsed);
  }
  return parsed;
}

/** Renders many clusters from one tree, reading and parsing each file once for all of them. */
export interface Renderer {
  render(cluster: ClusterIdentity): Promise<RenderResult>;
}

/** A layer folder's documents, parsed once and shared by every cluster's render. */
interface ParsedLayer {
  docs: ParsedDocument[];
  errors: RenderError[];
}

interface ClusterRender {
  cluster: ClusterIdentity;
  objects: Map<string, WorkingObject>;
  errors: RenderError[];
  dropped: DroppedObject[];
}

export function createRenderer(tree: FileTree, options: RenderOptions = {}): Renderer {
  const limits = { maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES };
  let fleet: Promise<{ config?: FleetConfig; errors: RenderError[] }> | undefined;
  const layerCache = new Map<string, Promise<ParsedLayer | undefined>>();

  const loadFleet = async () => {
    const text = await readRootFile(tree, FLEET_FILE, limits);
    if (text === undefined) return parseFleetConfig([]);
    if (text instanceof RenderError) return { errors: [text] };
    const parsed = parseYamlFile(FLEET_FILE, text);
    if (parsed.errors.length > 0) return { errors: parsed.errors };
    return parseFleetConfig(parsed.docs);
  };

  const loadLayer = async (dir: string): Promise<ParsedLayer | undefined> => {
    const read = await readLayerFiles(tree, dir, limits);
    if (!read) return undefined;
    const layer: ParsedLayer = { docs: [], errors: [...read.errors] };
    for (const file of read.files) {
      const parsed = parseCached(options.parseCache, file.path, file.text);
      layer.docs.push(...parsed.docs);
      layer.errors.push(...parsed.errors);
    }
    return layer;
  };

  const layerOf = (dir: string) => {
    let cached = layerCache.get(dir);
    if (!cached) {
      cached = loadLayer(dir);
      layerCache.set(dir, cached);
    }
    return cached;
  };

  return {
    async render(cluster) {
      fleet ??= loadFleet();
      const { config, errors: configErrors } = await fleet;
      if (!config) return { ok: false, errors: configErrors };
      const { layers } = resolveLayers(config, cluster);
      const state: ClusterRender = { cluster, objects: new Map(), errors: [], dropped: [] };
      const reports: LayerReport[] = [];
      for (const layer of layers) {
        if ('reason' in layer) {
          reports.push({ template: layer.template, used: false, reason: layer.reason });
          continue;
        }
        const parsed = await layerOf(layer.dir);
        reports.push({
          template: layer.template,
          dir: layer.dir,
          used: parsed !== undefined,
          ...(parsed ? {} : { reason: 'no such folder' }),
        });
        if (!parsed) continue;
        state.errors.push(...parsed.errors);
        renderLayer(state, layer, parsed.docs, options.shareObjects === true);
      }
      if (!reports.some((l) => l.used)) state.errors.push(noLayerFound(config, reports));
      if (state.errors.length > 0) return { ok: false, errors: state.errors };
      const objects = [...state.objects.values()].map(({ id, object, provenance }) => ({
        id,
        object,
        provenance,
      }));
      return { ok: true, objects, layers: reports, dropped: state.dropped };
    },
  };
}

/** Renders one cluster: `createRenderer(tree).render(cluster)`. */
export function renderCluster(
  tree: FileTree,
  cluster: ClusterIdentity,
  options?: RenderOptions,
): Promise<RenderResult> {
  return createRenderer(tree, options).render(cluster);
}

/** A cluster for which not one layer folder exists is almost always a wrong repository or sub-path. */
function noLayerFound(config: FleetConfig, reports: LayerReport[]): RenderError {
  const where = config.layers[0]?.declaredAt;
  const looked =
    reports.flatMap((l) => (l.dir ? [l.dir] : [])).join(', ') || 'nothing: every layer was skipped';
  return new RenderError({
    code: 'config',
    ...(where ? { file: where.file, doc: where.doc } : {}),
    message: `no layer folder exists for this cluster (looked for ${looked}); is this the fleet repository?`,
  });
}

const refOf = (doc: ParsedDocument): DocumentRef => ({
  file: doc.file,
  doc: doc.index,
  line: doc.locate([]).line,
});

/** A document without `${…}` reads the same for every cluster: it is checked once and only copied per cluster. */
const clusterIndependent = new WeakMap<ParsedDocument, { result?: Classified; errors: RenderError[] }>();

function readDocument(
  doc: ParsedDocument,
  cluster: ClusterIdentity,
  share: boolean,
): { result?: Classified; errors: RenderError[] } {
  let shared = clusterIndependent.get(doc);
  if (!shared && !containsVariables(doc.value)) {
    shared = classifyDocument(doc, cloneJson(doc.value));
    if (shared.result) deepFreeze(shared.result);
    clusterIndependent.set(doc, shared);
  }
  if (shared) {
    const { result, errors } = shared;
    if (result?.type !== 'resource' || share) return shared;
    return { result: { ...result, object: cloneJson(result.object) }, errors };
  }
  const problems: VariableProblem[] = [];
  const value = substituteVariables(doc.value, cluster, problems);
  const errors = problems.map((p) => errorAt(doc, p.path, 'variable', p.message));
  const classified = classifyDocument(doc, value);
  return { result: classified.result, errors: [...errors, ...classified.errors] };
}

/** Shared documents are frozen so that no render, and no caller, can change them for the others. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Adds a layer's resources (later layers replace earlier definitions), then applies its patches in order. */
function renderLayer(state: ClusterRender, layer: Layer, docs: ParsedDocument[], share: boolean): void {
  const definedHere = new Map<string, ParsedDocument>();
  const patches: { doc: ParsedDocument; patch: PatchSpec }[] = [];
  for (const doc of docs) {
    const { result, errors } = readDocument(doc, state.cluster, share);
    state.errors.push(...errors);
    if (!result || errors.length > 0) continue;
    if (result.clusterSelector && !matchesSelector(result.clusterSelector, state.cluster.labels)) {
      if (result.type === 'resource') {
        state.dropped.push({
          id: result.id,
          definedAt: refOf(doc),
          reason: 'cluster-selector does not match',
        });
      }
      continue;
    }
    if (result.type === 'patch') {
      patches.push({ doc, patch: result.patch });
      continue;
    }
    const first = definedHere.get(result.id);
    if (first) {
      const message = `${result.id} is defined twice in layer '${layer.dir}'`;
      state.errors.push(
        errorAt(doc, [], 'duplicate', message, {
          object: result.id,
          related: { file: first.file, doc: first.index, ...first.locate([]) },
        }),
      );
      continue;
    }
    definedHere.set(result.id, doc);
    const earlier = state.objects.get(result.id);
    const replaced = earlier
      ? [...earlier.provenance.replaced, { layer: earlier.provenance.layer, ...earlier.provenance.definedAt }]
      : [];
    state.objects.set(result.id, {
      id: result.id,
      object: result.object,
      provenance: { layer: layer.dir, definedAt: refOf(doc), replaced, patches: [] },
    });
  }
  for (const { doc, patch } of patches) {
    const { errors, deleted } = applyPatchDocument(doc, patch, state.objects);
    state.errors.push(...errors);
    for (const d of deleted) {
      state.dropped.push({
        id: d.id,
        definedAt: d.provenance.definedAt,
        reason: `deleted by ${doc.file} (doc ${doc.index})`,
      });
    }
  }
}
