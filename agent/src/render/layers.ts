import { parseRolloutRules, type RolloutRules } from '../../../contract/rollout-rules.js';
import type { ClusterIdentity } from '../model/object.js';
import type { ParsedDocument } from './documents.js';
import { RenderError } from './errors.js';

/** A layer of the fleet repository as declared: a folder template over the cluster's identity. */
export interface LayerTemplate {
  /** e.g. `regions/{labels.region}`. */
  path: string;
  /**
   * Given to the layer's namespaced objects that name no namespace, as `kubectl apply -n` does
   * (Flux's `targetNamespace` for objects without one, Fleet's `defaultNamespace`).
   */
  namespace?: string;
  /**
   * URL prefixes of remote kustomize bases the layer's kustomizations may name (`https://host/org/`,
   * each ending in `/`); absent: every remote base is refused. Such a build runs with the network.
   */
  remoteBases?: string[];
  /** Where it was declared (strata.yaml), for errors; absent for the default layers. */
  declaredAt?: { file: string; doc: number; line: number; column: number };
}

/** A layer chosen for one cluster: the template and the folder it resolved to. */
export interface Layer {
  template: string;
  /** Repository-relative folder. */
  dir: string;
  /** The layer's default namespace, from its template. */
  namespace?: string;
  /** Remote kustomize bases it allows, from its template. */
  remoteBases?: string[];
}

/** A layer that cannot apply because the cluster's identity is wrong for it: an error, not a skip. */
export interface MisconfiguredLayer {
  template: string;
  problem: string;
  declaredAt?: LayerTemplate['declaredAt'];
}

/** A layer of the fleet's list that this cluster does not get, and why. */
export interface SkippedLayer {
  template: string;
  reason: string;
}

/** The fleet's `strata.yaml`: its layers and rollout rules. */
export interface FleetConfig {
  layers: LayerTemplate[];
  /** Staged rollout waves (contract/rollout-rules.ts); absent: every cluster applies a commit at once. */
  rollout?: RolloutRules;
}

/** The fleet's config file at the repository root. */
export const FLEET_FILE = 'strata.yaml';
/** The layers a fleet without `strata.yaml` gets: global, the region, the cluster. */
export const DEFAULT_LAYERS: LayerTemplate[] = [
  { path: 'global' },
  { path: 'regions/{labels.region}' },
  { path: 'clusters/{name}' },
];

type Part = { text: string } | { variable: 'name' } | { variable: 'label'; key: string };

/** Splits a template into literal text and `{name}` / `{labels.KEY}`; throws on anything else. */
export function parseTemplate(template: string): Part[] {
  const parts: Part[] = [];
  const pattern = /\{([^{}]*)\}|([^{}]+)|([{}])/g;
  for (const m of template.matchAll(pattern)) {
    if (m[3]) throw new Error(`unbalanced '${m[3]}' in layer path '${template}'`);
    if (m[2] !== undefined) parts.push({ text: m[2] });
    else if (m[1] === 'name') parts.push({ variable: 'name' });
    else if (m[1]?.startsWith('labels.') && m[1].length > 'labels.'.length) {
      parts.push({ variable: 'label', key: m[1].slice('labels.'.length) });
    } else
      throw new Error(
        `unknown variable '{${m[1]}}' in layer path '${template}' (use {name} or {labels.KEY})`,
      );
  }
  const literal = parts.map((p) => ('text' in p ? p.text : 'x')).join('');
  if (literal === '' || literal.startsWith('/') || literal.split('/').some((s) => s === '..' || s === '.')) {
    throw new Error(`layer path '${template}' must be a relative folder inside the repository`);
  }
  return parts;
}

/** The folder a template names for this cluster, or the reason it does not apply. */
export function resolveTemplate(
  template: string,
  cluster: ClusterIdentity,
): { dir: string } | { reason: string } | { problem: string } {
  let dir = '';
  for (const part of parseTemplate(template)) {
    if ('text' in part) dir += part.text;
    else {
      const value = part.variable === 'name' ? cluster.name : cluster.labels[part.key];
      if (value === undefined) return { reason: `cluster has no label '${(part as { key: string }).key}'` };
      if (value === '' || value === '.' || value === '..' || value.includes('/') || value.includes('\\')) {
        // A wrong identity must not quietly drop a layer (or, with `..`, reach outside it).
        const what = part.variable === 'name' ? 'its name' : `label '${part.key}'`;
        return {
          problem: `cluster '${cluster.name}' has ${what} = '${value}', which cannot name a folder for layer '${template}'`,
        };
      }
      dir += value;
    }
  }
  return { dir: dir.replace(/\/+$/, '') };
}

/** Every declared layer, in order, resolved for this cluster or skipped with the reason. */
export function resolveLayers(
  config: FleetConfig,
  cluster: ClusterIdentity,
): { layers: (Layer | SkippedLayer)[]; misconfigured: MisconfiguredLayer[] } {
  const misconfigured: MisconfiguredLayer[] = [];
  const layers: (Layer | SkippedLayer)[] = [];
  for (const { path, namespace, remoteBases, declaredAt } of config.layers) {
    const resolved = resolveTemplate(path, cluster);
    if ('problem' in resolved) {
      misconfigured.push({ template: path, problem: resolved.problem, declaredAt });
      layers.push({ template: path, reason: resolved.problem });
    } else if ('dir' in resolved)
      layers.push({
        template: path,
        dir: resolved.dir,
        ...(namespace ? { namespace } : {}),
        ...(remoteBases ? { remoteBases } : {}),
      });
    else layers.push({ template: path, reason: resolved.reason });
  }
  return { layers, misconfigured };
}

