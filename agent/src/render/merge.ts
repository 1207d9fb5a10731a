import table from './merge-keys.generated.json' with { type: 'json' };
import { setOwn } from './variables.js';

/** How one field of a Kubernetes type merges, as generated from the OpenAPI spec. */
interface FieldRule {
  /** The type of the field's value (or of its list items / map values). */
  type?: string;
  /** Keyed list: items merge when these fields are equal. */
  keys?: string[];
  /** List of scalars merged as a set union. */
  union?: boolean;
  /** A map whose values are of `type`. */
  map?: boolean;
}

const kinds: Record<string, string> = table.kinds;
const types: Record<string, Record<string, FieldRule>> = table.types;

/** A merge that cannot be done, with the path inside the patch's `merge` value. */
export class MergeError extends Error {
  constructor(
    readonly path: (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

type Json = unknown;
type JsonObject = Record<string, Json>;

const isObject = (v: Json): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The schema type of a kind, `undefined` for kinds Kubernetes does not know (CRDs). */
export function rootTypeOf(apiVersion: string, kind: string): string | undefined {
  return kinds[`${apiVersion}/${kind}`];
}

/**
 * Merges `patch` into `original` like a Kubernetes strategic merge patch: keyed lists (containers by
 * name, ports by containerPort, …) merge item by item, the directives `$patch: delete|replace`,
 * `$retainKeys`, `$setElementOrder/FIELD` and `$deleteFromPrimitiveList/FIELD` apply, and
 * everything the schema does not key follows RFC 7386 (maps merge, lists replace, null deletes).
 * Returns a new value; `original` is not changed.
 */
export function strategicMerge(original: Json, patch: Json, apiVersion: string, kind: string): Json {
  const rootType = rootTypeOf(apiVersion, kind);
  return mergeValue(original, patch, rootType, []);
}

/** Kinds the OpenAPI table does not know (custom resources) have no rules, not even in metadata: as in kustomize. */
function ruleFor(type: string | undefined, field: string): FieldRule | undefined {
  return type ? types[type]?.[field] : undefined;
}

function mergeValue(original: Json, patch: Json, type: string | undefined, path: (string | number)[]): Json {
  if (!isObject(patch)) return Array.isArray(patch) ? withoutDirectives(patch, path) : patch;
  const directive = patch.$patch;
  if (directive === 'replace') return withoutDirectives(omit(patch, '$patch'), path);
  if (directive !== undefined) {
    throw new MergeError(
      [...path, '$patch'],
      `unsupported $patch '${String(directive)}' on a map here (use replace)`,
    );
  }
  const result: JsonObject = isObject(original) ? { ...original } : {};
  if (patch.$retainKeys !== undefined) retainKeys(result, patch, path);
  const orders: [field: string, order: Json][] = [];
  const removals: [field: string, values: Json][] = [];
  for (const [field, value] of Object.entries(patch)) {
    const at = [...path, field];
    if (field === '$retainKeys') continue;
    if (field.startsWith(SET_ORDER)) {
      orders.push([field.slice(SET_ORDER.length), value]);
      continue;
    }
    if (field.startsWith(DELETE_FROM)) {
      removals.push([field.slice(DELETE_FROM.length), value]);
      continue;
    }
    if (field.startsWith('$')) throw new MergeError(at, `unsupported directive '${field}'`);
    if (value === null || (isObject(value) && value.$patch === 'delete')) {
      delete result[field];
      continue;
    }
    const rule = ruleFor(type, field);
    if (Array.isArray(value)) setOwn(result, field, mergeList(result[field], value, rule, at));
    else if (rule?.map && isObject(value))
      setOwn(result, field, mergeMapOf(result[field], value, rule.type, at));
    else setOwn(result, field, mergeValue(result[field], value, rule?.type, at));
  }
  // As apimachinery does: the ordered lists first, then the values deleted from the (ordered) lists.
  for (const [field, order] of orders) {
    const at = [...path, `${SET_ORDER}${field}`];
    const merged = result[field];
    if (merged === undefined) continue;
    const before = isObject(original) ? original[field] : undefined;
    setOwn(result, field, setElementOrder(merged, order, before, patch[field], ruleFor(type, field), at));
  }
  for (const [field, values] of removals) {
    const at = [...path, `${DELETE_FROM}${field}`];
    if (!Array.isArray(values) || values.some((v) => isObject(v) || Array.isArray(v)))
      throw new MergeError(at, `${DELETE_FROM}${field} must be a list of scalars`);
    const list = result[field];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((v) => isObject(v) || Array.isArray(v)))
      throw new MergeError(at, `'${field}' is not a list of scalars, so values cannot be deleted from it`);
    setOwn(
      result,
      field,
      list.filter((v) => !values.some((d) => sameScalar(d, v))),
    );
  }
  return result;
}

const SET_ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

/**
 * `$retainKeys: [k, …]`: the original's fields not listed are dropped before the patch merges (how
 * `kubectl apply` clears `rollingUpdate` when a Deployment's strategy becomes `Recreate`). Every field
 * the patch sets must be listed, as apimachinery requires.
 */
function retainKeys(result: JsonObject, patch: JsonObject, path: (string | number)[]): void {
  const keep = patch.$retainKeys;
  const at = [...path, '$retainKeys'];
  if (!Array.isArray(keep) || keep.some((k) => typeof k !== 'string'))
    throw new MergeError(at, '$retainKeys must be a list of field names');
  for (const [field, value] of Object.entries(patch)) {
    if (value === null || field.startsWith('$')) continue;
    if (!keep.includes(field))
      throw new MergeError(at, `the patch sets '${field}', which its $retainKeys list does not retain`);
  }
  for (const field of Object.keys(result)) if (!keep.includes(field)) delete result[field];
}

/**
 * `$setElementOrder/FIELD: [...]` orders the merged list as apimachinery does: the items the order
 * names, in its order, interleaved with the original's other items where they stood. Items of a
 * keyed list are named by their merge key (`{name: web}`); scalars by value.
 */
function setElementOrder(
  merged: Json,
  order: Json,
  before: Json,
  patchList: Json,
  rule: FieldRule | undefined,
  path: (string | number)[],
): Json[] {
  if (!Array.isArray(order)) throw new MergeError(path, 'a $setElementOrder value must be a list');
  if (!Array.isArray(merged)) throw new MergeError(path, 'the field it orders is not a list');
  const keys = rule?.keys;
  const scalars = merged.every((v) => !isObject(v) && !Array.isArray(v));
  if (!keys && !scalars)
    throw new MergeError(path, 'this list has no merge key, so $setElementOrder cannot name its items');
  if (keys && order.some((o) => !isObject(o) || !keys.some((k) => o[k] !== undefined)))
    throw new MergeError(path, `each item of this $setElementOrder list must name '${keys.join("', '")}'`);
  const same = keys
    ? (a: Json, b: Json) => isObject(a) && isObject(b) && sameItem(a, b, keys)
    : (a: Json, b: Json) => sameScalar(a, b);
  const indexIn = (list: Json[], item: Json) => list.findIndex((x) => same(x, item));
  checkPatchFollowsOrder(Array.isArray(patchList) ? patchList : [], order, same, path);
  const server = Array.isArray(before) ? before : [];
  const byOrder = (list: Json[]) => (a: Json, b: Json) => {
    const i = indexIn(list, a);
    const j = indexIn(list, b);
    return i >= 0 && j >= 0 ? i - j : 0;
  };
  const named = merged.filter((v) => indexIn(order, v) >= 0).sort(byOrder(order));
  const others = merged.filter((v) => indexIn(order, v) < 0).sort(byOrder(server));
  // Interleave: an original item goes first while it stood before the next named item.
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < others.length || j < named.length) {
    if (j >= named.length) out.push(others[i++]);
    else if (i >= others.length) out.push(named[j++]);
    else {
      const li = indexIn(server, others[i]);
      const ri = indexIn(server, named[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(others[i++]);
      else out.push(named[j++]);
    }
  }
  return out;
}

/** The patch's own items must appear in its $setElementOrder list, in the same order. */
function checkPatchFollowsOrder(
  patchList: Json[],
  order: Json[],
  same: (a: Json, b: Json) => boolean,
  path: (string | number)[],
): void {
  const items = patchList.filter((p) => !(isObject(p) && p.$patch !== undefined));
  if (items.length === 0 || order.length === 0) return;
  let p = 0;
  for (let o = 0; o < order.length && p < items.length; o++) if (same(items[p], order[o])) p++;
  if (p < items.length)
    throw new MergeError(
      path,
      "the patch's list items are not all in its $setElementOrder list, in its order",
    );
}

function mergeMapOf(
  original: Json,
  patch: JsonObject,
  type: string | undefined,
  path: (string | number)[],
): Json {
  const result: JsonObject = isObject(original) ? { ...original } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else setOwn(result, key, mergeValue(result[key], value, type, [...path, key]));
  }
  return result;
}

function mergeList(
  original: Json,
  patch: Json[],
  rule: FieldRule | undefined,
  path: (string | number)[],
): Json[] {
  // `{ $patch: replace }` alone in a list replaces the list; beside a key it replaces that one item.
  const replaceAt = patch.findIndex(
    (item) => isObject(item) && item.$patch === 'replace' && Object.keys(item).length === 1,
  );
  if (replaceAt >= 0) {
    const rest = patch.filter((_, i) => i !== replaceAt);
    return rule?.keys ? (mergeKeyedList([], rest, rule, path) as Json[]) : withoutDirectives(rest, path);
  }
  if (rule?.keys) return mergeKeyedList(Array.isArray(original) ? original : [], patch, rule, path);
  if (rule?.union) {
    // The patch's values first, then the original's others: kustomize's order (and apimachinery's).
    const base = Array.isArray(original) ? original : [];
    const values: Json[] = [];
    for (const v of [...withoutDirectives(patch, path), ...base]) {
      if (!values.some((w) => sameScalar(w, v))) values.push(v);
    }
    return values;
  }
  return withoutDirectives(patch, path);
}

/**
 * Kustomize's order: with one key, the items the patch names come first, in the patch's order,
 * followed by the original items it did not name. With several keys in use (ports by number and
 * protocol), the patch's new items come first, then the original items in their own order, merged.
 */
function mergeKeyedList(original: Json[], patch: Json[], rule: FieldRule, path: (string | number)[]): Json[] {
  const keys = rule.keys!;
  const inUse = keys.filter((k) =>
    [...original, ...patch].some((item) => isObject(item) && item[k] !== undefined),
  );
  type Named = { value: Json; from?: number };
  const named: Named[] = [];
  const taken = new Set<number>();
  patch.forEach((item, i) => {
    const at = [...path, i];
    if (!isObject(item))
      throw new MergeError(at, `items of this list must be maps keyed by '${keys.join("', '")}'`);
    if (!keys.some((k) => item[k] !== undefined)) {
      throw new MergeError(at, `list item has no merge key '${keys.join("', '")}'`);
    }
    const same = (existing: Json) => isObject(existing) && sameItem(existing, item, keys);
    if (item.$patch === 'delete') {
      for (let j = named.length - 1; j >= 0; j--) if (same(named[j]!.value)) named.splice(j, 1);
      original.forEach((o, j) => {
        if (same(o)) taken.add(j);
      });
      return;
    }
    const earlier = named.find((n) => same(n.value));
    if (earlier) {
      earlier.value = mergeValue(earlier.value, item, rule.type, at);
      return;
    }
    const found = original.findIndex((o, j) => !taken.has(j) && same(o));
    if (found >= 0) taken.add(found);
    named.push({
      value: mergeValue(found >= 0 ? original[found] : {}, item, rule.type, at),
      ...(found >= 0 ? { from: found } : {}),
    });
  });
  const untouched = original.filter((_, j) => !taken.has(j));
  if (inUse.length <= 1) return [...named.map((n) => n.value), ...untouched];
  const mergedAt = new Map(named.flatMap((n) => (n.from === undefined ? [] : [[n.from, n.value] as const])));
  const inOrder = original.flatMap((o, j) => (mergedAt.has(j) ? [mergedAt.get(j)] : taken.has(j) ? [] : [o]));
  return [...named.filter((n) => n.from === undefined).map((n) => n.value), ...inOrder];
}

function sameScalar(a: Json, b: Json): boolean {
  return a === b;
}

/**
 * Whether two items of a keyed list are the same item, as kustomize decides: every key either
 * equal or missing on one side, and at least one key equal. So `{containerPort: 53}` is the
 * `53/TCP` port, while `53/UDP` is another port beside it.
 */
function sameItem(a: JsonObject, b: JsonObject, keys: readonly string[]): boolean {
  let common = false;
  for (const k of keys) {
    const x = a[k];
    const y = b[k];
    if (x === undefined || y === undefined) continue;
    if (!sameScalar(x, y)) return false;
    common = true;
  }
  return common;
}

function omit(obj: JsonObject, key: string): JsonObject {
  const { [key]: _, ...rest } = obj;
  return rest;
}

/** A patch value as data, refusing directives where they mean nothing. */
function withoutDirectives<T extends Json>(value: T, path: (string | number)[]): T {
  if (Array.isArray(value)) return value.map((v, i) => withoutDirectives(v, [...path, i])) as T;
  if (!isObject(value)) return value;
  const result: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '$patch') throw new MergeError([...path, k], `'$patch: ${String(v)}' is not allowed here`);
    setOwn(result, k, withoutDirectives(v, [...path, k]));
  }
  return result as T;
}
