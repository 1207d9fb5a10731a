import type { ClusterIdentity, KubeObject } from '../model/object.js';
import { CLUSTER_SELECTOR, type Classified, classifyDocument, errorAt, STRATA_API } from './classify.js';
import type { ParsedDocument } from './documents.js';
import type { RenderError } from './errors.js';
import type { Provenance } from './provenance.js';
import {
  cloneJson,
  containsVariables,
  resolveVariable,
  substituteVariables,
  type VariableProblem,
  variablesOf,
} from './variables.js';

/**
 * An object in a render. Either its value is computed (`object`), or it is the value of `source`
 * read for the render's cluster, computed only when asked for (`objectOf`).
 */
export interface RenderEntry {
  readonly id: string;
  readonly provenance: Provenance;
  /**
   * The document that defined the object, when no patch has changed it since: its value is then a
   * function of this document's value and the cluster identity alone.
   */
  readonly source?: ParsedDocument;
  readonly object?: KubeObject;
  /** A stand-in with the object's kind, apiVersion group, name and namespace, while `object` is not computed … */
  readonly view?: KubeObject;
  /** … and with its labels too. */
  readonly viewHasLabels?: boolean;
}

/** One document read for one cluster; a resource comes with its value, or with a view of it. */
export interface ReadDocument {
  result?: Classified;
  errors: RenderError[];
  object?: KubeObject;
  view?: KubeObject;
  viewHasLabels?: boolean;
}

/**
 * What holds for a document whatever the cluster, worked out once:
 * - `fixed`: no `${` anywhere; the classification is the value for every cluster (deeply frozen).
 * - `template`: `${` only where classification reads no text (not in apiVersion, kind, name,
 *   namespace or the cluster selector), so substitution changes the value but not the id, the
 *   selector nor any check: classified once unsubstituted, it holds for every cluster for which
 *   each of `variables` resolves.
 */
export interface DocumentFacts {
  fixed?: { result?: Classified; errors: RenderError[] };
  template?: { result: Classified & { type: 'resource' }; variables: string[]; labelsVary: boolean };
}

const facts = new WeakMap<ParsedDocument, DocumentFacts>();

/** What can be known of a document before any cluster is given, computed once per document. */
export function factsOf(doc: ParsedDocument): DocumentFacts {
  let found = facts.get(doc);
  if (!found) {
    if (!containsVariables(doc.value)) {
      const fixed = classifyDocument(doc, cloneJson(doc.value));
      if (fixed.result) deepFreeze(fixed.result);
      found = { fixed };
    } else {
      found = { template: templateOf(doc) };
    }
    facts.set(doc, found);
  }
  return found;
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
const own = (v: unknown, key: string): unknown => (isMap(v) && Object.hasOwn(v, key) ? v[key] : undefined);
/** The fields whose text classification reads (ids, Patch detection, the cluster selector). */
const CLASSIFIED_TEXT: ((v: unknown) => unknown)[] = [
  (v) => own(v, 'apiVersion'),
  (v) => own(v, 'kind'),
  (v) => own(own(v, 'metadata'), 'name'),
  (v) => own(own(v, 'metadata'), 'namespace'),
  (v) => own(own(own(v, 'metadata'), 'annotations'), CLUSTER_SELECTOR),
];

function templateOf(doc: ParsedDocument): DocumentFacts['template'] {
  const value = doc.value;
  if (!isMap(value) || value.apiVersion === STRATA_API) return undefined;
  if (CLASSIFIED_TEXT.some((field) => containsVariables(field(value)))) return undefined;
  const variables = variablesOf(value);
  if (!variables) return undefined;
  const { result, errors } = classifyDocument(doc, classifiable(value));
  if (errors.length > 0 || result?.type !== 'resource') return undefined;
  return { result, variables, labelsVary: containsVariables(result.object.metadata.labels) };
}

/**
 * A copy of a resource document that classification may change: it only removes the cluster
 * selector annotation, so only the top, `metadata` and its annotations are copied. The rest is
 * shared with the document, which nothing changes.
 */
function classifiable(value: Record<string, unknown>): Record<string, unknown> {
  const metadata = value.metadata;
  if (!isMap(metadata)) return { ...value };
  const annotations = metadata.annotations;
  return {
    ...value,
    metadata: { ...metadata, ...(isMap(annotations) ? { annotations: { ...annotations } } : {}) },
  };
}

/** Whether a Patch document, whatever the cluster: read for each cluster, as patches are. */
export function isPatchDocument(doc: ParsedDocument): boolean {
  const value = doc.value;
  return isMap(value) && value.apiVersion === STRATA_API && value.kind === 'Patch';
}

/** Substitutes and classifies a document for one cluster: every problem, with its place. */
function readFully(
  doc: ParsedDocument,
  cluster: ClusterIdentity,
): { result?: Classified; errors: RenderError[] } {
  const problems: VariableProblem[] = [];
  const value = substituteVariables(doc.value, cluster, problems);
  const errors = problems.map((p) => errorAt(doc, p.path, 'variable', p.message));
  const classified = classifyDocument(doc, value);
  return { result: classified.result, errors: [...errors, ...classified.errors] };
}

/** Whether every variable a document uses has a value for this cluster. */
export const resolvesFor = (variables: readonly string[], cluster: ClusterIdentity): boolean =>
  variables.every((v) => resolveVariable(v, cluster) !== undefined);

/**
 * Reads a document for one cluster. A resource whose checks do not depend on the cluster (see
 * DocumentFacts) is not substituted here: its value is computed when asked for (`objectOf`), so a
 * caller that compares most objects by their source document never pays for them. `eager` reads
 * every document fully, as renders used to; for tests.
 */
export function readDocument(doc: ParsedDocument, cluster: ClusterIdentity, eager: boolean): ReadDocument {
  const { fixed, template } = factsOf(doc);
  if (fixed) {
    const { result, errors } = fixed;
    if (result?.type !== 'resource') return fixed;
    return { result, errors, view: result.object, viewHasLabels: true };
  }
  if (template && !eager && resolvesFor(template.variables, cluster)) {
    const { result } = template;
    return { result, errors: [], view: result.object, viewHasLabels: !template.labelsVary };
  }
  const read = readFully(doc, cluster);
  if (read.result?.type !== 'resource') return read;
  return { ...read, object: read.result.object };
}

/** An entry's value for the render's cluster: a copy of its own, unless `share`d (then frozen). */
export function readObject(entry: RenderEntry, cluster: ClusterIdentity, share: boolean): KubeObject {
  if (entry.object) return entry.object;
  const doc = entry.source!;
  const fixed = factsOf(doc).fixed?.result;
  if (fixed?.type === 'resource') return share ? fixed.object : cloneJson(fixed.object);
  const { result, errors } = readFully(doc, cluster);
  if (errors.length > 0 || result?.type !== 'resource') {
    throw new Error(`internal: ${doc.file} (doc ${doc.index}) read differently once substituted`);
  }
  return result.object;
}

/** Shared documents are frozen so that no render, and no caller, can change them for the others. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
