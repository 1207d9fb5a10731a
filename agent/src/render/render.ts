import { createHash } from 'node:crypto';
import { matchesSelector } from '../../../contract/selector.js';
import type { ClusterIdentity, KubeObject } from '../model/object.js';
import type { FileTree } from '../source/tree.js';
import { errorAt, type PatchSpec } from './classify.js';
import { type ParsedDocument, type ParsedFile, parseYamlFile } from './documents.js';
import { RenderError } from './errors.js';
import { DEFAULT_MAX_FILE_BYTES, readLayerFiles, readRootFile } from './files.js';
import { createChartMemo, expandCharts, usesCharts } from './helm-layers.js';
import type { ClusterCapabilities } from './helm-render.js';
import { buildKustomization } from './kustomize.js';
import { documentRefOf, type LayerPlan, planLayer } from './layer-plan.js';
import {
  FLEET_FILE,
  type FleetConfig,
  type Layer,
  type MisconfiguredLayer,
  parseFleetConfig,
  resolveLayers,
} from './layers.js';
import { type DiscoverScope, discoverScopes, withDefaultNamespace } from './namespace.js';
import { applyPatchDocument } from './patches.js';
import type { DroppedObject, LayerReport, RenderFailure, RenderResult, RenderSuccess } from './provenance.js';
import { type RenderEntry, readDocument, readObject } from './read.js';
import {
  applyShare,
  DIVISIBLE_KINDS,
  type FleetInventory,
  INVENTORY_FILE,
  REPLICA_WEIGHTS,
  readInventory,
} from './replicas.js';
import { readSopsFile, type SopsMode } from './sops/index.js';
import type { RenderTools } from './tools.js';

/**
 * How a render runs: file limits, SOPS keys, the tools behind charts and kustomize, the
 * capabilities.
 */
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
  /**
   * Substitute and check every document for every cluster as it is read, instead of computing the
   * values of documents whose checks hold for every cluster only when they are used. The result is
   * the same; for tests that compare the two.
   */
  readEagerly?: boolean;
  /**
   * Which kinds are cluster-scoped, beyond Kubernetes' own (known from its OpenAPI spec) and the
   * CRDs of the same layer: the agent passes its cluster's discovery. Used for layer namespaces.
   */
  scopeOf?: DiscoverScope;
  /** SOPS files: decrypt with these age identities, or `opaque` (offline previews); unset, they fail. */
  sops?: SopsMode;
  /**
   * The kustomize/helm runner and the chart store, for layers that use them. Without them a
   * kustomization or a HelmChart is a render error that says so.
   */
  tools?: RenderTools;
  /** What `helm template` is told about a cluster (its Kubernetes version and served API versions). */
  capabilities?: ClusterCapabilities | ((cluster: ClusterIdentity) => ClusterCapabilities);
}

/** Parsed YAML files by path and content, shared between renderers. */
export type ParseCache = Map<string, ParsedFile>;

/** A cache of parsed files shared across clusters of one tree, so each file is parsed once. */
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
  /**
   * The same render, but values are computed only when asked for (`objectOf`), and an object no
   * patch changed names its `source` document: for callers, such as previews, that compare most
   * objects by where they come from rather than by value.
   */
  renderEntries(cluster: ClusterIdentity): Promise<EntriesResult>;
  /** The tree's strata.yaml, read once for every render of this renderer. */
  fleetConfig(): Promise<{ config?: FleetConfig; errors: RenderError[] }>;
}

export type { RenderEntry };

/** A render that worked, with objects as entries that keep their provenance. */
export interface EntriesSuccess extends Omit<RenderSuccess, 'objects'> {
  /** By id, in the order `render` lists them. */
  entries: ReadonlyMap<string, RenderEntry>;
  /** An entry's object for this cluster (a copy of its own unless objects are shared). */
  objectOf(entry: RenderEntry): KubeObject;
}

/** A render's outcome with provenance entries. */
export type EntriesResult = RenderFailure | EntriesSuccess;

/** A layer folder's documents, parsed once and shared by every cluster's render. */
interface ParsedLayer {
  docs: ParsedDocument[];
  errors: RenderError[];
  /** Holds HelmChart documents or patches of them. */
  charts: boolean;
  /** Folders outside the layer that its kustomizations read (bases, components). */
  reads: string[];
}

