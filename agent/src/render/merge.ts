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
 * name, ports by containerPort, …) merge item by item, `$patch: delete|replace` directives apply, and
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
  for (const [field, value] of Object.entries(patch)) {
    const at = [...path, field];
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
  return result;
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