/** A namespace name: a DNS-1123 label. */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LAYER_FIELDS = ['path', 'namespace', 'remoteBases'];
const MAX_REMOTE_BASES = 32;

/**
 * A `remoteBases` entry: an http(s) URL prefix ending in `/` (so `https://github.com/org/` cannot
 * admit `https://github.com/org-evil/`), without credentials, query or fragment. The reason it is
 * not one, or undefined.
 */
function remoteBaseProblem(entry: unknown): string | undefined {
  if (typeof entry !== 'string' || entry.length > 512) return 'must be a URL prefix (a string)';
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return `'${entry}' is not a URL (write it as https://host/path/)`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return `'${entry}' must start with https:// or http://`;
  if (url.username || url.password) return `'${entry}' holds credentials; strata.yaml is no place for them`;
  if (url.search || url.hash || entry.includes('?') || entry.includes('#'))
    return `'${entry}' must not hold a query or fragment`;
  if (!entry.endsWith('/')) return `'${entry}' must end with '/', so it cannot admit a longer host or name`;
  return undefined;
}

/** Reads the `kind: Fleet` document of strata.yaml; every problem becomes a RenderError with its line. */
export function parseFleetConfig(docs: ParsedDocument[]): { config?: FleetConfig; errors: RenderError[] } {
  const errors: RenderError[] = [];
  const fail = (doc: ParsedDocument, path: (string | number)[], message: string) =>
    errors.push(
      new RenderError({ code: 'config', file: doc.file, doc: doc.index, ...doc.locate(path), message }),
    );
  if (docs.length !== 1) {
    const doc = docs[1];
    if (doc) fail(doc, [], `${FLEET_FILE} must hold exactly one document`);
    else return { config: { layers: DEFAULT_LAYERS }, errors };
    return { errors };
  }
  const doc = docs[0]!;
  const value = doc.value as Record<string, unknown>;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(doc, [], `${FLEET_FILE} must be a map with apiVersion strata.dev/v1 and kind Fleet`);
    return { errors };
  }
  if (value.apiVersion !== 'strata.dev/v1') fail(doc, ['apiVersion'], "apiVersion must be 'strata.dev/v1'");
  if (value.kind !== 'Fleet') fail(doc, ['kind'], "kind must be 'Fleet'");
  for (const key of Object.keys(value)) {
    if (!['apiVersion', 'kind', 'metadata', 'layers', 'rollout'].includes(key))
      fail(doc, [key], `unknown field '${key}'`);
  }
  if (!Array.isArray(value.layers) || value.layers.length === 0) {
    fail(doc, ['layers'], 'layers must be a non-empty list of { path: TEMPLATE }');
    return { errors };
  }
  const layers: LayerTemplate[] = [];
  value.layers.forEach((layer: unknown, i: number) => {
    const path = (layer as { path?: unknown } | null)?.path;
    if (typeof path !== 'string') {
      fail(doc, ['layers', i], `layers[${i}] must be a map with a string 'path'`);
      return;
    }
    for (const key of Object.keys(layer as object)) {
      if (!LAYER_FIELDS.includes(key))
        fail(
          doc,
          ['layers', i, key],
          `unknown field '${key}' in layers[${i}] (use ${LAYER_FIELDS.join(', ')})`,
        );
    }
    const namespace = (layer as { namespace?: unknown }).namespace;
    if (
      namespace !== undefined &&
      (typeof namespace !== 'string' || namespace.length > 63 || !NAMESPACE.test(namespace))
    ) {
      fail(
        doc,
        ['layers', i, 'namespace'],
        `layers[${i}].namespace must be a namespace name (lower-case letters, digits and '-', at most 63)`,
      );
      return;
    }
    const remoteBases = (layer as { remoteBases?: unknown }).remoteBases;
    if (remoteBases !== undefined) {
      if (!Array.isArray(remoteBases) || remoteBases.length > MAX_REMOTE_BASES) {
        fail(
          doc,
          ['layers', i, 'remoteBases'],
          `layers[${i}].remoteBases must be a list of at most ${MAX_REMOTE_BASES} URL prefixes`,
        );
        return;
      }
      const problems = remoteBases.map(remoteBaseProblem);
      problems.forEach((problem, j) => {
        if (problem) fail(doc, ['layers', i, 'remoteBases', j], `layers[${i}].remoteBases[${j}]: ${problem}`);
      });
      if (problems.some((p) => p !== undefined)) return;
    }
    try {
      parseTemplate(path);
      layers.push({
        path,
        ...(namespace ? { namespace } : {}),
        ...(remoteBases ? { remoteBases: remoteBases as string[] } : {}),
        declaredAt: { file: doc.file, doc: doc.index, ...doc.locate(['layers', i, 'path']) },
      });
    } catch (e) {
      fail(doc, ['layers', i, 'path'], (e as Error).message);
    }
  });
  let rollout: RolloutRules | undefined;
  if (value.rollout !== undefined) {
    const parsed = parseRolloutRules(value.rollout);
    for (const p of parsed.problems) fail(doc, p.path, p.message);
    rollout = parsed.rules;
  }
  if (errors.length > 0) return { errors };
  return { config: rollout ? { layers, rollout } : { layers }, errors };
}
