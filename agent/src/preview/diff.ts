import type { KubeObject } from '../model/object.js';
import { diffFields } from '../plan/diff.js';
import { sensitivePaths } from '../plan/secrets.js';
import type { Provenance, RenderedObject } from '../render/provenance.js';
import type { ChangeCounts, ObjectChange } from './types.js';

/** The files that produced an object: its definition, then every patch applied to it. */
export function filesOf(object: { provenance: Provenance }): string[] {
  const files = [object.provenance.definedAt.file, ...object.provenance.patches.map((p) => p.file)];
  return [...new Set(files)];
}

function byId(objects: readonly RenderedObject[]): Map<string, RenderedObject> {
  return new Map(objects.map((o) => [o.id, o]));
}

/**
 * What moving a cluster from the base render to the head render does, object by object:
 * created, changed (field level, Secret values masked) and deleted, sorted by id.
 */
export function diffRenders(
  base: readonly RenderedObject[],
  head: readonly RenderedObject[],
): ObjectChange[] {
  const value = (o: RenderedObject) => o.object;
  return diffObjects(byId(base), byId(head), { base: value, head: value });
}

/** How to read the objects of each side, and which pairs are certainly equal without reading them. */
export interface DiffReader<T> {
  base(object: T): KubeObject;
  head(object: T): KubeObject;
  same?(base: T, head: T): boolean;
}

/** `diffRenders` over objects by id, read only where a change is possible. */
export function diffObjects<T extends { provenance: Provenance }>(
  before: ReadonlyMap<string, T>,
  after: ReadonlyMap<string, T>,
  read: DiffReader<T>,
): ObjectChange[] {
  const out: ObjectChange[] = [];
  for (const [id, h] of after) {
    const b = before.get(id);
    if (!b) {
      out.push({ id, action: 'create', changes: [], files: filesOf(h) });
      continue;
    }
    if (read.same?.(b, h)) continue;
    const [bo, ho] = [read.base(b), read.head(h)];
    const sensitive = [...new Set([...sensitivePaths(bo), ...sensitivePaths(ho)])];
    const changes = diffFields(bo, ho, sensitive);
    if (changes.length > 0) out.push({ id, action: 'update', changes, files: filesOf(h) });
  }
  for (const [id, b] of before) {
    if (!after.has(id)) out.push({ id, action: 'delete', changes: [], files: filesOf(b) });
  }
  return out.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

/** Created, changed and deleted objects of a cluster's preview. */
export function countChanges(objects: readonly ObjectChange[]): ChangeCounts {
  const counts: ChangeCounts = { create: 0, update: 0, delete: 0 };
  for (const o of objects) counts[o.action]++;
  return counts;
}
