import type { ClusterIdentity } from '../model/object.js';
import type { ParsedDocument } from './documents.js';
import { RenderError } from './errors.js';

/** A layer of the fleet repository as declared: a folder template over the cluster's identity. */
export interface LayerTemplate {
  /** e.g. `regions/{labels.region}`. */
  path: string;
  /** Where it was declared (strata.yaml), for errors; absent for the default layers. */
  declaredAt?: { file: string; doc: number; line: number; column: number };
}

/** A layer chosen for one cluster: the template and the folder it resolved to. */
export interface Layer {
  template: string;
  /** Repository-relative folder. */
  dir: string;
}

export interface SkippedLayer {
  template: string;
  reason: string;
}

export interface FleetConfig {
  layers: LayerTemplate[];
}

export const FLEET_FILE = 'strata.yaml';
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
): { dir: string } | { reason: string } {
  let dir = '';
  for (const part of parseTemplate(template)) {
    if ('text' in part) dir += part.text;
    else {
      const value = part.variable === 'name' ? cluster.name : cluster.labels[part.key];
      if (value === undefined) return { reason: `cluster has no label '${(part as { key: string }).key}'` };
      if (value === '' || value === '.' || value === '..' || value.includes('/')) {
        return { reason: `value '${value}' cannot name a folder` };
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
): { layers: (Layer | SkippedLayer)[] } {
  return {
    layers: config.layers.map(({ path }) => {
      const resolved = resolveTemplate(path, cluster);
      return 'dir' in resolved
        ? { template: path, dir: resolved.dir }
        : { template: path, reason: resolved.reason };
    }),
  };
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
    if (!['apiVersion', 'kind', 'metadata', 'layers'].includes(key))
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
    try {
      parseTemplate(path);
      layers.push({
        path,
        declaredAt: { file: doc.file, doc: doc.index, ...doc.locate(['layers', i, 'path']) },
      });
    } catch (e) {
      fail(doc, ['layers', i, 'path'], (e as Error).message);
    }
  });
  return errors.length > 0 ? { errors } : { config: { layers }, errors };
}
