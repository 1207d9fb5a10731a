import type { ParsedDocument } from '../render/documents.js';
import type { RenderEntry } from '../render/render.js';

/**
 * Whether two renders of one cluster (base and head) certainly hold the same value for an object,
 * without computing it: neither was patched, and both were defined by documents with the same file
 * path and the same value, so both are that value read for the same identity. The same document
 * (a file unchanged between the refs is parsed once) or an equal one in a changed file both count.
 */
export function sameSource(base: RenderEntry, head: RenderEntry): boolean {
  const b = base.source;
  const h = head.source;
  if (!b || !h || b.file !== h.file) return false;
  const key = keyOf(b);
  return key !== undefined && (b === h || key === keyOf(h));
}

const keys = new WeakMap<ParsedDocument, string | null>();

/** The document's value as text, or `undefined` when it holds what the field diff never finds equal (NaN) or is not plain data. */
function keyOf(doc: ParsedDocument): string | undefined {
  let key = keys.get(doc);
  if (key === undefined) {
    key = serialise(doc.value) ?? null;
    keys.set(doc, key);
  }
  return key ?? undefined;
}

/** An exact, typed serialization of plain data (strings quoted, numbers bare, keys in order). */
function serialise(value: unknown): string | undefined {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : String(value);
  if (typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (const item of value) {
      const text = serialise(item);
      if (text === undefined) return undefined;
      items.push(text);
    }
    return `[${items.join(',')}]`;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return undefined;
    const fields: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      const text = serialise(v);
      if (text === undefined) return undefined;
      fields.push(`${JSON.stringify(k)}:${text}`);
    }
    return `{${fields.join(',')}}`;
  }
  return undefined;
}