interface ClusterRender {
  cluster: ClusterIdentity;
  objects: Map<string, RenderEntry>;
  errors: RenderError[];
  dropped: DroppedObject[];
  eager: boolean;
  /** An entry's object, computed once per render (patch targets may need it before the output). */
  objectOf(entry: RenderEntry): KubeObject;
}

/** The fleet inventory `clusters.yaml` beside strata.yaml; undefined inventory and no errors when there is none. */
export async function readFleetInventory(
  tree: FileTree,
  maxFileBytes = DEFAULT_MAX_FILE_BYTES,
): Promise<{ inventory?: FleetInventory; errors: RenderError[] }> {
  const text = await readRootFile(tree, INVENTORY_FILE, { maxFileBytes });
  if (text === undefined) return { errors: [] };
  if (text instanceof RenderError) return { errors: [text] };
  const parsed = parseYamlFile(INVENTORY_FILE, text);
  if (parsed.errors.length > 0) return { errors: parsed.errors };
  return readInventory(parsed.docs);
}

/** The repository's strata.yaml (layers, rollout rules) as the render reads it; errors are located. */
export async function readFleetConfig(
  tree: FileTree,
  maxFileBytes = DEFAULT_MAX_FILE_BYTES,
): Promise<{ config?: FleetConfig; errors: RenderError[] }> {
  const text = await readRootFile(tree, FLEET_FILE, { maxFileBytes });
  if (text === undefined) return parseFleetConfig([]);
  if (text instanceof RenderError) return { errors: [text] };
  const parsed = parseYamlFile(FLEET_FILE, text);
  if (parsed.errors.length > 0) return { errors: parsed.errors };
  return parseFleetConfig(parsed.docs);
}

