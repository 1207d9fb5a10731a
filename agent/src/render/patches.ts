import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { matchesSelector } from '../../../contract/selector.js';
import { groupOf, type KubeObject, objectId } from '../model/object.js';
import { errorAt, type PatchSpec, type PatchTarget } from './classify.js';
import type { ParsedDocument } from './documents.js';
import type { RenderError } from './errors.js';
import { overrideImages } from './images.js';
import { MergeError, strategicMerge } from './merge.js';
import type { AppliedPatch } from './provenance.js';
import type { RenderEntry } from './read.js';
import { cloneJson } from './variables.js';

/** An object being rendered, its value computed (`object`) or computed on demand by `objectOf`. */
export type WorkingObject = RenderEntry;
type ObjectOf = (w: WorkingObject) => KubeObject;

/** Matches on the stand-in where it tells, so only objects a patch may change are computed. */
function isTarget(w: WorkingObject, target: PatchTarget, objectOf: ObjectOf): boolean {
  if (w.object || !w.view) return matchesTarget(w.object ?? objectOf(w), target);
  if (target.labelSelector === undefined || w.viewHasLabels) return matchesTarget(w.view, target);
  return matchesTarget(w.view, { ...target, labelSelector: undefined }) && matchesTarget(objectOf(w), target);
}

/** Whether an object is one a patch's target names. */
export function matchesTarget(object: KubeObject, target: PatchTarget): boolean {
  const meta = object.metadata;
  return (
    (target.kind === undefined || object.kind === target.kind) &&
    (target.group === undefined || groupOf(object.apiVersion) === target.group) &&
    (target.name === undefined || meta.name === target.name) &&
    (target.namespace === undefined || meta.namespace === target.namespace) &&
    (target.labelSelector === undefined || matchesSelector(target.labelSelector, meta.labels ?? {}))
  );
}

function describeTarget(target: PatchTarget): string {
  const parts = Object.entries(target)
    .filter(([k]) => k !== 'labelSelector')
    .map(([k, v]) => `${k}=${String(v)}`);
  if (target.labelSelector) parts.push('labelSelector');
  return parts.join(', ');
}

/**
 * Applies one Patch document to every object it targets. Objects are replaced, never mutated in
 * place, so a failed patch leaves nothing half-applied. Deleted objects are removed from `objects`.
 */
export function applyPatchDocument(
  doc: ParsedDocument,
  patch: PatchSpec,
  objects: Map<string, WorkingObject>,
  objectOf: ObjectOf,
): { errors: RenderError[]; deleted: WorkingObject[] } {
  const targets = [...objects.values()].filter((w) => isTarget(w, patch.target, objectOf));
  if (targets.length === 0) {
    if (patch.optional) return { errors: [], deleted: [] };
    const message = `target (${describeTarget(patch.target)}) matches no object in this or earlier layers; add 'optional: true' if that is expected`;
    return {
      errors: [errorAt(doc, ['target'], 'target', message, { patch: { op: 'target' } })],
      deleted: [],
    };
  }
  if (patch.delete) {
    for (const t of targets) objects.delete(t.id);
    return { errors: [], deleted: targets };
  }
  const errors: RenderError[] = [];
  const imageUses = (patch.images ?? []).map(() => 0);
  for (const working of targets) {
    const result = patchObject(doc, patch, working, objectOf(working), imageUses);
    if (Array.isArray(result)) errors.push(...result);
    else objects.set(working.id, result);
  }
  if (!patch.optional) errors.push(...unusedImages(doc, patch, imageUses));
  return { errors, deleted: [] };
}

function patchObject(
  doc: ParsedDocument,
  patch: PatchSpec,
  working: WorkingObject,
  original: KubeObject,
  imageUses: number[],
): WorkingObject | RenderError[] {
  const ref = (op: AppliedPatch['op']): AppliedPatch => ({
    file: doc.file,
    doc: doc.index,
    line: doc.locate([op]).line,
    op,
  });
  const id = working.id;
  let object: unknown = original;
  const applied: AppliedPatch[] = [];
  if (patch.merge) {
    try {
      object = strategicMerge(object, patch.merge, original.apiVersion, original.kind);
    } catch (e) {
      if (!(e instanceof MergeError)) throw e;
      return [errorAt(doc, ['merge', ...e.path], 'patch', e.message, { object: id, patch: { op: 'merge' } })];
    }
    applied.push(ref('merge'));
  }
  if (patch.jsonPatch) {
    const result = applyJsonPatch(doc, patch.jsonPatch, object, id);
    if (Array.isArray(result)) return result;
    object = result.value;
    applied.push(ref('jsonPatch'));
  }
  if (patch.images) {
    object = structuredClone(object);
    patch.images.forEach((override, i) => {
      imageUses[i]! += overrideImages(object, override);
    });
    applied.push(ref('images'));
  }
  const changed = object as KubeObject;
  const newId =
    changed?.metadata && typeof changed.metadata.name === 'string' ? objectId(changed) : undefined;
  if (newId !== id) {
    const message = `a patch cannot change an object's apiVersion group, kind, namespace or name (now ${newId ?? 'invalid'})`;
    return [errorAt(doc, [applied.at(-1)?.op ?? 'merge'], 'patch', message, { object: id })];
  }
  return {
    id,
    object: changed,
    provenance: { ...working.provenance, patches: [...working.provenance.patches, ...applied] },
  };
}

function applyJsonPatch(doc: ParsedDocument, ops: Record<string, unknown>[], object: unknown, id: string) {
  // Copied per object: `add` and `replace` insert their value by reference, and patches are shared between renders.
  const operations = cloneJson(ops) as unknown as Operation[];
  const failed = (index: number, message: string) => {
    const op = ops[index];
    const path = typeof op?.path === 'string' ? op.path : undefined;
    const opName = `jsonPatch[${index}] ${typeof op?.op === 'string' ? op.op : '?'}`;
    return [
      errorAt(doc, ['jsonPatch', index], 'patch', message, { object: id, patch: { op: opName, path } }),
    ];
  };
  // One operation at a time, so an error names the operation that failed (validate() misreports it).
  let value = structuredClone(object);
  for (const [index, operation] of operations.entries()) {
    try {
      value = fastJsonPatch.applyOperation(value, operation, true, true, true, index).newDocument;
    } catch (e) {
      const err = e as { name?: string; message: string };
      return failed(index, describeJsonPatchError(err.name, err.message));
    }
  }
  return { value };
}

function describeJsonPatchError(name: string | undefined, message: string): string {
  switch (name) {
    case 'OPERATION_PATH_UNRESOLVABLE':
      return 'path does not exist in the object';
    case 'TEST_OPERATION_FAILED':
      return "'test' operation failed: the value differs";
    case 'OPERATION_FROM_UNRESOLVABLE':
      return "'from' path does not exist in the object";
    default:
      return message.split('\n')[0] ?? message;
  }
}

/** An image override that changed no container in any target is almost always a typo. */
function unusedImages(doc: ParsedDocument, patch: PatchSpec, imageUses: number[]): RenderError[] {
  return (patch.images ?? []).flatMap((override, i) =>
    imageUses[i] === 0
      ? [
          errorAt(
            doc,
            ['images', i, 'name'],
            'patch',
            `no container in the target uses image '${override.name}'`,
            {
              patch: { op: `images[${i}]` },
            },
          ),
        ]
      : [],
  );
}
