import {
  type LabelSelector,
  parseSelector,
  SelectorSyntaxError,
  selectorFromObject,
} from '../../../contract/selector.js';
import { type KubeObject, objectId } from '../model/object.js';
import type { ParsedDocument, ValuePath } from './documents.js';
import { RenderError, type RenderErrorCode, type RenderErrorFields } from './errors.js';

/** The apiVersion of Strata's own documents in a layer (patches, image overrides, charts). */
export const STRATA_API = 'strata.dev/v1';
/** The annotation that limits an object to clusters whose labels match its selector. */
export const CLUSTER_SELECTOR = 'strata.dev/cluster-selector';

/** Makes a RenderError that points at `path` inside `doc`. */
export function errorAt(
  doc: ParsedDocument,
  path: ValuePath,
  code: RenderErrorCode,
  message: string,
  extra: Partial<RenderErrorFields> = {},
): RenderError {
  return new RenderError({ code, message, file: doc.file, doc: doc.index, ...doc.locate(path), ...extra });
}

/** A layer's image override: a new tag or digest for a named image. */
export interface ImageOverride {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

/** Which objects a layer's patch applies to. */
export interface PatchTarget {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labelSelector?: LabelSelector;
}

/** A layer's patch: its target and the merge or JSON patch to apply. */
export interface PatchSpec {
  target: PatchTarget;
  optional: boolean;
  merge?: Record<string, unknown>;
  jsonPatch?: Record<string, unknown>[];
  images?: ImageOverride[];
  delete: boolean;
}

/**
 * A parsed document sorted into what render does with it: an object, a patch, an override, a
 * chart.
 */
export type Classified =
  | { type: 'resource'; object: KubeObject; id: string; clusterSelector?: LabelSelector }
  | { type: 'patch'; patch: PatchSpec; clusterSelector?: LabelSelector };

const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
const PATCH_FIELDS = [
  'apiVersion',
  'kind',
  'metadata',
  'target',
  'optional',
  'merge',
  'jsonPatch',
  'images',
  'delete',
];

/** Collects problems while reading one document, so all of them are reported together. */
class Checker {
  readonly errors: RenderError[] = [];
  constructor(readonly doc: ParsedDocument) {}
  fail(
    path: ValuePath,
    message: string,
    code: RenderErrorCode = 'document',
    extra: Partial<RenderErrorFields> = {},
  ) {
    this.errors.push(errorAt(this.doc, path, code, message, extra));
  }
  string(value: unknown, path: ValuePath, what: string, required: boolean): string | undefined {
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string' || value === '') {
      this.fail(path, `${what} must be a non-empty string${value === undefined ? ' (missing)' : ''}`);
      return undefined;
    }
    return value;
  }
  selector(value: unknown, path: ValuePath): LabelSelector | undefined {
    try {
      if (typeof value === 'string') return parseSelector(value);
      if (isMap(value)) return selectorFromObject(value);
      this.fail(
        path,
        'a label selector must be a string or a map of matchLabels/matchExpressions',
        'selector',
      );
    } catch (e) {
      if (!(e instanceof SelectorSyntaxError)) throw e;
      this.fail(path, `bad label selector: ${e.message}`, 'selector');
    }
    return undefined;
  }
  stringMap(value: unknown, path: ValuePath, what: string) {
    if (value === undefined) return;
    if (!isMap(value)) return this.fail(path, `${what} must be a map of strings`);
    for (const [k, v] of Object.entries(value)) {
      if (typeof v !== 'string') this.fail([...path, k], `${what} '${k}' must be a string (quote it)`);
    }
  }
}

/** Reads the cluster selector annotation and removes it, so it never reaches a cluster. */
function takeClusterSelector(check: Checker, metadata: Record<string, unknown>) {
  const annotations = metadata.annotations as Record<string, unknown> | undefined;
  if (!annotations || !Object.hasOwn(annotations, CLUSTER_SELECTOR)) return undefined;
  const path = ['metadata', 'annotations', CLUSTER_SELECTOR];
  const raw = annotations[CLUSTER_SELECTOR];
  delete annotations[CLUSTER_SELECTOR];
  if (Object.keys(annotations).length === 0) delete metadata.annotations;
  if (typeof raw !== 'string') {
    check.fail(path, `annotation ${CLUSTER_SELECTOR} must be a string`, 'selector');
    return undefined;
  }
  return check.selector(raw, path);
}

function classifyResource(check: Checker, value: Record<string, unknown>) {
  const apiVersion = check.string(value.apiVersion, ['apiVersion'], 'apiVersion', true);
  const kind = check.string(value.kind, ['kind'], 'kind', true);
  if (!isMap(value.metadata)) {
    check.fail(value.metadata === undefined ? [] : ['metadata'], 'metadata must be a map with a name');
    return undefined;
  }
  const meta = value.metadata;
  const name = check.string(meta.name, ['metadata', 'name'], 'metadata.name', true);
  const namespace = check.string(meta.namespace, ['metadata', 'namespace'], 'metadata.namespace', false);
  check.stringMap(meta.labels, ['metadata', 'labels'], 'label');
  check.stringMap(meta.annotations, ['metadata', 'annotations'], 'annotation');
  if (apiVersion === STRATA_API && kind !== 'HelmChart')
    check.fail(['kind'], `unknown ${STRATA_API} kind '${kind}' (expected Patch or HelmChart)`);
  if (check.errors.length > 0 || !apiVersion || !kind || !name) return undefined;
  const clusterSelector = takeClusterSelector(check, meta);
  const object = value as KubeObject;
  return {
    type: 'resource' as const,
    object,
    id: objectId({ apiVersion, kind, metadata: { name, namespace } }),
    clusterSelector,
  };
}