/** A renderer of one tree for any number of clusters, sharing what equal inputs have in common. */
export function createRenderer(tree: FileTree, options: RenderOptions = {}): Renderer {
  const limits = { maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES };
  let fleet: Promise<{ config?: FleetConfig; errors: RenderError[] }> | undefined;
  const layerCache = new Map<string, Promise<ParsedLayer | undefined>>();
  let inventory: ReturnType<typeof readFleetInventory> | undefined;
  const loadInventory = () => {
    inventory ??= readFleetInventory(tree, limits.maxFileBytes);
    return inventory;
  };

  const loadFleet = () => readFleetConfig(tree, limits.maxFileBytes);

  const loadLayer = async (dir: string, remoteBases: readonly string[]): Promise<ParsedLayer | undefined> => {
    const read = await readLayerFiles(tree, dir, limits);
    if (!read) return undefined;
    const layer: ParsedLayer = { docs: [], errors: [...read.errors], charts: false, reads: [] };
    for (const file of read.files) {
      if ('kustomize' in file) {
        const built = await buildKustomization(
          tree,
          file.kustomize,
          options.tools?.runner,
          limits.maxFileBytes,
          remoteBases,
        );
        layer.docs.push(...built.docs);
        layer.errors.push(...built.errors);
        layer.reads.push(...built.reads.filter((r) => r !== dir && !r.startsWith(`${dir}/`)));
        continue;
      }
      const parsed = readSopsFile(parseCached(options.parseCache, file.path, file.text), options.sops);
      layer.docs.push(...parsed.docs);
      layer.errors.push(...parsed.errors);
    }
    layer.charts = usesCharts(layer.docs);
    return layer;
  };

  const layerOf = (dir: string, remoteBases: readonly string[] = []) => {
    const key = remoteBases.length > 0 ? `${dir}\0${remoteBases.join('\0')}` : dir;
    let cached = layerCache.get(key);
    if (!cached) {
      cached = loadLayer(dir, remoteBases);
      layerCache.set(key, cached);
    }
    return cached;
  };

  const chartMemo = createChartMemo();
  const capabilitiesOf = (cluster: ClusterIdentity): ClusterCapabilities =>
    typeof options.capabilities === 'function' ? options.capabilities(cluster) : (options.capabilities ?? {});
  const share = options.shareObjects === true;
  const eager = options.readEagerly === true;

  const renderEntries = async (cluster: ClusterIdentity): Promise<EntriesResult> => {
    fleet ??= loadFleet();
    const { config, errors: configErrors } = await fleet;
    if (!config) return { ok: false, errors: configErrors };
    const { layers, misconfigured } = resolveLayers(config, cluster);
    if (misconfigured.length > 0) return { ok: false, errors: misconfigured.map(misconfiguredError) };
    const computed = new Map<RenderEntry, KubeObject>();
    const objectOfEntry = (entry: RenderEntry) => computed.get(entry) ?? readObject(entry, cluster, share);
    const state: ClusterRender = {
      cluster,
      objects: new Map(),
      errors: [],
      dropped: [],
      eager,
      objectOf: (entry) => {
        let value = computed.get(entry);
        if (!value) {
          value = readObject(entry, cluster, share);
          computed.set(entry, value);
        }
        return value;
      },
    };
    const reports: LayerReport[] = [];
    const used: { layer: Layer; docs: readonly ParsedDocument[] }[] = [];
    const reads: string[] = [];
    let anyCharts = false;
    for (const layer of layers) {
      if ('reason' in layer) {
        reports.push({ template: layer.template, used: false, reason: layer.reason });
        continue;
      }
      const parsed = await layerOf(layer.dir, layer.remoteBases);
      reports.push({
        template: layer.template,
        dir: layer.dir,
        used: parsed !== undefined,
        ...(parsed ? {} : { reason: 'no such folder' }),
      });
      if (!parsed) continue;
      state.errors.push(...parsed.errors);
      const scopeOf =
        layer.namespace && options.scopeOf ? await discoverScopes(parsed.docs, options.scopeOf) : undefined;
      const docs = layer.namespace
        ? withDefaultNamespace(parsed.docs, layer.namespace, scopeOf)
        : parsed.docs;
      used.push({ layer, docs });
      reads.push(...parsed.reads);
      anyCharts ||= parsed.charts;
    }
    const withCharts = anyCharts
      ? await expandCharts(
          tree,
          used,
          cluster,
          options.tools ?? {},
          capabilitiesOf(cluster),
          limits.maxFileBytes,
          chartMemo,
        )
      : undefined;
    if (withCharts) {
      reads.push(...withCharts.reads);
      state.errors.push(...withCharts.errors);
      state.dropped.push(...withCharts.dropped);
    }
    for (const { layer, docs } of used) renderLayer(state, layer, withCharts?.docs.get(layer.dir) ?? docs);
    await divideReplicasOf(state, loadInventory);
    if (!reports.some((l) => l.used)) state.errors.push(noLayerFound(config, reports));
    if (state.errors.length > 0) return { ok: false, errors: state.errors };
    return {
      ok: true,
      entries: state.objects,
      layers: reports,
      dropped: state.dropped,
      ...(withCharts ? { charts: withCharts.charts } : {}),
      ...(reads.length > 0 ? { reads: [...new Set(reads)].sort() } : {}),
      objectOf: objectOfEntry,
    };
  };

  return {
    renderEntries,
    fleetConfig() {
      fleet ??= loadFleet();
      return fleet;
    },
    async render(cluster) {
      const result = await renderEntries(cluster);
      if (!result.ok) return result;
      const { entries, layers, dropped, charts, reads } = result;
      const objects = [...entries.values()].map((e) => ({
        id: e.id,
        object: result.objectOf(e),
        provenance: e.provenance,
      }));
      return {
        ok: true,
        objects,
        layers,
        dropped,
        ...(charts ? { charts } : {}),
        ...(reads ? { reads } : {}),
      };
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

function misconfiguredError(layer: MisconfiguredLayer): RenderError {
  const where = layer.declaredAt;
  return new RenderError({
    code: 'config',
    ...(where ? { file: where.file, doc: where.doc, line: where.line, column: where.column } : {}),
    message: `${layer.problem}; fix the cluster's identity or the layer path`,
  });
}

/** Adds a layer's resources (later layers replace earlier definitions), then applies its patches in order. */
function renderLayer(state: ClusterRender, layer: Layer, docs: readonly ParsedDocument[]): void {
  const plan = state.eager ? undefined : planLayer(docs, layer.dir, state.cluster);
  const patches = plan ? readPatches(state, addPlanned(state, plan)) : readLayer(state, layer, docs);
  for (const { doc, patch } of patches) {
    const { errors, deleted } = applyPatchDocument(doc, patch, state.objects, state.objectOf);
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

/** Replaces each workload that asks for weighted replica division with this cluster's share (render/replicas.ts). */
async function divideReplicasOf(
  state: ClusterRender,
  load: () => ReturnType<typeof readFleetInventory>,
): Promise<void> {
  for (const [id, entry] of state.objects) {
    const [group, kind] = id.split('/');
    if (!DIVISIBLE_KINDS.has(`${group}/${kind}`)) continue;
    // Asking the document first keeps values lazy: substitution never adds an annotation key.
    const written = (entry.object ?? entry.source?.value) as
      | { metadata?: { annotations?: unknown } }
      | undefined;
    const asked = written?.metadata?.annotations;
    if (written && (!asked || typeof asked !== 'object' || !Object.hasOwn(asked, REPLICA_WEIGHTS))) continue;
    const object = state.objectOf(entry);
    if (!object.metadata.annotations || !Object.hasOwn(object.metadata.annotations, REPLICA_WEIGHTS))
      continue;
    const { inventory, errors } = await load();
    if (errors.length > 0) {
      state.errors.push(...errors);
      return;
    }
    try {
      const divided = applyShare(id, object, inventory, state.cluster, entry.provenance.definedAt);
      // A new entry without its source document: its value is no longer the document's alone.
      if (divided) state.objects.set(id, { id, provenance: entry.provenance, object: divided });
    } catch (err) {
      if (!(err instanceof RenderError)) throw err;
      state.errors.push(err);
    }
  }
}

type LayerPatch = { doc: ParsedDocument; patch: PatchSpec };

const replacing = (earlier: RenderEntry | undefined) =>
  earlier
    ? [...earlier.provenance.replaced, { layer: earlier.provenance.layer, ...earlier.provenance.definedAt }]
    : [];

/** A plan's objects and drops, as reading its documents one by one would add them; its Patch documents. */
function addPlanned(state: ClusterRender, plan: LayerPlan): readonly ParsedDocument[] {
  if (state.objects.size === 0) state.objects = new Map(plan.objects);
  else {
    for (const [id, entry] of plan.objects) {
      const earlier = state.objects.get(id);
      if (!earlier) state.objects.set(id, entry);
      else
        state.objects.set(id, {
          ...entry,
          provenance: { ...entry.provenance, replaced: replacing(earlier) },
        });
    }
  }
  state.dropped.push(...plan.dropped);
  return plan.patches;
}

function readPatches(state: ClusterRender, docs: readonly ParsedDocument[]): LayerPatch[] {
  const patches: LayerPatch[] = [];
  for (const doc of docs) {
    const { result, errors } = readDocument(doc, state.cluster, state.eager);
    state.errors.push(...errors);
    if (!result || errors.length > 0 || result.type !== 'patch') continue;
    if (result.clusterSelector && !matchesSelector(result.clusterSelector, state.cluster.labels)) continue;
    patches.push({ doc, patch: result.patch });
  }
  return patches;
}

/** Reads a layer's documents one by one for this cluster: its resources are added, its patches returned. */
function readLayer(state: ClusterRender, layer: Layer, docs: readonly ParsedDocument[]): LayerPatch[] {
  const definedHere = new Map<string, ParsedDocument>();
  const patches: LayerPatch[] = [];
  for (const doc of docs) {
    const { result, errors, object, view, viewHasLabels } = readDocument(doc, state.cluster, state.eager);
    state.errors.push(...errors);
    if (!result || errors.length > 0) continue;
    if (result.clusterSelector && !matchesSelector(result.clusterSelector, state.cluster.labels)) {
      if (result.type === 'resource') {
        state.dropped.push({
          id: result.id,
          definedAt: documentRefOf(doc),
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
    const replaced = replacing(state.objects.get(result.id));
    const provenance = { layer: layer.dir, definedAt: documentRefOf(doc), replaced, patches: [] };
    const value = object ? { object } : { view, viewHasLabels };
    state.objects.set(result.id, { id: result.id, provenance, source: doc, ...value });
  }
  return patches;
}
