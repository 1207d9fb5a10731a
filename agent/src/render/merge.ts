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
const OBJECT_META = 'apimachinery.pkg.apis.meta.v1.ObjectMeta';

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
  return mergeValue(original, patch, rootType, [], rootType === undefined);
}

function ruleFor(type: string | undefined, field: string, atRootOfUnknown: boolean): FieldRule | undefined {
  if (type) return types[type]?.[field];
  return atRootOfUnknown && field === 'metadata' ? { type: OBJECT_META } : undefined;
}

function mergeValue(
  original: Json,
  patch: Json,
  type: string | undefined,
  path: (string | number)[],
  unknownRoot = false,
): Json {
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
    const rule = ruleFor(type, field, unknownRoot);
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
    const base = Array.isArray(original) ? original : [];
    return [...base, ...patch.filter((v) => !base.some((b) => sameScalar(b, v)))];
  }
  return withoutDirectives(patch, path);
}

/**
 * Items named by the patch come first, in the patch's order, followed by the original items it did
 * not name: the order Kubernetes' strategic merge (and kustomize) produce.
 */
function mergeKeyedList(original: Json[], patch: Json[], rule: FieldRule, path: (string | number)[]): Json[] {
  const keys = rule.keys!;
  const remaining = [...original];
  const named: Json[] = [];
  patch.forEach((item, i) => {
    const at = [...path, i];
    if (!isObject(item))
      throw new MergeError(at, `items of this list must be maps keyed by '${keys.join("', '")}'`);
    if (!keys.some((k) => item[k] !== undefined)) {
      throw new MergeError(at, `list item has no merge key '${keys.join("', '")}'`);
    }
    const same = (existing: Json) =>
      isObject(existing) && keys.every((k) => sameScalar(existing[k], item[k]));
    const removeFrom = (list: Json[]) => {
      for (let j = list.length - 1; j >= 0; j--) if (same(list[j])) list.splice(j, 1);
    };
    if (item.$patch === 'delete') {
      removeFrom(remaining);
      removeFrom(named);
      return;
    }
    const earlier = named.findIndex(same);
    if (earlier >= 0) {
      named[earlier] = mergeValue(named[earlier], item, rule.type, at);
      return;
    }
    const found = remaining.findIndex(same);
    named.push(mergeValue(found >= 0 ? remaining[found] : {}, item, rule.type, at));
    if (found >= 0) remaining.splice(found, 1);
  });
  return [...named, ...remaining];
}

function sameScalar(a: Json, b: Json): boolean {
  return a === b;
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