function readTarget(check: Checker, value: unknown): PatchTarget | undefined {
  if (!isMap(value)) {
    check.fail(
      value === undefined ? [] : ['target'],
      'a Patch needs a target map (kind, name, namespace, group or labelSelector)',
    );
    return undefined;
  }
  const target: PatchTarget = {};
  for (const key of Object.keys(value)) {
    if (!['group', 'kind', 'name', 'namespace', 'labelSelector'].includes(key))
      check.fail(['target', key], `unknown target field '${key}'`);
  }
  for (const key of ['group', 'kind', 'name', 'namespace'] as const) {
    const v = value[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || (v === '' && key !== 'group'))
      check.fail(['target', key], `target.${key} must be a non-empty string`);
    else target[key] = v;
  }
  if (value.labelSelector !== undefined)
    target.labelSelector = check.selector(value.labelSelector, ['target', 'labelSelector']);
  if (!target.kind && !target.name && value.labelSelector === undefined) {
    check.fail(['target'], 'target must name at least a kind, a name or a labelSelector');
  }
  return target;
}

function readImages(check: Checker, value: unknown): ImageOverride[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    check.fail(['images'], 'images must be a list');
    return undefined;
  }
  return value.flatMap((item: unknown, i) => {
    const at = ['images', i];
    if (!isMap(item)) {
      check.fail(at, 'an image override must be a map with name and newName/newTag/digest');
      return [];
    }
    const name = check.string(item.name, [...at, 'name'], 'images[].name', true);
    const override: ImageOverride = { name: name ?? '' };
    for (const key of ['newName', 'newTag', 'digest'] as const) {
      const v = item[key];
      if (v === undefined) continue;
      if (typeof v !== 'string')
        check.fail([...at, key], `${key} must be a string (quote it: "${String(v)}" as YAML reads it)`);
      else override[key] = v;
    }
    for (const key of Object.keys(item)) {
      if (!['name', 'newName', 'newTag', 'digest'].includes(key))
        check.fail([...at, key], `unknown image field '${key}'`);
    }
    if (!override.newName && !override.newTag && !override.digest)
      check.fail(at, 'an image override needs newName, newTag or digest');
    return [override];
  });
}

function classifyPatch(check: Checker, value: Record<string, unknown>) {
  for (const key of Object.keys(value)) {
    if (!PATCH_FIELDS.includes(key)) check.fail([key], `unknown Patch field '${key}'`);
  }
  const meta = value.metadata;
  if (meta !== undefined && !isMap(meta)) check.fail(['metadata'], 'metadata must be a map');
  const clusterSelector = isMap(meta) ? takeClusterSelector(check, meta) : undefined;
  const target = readTarget(check, value.target);
  if (value.optional !== undefined && typeof value.optional !== 'boolean')
    check.fail(['optional'], 'optional must be true or false');
  if (value.delete !== undefined && typeof value.delete !== 'boolean')
    check.fail(['delete'], 'delete must be true or false');
  if (value.merge !== undefined && !isMap(value.merge)) check.fail(['merge'], 'merge must be a map');
  const jsonPatch = value.jsonPatch;
  if (jsonPatch !== undefined && !(Array.isArray(jsonPatch) && jsonPatch.every(isMap))) {
    check.fail(['jsonPatch'], 'jsonPatch must be a list of RFC 6902 operations');
  }
  const images = readImages(check, value.images);
  const hasChange = value.merge !== undefined || jsonPatch !== undefined || images !== undefined;
  if (!hasChange && value.delete !== true)
    check.fail([], 'a Patch needs merge, jsonPatch, images or delete: true');
  if (hasChange && value.delete === true)
    check.fail(['delete'], 'delete: true cannot be combined with other changes');
  if (check.errors.length > 0 || !target) return undefined;
  const patch: PatchSpec = {
    target,
    optional: value.optional === true,
    merge: value.merge as Record<string, unknown> | undefined,
    jsonPatch: jsonPatch as Record<string, unknown>[] | undefined,
    images,
    delete: value.delete === true,
  };
  return { type: 'patch' as const, patch, clusterSelector };
}

/** Decides whether a document (already a private copy) is a resource or a Patch, and checks it. */
export function classifyDocument(
  doc: ParsedDocument,
  value: unknown,
): { result?: Classified; errors: RenderError[] } {
  const check = new Checker(doc);
  if (!isMap(value)) {
    const what = Array.isArray(value) ? 'a list' : `a ${value === null ? 'null' : typeof value}`;
    check.fail([], `a document must be a Kubernetes object or a ${STRATA_API} Patch (a map), not ${what}`);
    return { errors: check.errors };
  }
  const isPatch = value.apiVersion === STRATA_API && value.kind === 'Patch';
  const result = isPatch ? classifyPatch(check, value) : classifyResource(check, value);
  return { result, errors: check.errors };
}
